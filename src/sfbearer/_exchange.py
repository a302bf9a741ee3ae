"""The token endpoint's I/O edge: send a :class:`~sfbearer.grant.TokenRequest`, retry, translate.

The protocol decisions are in :mod:`sfbearer.grant` (pure); this module only sends, sleeps
and turns httpx's exceptions into :class:`~sfbearer.TransportError` (one boundary).
"""

from __future__ import annotations

import datetime as dt
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sfbearer._exceptions import ConfigError, TokenRequestError, TransportError
from sfbearer._http import TLS_TRUST_HINT, httpx, untrusted_certificate
from sfbearer.grant import RetryPolicy, TokenRequest, parse_token_response
from sfbearer.token import Token

__all__ = ["Exchange", "http_options", "make_http_client", "send"]

log = logging.getLogger("sfbearer.credentials")

# Faults where another attempt may well succeed; a bad URL or an unsupported scheme will not.
_RETRYABLE_TRANSPORT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


def _verify(ca_bundle: str | None) -> ssl.SSLContext | bool:
    if not ca_bundle:
        return True
    try:
        return ssl.create_default_context(cafile=ca_bundle)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(
            f"cannot use the CA bundle {ca_bundle}: {getattr(exc, 'strerror', None) or exc}",
            hint="ca_bundle must be a readable PEM file of CA certificates",
        ) from None


def _proxy(proxy: str | None) -> httpx.Proxy | None:
    if not proxy:
        return None
    try:
        return httpx.Proxy(proxy)
    except (ValueError, TypeError, httpx.InvalidURL):
        raise ConfigError(
            "the proxy is not a valid URL", hint="e.g. http://proxy.corp.example:3128"
        ) from None


def make_http_client(
    *,
    proxy: str | None = None,
    ca_bundle: str | None = None,
    timeout: float = 30.0,
) -> httpx.Client:
    """The HTTP client for token requests: no redirects, our proxy, CA bundle and timeout."""
    return httpx.Client(
        proxy=_proxy(proxy),
        verify=_verify(ca_bundle),
        timeout=httpx.Timeout(timeout),
        follow_redirects=False,
        trust_env=proxy is None,
    )


def http_options(credentials: Any) -> dict[str, Any]:
    """``httpx.Client`` keyword arguments with the credentials' proxy, CA bundle and timeout."""
    proxy = credentials.proxy
    return {
        "proxy": _proxy(proxy),
        "verify": _verify(credentials.ca_bundle),
        "timeout": httpx.Timeout(credentials.timeout),
        "follow_redirects": False,
        "trust_env": proxy is None,
    }


def send(http: httpx.Client, request: TokenRequest) -> httpx.Response:
    """Send ``request`` (never following redirects) and read the whole reply.

    Raises:
        TransportError: no reply (DNS, connection, TLS, timeout); ``retryable`` is set as an
            attribute for the retry loop.
    """
    try:
        response = http.request(
            request.method,
            request.url,
            content=request.body,
            headers=dict(request.headers),
            follow_redirects=False,
        )
    except httpx.HTTPError as exc:
        host = httpx.URL(request.url).host
        reason = untrusted_certificate(exc)
        if reason is not None:  # a configuration problem: retrying cannot help
            error = TransportError(
                f"the TLS certificate of {host} is not trusted ({reason})", hint=TLS_TRUST_HINT
            )
            error.retryable = False  # type: ignore[attr-defined]
            raise error from exc
        error = TransportError(
            f"could not reach {host}: {type(exc).__name__}",
            hint="check the network, proxy and the environment URL of the profile",
        )
        error.retryable = isinstance(exc, _RETRYABLE_TRANSPORT)  # type: ignore[attr-defined]
        raise error from exc
    return response


@dataclass(frozen=True, slots=True)
class Exchange:
    """One token exchange with retries: a fresh assertion per attempt, bounded in count and time."""

    http: httpx.Client
    token_url: str
    mint: Callable[[], str]
    policy: RetryPolicy
    session_timeout: dt.timedelta
    clock: Callable[[], float]
    sleep: Callable[[float], None]

    def run(self) -> tuple[Token, int]:
        """The token and the number of attempts it took.

        Raises:
            TokenRequestError: Salesforce refused (permanent, or retries exhausted).
            TransportError: Salesforce could not be reached (retries exhausted).
        """
        from sfbearer.grant import build_token_request

        start = self.clock()
        attempt = 0
        last: Exception
        while True:
            attempt += 1
            request = build_token_request(self.token_url, self.mint())
            try:
                response = send(self.http, request)
                token = parse_token_response(
                    response.status_code,
                    response.headers,
                    response.content,
                    received_at=self.clock(),
                    session_timeout=self.session_timeout,
                    retry_after_cap=self.policy.retry_after_cap,
                )
            except TokenRequestError as exc:
                if not self.policy.should_retry(exc, attempt):
                    raise
                delay = self.policy.delay(exc, attempt)
                reason, last = f"{exc.error} (HTTP {exc.status})", exc
            except TransportError as exc:
                if not (getattr(exc, "retryable", False) and attempt < self.policy.max_attempts):
                    raise
                delay = self.policy.backoff(attempt)
                last = exc
                reason = str(exc)
            else:
                return token, attempt
            if self.clock() + delay - start > self.policy.deadline:
                log.warning("token request: giving up after %d attempts: %s", attempt, reason)
                raise last
            log.info(
                "token request attempt %d failed: %s; retrying in %.2fs", attempt, reason, delay
            )
            self.sleep(delay)
