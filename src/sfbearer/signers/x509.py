"""Certificates and CSRs for keys you cannot read, signed through a :class:`Signer`.

``cryptography``'s builders want the private key object; an HSM or KMS key never gives
one. So the to-be-signed structure is built with ``asn1crypto``, its DER is signed through
the signer (RS256 = sha256WithRSAEncryption), and the pieces are assembled; the result is
parsed back with ``cryptography`` and its signature checked before it is returned.

The certificate has the same profile as :func:`sfbearer.keys.make_self_signed_certificate`:
v3, random positive 159-bit serial, subject = issuer = ``CN=<common name>``,
basicConstraints ``CA:FALSE`` (critical), keyUsage ``digitalSignature`` (critical),
subjectKeyIdentifier. OpenSSL 3 verifies such a self-signed leaf with
``openssl verify -check_ss_sig -CAfile cert.pem cert.pem``: a self-signed certificate
given as its own trust anchor is accepted at depth 0 without ``keyCertSign``; adding
``keyCertSign`` would make it a CA certificate, which a JWT signing key should not be.

Example:
    >>> from sfbearer import generate_key_pair
    >>> from sfbearer.signers import FileSigner
    >>> signer = FileSigner(generate_key_pair().private_key)
    >>> cert = build_self_signed_certificate(signer, common_name="acme-integration")
    >>> cert.subject.rfc4514_string()
    'CN=acme-integration'
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from asn1crypto import algos, core, csr, keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization

from sfbearer._exceptions import CertificateError, SignerError
from sfbearer.signers._base import Signer

__all__ = ["build_csr", "build_self_signed_certificate"]

_MAX_DAYS = 3650 * 3
# RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050.
_UTC_TIME_END = dt.datetime(2050, 1, 1, tzinfo=dt.UTC)


def _algorithm() -> algos.SignedDigestAlgorithm:
    # RFC 4055: sha256WithRSAEncryption carries an explicit NULL parameter.
    return algos.SignedDigestAlgorithm({"algorithm": "sha256_rsa", "parameters": core.Null()})


def _time(value: dt.datetime) -> asn1_x509.Time:
    if value < _UTC_TIME_END:
        return asn1_x509.Time({"utc_time": value})
    return asn1_x509.Time({"general_time": value})


def _check_name(common_name: str) -> None:
    if not common_name or len(common_name) > 64:
        raise CertificateError("the common name must be 1 to 64 characters")


def _spki(signer: Signer) -> keys.PublicKeyInfo:
    der = signer.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return keys.PublicKeyInfo.load(der)


def _sign(signer: Signer, tbs_der: bytes) -> bytes:
    signature = signer.sign(tbs_der)
    if len(signature) * 8 != signer.public_key().key_size:
        raise SignerError("the signer returned a signature of the wrong length")
    return signature


def build_self_signed_certificate(
    signer: Signer,
    *,
    common_name: str,
    days: int = 365,
    now: dt.datetime | None = None,
) -> x509.Certificate:
    """A self-signed X.509 certificate for ``signer``'s key, signed by that key.

    Args:
        signer: any :class:`~sfbearer.signers.Signer` (HSM, KMS or file key).
        common_name: the subject and issuer CN (1 to 64 characters).
        days: validity from now, 1 to 10950 days.
        now: the current time (injectable for tests); validity starts 5 minutes earlier
            to absorb clock skew.

    Returns:
        The certificate, parsed by ``cryptography``, its signature already verified.

    Raises:
        CertificateError: a bad name or validity, or a signature that does not verify.
        SignerError: the signer cannot sign.
    """
    if days < 1 or days > _MAX_DAYS:
        raise CertificateError(f"certificate validity must be 1..{_MAX_DAYS} days, got {days}")
    _check_name(common_name)
    start = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
    name = asn1_x509.Name.build({"common_name": common_name})
    spki = _spki(signer)
    # RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey bit string.
    key_identifier = hashlib.sha1(spki["public_key"].contents[1:]).digest()  # noqa: S324
    tbs = asn1_x509.TbsCertificate(
        {
            "version": "v3",
            # Positive, at most 20 octets (RFC 5280 4.1.2.2): 159 random bits, never zero.
            "serial_number": secrets.randbits(159) | 1,
            "signature": _algorithm(),
            "issuer": name,
            "validity": {
                "not_before": _time(start - dt.timedelta(minutes=5)),
                "not_after": _time(start + dt.timedelta(days=days)),
            },
            "subject": name,
            "subject_public_key_info": spki,
            "extensions": [
                {"extn_id": "basic_constraints", "critical": True, "extn_value": {"ca": False}},
                {"extn_id": "key_usage", "critical": True, "extn_value": {"digital_signature"}},
                {"extn_id": "key_identifier", "critical": False, "extn_value": key_identifier},
            ],
        }
    )
    tbs_der = tbs.dump()
    signature = _sign(signer, tbs_der)
    der = asn1_x509.Certificate(
        {
            "tbs_certificate": tbs,
            "signature_algorithm": _algorithm(),
            "signature_value": signature,
        }
    ).dump()
    cert = x509.load_der_x509_certificate(der)
    try:
        cert.verify_directly_issued_by(cert)
    except (InvalidSignature, ValueError, TypeError):
        raise CertificateError(
            "the signer's signature does not verify with its own public key",
            hint="the signer's public key and private key do not belong together",
        ) from None
    return cert


def build_csr(signer: Signer, common_name: str) -> x509.CertificateSigningRequest:
    """A PKCS#10 certificate signing request for ``signer``'s key, signed by that key.

    For organisations whose policy wants the certificate issued by their own CA rather than
    self-signed (Salesforce accepts either).

    Example:
        >>> from sfbearer import generate_key_pair
        >>> from sfbearer.signers import FileSigner
        >>> request = build_csr(FileSigner(generate_key_pair().private_key), "acme")
        >>> request.is_signature_valid
        True

    Raises:
        CertificateError: a bad name, or a signature that does not verify.
        SignerError: the signer cannot sign.
    """
    _check_name(common_name)
    info = csr.CertificationRequestInfo(
        {
            "version": "v1",
            "subject": asn1_x509.Name.build({"common_name": common_name}),
            "subject_pk_info": _spki(signer),
            "attributes": [],
        }
    )
    signature = _sign(signer, info.dump())
    der = csr.CertificationRequest(
        {
            "certification_request_info": info,
            "signature_algorithm": _algorithm(),
            "signature": signature,
        }
    ).dump()
    request = x509.load_der_x509_csr(der)
    if not request.is_signature_valid:
        raise CertificateError("the signer's signature does not verify with its own public key")
    return request
