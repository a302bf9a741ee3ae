"""pkcs: certificate signing requests and PKCS#12 bundles."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from sfbearer import CertificateError, KeyFileError
from sfbearer.keys import KeyPair, make_self_signed_certificate
from sfbearer.pkcs import load_pkcs12, make_csr


def test_make_csr(key_pair: KeyPair) -> None:
    pem = make_csr(key_pair.private_key, common_name="acme-int", organization="Acme Ltd")
    csr = x509.load_pem_x509_csr(pem)
    assert csr.is_signature_valid
    assert csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "acme-int"
    assert csr.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "Acme Ltd"
    assert csr.public_key() == key_pair.private_key.public_key()
    assert csr.signature_hash_algorithm is not None
    assert csr.signature_hash_algorithm.name == "sha256"


def test_make_csr_without_organization(key_pair: KeyPair) -> None:
    csr = x509.load_pem_x509_csr(make_csr(key_pair.private_key, common_name="x"))
    assert csr.subject.rfc4514_string() == "CN=x"


@pytest.mark.parametrize(
    ("cn", "org"), [("", None), ("x" * 65, None), ("ok", " "), ("ok", "o" * 65)]
)
def test_make_csr_bad_names(key_pair: KeyPair, cn: str, org: str | None) -> None:
    with pytest.raises(CertificateError):
        make_csr(key_pair.private_key, common_name=cn, organization=org)


def _bundle(key: object, cert: x509.Certificate | None, password: bytes | None) -> bytes:
    enc: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return pkcs12.serialize_key_and_certificates(b"sfbearer", key, cert, None, enc)  # type: ignore[arg-type]


def test_load_pkcs12_with_passphrase(key_pair: KeyPair) -> None:
    data = _bundle(key_pair.private_key, key_pair.certificate, b"p12-secret")
    pair = load_pkcs12(data, "p12-secret")
    assert pair.private_key.private_numbers() == key_pair.private_key.private_numbers()
    assert pair.certificate == key_pair.certificate
    with pytest.raises(KeyFileError, match="wrong passphrase") as wrong:
        load_pkcs12(data, "nope")
    with pytest.raises(KeyFileError, match="needs a passphrase") as missing:
        load_pkcs12(data)
    for exc in (wrong.value, missing.value):
        assert "p12-secret" not in str(exc) + exc.hint


def test_load_pkcs12_without_passphrase(key_pair: KeyPair) -> None:
    pair = load_pkcs12(_bundle(key_pair.private_key, key_pair.certificate, None))
    assert pair.certificate == key_pair.certificate


def test_load_pkcs12_key_with_only_a_ca_certificate(
    key_pair: KeyPair, other_key_pair: KeyPair
) -> None:
    # cryptography and openssl both refuse to build a bundle whose certificate is not the
    # key's, so the closest real case is a key shipped with an unrelated chain certificate
    data = pkcs12.serialize_key_and_certificates(
        b"x", key_pair.private_key, None, [other_key_pair.certificate], serialization.NoEncryption()
    )
    with pytest.raises(CertificateError, match="no certificate"):
        load_pkcs12(data)


def test_load_pkcs12_without_certificate(key_pair: KeyPair) -> None:
    with pytest.raises(CertificateError, match="no certificate"):
        load_pkcs12(_bundle(key_pair.private_key, None, None))


def test_load_pkcs12_without_key(key_pair: KeyPair) -> None:
    data = pkcs12.serialize_key_and_certificates(
        b"x", None, None, [key_pair.certificate], serialization.NoEncryption()
    )
    with pytest.raises(KeyFileError, match="no private key"):
        load_pkcs12(data)


def test_load_pkcs12_non_rsa_and_weak_keys() -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(KeyFileError, match="non-RSA"):
        load_pkcs12(_bundle(ec_key, None, None))
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    weak_cert = make_self_signed_certificate(weak)
    with pytest.raises(KeyFileError, match="1024-bit"):
        load_pkcs12(_bundle(weak, weak_cert, None))


@pytest.mark.parametrize("data", [b"", b"not a bundle", b"\x30\x03\x02\x01\x03"])
def test_load_pkcs12_garbage(data: bytes) -> None:
    with pytest.raises(KeyFileError):
        load_pkcs12(data)


def test_load_pkcs12_too_large() -> None:
    with pytest.raises(KeyFileError, match="too large"):
        load_pkcs12(b"\x00" * 300_000)
