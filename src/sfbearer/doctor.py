"""``doctor``: check the whole chain, in order, and explain every failure.

configuration → key (permissions, type, size, or the signer answers) → certificate (parse,
validity, belongs to the key) → environment and audience → clock skew → token exchange →
identity → granted scopes (least privilege) → API limits.

Each check yields a :class:`Check` as soon as it is done, so a terminal can show progress.
:func:`exit_code` folds them into the CLI's codes: 0 all pass, 1 warnings, 2 failures,
3 unreachable (and nothing failed).

Example:
    >>> for check in run_doctor("prod"):  # doctest: +SKIP
    ...     print(check.status, check.name, check.message)
"""

from __future__ import annotations

import datetime as dt
import email.utils
import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from sfbearer._doctor_local import Check, environment_checks, key_checks, signer_checks
from sfbearer._doctor_local import Status as Status  # a check's status, for annotations
from sfbearer._exceptions import SfBearerError, TokenRequestError, TransportError
from sfbearer.config import load_signer, resolve_profile
from sfbearer.environments import LOGIN_URL, TEST_URL, Environment

if TYPE_CHECKING:
    import httpx

    from sfbearer.config import Profile
    from sfbearer.signers import Signer

__all__ = [
    "LEAST_PRIVILEGE_SCOPES",
    "Check",
    "audience_candidates",
    "exit_code",
    "probe_audiences",
    "run_doctor",
]

LEAST_PRIVILEGE_SCOPES = frozenset({"api", "refresh_token"})
_BROAD_SCOPES = {
    "full": "full access to all data the user can reach",
    "web": "access through the web UI (frontdoor)",
}
_SKEW_WARN = 30.0
_SKEW_FAIL = 150.0
_LIMIT_WARN_SHARE = 0.10


def exit_code(checks: list[Check]) -> int:
    """0 all pass, 1 warnings, 2 a failure, 3 unreachable (when nothing failed)."""
    statuses = {c.status for c in checks}
    if "fail" in statuses:
        return 2
    if "unreachable" in statuses:
        return 3
    if "warn" in statuses:
        return 1
    return 0


def _clock_check(http: Any, env: Environment, now: Callable[[], float]) -> Check:
    import httpx

    try:
        sent = now()
        response = http.get(env.base_url + "/services/oauth2/token", follow_redirects=False)
        received = now()
    except httpx.HTTPError as exc:
        from sfbearer._http import TLS_TRUST_HINT, untrusted_certificate

        reason = untrusted_certificate(exc)
        if reason is not None:
            return Check(
                "clock",
                "unreachable",
                f"the TLS certificate of {env.base_url} is not trusted ({reason})",
                TLS_TRUST_HINT,
            )
        return Check(
            "clock",
            "unreachable",
            f"could not reach {env.base_url}: {type(exc).__name__}",
            "check the network, proxy and environment URL",
        )
    date = response.headers.get("date")
    if not date:
        return Check("clock", "warn", "the server sent no Date header; skew unknown")
    try:
        server = email.utils.parsedate_to_datetime(date).timestamp()
    except (TypeError, ValueError):
        return Check("clock", "warn", f"unreadable Date header {date[:40]!r}; skew unknown")
    skew = (sent + received) / 2 - server
    text = f"local clock is {abs(skew):.0f} s {'ahead of' if skew > 0 else 'behind'} the server"
    if abs(skew) > _SKEW_FAIL:
        return Check(
            "clock",
            "fail",
            text,
            "sync the clock (NTP): assertions expire within 3 minutes",
            {"skew_seconds": round(skew, 1)},
        )
    if abs(skew) > _SKEW_WARN:
        return Check(
            "clock", "warn", text, "sync the clock (NTP)", {"skew_seconds": round(skew, 1)}
        )
    return Check(
        "clock",
        "ok",
        text if abs(skew) >= 1 else "in sync with the server",
        data={"skew_seconds": round(skew, 1)},
    )


def _scope_check(scope: str) -> Check:
    granted = {s for s in scope.replace(",", " ").split() if s}
    if "api" not in granted:
        return Check(
            "scopes",
            "fail",
            f"granted: {scope or '(none)'}; the api scope is missing",
            "add the 'Manage user data via APIs (api)' scope to the app",
        )
    broad = sorted(granted & set(_BROAD_SCOPES))
    extra = sorted(granted - LEAST_PRIVILEGE_SCOPES - set(broad) - {"id"})
    if broad or extra:
        parts = [f"{s} ({_BROAD_SCOPES[s]})" for s in broad] + extra
        return Check(
            "scopes",
            "warn",
            f"granted: {' '.join(sorted(granted))}; beyond least privilege: {', '.join(parts)}",
            "a JWT integration needs only api and refresh_token: remove the others from the app's OAuth scopes",
            {"granted": sorted(granted)},
        )
    return Check(
        "scopes",
        "ok",
        f"granted: {' '.join(sorted(granted))} (least privilege)",
        data={"granted": sorted(granted)},
    )


def _limits_check(limits: Mapping[str, Any]) -> Check:
    daily = limits.get("DailyApiRequests")
    if not isinstance(daily, Mapping) or not isinstance(daily.get("Max"), int):
        return Check("limits", "warn", "DailyApiRequests missing from /limits")
    maximum, remaining = int(daily["Max"]), int(daily.get("Remaining", 0))
    text = f"daily API requests: {remaining:,} of {maximum:,} left"
    data = {"max": maximum, "remaining": remaining}
    if remaining <= 0:
        return Check(
            "limits",
            "fail",
            text,
            "the org's daily API limit is spent; wait for the 24 h window or raise it",
            data,
        )
    if maximum and remaining / maximum < _LIMIT_WARN_SHARE:
        return Check("limits", "warn", text, "fewer than 10% left", data)
    return Check("limits", "ok", text, data=data)


def _http_client(profile: Profile) -> httpx.Client:
    """doctor's own client, built as the token exchange builds its own (timeout, CA bundle,
    proxy, no redirects).

    Raises:
        ConfigError: the CA bundle cannot be used or the proxy is not a URL.
    """
    from sfbearer._exchange import make_http_client

    return make_http_client(
        proxy=profile.proxy, ca_bundle=profile.ca_bundle, timeout=profile.timeout
    )


def run_doctor(
    profile: str | None = None,
    *,
    overrides: Mapping[str, object] | None = None,
    now: Callable[[], float] = time.time,
    http: Any = None,
    passphrase: str | None = None,
    pin: str | None = None,
) -> Iterator[Check]:
    """Run every check in order, yielding each :class:`Check` as soon as it is known.

    ``passphrase`` (an encrypted key file's) and ``pin`` (an HSM key's, when its URI has no
    ``pin-source``) are used to open the signer; the CLI prompts for them on a terminal.
    """

    from sfbearer.client import SalesforceClient
    from sfbearer.credentials import JWTBearerCredentials

    try:
        prof = resolve_profile(profile, overrides=overrides)
        env = prof.env()
    except SfBearerError as exc:
        yield Check("configuration", "fail", str(exc), exc.hint)
        return
    yield Check(
        "configuration",
        "ok",
        f"profile {prof.name or '(flags/env)'}: {prof.username} via app {prof.client_id[:12]}...",
    )

    current = dt.datetime.fromtimestamp(now(), dt.UTC)
    key_findings = list(key_checks(prof, current, passphrase=passphrase))
    yield from key_findings
    signer: Signer | None = None
    for item in signer_checks(prof, current, passphrase=passphrase, pin=pin):
        if isinstance(item, Check):
            if not (key_findings and item.name == "signer" and item.status == "fail"):
                yield item
        else:
            signer = item
    yield from environment_checks(prof, env)
    if signer is None or any(c.status == "fail" for c in key_findings):
        yield Check("token", "skip", "not attempted: fix the key first")
        return

    own_http = http is None
    try:
        client_http = http or _http_client(prof)
    except SfBearerError as exc:  # a CA bundle or proxy that cannot be used
        yield Check("connection settings", "fail", str(exc), exc.hint)
        yield Check("token", "skip", "not attempted: fix the connection settings first")
        return
    try:
        clock = _clock_check(client_http, env, now)
        yield clock
        if clock.status == "unreachable":
            cause = (
                "its TLS certificate is not trusted"
                if "not trusted" in clock.message
                else ("the login host is unreachable")
            )
            yield Check("token", "skip", f"not attempted: {cause}")
            return
        creds = JWTBearerCredentials.from_config(prof, signer=signer, cache="memory")
        with creds:
            try:
                token = creds.token()
            except TokenRequestError as exc:
                yield Check(
                    "token",
                    # an outage (5xx) says nothing about the setup: unknown, not failed
                    "unreachable" if exc.exit_code == TransportError.exit_code else "fail",
                    f"{exc.error}: {exc.description}",
                    exc.diagnosis,
                    {"error": exc.error, "description": exc.description},
                )
                return
            except TransportError as exc:
                yield Check("token", "unreachable", str(exc), exc.hint)
                return
            except SfBearerError as exc:
                yield Check("token", "fail", str(exc), exc.hint)
                return
            yield Check(
                "token", "ok", f"token issued for {token.instance_url} (org {token.org_id})"
            )
            try:
                with SalesforceClient(creds) as client:
                    identity = client.identity()
                    yield Check(
                        "identity",
                        "ok",
                        f"{identity.get('username')} ({identity.get('user_type', 'user')}, active={identity.get('active')})",
                    )
                    yield _scope_check(token.scope)
                    yield _limits_check(client.limits())
            except TransportError as exc:
                yield Check("api", "unreachable", str(exc), exc.hint)
            except SfBearerError as exc:
                outage = exc.exit_code == TransportError.exit_code
                yield Check("api", "unreachable" if outage else "fail", str(exc), exc.hint)
    finally:
        if own_http:
            client_http.close()


def audience_candidates(env: Environment) -> list[str]:
    """The audiences worth trying for ``env``, the configured one first."""
    return list(dict.fromkeys([env.audience, LOGIN_URL, TEST_URL, env.base_url]))


def probe_audiences(
    profile: str | None = None,
    *,
    overrides: Mapping[str, object] | None = None,
    http: Any = None,
) -> Iterator[Check]:
    """Try each candidate audience once (each try is one login attempt)."""
    import httpx

    from sfbearer.assertion import mint_assertion
    from sfbearer.grant import build_token_request, parse_token_error

    prof = resolve_profile(profile, overrides=overrides)
    env = prof.env()
    signer = load_signer(prof)
    own = http is None
    client = http or _http_client(prof)
    try:
        for audience in audience_candidates(env):
            assertion = mint_assertion(
                signer, client_id=prof.client_id, username=prof.username, audience=audience
            )
            request = build_token_request(env.token_url, assertion)
            try:
                response = client.post(
                    request.url,
                    content=request.body,
                    headers=dict(request.headers),
                    follow_redirects=False,
                )
            except httpx.HTTPError as exc:
                yield Check(f"aud {audience}", "unreachable", type(exc).__name__)
                return
            if response.status_code == 200:
                yield Check(
                    f"aud {audience}",
                    "ok",
                    "accepted",
                    f"set --audience {audience} in the profile" if audience != env.audience else "",
                )
            else:
                err = parse_token_error(
                    response.status_code, response.headers, response.content, now=time.time()
                )
                yield Check(f"aud {audience}", "fail", f"{err.error}: {err.description}")
    finally:
        if own:
            client.close()
