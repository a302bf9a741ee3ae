"""Certificates and CSRs built with asn1crypto and signed through a Signer."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import SignatureAlgorithmOID

from sfbearer import CertificateError, SignerError
from sfbearer.keys import KeyPair, describe_certificate
from sfbearer.signers import FileSigner
from sfbearer.signers.x509 import build_csr, build_self_signed_certificate

from .conftest import openssl_verifies

NOW = dt.datetime(2026, 3, 1, 12, 0, 0, tzinfo=dt.UTC)


class _WrongKeySigner:
    """Signs with one key, claims another: the builder must notice."""

    def __init__(self, signing: rsa.RSAPrivateKey, shown: rsa.RSAPrivateKey) -> None:
        self._inner = FileSigner(signing)
        self._shown = shown.public_key()

    @property
    def key_id(self) -> str:
        return "x"

    def sign(self, message: bytes) -> bytes:
        return self._inner.sign(message)

    def public_key(self) -> rsa.RSAPublicKey:
        return self._shown


def test_certificate_profile(key_pair: KeyPair) -> None:
    signer = FileSigner(key_pair.private_key)
    cert = build_self_signed_certificate(signer, common_name="acme-integration", days=90, now=NOW)
    info = describe_certificate(cert)
    assert info.subject == info.issuer == "CN=acme-integration"
    assert cert.version is x509.Version.v3
    assert cert.signature_algorithm_oid == SignatureAlgorithmOID.RSA_WITH_SHA256
    assert cert.not_valid_before_utc == NOW - dt.timedelta(minutes=5)
    assert cert.not_valid_after_utc == NOW + dt.timedelta(days=90)
    assert 0 < cert.serial_number < 2**159
    basic = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert basic.critical
    assert basic.value.ca is False
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.digital_signature
    assert not usage.value.key_cert_sign
    ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert ski == x509.SubjectKeyIdentifier.from_public_key(key_pair.private_key.public_key())
    assert len(cert.extensions) == 3
    cert.verify_directly_issued_by(cert)
    assert cert.public_key().public_numbers() == key_pair.private_key.public_key().public_numbers()


def test_serials_are_random(key_pair: KeyPair) -> None:
    signer = FileSigner(key_pair.private_key)
    serials = {
        build_self_signed_certificate(signer, common_name="a", now=NOW).serial_number
        for _ in range(5)
    }
    assert len(serials) == 5


def test_dates_from_2050_use_generalized_time(key_pair: KeyPair) -> None:
    signer = FileSigner(key_pair.private_key)
    late = dt.datetime(2049, 12, 1, tzinfo=dt.UTC)
    cert = build_self_signed_certificate(signer, common_name="a", days=62, now=late)
    der = cert.public_bytes(serialization.Encoding.DER)
    assert b"\x18\x0f20500201" in der  # GeneralizedTime, 15 bytes: 20500201000000Z
    assert b"\x17\x0d491130" in der  # UTCTime for not_before in 2049
    assert cert.not_valid_after_utc == late + dt.timedelta(days=62)


def test_openssl_verifies_it(key_pair: KeyPair, tmp_path: Path) -> None:
    cert = build_self_signed_certificate(FileSigner(key_pair.private_key), common_name="acme")
    openssl_verifies(cert, tmp_path / "server.crt")


def test_a_signer_whose_key_does_not_match_is_caught(
    key_pair: KeyPair, other_key_pair: KeyPair
) -> None:
    signer = _WrongKeySigner(key_pair.private_key, other_key_pair.private_key)
    with pytest.raises(CertificateError, match="does not verify"):
        build_self_signed_certificate(signer, common_name="a")
    with pytest.raises(CertificateError, match="does not verify"):
        build_csr(signer, "a")


def test_a_signature_of_the_wrong_length_is_caught(key_pair: KeyPair) -> None:
    class Short(_WrongKeySigner):
        def sign(self, message: bytes) -> bytes:
            return b"\x01" * 128

    with pytest.raises(SignerError, match="wrong length"):
        build_self_signed_certificate(
            Short(key_pair.private_key, key_pair.private_key), common_name="a"
        )


@pytest.mark.parametrize(
    ("name", "days", "message"),
    [("", 30, "common name"), ("x" * 65, 30, "common name"), ("a", 0, "validity")],
)
def test_bad_arguments(key_pair: KeyPair, name: str, days: int, message: str) -> None:
    with pytest.raises(CertificateError, match=message):
        build_self_signed_certificate(FileSigner(key_pair.private_key), common_name=name, days=days)


def test_csr(key_pair: KeyPair) -> None:
    request = build_csr(FileSigner(key_pair.private_key), "acme-integration")
    assert request.is_signature_valid
    assert request.subject.rfc4514_string() == "CN=acme-integration"
    assert request.signature_algorithm_oid == SignatureAlgorithmOID.RSA_WITH_SHA256
    public = request.public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    assert public.public_numbers() == key_pair.private_key.public_key().public_numbers()
