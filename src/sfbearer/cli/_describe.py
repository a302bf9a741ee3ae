"""What ``sfbearer keys show`` says about a file: a certificate, a private or a public key.

Never key bytes: sizes, names, dates, modes and fingerprints only.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sfbearer.cli._app import EXIT_CONFIG, Abort, App
from sfbearer.cli._passphrase import passphrase_from_env, prompt_passphrase

if TYPE_CHECKING:
    from sfbearer.keys import CertificateInfo

__all__ = ["UNAVAILABLE_HINT", "certificate_fields", "describe_file", "print_certificate"]

#: Why an encrypted key's size and fingerprint are missing, and how to see them.
UNAVAILABLE_HINT = (
    "size and fingerprint need the passphrase: pass --passphrase-env VAR "
    "(or set SFBEARER_KEY_PASSPHRASE, or run in a terminal to be asked)"
)


def certificate_fields(info: CertificateInfo) -> dict[str, Any]:
    """The certificate facts ``keys new`` and ``keys import`` report (JSON field names)."""
    return {
        "subject": info.subject,
        "serial": format(info.serial, "x"),
        "not_before": info.not_before.isoformat(),
        "not_after": info.not_after.isoformat(),
        "days_left": info.days_left,
        "sha256_fingerprint": info.sha256_fingerprint,
        "sha1_fingerprint": info.sha1_fingerprint,
    }


def print_certificate(app: App, path: Path, info: CertificateInfo, *, note: str = "") -> None:
    """The certificate lines of ``keys new`` / ``keys import`` (after the key's line)."""
    app.out(f"certificate:   {path} ({info.subject}){note}")
    app.out(f"expires:       {info.not_after:%Y-%m-%d %H:%M:%S UTC} ({info.days_text()})")
    app.out(f"SHA-256:       {info.sha256_fingerprint}")
    app.out(f"SHA-1:         {info.sha1_fingerprint}")


def describe_file(path: Path, data: bytes, passphrase_env: str | None) -> dict[str, Any]:
    """Describe the certificate or key in ``data`` (read from ``path``) as ordered fields.

    An encrypted key without its passphrase is described as far as the file shows (size and
    fingerprint ``None``, ``unavailable`` says why).

    Raises:
        Abort: neither a key nor a certificate (exit 78).
        SfBearerError: a key that cannot be loaded (wrong passphrase, not RSA...).
    """
    kind = _kind(data)
    if kind == "certificate":
        return _describe_certificate(data, path)
    if kind == "private":
        return _describe_private_key(path, data, passphrase_env)
    if kind == "public":
        return _describe_public_key(path, data)
    raise Abort(f"{path} is not a key or a certificate", EXIT_CONFIG, hint=_NOT_A_KEY_HINT)


_NOT_A_KEY_HINT = (
    "keys show reads a PEM or DER private key, public key or X.509 certificate (server.key, "
    "server.crt), or a pkcs11: / awskms: URI"
)


def _describe_certificate(data: bytes, path: Path) -> dict[str, Any]:
    from sfbearer.keys import load_certificate
    from sfbearer.signers import public_key_fingerprint

    info = load_certificate(data)
    pub = info.certificate.public_key()
    days = info.days_left
    status = "expired" if days < 0 else "valid"
    if dt.datetime.now(dt.UTC) < info.not_before:
        status = "not yet valid"
    out: dict[str, Any] = {
        "path": str(path),
        "type": "X.509 certificate",
        "key": f"RSA {info.key_size} bits" if info.key_size else type(pub).__name__,
        "subject": info.subject,
        "issuer": info.issuer + (" (self-signed)" if info.is_self_signed else ""),
        "serial": format(info.serial, "x"),
        "not_before": info.not_before.isoformat(),
        "not_after": info.not_after.isoformat(),
        "days_left": days,
        "status": status,
        "sha256_fingerprint": info.sha256_fingerprint,
        "sha1_fingerprint": info.sha1_fingerprint,
    }
    if info.key_size:
        out["public_key_sha256"] = public_key_fingerprint(pub)  # type: ignore[arg-type]
    return out


def _describe_private_key(path: Path, data: bytes, passphrase_env: str | None) -> dict[str, Any]:
    import os
    import stat

    from sfbearer.keys import is_encrypted_private_key
    from sfbearer.signers import public_key_fingerprint

    mode = stat.S_IMODE(os.stat(path).st_mode)
    # describing a key is harmless even when its mode is unsafe: report it instead of refusing
    encrypted = is_encrypted_private_key(data)
    passphrase = passphrase_from_env(passphrase_env)
    if encrypted and passphrase is None:
        passphrase = prompt_passphrase(str(path))
    pem = b"-----BEGIN" in data
    fmt = "PKCS#1 PEM" if b"BEGIN RSA PRIVATE KEY" in data else ("PKCS#8 PEM" if pem else "DER")
    mode_text = f"{mode:04o}" + (" (unsafe: chmod 600)" if mode & 0o077 else "")
    if encrypted and passphrase is None:
        # What the file shows without its passphrase; the size and the fingerprint are inside
        # the encryption (PKCS#8 even hides the algorithm), so they are marked unavailable.
        return {
            "path": str(path),
            "type": "RSA private key" if b"BEGIN RSA PRIVATE KEY" in data else "private key",
            "size": None,
            "format": fmt,
            "encrypted": True,
            "mode": mode_text,
            "public_key_sha256": None,
            "unavailable": UNAVAILABLE_HINT,
        }
    from sfbearer.keys import load_private_key

    key = load_private_key(path, passphrase, check_permissions=False)
    return {
        "path": str(path),
        "type": "RSA private key",
        "size": key.key_size,
        "format": fmt,
        "encrypted": encrypted,
        "mode": mode_text,
        "public_key_sha256": public_key_fingerprint(key.public_key()),
    }


def _describe_public_key(path: Path, data: bytes) -> dict[str, Any]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from sfbearer.signers import public_key_fingerprint

    try:
        pub = (
            serialization.load_pem_public_key(data)
            if b"-----BEGIN" in data
            else serialization.load_der_public_key(data)
        )
    except (ValueError, TypeError):
        raise Abort(
            f"{path} is not a key or a certificate", EXIT_CONFIG, hint=_NOT_A_KEY_HINT
        ) from None
    if not isinstance(pub, rsa.RSAPublicKey):
        return {"path": str(path), "type": f"{type(pub).__name__} (not RSA)"}
    return {
        "path": str(path),
        "type": "RSA public key",
        "size": pub.key_size,
        "public_key_sha256": public_key_fingerprint(pub),
    }


def _kind(data: bytes) -> str:
    if b"-----BEGIN" in data:
        if b"-----BEGIN CERTIFICATE-----" in data:
            return "certificate"
        if b"PRIVATE KEY-----" in data:
            return "private"
        if b"PUBLIC KEY-----" in data:
            return "public"
        return "unknown"
    from cryptography import x509

    from sfbearer.keys import is_encrypted_private_key

    try:
        x509.load_der_x509_certificate(data)
    except ValueError:
        pass
    else:
        return "certificate"
    if is_encrypted_private_key(data):
        return "private"
    from cryptography.hazmat.primitives import serialization

    try:
        serialization.load_der_private_key(data, None)
    except (ValueError, TypeError):
        return "public"
    except Exception:  # noqa: BLE001 - unsupported algorithms: let the loader explain
        return "private"
    return "private"
