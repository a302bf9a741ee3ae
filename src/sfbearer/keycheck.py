"""Check a key file and its certificate the way ``sfbearer keys check`` reports it.

Each check gives a :class:`Finding`; :func:`worst_exit_code` turns them into the CLI's exit
code: 0 all pass, 1 warnings only, 2 a check failed, 78 a file could not be opened or
decrypted at all (nothing to check).

Example:
    >>> findings = check_key_files("server.key", "server.crt")  # doctest: +SKIP
    >>> [f.status for f in findings]  # doctest: +SKIP
    ['ok', 'ok', 'ok', 'ok', 'ok']
"""

from __future__ import annotations

import datetime as dt
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cryptography.hazmat.primitives.asymmetric import rsa

from sfbearer._exceptions import CertificateError, KeyFileError, SfBearerError
from sfbearer._files import read_head
from sfbearer.keys import (
    MIN_KEY_SIZE,
    CertificateInfo,
    check_key_file_permissions,
    is_encrypted_private_key,
    key_matches_certificate,
    load_certificate,
    load_private_key,
    public_material_kind,
)

__all__ = [
    "EXPIRY_WARNING_DAYS",
    "Finding",
    "check_key_files",
    "check_signer",
    "worst_exit_code",
]

EXPIRY_WARNING_DAYS = 30
Status = Literal["ok", "warn", "fail", "error"]
_EXIT = {"ok": 0, "warn": 1, "fail": 2, "error": 78}


@dataclass(frozen=True, slots=True)
class Finding:
    """One check's result.

    Attributes:
        check: what was checked (``permissions``, ``key``, ``certificate``, ``match``, ``validity``).
        status: ``ok``, ``warn``, ``fail`` (read, and wrong) or ``error`` (could not be read).
        message: one line for a person; never key bytes or a passphrase.
        hint: the fix, when there is one.
    """

    check: str
    status: Status
    message: str
    hint: str = ""


def worst_exit_code(findings: list[Finding]) -> int:
    """The CLI exit code for ``findings``: 78 > 2 > 1 > 0."""
    codes = [_EXIT[f.status] for f in findings]
    return max(codes, default=0)


def _check_permissions(key_path: Path) -> Finding:
    try:
        check_key_file_permissions(key_path)
    except KeyFileError as exc:
        unreadable = not os.path.exists(key_path) or "cannot read" in exc.message
        return Finding("permissions", "error" if unreadable else "fail", exc.message, exc.hint)
    mode = stat.S_IMODE(os.stat(key_path).st_mode)
    via = f" (via symlink to {os.path.realpath(key_path)})" if key_path.is_symlink() else ""
    return Finding("permissions", "ok", f"{key_path} has mode {mode:04o}{via}")


def _check_key(
    key_path: Path, passphrase: str | bytes | None
) -> tuple[Finding, rsa.RSAPrivateKey | None]:
    from sfbearer._files import read_bounded

    try:
        head = read_bounded(key_path, 64 * 1024, KeyFileError, "key file", content="a key")
    except KeyFileError as exc:
        return Finding("key", "error", exc.message), None
    encrypted = is_encrypted_private_key(head)
    try:
        key = load_private_key(key_path, passphrase, check_permissions=False)
    except KeyFileError as exc:
        # an encrypted key we cannot open is a configuration problem, not a bad key
        return Finding("key", "error" if encrypted else "fail", exc.message, exc.hint), None
    note = ", encrypted" if encrypted else ""
    return Finding("key", "ok", f"RSA private key, {key.key_size} bits{note}"), key


def _check_certificate(cert_path: Path) -> tuple[Finding, CertificateInfo | None]:
    try:
        info = load_certificate(cert_path)
    except CertificateError as exc:
        status: Status = "error" if not os.path.isfile(cert_path) else "fail"
        if "cannot read" in exc.message:
            status = "error"
        return Finding("certificate", status, exc.message, exc.hint), None
    pub = info.certificate.public_key()
    if not isinstance(pub, rsa.RSAPublicKey):
        return Finding("certificate", "fail", f"{info.subject}: not an RSA certificate"), info
    if pub.key_size < MIN_KEY_SIZE:
        return (
            Finding("certificate", "fail", f"{info.subject}: RSA {pub.key_size} bits is too weak"),
            info,
        )
    return Finding("certificate", "ok", f"{info.subject}, RSA {pub.key_size} bits"), info


def _check_validity(info: CertificateInfo, now: dt.datetime, warn_days: int) -> Finding:
    days = info.days_left_at(now)
    until = info.not_after.strftime("%Y-%m-%d %H:%M UTC")
    if now < info.not_before:
        since = info.not_before.strftime("%Y-%m-%d %H:%M UTC")
        return Finding("validity", "fail", f"not valid before {since}", "check the clock")
    if now > info.not_after:
        return Finding(
            "validity",
            "fail",
            f"expired on {until}",
            "make a new pair and upload its certificate: sfbearer certs rotate -p PROFILE "
            "for a profile, sfbearer keys new for loose files",
        )
    message = f"valid until {until} ({days} days left)"
    if days < warn_days:
        return Finding(
            "validity",
            "warn",
            message,
            "rotate soon: sfbearer certs rotate -p PROFILE for a profile; for loose files, "
            "sfbearer keys new, then upload server.crt",
        )
    return Finding("validity", "ok", message)


def _check_pair(
    public_key: rsa.RSAPublicKey | None,
    cert_file: Path,
    now: dt.datetime,
    warn_days: int,
    owner: str,
) -> list[Finding]:
    """The certificate, its match with the key, and its validity."""
    cert_finding, info = _check_certificate(cert_file)
    findings = [cert_finding]
    if public_key is not None and info is not None:
        if key_matches_certificate(public_key, info.certificate):
            findings.append(Finding("match", "ok", f"the certificate carries {owner}'s public key"))
        else:
            findings.append(
                Finding(
                    "match",
                    "fail",
                    f"the certificate does not belong to {owner}",
                    "upload the certificate made with this key, or use the matching key",
                )
            )
    if info is not None:
        findings.append(_check_validity(info, now, warn_days))
    return findings


def check_key_files(
    key_path: str | os.PathLike[str],
    cert_path: str | os.PathLike[str],
    *,
    passphrase: str | bytes | None = None,
    now: dt.datetime | None = None,
    warn_days: int = EXPIRY_WARNING_DAYS,
) -> list[Finding]:
    """Check permissions, key type and size, the certificate, key/certificate match, validity.

    Never raises for a bad file: every problem is a :class:`Finding`.
    """
    current = now or dt.datetime.now(dt.UTC)
    key_file, cert_file = Path(key_path), Path(cert_path)
    key_finding, key = _check_key(key_file, passphrase)
    head = read_head(key_file)
    if head is not None and public_material_kind(head) is not None:
        findings = [key_finding]  # the wrong file: its mode is beside the point
    else:
        findings = [_check_permissions(key_file), key_finding]
    public_key = key.public_key() if key is not None else None
    findings.extend(_check_pair(public_key, cert_file, current, warn_days, "this key"))
    return findings


def check_signer(
    uri: str,
    cert_path: str | os.PathLike[str],
    *,
    pin: str | None = None,
    now: dt.datetime | None = None,
    warn_days: int = EXPIRY_WARNING_DAYS,
) -> list[Finding]:
    """Check a key in an HSM or KMS (a ``pkcs11:`` / ``awskms:`` URI) and its certificate.

    The checks: the signer opens (module, token, PIN, key type and size, sign permission, or
    the KMS key spec and usage), it answers a test signature that its public key verifies,
    then the certificate, the match and the validity as :func:`check_key_files` does. There
    is no file permission to check: the key is not a file.

    Example:
        >>> uri = "awskms:alias/sfbearer-jwt?region=eu-west-1"
        >>> [f.check for f in check_signer(uri, "server.crt")]  # doctest: +SKIP
        ['signer', 'signature', 'certificate', 'match', 'validity']

    Never raises for a bad signer or file: every problem is a :class:`Finding`.
    """
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    from sfbearer.signers.uri import resolve_signer

    current = now or dt.datetime.now(dt.UTC)
    findings: list[Finding] = []
    public_key: rsa.RSAPublicKey | None = None
    try:
        signer = resolve_signer(uri, pin=pin)
        public_key = signer.public_key()
    except SfBearerError as exc:
        # the signer cannot be opened: a configuration problem, as for an unreadable file
        findings.append(Finding("signer", "error", exc.message, exc.hint))
    if public_key is not None:
        findings.append(
            Finding("signer", "ok", f"RSA {public_key.key_size} bits, key id {signer.key_id}")
        )
        probe = b"sfbearer keys check " + current.isoformat().encode()
        try:
            public_key.verify(signer.sign(probe), probe, padding.PKCS1v15(), hashes.SHA256())
            findings.append(Finding("signature", "ok", "a test signature verifies (RS256)"))
        except SfBearerError as exc:
            findings.append(Finding("signature", "fail", exc.message, exc.hint))
        except InvalidSignature:
            findings.append(
                Finding(
                    "signature",
                    "fail",
                    "the signer's signature does not verify with its own public key",
                    "check the HSM / KMS key: it must sign RSASSA-PKCS1-v1_5 with SHA-256",
                )
            )
    findings.extend(_check_pair(public_key, Path(cert_path), current, warn_days, "this signer"))
    return findings
