"""Signers: where the private key lives and how it signs.

A :class:`Signer` signs with RSASSA-PKCS1-v1_5 over SHA-256 (RS256). Nothing above this
layer assumes a readable private key: the file key is one signer, HSMs (PKCS#11) and cloud
KMS keys are others, behind the same protocol.

Example:
    >>> from sfbearer import generate_key_pair
    >>> from sfbearer.signers import FileSigner
    >>> signer = FileSigner(generate_key_pair().private_key)
    >>> len(signer.sign(b"payload"))
    256
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sfbearer.signers._base import Signer, as_signer, public_key_fingerprint
from sfbearer.signers.file import FileSigner
from sfbearer.signers.uri import ensure_signer_key, is_signer_uri, resolve_signer, with_object

if TYPE_CHECKING:
    from sfbearer.signers.kms import KMSSigner
    from sfbearer.signers.pkcs11 import PKCS11Signer, generate_pkcs11_key
    from sfbearer.signers.x509 import build_csr, build_self_signed_certificate

__all__ = [
    "FileSigner",
    "KMSSigner",
    "PKCS11Signer",
    "Signer",
    "as_signer",
    "build_csr",
    "build_self_signed_certificate",
    "ensure_signer_key",
    "generate_pkcs11_key",
    "is_signer_uri",
    "public_key_fingerprint",
    "resolve_signer",
    "with_object",
]

# HSM, KMS and certificate helpers load on first use: importing sfbearer stays light.
_LAZY = {
    "KMSSigner": "sfbearer.signers.kms",
    "PKCS11Signer": "sfbearer.signers.pkcs11",
    "generate_pkcs11_key": "sfbearer.signers.pkcs11",
    "build_csr": "sfbearer.signers.x509",
    "build_self_signed_certificate": "sfbearer.signers.x509",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sfbearer.signers' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
