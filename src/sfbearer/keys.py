"""RSA keys and X.509 certificates: generate, load, check, describe.

Private keys are handled the way OpenSSH handles them: a key file readable by group or
others is refused (the file a symlink points to is what is checked, so Kubernetes secret
mounts pass), encrypted PKCS#8 works with a passphrase, and anything that is not an RSA
private key of at least 2048 bits is a clear :class:`~sfbearer.KeyFileError`.

Example:
    >>> from sfbearer import generate_key_pair
    >>> pair = generate_key_pair(common_name="acme-integration", days=365)
    >>> pair.certificate_info.days_left >= 364
    True
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from sfbearer._exceptions import KeyFileError
from sfbearer._files import atomic_write, exclusive_write, read_bounded, read_head

# certificates live in their own module; they are part of this module's public surface
from sfbearer.certificates import (
    CertificateInfo,
    describe_certificate,
    key_matches_certificate,
    load_certificate,
    make_self_signed_certificate,
)

if TYPE_CHECKING:
    from cryptography import x509

__all__ = [
    "ALLOWED_KEY_SIZES",
    "MIN_KEY_SIZE",
    "CertificateInfo",
    "KeyPair",
    "check_key_file_permissions",
    "describe_certificate",
    "generate_key_pair",
    "is_encrypted_private_key",
    "key_matches_certificate",
    "load_certificate",
    "load_private_key",
    "load_private_key_from_env",
    "load_private_key_pem",
    "make_self_signed_certificate",
    "private_key_pem",
    "public_material_kind",
    "refuse_public_material",
    "verify_rs256",
    "write_key_pair",
]

MIN_KEY_SIZE = 2048
ALLOWED_KEY_SIZES = (2048, 3072, 4096)
_MAX_KEY_FILE_BYTES = 64 * 1024
WRONG_PASSPHRASE_HINT = (
    "give the passphrase the key was encrypted with (SFBEARER_KEY_PASSPHRASE, "
    "--passphrase-env VAR, or the prompt)"
)

Passphrase = str | bytes | None


@dataclass(frozen=True, slots=True)
class KeyPair:
    """A freshly generated private key and its self-signed certificate."""

    private_key: rsa.RSAPrivateKey
    certificate: x509.Certificate

    @property
    def certificate_info(self) -> CertificateInfo:
        return describe_certificate(self.certificate)

    def __repr__(self) -> str:
        return f"<KeyPair {self.certificate_info.subject} sha256={self.certificate_info.sha256_fingerprint[:23]}...>"


def generate_key_pair(
    *, key_size: int = 2048, common_name: str = "sfbearer", days: int = 365
) -> KeyPair:
    """Generate an RSA key (2048, 3072 or 4096 bits) and a self-signed certificate for it.

    Example:
        >>> pair = generate_key_pair(key_size=2048, common_name="acme", days=30)
        >>> pair.private_key.key_size
        2048
    """
    if key_size not in ALLOWED_KEY_SIZES:
        raise KeyFileError(
            f"key size must be one of {', '.join(map(str, ALLOWED_KEY_SIZES))}, got {key_size}"
        )
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    return KeyPair(key, make_self_signed_certificate(key, common_name=common_name, days=days))


def private_key_pem(private_key: rsa.RSAPrivateKey, passphrase: Passphrase = None) -> bytes:
    """PKCS#8 PEM of ``private_key``, encrypted (best available) when a passphrase is given."""
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(_as_bytes(passphrase))
        if passphrase
        else serialization.NoEncryption()
    )
    return private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def write_key_pair(
    pair: KeyPair,
    out_dir: str | os.PathLike[str],
    *,
    passphrase: Passphrase = None,
    force: bool = False,
    key_name: str = "server.key",
    cert_name: str = "server.crt",
) -> tuple[Path, Path]:
    """Write ``server.key`` (PKCS#8, 0600 from creation) and ``server.crt`` into ``out_dir``.

    Creates ``out_dir`` (0700) when missing. Refuses to overwrite unless ``force``; both files
    are checked before either is written, so a refusal leaves nothing half done.

    Returns:
        The key path and the certificate path.
    """
    directory = Path(out_dir)
    key_path, cert_path = directory / key_name, directory / cert_name
    if not force:
        existing = [p for p in (key_path, cert_path) if p.exists() or p.is_symlink()]
        if existing:
            raise KeyFileError(
                f"{existing[0]} already exists; refusing to overwrite it",
                hint="pass --force to replace it, or choose another --out-dir",
            )
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    except FileExistsError:
        raise KeyFileError(f"{directory} exists and is not a directory") from None
    except OSError as exc:
        raise KeyFileError(
            f"cannot create {directory}: {exc.strerror}",
            hint="choose an --out-dir in a directory you can write to",
        ) from None
    try:
        cert_pem = pair.certificate.public_bytes(serialization.Encoding.PEM)
        key_pem = private_key_pem(pair.private_key, passphrase)
        write = atomic_write if force else exclusive_write
        write(key_path, key_pem, mode=0o600)
        write(cert_path, cert_pem, mode=0o644)
    except FileExistsError as exc:
        raise KeyFileError(
            f"{exc.filename or exc} already exists; refusing to overwrite it",
            hint="pass --force to replace it, or choose another --out-dir",
        ) from None
    except OSError as exc:
        raise KeyFileError(
            f"cannot write into {directory}: {exc.strerror}",
            hint="choose an --out-dir in a directory you can write to",
        ) from None
    return key_path, cert_path


def _as_bytes(passphrase: Passphrase) -> bytes:
    if passphrase is None:
        return b""
    return passphrase.encode() if isinstance(passphrase, str) else passphrase


_PUBLIC_PEM_BLOCKS = (
    (b"-----BEGIN CERTIFICATE REQUEST", "a certificate signing request"),
    (b"-----BEGIN NEW CERTIFICATE REQUEST", "a certificate signing request"),
    (b"-----BEGIN CERTIFICATE", "a certificate"),
    (b"-----BEGIN TRUSTED CERTIFICATE", "a certificate"),
    (b"-----BEGIN PUBLIC KEY", "a public key"),
    (b"-----BEGIN RSA PUBLIC KEY", "a public key"),
)


def public_material_kind(data: bytes) -> str | None:
    """What ``data`` holds when it is public material offered as a private key, else None.

    ``"a certificate"``, ``"a certificate signing request"``, ``"a public key"`` or
    ``"an OpenSSH public key"``; a PEM file that also holds a private key block is not.

    Example:
        >>> public_material_kind(b"-----BEGIN CERTIFICATE-----\\nMII...")
        'a certificate'
        >>> public_material_kind(b"-----BEGIN PRIVATE KEY-----\\nMII...") is None
        True
    """
    if b"-----BEGIN" in data:
        if b"PRIVATE KEY-----" in data:
            return None
        for marker, kind in _PUBLIC_PEM_BLOCKS:
            if marker in data:
                return kind
        return None
    if data.lstrip().startswith((b"ssh-rsa ", b"ssh-ed25519 ", b"ecdsa-sha2-", b"ssh-dss ")):
        return "an OpenSSH public key"
    if data[:1] == b"\x30":  # DER: a SEQUENCE, as a certificate is
        from cryptography import x509

        try:
            x509.load_der_x509_certificate(data)
        except ValueError:
            return None
        return "a certificate"
    return None


def refuse_public_material(data: bytes, source: str) -> None:
    """Raise :class:`KeyFileError` when ``data`` is a certificate, CSR or public key.

    Checked before anything else (permissions included): the file is the wrong one, and
    ``chmod 600`` would not make it right.
    """
    kind = public_material_kind(data)
    if kind is None:
        return
    if kind == "a certificate":
        hint = "pass the private key (server.key); the certificate goes to Salesforce"
    else:
        hint = (
            "pass the private key (server.key) this came from; sfbearer keys show FILE says "
            "what a file holds"
        )
    raise KeyFileError(f"{source} holds {kind}, not a private key", hint=hint)


def check_key_file_permissions(path: str | os.PathLike[str]) -> None:
    """Refuse a key file that group or others can read or write (checked through symlinks).

    Raises:
        KeyFileError: with the path, the mode and the ``chmod 600`` fix.
    """
    p = Path(path)
    try:
        st = os.stat(p)  # follows symlinks: the target's mode is what matters
    except FileNotFoundError:
        raise KeyFileError(
            f"key file not found: {p}",
            hint="check the path (--jwt-key-file / jwt_key_file); make a pair with "
            "sfbearer keys new --out-dir DIR; a key in an HSM or KMS is a pkcs11: / awskms: URI",
        ) from None
    except OSError as exc:
        raise KeyFileError(f"cannot read key file {p}: {exc.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise KeyFileError(f"key file {p} is not a regular file")
    head = read_head(p, _MAX_KEY_FILE_BYTES)
    if head:  # a certificate offered as the key is refused before its (harmless) mode
        refuse_public_material(head, str(p))
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o077:
        target = os.path.realpath(p)
        shown = f"{p} (-> {target})" if str(target) != str(p.absolute()) else str(p)
        raise KeyFileError(
            f"private key {shown} has mode {mode:04o}: it must not be accessible by group or others",
            hint=f"chmod 600 {target}",
        )


def load_private_key(
    path: str | os.PathLike[str],
    passphrase: Passphrase = None,
    *,
    check_permissions: bool = True,
) -> rsa.RSAPrivateKey:
    """Load an RSA private key from a PEM/DER file (PKCS#8 or PKCS#1, encrypted or not).

    The file's permissions are checked first (0600 or 0400; see
    :func:`check_key_file_permissions`).

    Example:
        >>> key = load_private_key("server.key")  # doctest: +SKIP

    Raises:
        KeyFileError: missing file, unsafe permissions, wrong or missing passphrase, not an
            RSA private key, or fewer than 2048 bits.
    """
    p = Path(path)
    if check_permissions:
        check_key_file_permissions(p)
    data = read_bounded(p, _MAX_KEY_FILE_BYTES, KeyFileError, "key file", content="a private key")
    return _parse_private_key(data, passphrase, source=str(p))


def load_private_key_pem(data: str | bytes, passphrase: Passphrase = None) -> rsa.RSAPrivateKey:
    """Load an RSA private key from PEM text (never a path; see :func:`load_private_key`)."""
    raw = data.encode() if isinstance(data, str) else data
    if len(raw) > _MAX_KEY_FILE_BYTES:
        raise KeyFileError("the PEM text is too large to be a private key")
    return _parse_private_key(raw, passphrase, source="the PEM text")


def load_private_key_from_env(var: str, passphrase: Passphrase = None) -> rsa.RSAPrivateKey:
    """Load an RSA private key from the PEM held in the environment variable ``var``.

    Literal ``\\n`` sequences are turned into newlines (how PEMs often arrive in env vars).
    """
    value = os.environ.get(var)
    if not value:
        raise KeyFileError(f"environment variable {var} is not set or empty")
    if "-----BEGIN" in value and "\n" not in value.strip():
        value = value.replace("\\n", "\n")
    raw = value.encode()
    if len(raw) > _MAX_KEY_FILE_BYTES:
        raise KeyFileError(f"environment variable {var} is too large to be a private key")
    return _parse_private_key(raw, passphrase, source=f"environment variable {var}")


def is_encrypted_private_key(data: bytes) -> bool:
    """True when ``data`` (PEM or DER) holds a passphrase-protected private key.

    Example:
        >>> is_encrypted_private_key(b"-----BEGIN ENCRYPTED PRIVATE KEY-----\\n...")
        True
    """
    if b"-----BEGIN" in data:
        # PKCS#8 "BEGIN ENCRYPTED PRIVATE KEY" or PKCS#1 "Proc-Type: 4,ENCRYPTED"
        return b"ENCRYPTED PRIVATE KEY-----" in data or b"Proc-Type: 4,ENCRYPTED" in data
    try:
        serialization.load_der_private_key(data, password=None)
    except TypeError:
        return True
    except (ValueError, UnsupportedAlgorithm):
        return False
    return False


def _parse_private_key(data: bytes, passphrase: Passphrase, *, source: str) -> rsa.RSAPrivateKey:
    pem = b"-----BEGIN" in data
    # A PEM file may carry text before the block ("Bag Attributes" from openssl pkcs12) or a
    # certificate beside the key; what matters is whether a private key block is present.
    refuse_public_material(data, source)
    if pem and b"PRIVATE KEY-----" not in data:
        raise KeyFileError(
            f"{source} does not hold a PEM private key", hint=_not_a_key_hint(source)
        )
    if pem and b"-----BEGIN OPENSSH PRIVATE KEY" in data:
        raise KeyFileError(
            f"{source} is an OpenSSH-format key",
            hint="convert it: ssh-keygen -p -m PKCS8 -f KEYFILE (or generate one: sfbearer keys new)",
        )
    encrypted = is_encrypted_private_key(data)
    pw = _as_bytes(passphrase) or None
    if encrypted and pw is None:
        raise KeyFileError(
            f"{source} is encrypted and no passphrase was given",
            hint="give the passphrase (SFBEARER_KEY_PASSPHRASE, --passphrase-env VAR or a prompt)",
        )
    password = pw if encrypted else None  # a passphrase for a plain key is ignored
    try:
        if pem:
            key = serialization.load_pem_private_key(data, password=password)
        else:
            key = serialization.load_der_private_key(data, password=password)
    except ValueError:
        if encrypted:
            raise KeyFileError(
                f"cannot decrypt {source}: wrong passphrase", hint=WRONG_PASSPHRASE_HINT
            ) from None
        # cryptography's message lumps every cause together; do not guess which one it was
        raise KeyFileError(
            f"{source} is not a valid PEM or DER private key", hint=_not_a_key_hint(source)
        ) from None
    except (TypeError, UnsupportedAlgorithm):
        raise KeyFileError(f"{source} holds an unsupported private key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        kind = type(key).__name__.lstrip("_").replace("PrivateKey", "") or "non-RSA"
        raise KeyFileError(
            f"{source} holds {_article(kind)} {kind} key; Salesforce's JWT bearer flow needs "
            "RSA (RS256)",
            hint="generate one with: sfbearer keys new --out-dir DIR",
        )
    if key.key_size < MIN_KEY_SIZE:
        raise KeyFileError(
            f"{source} is a {key.key_size}-bit RSA key; at least {MIN_KEY_SIZE} bits are required",
            hint="generate one with: sfbearer keys new --out-dir DIR",
        )
    return key


def verify_rs256(public_key: rsa.RSAPublicKey, message: bytes, signature: bytes) -> bool:
    """True when ``signature`` is a valid RS256 signature of ``message``."""
    from cryptography.exceptions import InvalidSignature

    try:
        public_key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def _article(kind: str) -> str:
    """``a`` or ``an`` before a key type said aloud: an EC, an Ed25519, a DSA."""
    # Capitals are spelled out: those whose names start with a vowel sound take "an" too
    # (an RSA, an X25519); a lowercase start is a word (a non-RSA).
    return "an" if kind[:1] in "AEIOUaeiouFHLMNRSX" else "a"


def _not_a_key_hint(source: str) -> str:
    if source.startswith("environment variable "):
        var = source.removeprefix("environment variable ")
        return (
            f"put the whole PEM in {var}, its dashed first and last lines included (literal \\n "
            f'sequences are fine): export {var}="$(cat server.key)"'
        )
    if source == "the PEM text":
        return "pass the private key's whole PEM text, its dashed first and last lines included"
    return "the file must hold a PEM or DER private key; sfbearer keys show FILE says what it is"
