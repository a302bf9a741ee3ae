"""PKCS#10 certificate requests and PKCS#12 bundles, for teams whose policy wants a CA.

Example:
    >>> from sfbearer import generate_key_pair
    >>> from sfbearer.pkcs import make_csr
    >>> csr = make_csr(generate_key_pair().private_key, common_name="acme-integration")
    >>> csr.startswith(b"-----BEGIN CERTIFICATE REQUEST-----")
    True
"""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from sfbearer._exceptions import CertificateError, KeyFileError
from sfbearer.keys import MIN_KEY_SIZE, KeyPair, key_matches_certificate

__all__ = ["load_pkcs12", "make_csr"]

_MAX_BUNDLE_BYTES = 256 * 1024


def make_csr(
    private_key: rsa.RSAPrivateKey, *, common_name: str, organization: str | None = None
) -> bytes:
    """A PEM PKCS#10 certificate signing request (SHA-256) for ``private_key``.

    Raises:
        CertificateError: an empty or over-long common name or organization.
    """
    attributes = []
    for oid, value, label in (
        (NameOID.COMMON_NAME, common_name, "common name"),
        (NameOID.ORGANIZATION_NAME, organization, "organization"),
    ):
        if value is None:
            continue
        if not value.strip() or len(value) > 64:
            raise CertificateError(f"the {label} must be 1 to 64 characters")
        attributes.append(x509.NameAttribute(oid, value))
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name(attributes))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(private_key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM)


def load_pkcs12(data: bytes, passphrase: str | bytes | None = None) -> KeyPair:
    """Take the RSA private key and its certificate out of a PKCS#12 (``.p12``/``.pfx``) bundle.

    A bundle without a password is tried with none and with the empty password (both exist).

    Raises:
        KeyFileError: not a bundle, wrong or missing passphrase, no key, not RSA ≥ 2048 bits.
        CertificateError: no certificate, or a certificate that does not belong to the key.
    """
    if len(data) > _MAX_BUNDLE_BYTES:
        raise KeyFileError("the file is too large to be a PKCS#12 bundle")
    pw = passphrase.encode() if isinstance(passphrase, str) else passphrase
    attempts = [pw] if pw else [None, b""]
    loaded = None
    for attempt in attempts:
        try:
            loaded = pkcs12.load_key_and_certificates(data, attempt)
            break
        except ValueError:
            continue
    if loaded is None:
        if pw:
            raise KeyFileError(
                "cannot open the PKCS#12 bundle: wrong passphrase, or not a bundle",
                hint="give the passphrase the bundle was exported with (--passphrase-env VAR, "
                "SFBEARER_KEY_PASSPHRASE or the prompt); openssl pkcs12 -info -in BUNDLE "
                "checks it",
            )
        raise KeyFileError(
            "cannot open the PKCS#12 bundle: it needs a passphrase, or is not a bundle",
            hint="give the passphrase (--passphrase-env VAR, SFBEARER_KEY_PASSPHRASE or a prompt)",
        )
    key, cert, _chain = loaded
    if key is None:
        raise KeyFileError("the PKCS#12 bundle holds no private key")
    if not isinstance(key, rsa.RSAPrivateKey):
        raise KeyFileError(
            "the PKCS#12 bundle holds a non-RSA key; Salesforce's JWT bearer flow needs RSA (RS256)"
        )
    if key.key_size < MIN_KEY_SIZE:
        raise KeyFileError(
            f"the PKCS#12 bundle holds a {key.key_size}-bit RSA key; "
            f"at least {MIN_KEY_SIZE} bits are required"
        )
    if cert is None:
        raise CertificateError("the PKCS#12 bundle holds no certificate")
    if not key_matches_certificate(key.public_key(), cert):
        raise CertificateError("the certificate in the PKCS#12 bundle is not the key's")
    return KeyPair(key, cert)
