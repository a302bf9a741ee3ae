"""The default signer: an RSA private key held in this process."""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from sfbearer.signers._base import public_key_fingerprint

__all__ = ["FileSigner"]

_PADDING = padding.PKCS1v15()
_HASH = hashes.SHA256()


class FileSigner:
    """Signs with an in-memory RSA private key (loaded once, reused for every assertion).

    Args:
        private_key: a loaded RSA private key (see :func:`sfbearer.load_private_key`).
        source: where the key came from, for messages (a path or ``env:VAR``); never the key.
    """

    __slots__ = ("_key", "_key_id", "source")

    def __init__(self, private_key: rsa.RSAPrivateKey, *, source: str = "") -> None:
        self._key = private_key
        self._key_id = public_key_fingerprint(private_key.public_key())
        self.source = source

    @property
    def key_id(self) -> str:
        return self._key_id

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message, _PADDING, _HASH)

    def public_key(self) -> rsa.RSAPublicKey:
        return self._key.public_key()

    def __repr__(self) -> str:
        where = f" source={self.source!r}" if self.source else ""
        return f"<FileSigner key_id={self._key_id[:23]}...{where}>"
