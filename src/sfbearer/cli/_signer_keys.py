"""``sfbearer keys new|show|check`` for keys that live in an HSM or AWS KMS (signer URIs).

The key is never read: ``keys new --signer URI`` creates it inside the PKCS#11 token (or
opens the existing KMS key) and writes only ``server.crt``, a self-signed certificate signed
*by that key* through the signer; ``keys show URI`` describes the key from its public half;
``keys check -f URI --cert server.crt`` proves it signs and matches the certificate.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sfbearer.cli._app import EXIT_CONFIG, EXIT_USAGE, Abort, App
from sfbearer.cli._describe import certificate_fields, print_certificate
from sfbearer.cli._passphrase import prompt_pin

__all__ = ["describe_signer", "new_signer_pair", "signer_cert_or_abort", "signer_csr"]

_NEXT_STEP = (
    "next: upload {cert} to your External Client App (OAuth settings > "
    '"Use digital signatures"), then use the URI wherever a key file goes: '
    "sfbearer init NAME -i CONSUMER_KEY -o USERNAME -r ENVIRONMENT -f '{uri}' --cert {cert}"
)


def _vault(uri: str) -> tuple[str, str]:
    """(kind, where) for people: ``("PKCS#11", "token 'acme', object 'jwt'")``."""
    from sfbearer.signers.uri import parse_awskms_uri, parse_pkcs11_uri

    if uri.startswith("pkcs11:"):
        return "PKCS#11", parse_pkcs11_uri(uri).describe()
    parsed = parse_awskms_uri(uri)
    region = f" in {parsed.region}" if parsed.region else ""
    return "AWS KMS", f"{parsed.key}{region}"


def new_signer_pair(
    app: App,
    uri: str,
    *,
    out_dir: Path,
    common_name: str,
    days: int,
    key_size: int,
    force: bool,
) -> None:
    """Create (or open) the vault key, then write its self-signed ``server.crt`` to ``out_dir``.

    Raises:
        Abort: ``server.crt`` exists without ``force`` (78), or it cannot be written.
        SignerError: the signer cannot be opened or the key cannot be created.
    """
    from cryptography.hazmat.primitives import serialization

    from sfbearer._files import atomic_write
    from sfbearer.keys import load_certificate
    from sfbearer.signers.uri import ensure_signer_key
    from sfbearer.signers.x509 import build_self_signed_certificate

    cert_path = out_dir / "server.crt"
    if not force and (cert_path.exists() or cert_path.is_symlink()):
        # refuse before anything is created in the vault
        raise Abort(
            f"{cert_path} already exists; refusing to overwrite it",
            EXIT_CONFIG,
            hint="pass --force to replace it, or choose another --out-dir",
        )
    # Everything that can be checked before a key is made in the vault is checked first: a
    # non-extractable key left behind without its certificate helps nobody.
    if not common_name or len(common_name) > 64:
        raise Abort("the common name must be 1 to 64 characters", EXIT_USAGE)
    _check_writable(out_dir)
    signer, created = ensure_signer_key(uri, key_size=key_size, pin=prompt_pin(uri))
    actual = signer.public_key().key_size
    if not created and actual < key_size:  # an existing key is certified as it is
        app.warn(f"the existing key has {actual} bits; --key-size {key_size} applies to new keys")
    cert = build_self_signed_certificate(signer, common_name=common_name, days=days)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        atomic_write(cert_path, cert.public_bytes(serialization.Encoding.PEM), mode=0o644)
    except OSError as exc:
        raise Abort(f"cannot write {cert_path}: {exc.strerror}", EXIT_CONFIG) from None
    info = load_certificate(cert_path)
    kind, where = _vault(uri)
    data: dict[str, Any] = {
        "signer": uri,
        "vault": kind,
        "key": where,
        "key_created": created,
        "key_size": signer.public_key().key_size,
        "public_key_sha256": signer.key_id,
        "certificate": str(cert_path),
        **certificate_fields(info),
    }
    if app.json_mode:
        app.json(data)
        return
    state = "created now, non-extractable" if created else "existing key"
    app.out(f"private key:   {kind} {where} (RSA {data['key_size']} bits, {state})")
    print_certificate(app, cert_path, info, note=", signed by that key")
    app.out("no key file was written: the private key stays in the vault")
    app.info(_NEXT_STEP.format(cert=cert_path, uri=uri))


def _check_writable(out_dir: Path) -> None:
    """``out_dir`` is, or can be made as, a writable directory (nothing is created here)."""
    existing = out_dir.absolute()
    while not existing.exists():
        if existing.is_symlink() or existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        if existing == out_dir.absolute():
            raise Abort(f"{out_dir} is not a writable directory", EXIT_CONFIG)
        raise Abort(f"cannot create {out_dir}: {existing} is not a writable directory", EXIT_CONFIG)


def describe_signer(uri: str) -> dict[str, Any]:
    """What ``keys show URI`` says: the vault, where in it, the key size and fingerprint.

    Raises:
        SignerError: the signer cannot be opened.
    """
    from sfbearer.signers.uri import resolve_signer

    signer = resolve_signer(uri, pin=prompt_pin(uri))
    public_key = signer.public_key()
    kind, where = _vault(uri)
    return {
        "signer": uri,
        "type": f"RSA private key in {kind} (not extractable by sfbearer)",
        "key": f"RSA {public_key.key_size} bits",
        "location": where,
        "public_key_sha256": signer.key_id,
    }


def signer_cert_or_abort(uri: str, cert_file: Path | None) -> Path:
    """The certificate to check a signer against: ``--cert`` is required (no file to sit beside)."""
    if cert_file is None:
        raise Abort(
            "--cert is required with a signer URI",
            EXIT_USAGE,
            hint=f"sfbearer keys check -f '{uri}' --cert server.crt",
        )
    return cert_file


def signer_csr(uri: str, common_name: str, organization: str | None) -> bytes:
    """``keys csr -f URI``: a PEM CSR signed by the HSM / KMS key ``uri`` names (CN only).

    Raises:
        Abort: ``--organization`` was given (64): the request's subject is the CN only.
        SignerError: the signer cannot be opened or cannot sign.
        CertificateError: a bad common name.
    """
    from cryptography.hazmat.primitives import serialization

    from sfbearer.signers.uri import resolve_signer
    from sfbearer.signers.x509 import build_csr

    if organization is not None:
        # The vault-signed request is built field by field with a CN-only subject.
        raise Abort(
            "--organization is not supported with a signer URI (the request's subject is "
            "the common name only)",
            EXIT_USAGE,
            hint="leave out --organization; ask your CA to add the organization if it must",
        )
    signer = resolve_signer(uri, pin=prompt_pin(uri))
    request = build_csr(signer, common_name)
    return request.public_bytes(serialization.Encoding.PEM)
