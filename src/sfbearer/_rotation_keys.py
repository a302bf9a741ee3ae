"""Making the next key pair of a rotation: dated files beside the current ones, or a key in
the same vault, and its self-signed certificate. Used by :mod:`sfbearer.rotation`.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sfbearer._exceptions import CertificateError, KeyFileError, ProfileError, SignerError

if TYPE_CHECKING:
    from sfbearer.config import Profile
    from sfbearer.keys import CertificateInfo
    from sfbearer.signers import Signer

__all__ = [
    "PendingPair",
    "current_key_size",
    "make_file_pair",
    "make_signer_pair",
    "next_names",
    "passphrase_for_new_key",
    "target_directory",
]

# A date suffix a previous rotation added (server-20261201.key, server-20261201-2.key).
_DATED = re.compile(r"-\d{8}(?:-\d+)?$")
_MAX_SAME_DAY = 99


@dataclass(frozen=True, slots=True)
class PendingPair:
    """The next key and certificate of a profile.

    Attributes:
        key: the key file path or signer URI.
        certificate: the certificate file.
        info: the certificate, parsed (None when it can no longer be read).
        created_key: whether :func:`rotate` created the key (False for an existing KMS key).
    """

    key: str
    certificate: Path
    info: CertificateInfo | None
    created_key: bool = True

    def as_dict(self) -> dict[str, Any]:
        info = self.info
        return {
            "key": self.key,
            "certificate": str(self.certificate),
            "created_key": self.created_key,
            "subject": info.subject if info else None,
            "not_after": info.not_after.isoformat() if info else None,
            "sha1_fingerprint": info.sha1_fingerprint if info else None,
            "sha256_fingerprint": info.sha256_fingerprint if info else None,
        }


def next_names(
    key_name: str,
    cert_name: str,
    today: dt.date,
    taken: Callable[[str], bool] | None = None,
) -> tuple[str, str]:
    """Dated names for the next pair: ``server.key`` → ``server-20261201.key``.

    A date suffix from an earlier rotation is replaced, not stacked. ``taken(name)`` says
    whether a name is in use; ``-2``, ``-3``... are tried after it.

    Example:
        >>> next_names("server-20251201.key", "server-20251201.crt", dt.date(2026, 12, 1))
        ('server-20261201.key', 'server-20261201.crt')
    """
    key_stem, key_ext = _split(key_name, ".key")
    cert_stem, cert_ext = _split(cert_name, ".crt")
    stamp = today.strftime("%Y%m%d")
    for n in range(1, _MAX_SAME_DAY + 1):
        suffix = stamp if n == 1 else f"{stamp}-{n}"
        names = (f"{key_stem}-{suffix}{key_ext}", f"{cert_stem}-{suffix}{cert_ext}")
        if taken is None or not any(taken(name) for name in names):
            return names
    raise KeyFileError(f"{_MAX_SAME_DAY} rotations today already; remove unused pending pairs")


def _split(name: str, default_ext: str) -> tuple[str, str]:
    path = Path(name)
    ext = path.suffix if path.suffix in (".key", ".pem", ".crt", ".cer") else default_ext
    stem = path.name[: -len(path.suffix)] if path.suffix == ext else path.name
    return _DATED.sub("", stem) or "server", ext


def _common_name(profile: Profile) -> str:
    """The current certificate's CN (so Salesforce shows a familiar name), else a default."""
    from cryptography.x509.oid import NameOID

    from sfbearer.keys import load_certificate

    cert = profile.certificate_path()
    if cert is not None:
        try:
            attrs = load_certificate(cert).certificate.subject.get_attributes_for_oid(
                NameOID.COMMON_NAME
            )
        except CertificateError:
            attrs = []
        if attrs and isinstance(attrs[0].value, str) and 0 < len(attrs[0].value) <= 64:
            return attrs[0].value
    return f"sfbearer-{profile.name}"[:64]


def current_key_size(profile: Profile) -> int:
    """The current certificate's RSA key size (the next key matches it), else 2048."""
    from sfbearer.keys import ALLOWED_KEY_SIZES, load_certificate

    cert = profile.certificate_path()
    if cert is not None:
        try:
            size = load_certificate(cert).key_size
        except CertificateError:
            size = 0
        if size in ALLOWED_KEY_SIZES:
            return size
    return 2048


def passphrase_for_new_key(profile: Profile, passphrase: str | None) -> str | None:
    """The passphrase the next key is encrypted with: the current key's, when it has one.

    The profile's passphrase source must keep working after the promotion, so an encrypted
    key is followed by a key encrypted with the same passphrase (checked against the
    current key when it is still readable, so a typo cannot lock the next key away).
    """
    from sfbearer._key_source import _passphrase
    from sfbearer.keys import is_encrypted_private_key, load_private_key, load_private_key_pem

    if profile.uses_signer_uri:
        return None
    key: Path | None = None
    if profile.jwt_key_env:
        head = os.environ.get(profile.jwt_key_env, "").encode()
    elif profile.jwt_key_file:
        key = Path(profile.jwt_key_file).expanduser()
        from sfbearer._files import read_head

        found = read_head(key)
        if found is None:
            # The current key is gone (lost, or the reason for rotating): nothing to follow.
            return passphrase
        head = found
    else:
        return passphrase
    if not is_encrypted_private_key(head):
        return None
    secret = _passphrase(profile, passphrase)
    where = str(key) if key else f"the key in {profile.jwt_key_env}"
    if not secret:
        raise KeyFileError(
            f"{where} is encrypted, and the next key will be encrypted with the same passphrase",
            hint="give the passphrase (passphrase_env / passphrase_file in the profile, or "
            "SFBEARER_KEY_PASSPHRASE)",
        )
    # A wrong passphrase stops here, before anything is made.
    if key is not None:
        load_private_key(key, secret)
    else:
        load_private_key_pem(head, secret)
    return secret


def make_file_pair(
    profile: Profile,
    directory: Path,
    *,
    days: int,
    key_size: int,
    passphrase: str | None,
    now: dt.datetime,
) -> PendingPair:
    """A new RSA key file and its self-signed certificate, dated names in ``directory``."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    from sfbearer.keys import KeyPair, make_self_signed_certificate, write_key_pair

    current_key = Path(profile.jwt_key_file or "server.key")
    current_cert = profile.certificate_path() or Path("server.crt")
    key_name, cert_name = next_names(
        current_key.name,
        current_cert.name,
        now.date(),
        lambda name: (directory / name).exists() or (directory / name).is_symlink(),
    )
    if key_size not in (2048, 3072, 4096):
        raise KeyFileError(f"key size must be one of 2048, 3072, 4096, got {key_size}")
    private = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    cert = make_self_signed_certificate(
        private, common_name=_common_name(profile), days=days, now=now
    )
    key_path, cert_path = write_key_pair(
        KeyPair(private, cert),
        directory,
        passphrase=passphrase,
        key_name=key_name,
        cert_name=cert_name,
    )
    from sfbearer.keys import describe_certificate

    return PendingPair(str(key_path), cert_path, describe_certificate(cert))


def _next_signer(
    profile: Profile, signer_uri: str | None, key_size: int, now: dt.datetime
) -> tuple[str, Signer, bool]:
    """The next key in the vault: the URI given, or a new object in the same PKCS#11 token."""
    from sfbearer.signers.uri import ensure_signer_key, parse_pkcs11_uri, with_object

    if signer_uri:
        if signer_uri == profile.jwt_key_file:
            raise SignerError(
                "the new signer URI names the key in use",
                hint="name another key (a new object= label, or another KMS key)",
            )
        signer, created = ensure_signer_key(signer_uri, key_size=key_size)
        return signer_uri, signer, created
    current = profile.jwt_key_file or ""
    if current.startswith("awskms:"):
        raise SignerError(
            "KMS keys are created with AWS's own tools, never by sfbearer",
            hint="create the next key (aws kms create-key --key-spec RSA_2048 --key-usage "
            "SIGN_VERIFY), then: sfbearer certs rotate --signer awskms:KEY_ID_OR_ALIAS",
        )
    from sfbearer.signers.pkcs11 import open_or_generate_pkcs11_key

    label = _DATED.sub("", parse_pkcs11_uri(current).object or "sfbearer")
    for n in range(1, _MAX_SAME_DAY + 1):
        suffix = f"{now:%Y%m%d}" if n == 1 else f"{now:%Y%m%d}-{n}"
        uri = with_object(current, f"{label}-{suffix}")
        # An object with this label is an earlier rotation's key: never reuse it.
        signer, created = open_or_generate_pkcs11_key(uri, key_size)
        if created:
            return uri, signer, True
    raise SignerError(
        f"{_MAX_SAME_DAY} rotations today already in this token",
        hint="name the new key yourself: --signer 'pkcs11:...;object=LABEL'",
    )


def make_signer_pair(
    profile: Profile,
    directory: Path,
    *,
    signer_uri: str | None,
    days: int,
    key_size: int,
    now: dt.datetime,
) -> PendingPair:
    """A key in a vault (made or named) and its certificate, signed there, in ``directory``."""
    from cryptography.hazmat.primitives import serialization

    from sfbearer._files import exclusive_write
    from sfbearer.keys import describe_certificate
    from sfbearer.signers.x509 import build_self_signed_certificate

    uri, signer, created = _next_signer(profile, signer_uri, key_size, now)
    cert = build_self_signed_certificate(
        signer, common_name=_common_name(profile), days=days, now=now
    )
    current_cert = profile.certificate_path() or Path("server.crt")
    _, cert_name = next_names(
        "server.key",
        current_cert.name,
        now.date(),
        lambda name: (directory / name).exists() or (directory / name).is_symlink(),
    )
    cert_path = directory / cert_name
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        exclusive_write(cert_path, cert.public_bytes(serialization.Encoding.PEM), mode=0o644)
    except OSError as exc:
        raise CertificateError(f"cannot write {cert_path}: {exc.strerror or exc}") from None
    return PendingPair(uri, cert_path, describe_certificate(cert), created_key=created)


def target_directory(
    profile: Profile, out_dir: str | os.PathLike[str] | None, signer: bool
) -> Path:
    """Where the next files go: ``out_dir``, else beside the current key (or certificate)."""
    if out_dir is not None:
        return Path(out_dir).expanduser().absolute()
    if signer:
        cert = profile.certificate_path()
        if cert is not None:
            return cert.parent
        raise ProfileError(
            f"profile {profile.name!r} names no certificate file to put the next one beside",
            hint="give the directory for the next certificate: --out-dir DIR",
        )
    if profile.jwt_key_env:
        raise ProfileError(
            f"profile {profile.name!r} takes its key from the variable {profile.jwt_key_env}",
            hint="give a directory for the next key pair (--out-dir DIR), or a signer "
            "(--signer URI); after the promotion the profile uses that file",
        )
    return Path(profile.jwt_key_file or ".").expanduser().absolute().parent
