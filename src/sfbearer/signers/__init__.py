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

from sfbearer.signers._base import Signer, as_signer, public_key_fingerprint
from sfbearer.signers.file import FileSigner

__all__ = ["FileSigner", "Signer", "as_signer", "public_key_fingerprint"]
