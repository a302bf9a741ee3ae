"""Assertion validation, in Salesforce's order, for both validation profiles.

This is the emulator's own referee code: the JWS is split and its JSON parsed here, the
signature is verified as RS256 (RSASSA-PKCS1-v1_5 with SHA-256, by ``cryptography``; fixed in
code: the only algorithm allowed, never taken from the token) against the certificate of the app
named by ``iss`` (never a key named by the token), and every claim check is written out below.
Nothing from sfbearer's client side is used.

Order (SALESFORCE.md §3): JWT parse → ``iss`` known → signature → ``aud`` → ``exp`` (and the
strict profile's ``iat``/``nbf``/lifetime/``jti``) → app installed / scopes → user exists and
active → user pre-authorized → IP restrictions → login rate.
"""

from __future__ import annotations

import binascii
import functools
import json
import json.scanner
import math
import re
from dataclasses import dataclass
from typing import Any, cast

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from sfbearer.emulator.clock import Clock
from sfbearer.emulator.config import ADMIN_APPROVED, EmulatorConfig
from sfbearer.emulator.faults import Faults
from sfbearer.emulator.login_limits import JtiCache, LoginWindow
from sfbearer.emulator.registry import AppRecord, Registry, UserRecord

__all__ = ["OAuthError", "Verified", "split_jws", "validate_assertion"]

_TO_STANDARD_B64 = bytes.maketrans(b"-_", b"+/")
# RS256 and nothing else: padding and hash are fixed here, never chosen by the token's header
# (which split_jws has already checked); exactly what PyJWT's RS256 algorithm calls.
_PKCS1V15 = padding.PKCS1v15()
_SHA256 = hashes.SHA256()


class OAuthError(Exception):
    """A token-endpoint refusal: ``{"error", "error_description"}`` with an HTTP status."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status


def _invalid_assertion() -> OAuthError:
    return OAuthError("invalid_grant", "invalid assertion")


def _grant(description: str) -> OAuthError:
    return OAuthError("invalid_grant", description)


@dataclass(frozen=True)
class Verified:
    """An assertion that passed every check."""

    app: AppRecord
    user: UserRecord


def _b64decode(segment: str) -> bytes:
    """A base64url segment without padding, decoded; anything else is an invalid assertion.

    ``binascii``'s strict mode refuses every character outside the alphabet (after ``-_`` are
    mapped to ``+/``), so only the standard alphabet's own ``+``, ``/`` and ``=`` (and
    non-ASCII text) are looked for here: exactly ``^[A-Za-z0-9_-]*$`` and
    ``base64.urlsafe_b64decode``, without a regular expression stepping through every character.
    """
    if len(segment) % 4 == 1 or "+" in segment or "/" in segment or "=" in segment:
        raise _invalid_assertion()
    try:
        padded = (segment + "=" * (-len(segment) % 4)).encode("ascii")
        return binascii.a2b_base64(padded.translate(_TO_STANDARD_B64), strict_mode=True)
    except (binascii.Error, ValueError):  # UnicodeEncodeError is a ValueError
        raise _invalid_assertion() from None


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):  # RFC 8725 §3.9: ambiguous JSON is refused, not resolved
        raise ValueError("duplicate member")
    return result


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_DECODER = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
# The decoder's own scanner (what JSONDecoder.decode runs), called directly.
_SCAN = json.scanner.make_scanner(cast(Any, _DECODER))


def _json_object(segment: str) -> dict[str, Any]:
    # JSONDecoder.decode's steps (JSON whitespace around one value, nothing after it), without
    # its two regular-expression matches per call.
    raw = _b64decode(segment)
    try:
        text = raw.decode("utf-8").strip(" \t\n\r")
        value, end = _SCAN(text, 0)
    except (StopIteration, ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise _invalid_assertion() from None
    if end != len(text):
        raise _invalid_assertion()
    if not isinstance(value, dict):
        raise _invalid_assertion()
    return value


@functools.lru_cache(maxsize=64)
def _cached_header(segment: str) -> dict[str, Any]:
    return _json_object(segment)


def _header_object(segment: str) -> dict[str, Any]:
    """The header's JSON, decoded once per distinct header text.

    A client sends the same header every time; a malformed one raises and is not kept. Every
    check on the header still runs for each assertion.
    """
    if len(segment) > 512:
        return _json_object(segment)
    return dict(_cached_header(segment))  # a (shallow) copy: callers may change theirs


def split_jws(assertion: str, *, strict: bool) -> tuple[dict[str, Any], dict[str, Any], bytes]:
    """Parse the header and claims of a compact JWS without trusting anything in it.

    Raises:
        OAuthError: ``invalid_grant``/``invalid assertion`` for any malformed token or any
            header that is not a plain RS256 one (``none``, ``HS256``, ``crit``, ``zip``...).
    """
    parts = assertion.split(".")
    if len(parts) != 3 or not parts[2]:
        raise _invalid_assertion()
    header = _header_object(parts[0])
    claims = _json_object(parts[1])
    signature = _b64decode(parts[2])
    if header.get("alg") != "RS256":
        raise _invalid_assertion()
    # kid/jku/x5u/jwk/x5c are ignored: the key comes from the app named by iss, and nothing
    # is ever fetched. Extensions we do not implement must not be silently skipped.
    if "crit" in header or "zip" in header or "b64" in header:
        raise _invalid_assertion()
    typ = header.get("typ")
    if typ is not None and (not isinstance(typ, str) or (strict and typ.upper() != "JWT")):
        raise _invalid_assertion()
    return header, claims, signature


def _number(value: Any, *, strict: bool) -> float | None:
    """A JSON number (or, outside strict, a numeric string) as a float; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return float(value) if abs(value) < 10**16 else None
    if strict:
        return None
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str) and re.fullmatch(r"\s*[0-9]{1,16}(\.[0-9]{1,6})?\s*", value):
        return float(value)
    return None


def _check_audience(claims: dict[str, Any], accepted: frozenset[str], *, strict: bool) -> None:
    aud = claims.get("aud")
    if isinstance(aud, str):
        ok = aud in accepted
    elif isinstance(aud, list) and not strict and 0 < len(aud) <= 10:
        ok = any(isinstance(a, str) and a in accepted for a in aud)
    else:
        ok = False
    if not ok:
        raise _grant("audience is invalid")


def _check_times(
    claims: dict[str, Any], config: EmulatorConfig, now: float, jti_cache: JtiCache
) -> None:
    strict = config.validation == "strict"
    if "exp" not in claims:
        raise _invalid_assertion()
    exp = _number(claims["exp"], strict=strict)
    if exp is None or exp >= config.max_exp or exp <= 0:
        raise _invalid_assertion()
    if exp < now - config.clock_skew:
        raise _grant("expired authorization code")
    if not strict:
        return
    iat = _number(claims.get("iat"), strict=True)
    if iat is None or iat > now + config.clock_skew:
        raise _invalid_assertion()
    if exp <= iat or exp - iat > config.max_lifetime:
        raise _invalid_assertion()
    if "nbf" in claims:
        nbf = _number(claims["nbf"], strict=True)
        if nbf is None or nbf > now + config.clock_skew:
            raise _invalid_assertion()
    jti = claims.get("jti")
    if not isinstance(jti, str) or not 0 < len(jti) <= 256:
        raise _invalid_assertion()
    # A jti is remembered until its assertion could no longer be accepted anyway.
    if jti_cache.add(jti, exp + config.clock_skew) != "ok":
        raise _invalid_assertion()


def _check_signature(
    assertion: str,
    signature: bytes,
    app: AppRecord,
    registry: Registry,
    now: float,
    config: EmulatorConfig,
) -> None:
    # The parsed key (and whether it is an RSA key of 2048 bits or more) is cached per
    # certificate; the signature itself is verified every time.
    cert = registry.certificate_key(app)
    public_key = cert.rs256_key if cert is not None else None
    if cert is None or public_key is None:
        raise _invalid_assertion()
    signing_input = assertion.rpartition(".")[0].encode("ascii")
    try:
        public_key.verify(signature, signing_input, _PKCS1V15, _SHA256)
    except InvalidSignature:
        raise _invalid_assertion() from None
    if config.expired_certificate == "reject" and not cert.not_before <= now <= cert.not_after:
        raise _invalid_assertion()


def validate_assertion(
    assertion: str,
    *,
    registry: Registry,
    config: EmulatorConfig,
    clock: Clock,
    audiences: frozenset[str],
    jti_cache: JtiCache,
    logins: LoginWindow,
    faults: Faults,
    seen: dict[str, str] | None = None,
    now: float | None = None,
) -> Verified:
    """Check one assertion completely; the first failing check decides the error.

    Raises:
        OAuthError: with exactly Salesforce's ``error`` and ``error_description``.

    ``seen`` (when given) receives the ``app`` and ``user`` names as soon as they are
    identified, so failed requests can be counted per app and user. ``now`` is the time the
    checks use (the clock's, read once, by default).
    """
    seen = {} if seen is None else seen
    strict = config.validation == "strict"
    if (
        not assertion
        or len(assertion.encode("utf-8", "surrogatepass")) > config.max_assertion_bytes
    ):
        raise _invalid_assertion()
    _header, claims, signature = split_jws(assertion, strict=strict)

    iss = claims.get("iss")
    app = registry.app_by_consumer_key(iss) if isinstance(iss, str) else None
    if app is None:
        raise OAuthError("invalid_client_id", "client identifier invalid")
    seen["app"] = app.name

    now = clock.now() if now is None else now
    _check_signature(assertion, signature, app, registry, now, config)
    _check_audience(claims, audiences, strict=strict)
    _check_times(claims, config, now, jti_cache)

    if not app.installed:
        raise OAuthError("app_not_found", "External client app is not installed in this org")
    if "refresh_token" not in app.scopes:
        raise OAuthError(
            "invalid_request",
            "refresh_token scope is required and the connected app should be installed "
            "and preauthorized.",
        )

    sub = claims.get("sub")
    if sub is None and not strict:
        sub = claims.get("prn")  # the legacy name Salesforce still honours
    user = None
    if isinstance(sub, str) and sub and _utf8(sub):  # a lone surrogate ("\ud800"): no one's
        user = registry.get_user_by_username(sub)
    if user is None:
        raise _grant("user hasn't approved this consumer")
    seen["user"] = user.username
    if not user.active:
        raise _grant("authentication failure")
    if not Registry.is_preauthorized(app, user):
        if app.policy == ADMIN_APPROVED:
            raise OAuthError("invalid_app_access", "user is not admin approved to access this app")
        raise _grant("user hasn't approved this consumer")
    if faults.ip_restricted:
        raise _grant("IP restricted or invalid login hours")
    if faults.login_rate_exhausted or logins.exceeded(user.id, config.login_rate_limit, now):
        raise _grant("login rate exceeded")
    return Verified(app, user)


def _utf8(text: str) -> bool:
    """Whether ``text`` can be stored (it holds no lone surrogate)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
