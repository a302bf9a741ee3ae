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

import datetime as dt
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from sfbearer._exceptions import CertificateError, KeyFileError
from sfbearer._files import atomic_write, exclusive_write

if TYPE_CHECKING:
    # cryptography.x509 costs ~20 ms to import; loading a key and minting never need it, and
    # `sfbearer assertion new` is timed as a whole process
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
    "verify_rs256",
    "write_key_pair",
]

MIN_KEY_SIZE = 2048
ALLOWED_KEY_SIZES = (2048, 3072, 4096)
_MAX_KEY_FILE_BYTES = 64 * 1024

Passphrase = str | bytes | None


def _fingerprint(data: bytes, algorithm: hashes.HashAlgorithm) -> str:
    h = hashes.Hash(algorithm)
    h.update(data)
    digest = h.finalize().hex().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


@dataclass(frozen=True, slots=True)
class CertificateInfo:
    """What a person needs to know about a certificate.

    Attributes:
        subject: the subject as an RFC 4514 string (``CN=acme-integration``).
        issuer: the issuer, same form; equal to ``subject`` when self-signed.
        serial: the serial number.
        not_before: start of validity (UTC).
        not_after: end of validity (UTC).
        sha256_fingerprint: SHA-256 over the DER certificate, colon-separated hex.
        sha1_fingerprint: SHA-1 over the DER certificate (Salesforce shows this one).
        key_size: the RSA modulus size, or 0 for a non-RSA key.
        certificate: the parsed certificate.
    """

    subject: str
    issuer: str
    serial: int
    not_before: dt.datetime
    not_after: dt.datetime
    sha256_fingerprint: str
    sha1_fingerprint: str
    key_size: int
    certificate: x509.Certificate

    @property
    def days_left(self) -> int:
        """Whole days until ``not_after`` (negative once expired)."""
        return self.days_left_at(dt.datetime.now(dt.UTC))

    def days_left_at(self, now: dt.datetime) -> int:
        """Whole days from ``now`` until ``not_after`` (floor; negative once expired)."""
        return (self.not_after - now) // dt.timedelta(days=1)

    @property
    def is_self_signed(self) -> bool:
        return self.subject == self.issuer

    def is_valid_at(self, now: dt.datetime) -> bool:
        return self.not_before <= now <= self.not_after

    def pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)


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


def describe_certificate(cert: x509.Certificate) -> CertificateInfo:
    """Build a :class:`CertificateInfo` from a parsed certificate."""
    der = cert.public_bytes(serialization.Encoding.DER)
    pub = cert.public_key()
    return CertificateInfo(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        serial=cert.serial_number,
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        sha256_fingerprint=_fingerprint(der, hashes.SHA256()),
        sha1_fingerprint=_fingerprint(der, hashes.SHA1()),  # noqa: S303 - a fingerprint, as Salesforce shows it
        key_size=pub.key_size if isinstance(pub, rsa.RSAPublicKey) else 0,
        certificate=cert,
    )


def make_self_signed_certificate(
    private_key: rsa.RSAPrivateKey,
    *,
    common_name: str = "sfbearer",
    days: int = 365,
    now: dt.datetime | None = None,
) -> x509.Certificate:
    """A self-signed X.509 certificate (sha256WithRSAEncryption, random serial) for ``private_key``."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    if days < 1 or days > 3650 * 3:
        raise CertificateError(f"certificate validity must be 1..10950 days, got {days}")
    if not common_name or len(common_name) > 64:
        raise CertificateError("the common name must be 1 to 64 characters")
    start = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start - dt.timedelta(minutes=5))
        .not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(private_key.public_key()), critical=False
        )
        .sign(private_key, hashes.SHA256())
    )


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
        raise KeyFileError(f"cannot create {directory}: {exc.strerror}") from None
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
        raise KeyFileError(f"cannot write into {directory}: {exc.strerror}") from None
    return key_path, cert_path


def _as_bytes(passphrase: Passphrase) -> bytes:
    if passphrase is None:
        return b""
    return passphrase.encode() if isinstance(passphrase, str) else passphrase


def check_key_file_permissions(path: str | os.PathLike[str]) -> None:
    """Refuse a key file that group or others can read or write (checked through symlinks).

    Raises:
        KeyFileError: with the path, the mode and the ``chmod 600`` fix.
    """
    p = Path(path)
    try:
        st = os.stat(p)  # follows symlinks: the target's mode is what matters
    except FileNotFoundError:
        raise KeyFileError(f"key file not found: {p}") from None
    except OSError as exc:
        raise KeyFileError(f"cannot read key file {p}: {exc.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise KeyFileError(f"key file {p} is not a regular file")
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
    try:
        with open(p, "rb") as fh:
            data = fh.read(_MAX_KEY_FILE_BYTES + 1)
    except FileNotFoundError:
        raise KeyFileError(f"key file not found: {p}") from None
    except OSError as exc:
        raise KeyFileError(f"cannot read key file {p}: {exc.strerror}") from None
    if len(data) > _MAX_KEY_FILE_BYTES:
        raise KeyFileError(f"{p} is too large to be a private key")
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
    if pem and b"PRIVATE KEY-----" not in data:
        if b"-----BEGIN CERTIFICATE" in data:
            raise KeyFileError(
                f"{source} holds a certificate, not a private key",
                hint="pass the private key (server.key); the certificate goes to Salesforce",
            )
        if b"-----BEGIN PUBLIC KEY" in data or b"-----BEGIN RSA PUBLIC KEY" in data:
            raise KeyFileError(f"{source} holds a public key, not a private key")
        raise KeyFileError(f"{source} does not hold a PEM private key")
    if pem and b"-----BEGIN OPENSSH PRIVATE KEY" in data:
        raise KeyFileError(
            f"{source} is an OpenSSH-format key",
            hint="convert it: ssh-keygen -p -m PKCS8 -f KEYFILE (or generate one: sfbearer keys new)",
        )
    if not pem and data.lstrip().startswith((b"ssh-rsa ", b"ssh-ed25519 ", b"ecdsa-sha2-")):
        raise KeyFileError(f"{source} holds an OpenSSH public key, not a private key")
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
            raise KeyFileError(f"cannot decrypt {source}: wrong passphrase") from None
        # cryptography's message lumps every cause together; do not guess which one it was
        raise KeyFileError(f"{source} is not a valid PEM or DER private key") from None
    except (TypeError, UnsupportedAlgorithm):
        raise KeyFileError(f"{source} holds an unsupported private key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        kind = type(key).__name__.lstrip("_").replace("PrivateKey", "")
        raise KeyFileError(
            f"{source} holds a {kind or 'non-RSA'} key; Salesforce's JWT bearer flow needs RSA (RS256)",
            hint="generate one with: sfbearer keys new --out-dir DIR",
        )
    if key.key_size < MIN_KEY_SIZE:
        raise KeyFileError(
            f"{source} is a {key.key_size}-bit RSA key; at least {MIN_KEY_SIZE} bits are required",
            hint="generate one with: sfbearer keys new --out-dir DIR",
        )
    return key


def load_certificate(source: str | os.PathLike[str] | bytes) -> CertificateInfo:
    """Load an X.509 certificate from a path or from PEM/DER bytes.

    Example:
        >>> info = load_certificate("server.crt")  # doctest: +SKIP
        >>> info.days_left  # doctest: +SKIP
        364

    Raises:
        CertificateError: missing, unreadable or not a certificate.
    """
    if isinstance(source, bytes):
        data, where = source, "the certificate data"
    else:
        where = str(source)
        try:
            with open(source, "rb") as fh:
                data = fh.read(_MAX_KEY_FILE_BYTES + 1)
        except FileNotFoundError:
            raise CertificateError(f"certificate not found: {where}") from None
        except OSError as exc:
            raise CertificateError(f"cannot read certificate {where}: {exc.strerror}") from None
    if len(data) > _MAX_KEY_FILE_BYTES:
        raise CertificateError(f"{where} is too large to be a certificate")
    from cryptography import x509

    if b"PRIVATE KEY-----" in data:
        raise CertificateError(
            f"{where} holds a private key, not a certificate",
            hint="give the certificate (server.crt); the private key must never be uploaded",
        )
    try:
        if b"-----BEGIN" in data:
            cert = x509.load_pem_x509_certificate(data)
        else:
            cert = x509.load_der_x509_certificate(data)
    except ValueError:
        raise CertificateError(f"{where} is not a valid PEM or DER X.509 certificate") from None
    return describe_certificate(cert)


def key_matches_certificate(public_key: rsa.RSAPublicKey, cert: x509.Certificate) -> bool:
    """True when ``cert`` carries exactly ``public_key``."""
    cert_key = cert.public_key()
    if not isinstance(cert_key, rsa.RSAPublicKey):
        return False
    return cert_key.public_numbers() == public_key.public_numbers()


def verify_rs256(public_key: rsa.RSAPublicKey, message: bytes, signature: bytes) -> bool:
    """True when ``signature`` is a valid RS256 signature of ``message``."""
    from cryptography.exceptions import InvalidSignature

    try:
        public_key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True
