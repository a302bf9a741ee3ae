"""X.509 certificates: make a self-signed one, load one, describe it for people.

Re-exported by :mod:`sfbearer.keys`, which is where callers import them from.

Example:
    >>> from sfbearer.keys import generate_key_pair
    >>> info = describe_certificate(generate_key_pair(common_name="acme").certificate)
    >>> info.subject
    'CN=acme'
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from sfbearer._exceptions import CertificateError
from sfbearer._files import read_bounded

if TYPE_CHECKING:
    # cryptography.x509 costs ~20 ms to import; loading a key and minting never need it, and
    # `sfbearer assertion new` is timed as a whole process
    from cryptography import x509

__all__ = [
    "CertificateInfo",
    "days_text",
    "describe_certificate",
    "key_matches_certificate",
    "load_certificate",
    "make_self_signed_certificate",
]

_MAX_CERTIFICATE_BYTES = 64 * 1024


def _fingerprint(data: bytes, algorithm: hashes.HashAlgorithm) -> str:
    h = hashes.Hash(algorithm)
    h.update(data)
    digest = h.finalize().hex().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def days_text(days_left: int) -> str:
    """Whole days left for people: ``364 days left``, ``1 day left``, ``expired today``,
    ``expired 2 days ago`` (``days_left`` is a floor, so -1 means expired under a day ago).

    Example:
        >>> [days_text(d) for d in (2, 1, 0, -1, -3)]
        ['2 days left', '1 day left', '0 days left', 'expired today', 'expired 2 days ago']
    """
    if days_left >= 0:
        return f"{days_left} day{'s' if days_left != 1 else ''} left"
    ago = -days_left - 1
    return "expired today" if ago == 0 else f"expired {ago} day{'s' if ago != 1 else ''} ago"


@dataclass(frozen=True, slots=True)
class CertificateInfo:
    """What a person needs to know about a certificate.

    Attributes:
        subject: the subject as an RFC 4514 string (``CN=acme-integration``).
        issuer: the issuer, same form; equal to ``subject`` when self-signed.
        serial: the serial number.
        not_before: start of validity (UTC).
        not_after: end of validity (UTC).
        sha256_fingerprint: SHA-256 over the DER certificate, colon-separated hex.
        sha1_fingerprint: SHA-1 over the DER certificate (Salesforce shows this one).
        key_size: the RSA modulus size, or 0 for a non-RSA key.
        certificate: the parsed certificate.
    """

    subject: str
    issuer: str
    serial: int
    not_before: dt.datetime
    not_after: dt.datetime
    sha256_fingerprint: str
    sha1_fingerprint: str
    key_size: int
    certificate: x509.Certificate

    @property
    def days_left(self) -> int:
        """Whole days until ``not_after`` (negative once expired)."""
        return self.days_left_at(dt.datetime.now(dt.UTC))

    def days_left_at(self, now: dt.datetime) -> int:
        """Whole days from ``now`` until ``not_after`` (floor; negative once expired)."""
        return (self.not_after - now) // dt.timedelta(days=1)

    def days_text(self, now: dt.datetime | None = None) -> str:
        """:func:`days_text` of the whole days left at ``now`` (default: the current time)."""
        return days_text(self.days_left_at(now or dt.datetime.now(dt.UTC)))

    @property
    def is_self_signed(self) -> bool:
        return self.subject == self.issuer

    def is_valid_at(self, now: dt.datetime) -> bool:
        return self.not_before <= now <= self.not_after

    def pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)


def describe_certificate(cert: x509.Certificate) -> CertificateInfo:
    """Build a :class:`CertificateInfo` from a parsed certificate."""
    der = cert.public_bytes(serialization.Encoding.DER)
    pub = cert.public_key()
    return CertificateInfo(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        serial=cert.serial_number,
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        sha256_fingerprint=_fingerprint(der, hashes.SHA256()),
        sha1_fingerprint=_fingerprint(der, hashes.SHA1()),  # noqa: S303 - a fingerprint, as Salesforce shows it
        key_size=pub.key_size if isinstance(pub, rsa.RSAPublicKey) else 0,
        certificate=cert,
    )


def make_self_signed_certificate(
    private_key: rsa.RSAPrivateKey,
    *,
    common_name: str = "sfbearer",
    days: int = 365,
    now: dt.datetime | None = None,
) -> x509.Certificate:
    """A self-signed X.509 certificate (sha256WithRSAEncryption, random serial) for ``private_key``."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    if days < 1 or days > 3650 * 3:
        raise CertificateError(f"certificate validity must be 1..10950 days, got {days}")
    if not common_name or len(common_name) > 64:
        raise CertificateError("the common name must be 1 to 64 characters")
    start = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start - dt.timedelta(minutes=5))
        .not_valid_after(start + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(private_key.public_key()), critical=False
        )
        .sign(private_key, hashes.SHA256())
    )


def load_certificate(source: str | os.PathLike[str] | bytes) -> CertificateInfo:
    """Load an X.509 certificate from a path or from PEM/DER bytes.

    Example:
        >>> info = load_certificate("server.crt")  # doctest: +SKIP
        >>> info.days_left  # doctest: +SKIP
        364

    Raises:
        CertificateError: missing, unreadable or not a certificate.
    """
    if isinstance(source, bytes):
        data, where = source, "the certificate data"
        if len(data) > _MAX_CERTIFICATE_BYTES:
            raise CertificateError(f"{where} is too large to be a certificate")
    else:
        where = os.fspath(source)
        data = read_bounded(
            source, _MAX_CERTIFICATE_BYTES, CertificateError, "certificate", content="a certificate"
        )
    from cryptography import x509

    if b"PRIVATE KEY-----" in data:
        raise CertificateError(
            f"{where} holds a private key, not a certificate",
            hint="give the certificate (server.crt); the private key must never be uploaded",
        )
    try:
        if b"-----BEGIN" in data:
            cert = x509.load_pem_x509_certificate(data)
        else:
            cert = x509.load_der_x509_certificate(data)
    except ValueError:
        raise CertificateError(f"{where} is not a valid PEM or DER X.509 certificate") from None
    return describe_certificate(cert)


def key_matches_certificate(public_key: rsa.RSAPublicKey, cert: x509.Certificate) -> bool:
    """True when ``cert`` carries exactly ``public_key``."""
    cert_key = cert.public_key()
    if not isinstance(cert_key, rsa.RSAPublicKey):
        return False
    return cert_key.public_numbers() == public_key.public_numbers()
