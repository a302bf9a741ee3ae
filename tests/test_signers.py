"""Signers: the protocol, the file signer, as_signer."""

from __future__ import annotations

import hashlib
import threading

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from sfbearer import SignerError
from sfbearer.keys import KeyPair, verify_rs256
from sfbearer.signers import FileSigner, Signer, as_signer, public_key_fingerprint


def test_file_signer_signs_rs256(key_pair: KeyPair) -> None:
    signer = FileSigner(key_pair.private_key, source="server.key")
    sig = signer.sign(b"message")
    assert len(sig) == 256
    key_pair.private_key.public_key().verify(sig, b"message", padding.PKCS1v15(), hashes.SHA256())
    assert verify_rs256(signer.public_key(), b"message", sig)
    # PKCS#1 v1.5 is deterministic: same key and message, same signature
    assert signer.sign(b"message") == sig
    assert isinstance(signer, Signer)


def test_key_id_is_sha256_of_the_public_key(key_pair: KeyPair) -> None:
    signer = FileSigner(key_pair.private_key)
    der = key_pair.private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert signer.key_id.replace(":", "") == hashlib.sha256(der).hexdigest()
    assert signer.key_id == public_key_fingerprint(key_pair.private_key.public_key())


def test_key_id_differs_between_keys(key_pair: KeyPair, other_key_pair: KeyPair) -> None:
    assert FileSigner(key_pair.private_key).key_id != FileSigner(other_key_pair.private_key).key_id


def test_repr_names_key_id_and_source_never_key_material(key_pair: KeyPair) -> None:
    signer = FileSigner(key_pair.private_key, source="/etc/keys/server.key")
    text = repr(signer)
    assert signer.key_id[:23] in text
    assert "/etc/keys/server.key" in text
    assert str(key_pair.private_key.private_numbers().d)[:16] not in text
    assert "PRIVATE" not in text


def test_as_signer_accepts_keys_and_signers(key_pair: KeyPair) -> None:
    wrapped = as_signer(key_pair.private_key)
    assert isinstance(wrapped, FileSigner)
    signer = FileSigner(key_pair.private_key)
    assert as_signer(signer) is signer


class _CustomSigner:
    """A stand-in for an HSM/KMS signer: no private key object anywhere."""

    def __init__(self, inner: rsa.RSAPrivateKey) -> None:
        self._inner = inner
        self.calls = 0

    @property
    def key_id(self) -> str:
        return "custom"

    def sign(self, message: bytes) -> bytes:
        self.calls += 1
        return self._inner.sign(message, padding.PKCS1v15(), hashes.SHA256())

    def public_key(self) -> rsa.RSAPublicKey:
        return self._inner.public_key()


def test_as_signer_accepts_any_protocol_implementation(key_pair: KeyPair) -> None:
    custom = _CustomSigner(key_pair.private_key)
    assert as_signer(custom) is custom


@pytest.mark.parametrize("bad", [None, "server.key", b"-----BEGIN PRIVATE KEY-----", 42])
def test_as_signer_refuses_other_things(bad: object) -> None:
    with pytest.raises(SignerError, match="expected an RSA private key or a Signer") as info:
        as_signer(bad)
    assert "BEGIN" not in str(info.value)


def test_as_signer_refuses_an_ec_key() -> None:
    with pytest.raises(SignerError):
        as_signer(ec.generate_private_key(ec.SECP256R1()))


def test_file_signer_is_thread_safe(key_pair: KeyPair) -> None:
    signer = FileSigner(key_pair.private_key)
    expected = {i: signer.sign(str(i).encode()) for i in range(16)}
    results: dict[int, bytes] = {}

    def work(i: int) -> None:
        results[i] = signer.sign(str(i).encode())
        _ = signer.key_id

    threads = [threading.Thread(target=work, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == expected
