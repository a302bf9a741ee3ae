"""JWT bearer assertions: claims → compact JWS signed through a :class:`~sfbearer.signers.Signer`.

The JWS is assembled here (base64url of the JSON header and claims, signed through the
signer), because HSMs and KMS keys cannot sign through PyJWT. PyJWT is used only to decode
and verify (:func:`decode_assertion`), always with an explicit ``["RS256"]`` allow-list.

Example:
    >>> from sfbearer import generate_key_pair, mint_assertion
    >>> key = generate_key_pair().private_key
    >>> jwt = mint_assertion(
    ...     key, client_id="3MVG9...", username="int@acme.com",
    ...     audience="https://login.salesforce.com")
    >>> jwt.count(".")
    2
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from sfbearer._exceptions import AssertionConfigError
from sfbearer.signers import Signer, as_signer

__all__ = [
    "MAX_LIFETIME",
    "DecodedAssertion",
    "decode_assertion",
    "mint_assertion",
]

MAX_LIFETIME = 180
_HEADER_B64 = base64.urlsafe_b64encode(b'{"alg":"RS256","typ":"JWT"}').rstrip(b"=")
_CONSUMER_KEY_RE = re.compile(r"^[A-Za-z0-9._]{20,255}$")
_LOGIN_AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")
_MAX_ASSERTION_BYTES = 16 * 1024
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


def _b64url(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _b64url_decode(segment: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]*", segment):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _check_claim(name: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise AssertionConfigError(f"{name} is required and must be a non-empty string")
    if value != value.strip() or _CONTROL_RE.search(value):
        raise AssertionConfigError(
            f"{name} must not contain surrounding spaces or control characters"
        )
    if len(value) > 1024:
        raise AssertionConfigError(f"{name} is too long")
    return value


def mint_assertion(
    key: rsa.RSAPrivateKey | Signer,
    *,
    client_id: str,
    username: str,
    audience: str,
    lifetime: int = MAX_LIFETIME,
    now: float | None = None,
    jti: str | None = None,
) -> str:
    """Mint a JWT bearer assertion for Salesforce.

    Args:
        key: a loaded RSA private key or any :class:`~sfbearer.signers.Signer`.
        client_id: the External Client App's consumer key (``iss``).
        username: the Salesforce username the integration acts as (``sub``).
        audience: ``https://login.salesforce.com``, ``https://test.salesforce.com``, a My
            Domain or a site URL (``aud``); see :class:`~sfbearer.Environment`.
        lifetime: seconds until ``exp``, 1 to 180.
        now: the current Unix time (injectable for tests); defaults to ``time.time()``.
        jti: a unique id; a fresh random one by default.

    Returns:
        The compact JWS (header ``{"alg":"RS256","typ":"JWT"}``; claims iss, sub, aud,
        exp, iat, jti; exp and iat are integers).

    Raises:
        AssertionConfigError: an empty claim, or a lifetime outside 1..180 s.
    """
    signer = as_signer(key)
    iss = _check_claim("client_id", client_id)
    sub = _check_claim("username", username)
    aud = _check_claim("audience", audience)
    if isinstance(lifetime, bool) or not isinstance(lifetime, int):
        raise AssertionConfigError("lifetime must be a whole number of seconds")
    if not 1 <= lifetime <= MAX_LIFETIME:
        raise AssertionConfigError(
            f"lifetime must be between 1 and {MAX_LIFETIME} seconds, got {lifetime}",
            hint="Salesforce documents that exp must be within 3 minutes",
        )
    iat = int(time.time() if now is None else now)
    claims = {
        "iss": iss,
        "sub": sub,
        "aud": aud,
        "exp": iat + lifetime,
        "iat": iat,
        "jti": jti or secrets.token_urlsafe(16),
    }
    payload = _b64url(json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode())
    signing_input = _HEADER_B64 + b"." + payload
    signature = _b64url(signer.sign(signing_input))
    return (signing_input + b"." + signature).decode("ascii")


@dataclass(frozen=True, slots=True)
class DecodedAssertion:
    """An assertion taken apart for people (no signature check unless ``verified``).

    Attributes:
        header: the JOSE header.
        claims: the claims.
        verified: True when the signature was checked against a certificate and is valid.
        warnings: problems a person should know about.
    """

    header: Mapping[str, Any]
    claims: Mapping[str, Any]
    verified: bool = False
    warnings: tuple[str, ...] = field(default=())

    def seconds_left(self, now: float | None = None) -> float | None:
        exp = self.claims.get("exp")
        if isinstance(exp, bool) or not isinstance(exp, int | float):
            return None
        if exp > 10**11:  # milliseconds
            exp = exp / 1000
        return float(exp) - (time.time() if now is None else now)


def _lint(header: Mapping[str, Any], claims: Mapping[str, Any], now: float) -> list[str]:
    warnings: list[str] = []
    if header.get("alg") != "RS256":
        warnings.append(f"alg is {header.get('alg')!r}; Salesforce only accepts RS256")
    for name in ("iss", "sub", "aud", "exp"):
        if name not in claims:
            warnings.append(f"missing the {name} claim")
    exp, iat = claims.get("exp"), claims.get("iat")
    if isinstance(exp, int | float) and not isinstance(exp, bool):
        if exp > 10**11:
            warnings.append("exp looks like milliseconds; it must be seconds since the epoch")
        else:
            start = iat if isinstance(iat, int | float) and not isinstance(iat, bool) else now
            if exp - start > MAX_LIFETIME:
                warnings.append(
                    f"lifetime is {int(exp - start)} s; Salesforce documents at most 180 s"
                )
            if exp < now:
                warnings.append(f"expired {int(now - exp)} s ago")
    elif "exp" in claims:
        warnings.append("exp is not a number (seconds since the epoch)")
    aud = claims.get("aud")
    if isinstance(aud, str) and aud.rstrip("/") not in _LOGIN_AUDIENCES:
        from urllib.parse import urlsplit

        host = (urlsplit(aud).hostname or "").lower()
        from sfbearer.environments import is_loopback_host, is_salesforce_host

        if not (is_salesforce_host(host) or is_loopback_host(host)):
            warnings.append(f"aud {aud!r} is not a Salesforce login URL")
    elif aud is not None and not isinstance(aud, str):
        warnings.append("aud should be a single string")
    iss = claims.get("iss")
    if isinstance(iss, str) and not _CONSUMER_KEY_RE.match(iss):
        warnings.append("iss does not look like a consumer key (expected 3MVG... style)")
    return warnings


def decode_assertion(
    token: str,
    *,
    certificate: Any = None,
    now: float | None = None,
) -> DecodedAssertion:
    """Take an assertion apart; with ``certificate`` also verify its RS256 signature.

    ``certificate`` is an ``x509.Certificate``, an RSA public key, or a
    :class:`~sfbearer.keys.CertificateInfo`. Verification uses PyJWT with ``["RS256"]`` only;
    expiry is reported as a warning, not an error, so an old ``jwt.txt`` can still be read.

    Raises:
        AssertionConfigError: not a JWT, or (with a certificate) a bad signature.
    """
    text = token.strip()
    if len(text) > _MAX_ASSERTION_BYTES:
        raise AssertionConfigError("too large to be an assertion")
    parts = text.split(".")
    if len(parts) != 3:
        raise AssertionConfigError(
            f"not a compact JWT: expected 3 dot-separated parts, found {len(parts)}",
            hint="pass the assertion itself (header.payload.signature, as sfbearer assertion "
            "new --out writes it), in a file or on stdin",
        )
    try:
        header = json.loads(_b64url_decode(parts[0]))
        claims = json.loads(_b64url_decode(parts[1]))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise AssertionConfigError("not a JWT: header or claims are not base64url JSON") from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise AssertionConfigError("not a JWT: header and claims must be JSON objects")
    current = time.time() if now is None else now
    verified = False
    if certificate is not None:
        verified = _verify(text, certificate)
    return DecodedAssertion(header, claims, verified, tuple(_lint(header, claims, current)))


def _verify(token: str, certificate: Any) -> bool:
    import jwt
    from cryptography import x509

    from sfbearer.keys import CertificateInfo

    if isinstance(certificate, CertificateInfo):
        certificate = certificate.certificate
    public_key: Any = (
        certificate.public_key() if isinstance(certificate, x509.Certificate) else certificate
    )
    try:
        jwt.decode(
            token,
            public_key,
            algorithms=["RS256"],
            options={
                "verify_signature": True,
                "verify_exp": False,
                "verify_aud": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
    except jwt.InvalidSignatureError:
        raise AssertionConfigError(
            "the signature does not verify with this certificate",
            hint="the assertion was signed by another key, or the certificate is not the one "
            "uploaded to the External Client App",
        ) from None
    except jwt.PyJWTError as exc:
        raise AssertionConfigError(f"the assertion does not verify: {exc}") from None
    return True
