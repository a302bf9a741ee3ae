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
        # computed on first use: mint_assertion wraps a bare key in a FileSigner on every
        # call, and serialising the public key would cost ~10% of a signature each time
        self._key_id: str | None = None
        self.source = source

    @property
    def key_id(self) -> str:
        if self._key_id is None:
            self._key_id = public_key_fingerprint(self._key.public_key())
        return self._key_id

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message, _PADDING, _HASH)

    def public_key(self) -> rsa.RSAPublicKey:
        return self._key.public_key()

    def __repr__(self) -> str:
        where = f" source={self.source!r}" if self.source else ""
        return f"<FileSigner key_id={self.key_id[:23]}...{where}>"
