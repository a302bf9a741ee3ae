"""The Signer protocol (modelled on google-auth's ``crypt.Signer``)."""

from __future__ import annotations

import hashlib
from typing import Protocol, runtime_checkable

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from sfbearer._exceptions import SignerError

__all__ = ["Signer", "as_signer", "public_key_fingerprint"]


@runtime_checkable
class Signer(Protocol):
    """Something that signs RS256 (RSASSA-PKCS1-v1_5 with SHA-256) and shows its public key.

    Implementations must be safe to call from many threads at once.
    """

    @property
    def key_id(self) -> str:
        """A stable, non-secret identifier: the SHA-256 fingerprint of the public key."""
        ...

    def sign(self, message: bytes) -> bytes:
        """Return the RS256 signature of ``message``."""
        ...

    def public_key(self) -> rsa.RSAPublicKey:
        """Return the RSA public key that verifies this signer's signatures."""
        ...


def public_key_fingerprint(public_key: rsa.RSAPublicKey) -> str:
    """SHA-256 over the DER SubjectPublicKeyInfo, as lowercase hex with colons."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    digest = hashlib.sha256(der).hexdigest()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def as_signer(key: object) -> Signer:
    """Accept a loaded RSA private key or any :class:`Signer`; return a :class:`Signer`.

    Raises:
        SignerError: ``key`` is neither.
    """
    from sfbearer.signers.file import FileSigner

    if isinstance(key, rsa.RSAPrivateKey):
        return FileSigner(key)
    # a runtime_checkable Protocol check costs ~10 µs; the common concrete case skips it
    if isinstance(key, FileSigner):
        return key
    if isinstance(key, Signer):
        return key
    raise SignerError(
        f"expected an RSA private key or a Signer, got {type(key).__name__}",
        hint="load the key with sfbearer.load_private_key(path)",
    )
