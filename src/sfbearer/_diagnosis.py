"""Every token-endpoint error Salesforce sends, with its cause and the concrete fix.

This table is the one source of truth: :func:`sfbearer.grant.parse_token_error` attaches
its diagnosis to every :class:`~sfbearer.TokenRequestError`, and ``docs/troubleshooting.md``
embeds :func:`troubleshooting_markdown` verbatim (a test keeps the two identical).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DIAGNOSES", "Diagnosis", "diagnose", "troubleshooting_markdown"]

_APP = "Setup → External Client App Manager → your app"


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """One row: Salesforce's ``error`` and ``error_description``, the cause, the fix."""

    error: str
    description: str
    cause: str
    fix: str

    def matches(self, error: str, description: str) -> bool:
        return error == self.error and (
            not self.description or self.description.lower() in description.lower()
        )

    def text(self) -> str:
        return f"{self.cause} Fix: {self.fix}"


DIAGNOSES: tuple[Diagnosis, ...] = (
    Diagnosis(
        "invalid_client_id",
        "client identifier invalid",
        "The consumer key (the assertion's iss) is not known to this org or login host.",
        f"copy the Consumer Key from {_APP} → Settings → OAuth Settings → Consumer Key and "
        "Secret into client_id, and check you log in to the org that holds the app.",
    ),
    Diagnosis(
        "invalid_grant",
        "invalid assertion",
        "Salesforce could not verify the assertion: the certificate uploaded to the app does "
        "not match the private key, or the JWT is malformed.",
        f"upload the certificate of this key in {_APP} → Settings → OAuth Settings → Enable "
        "JWT Bearer Flow → certificate (check with: sfbearer keys check).",
    ),
    Diagnosis(
        "invalid_grant",
        "audience is invalid",
        "The aud claim does not fit this login host: login.salesforce.com for production and "
        "My Domain, test.salesforce.com for sandboxes, the site URL for a site.",
        "set the environment (production / sandbox / My Domain URL) or the audience of the "
        "profile to match the org; some orgs since Spring '26 need the My Domain URL as aud.",
    ),
    Diagnosis(
        "invalid_grant",
        "expired authorization code",
        "The assertion's exp is in the past for Salesforce: this machine's clock is wrong, "
        "or exp was computed from local time instead of UTC.",
        "synchronise the clock (NTP); sfbearer mints exp from UTC seconds.",
    ),
    Diagnosis(
        "invalid_grant",
        "user hasn't approved this consumer",
        "The user is not pre-authorized for the app (or the login host and aud do not match).",
        f"in {_APP} → Policies → OAuth Policies set Permitted Users to 'Admin approved users "
        "are pre-authorized', then add the user's profile or a permission set assigned to "
        "the user under Select Profiles / Select Permission Sets.",
    ),
    Diagnosis(
        "invalid_app_access",
        "user is not admin approved",
        "The app admits only admin-approved users and this user's profile or permission set "
        "is not assigned to it.",
        f"add the user's profile or a permission set the user holds in {_APP} → Policies → "
        "OAuth Policies → Select Profiles / Select Permission Sets.",
    ),
    Diagnosis(
        "invalid_request",
        "refresh_token scope is required",
        "The app lacks the refresh_token scope, which the JWT bearer flow requires even though "
        "no refresh token is issued.",
        f"add 'Perform requests at any time (refresh_token, offline_access)' to {_APP} → "
        "Settings → OAuth Settings → Selected OAuth Scopes.",
    ),
    Diagnosis(
        "invalid_grant",
        "authentication failure",
        "Salesforce refused the user: typically an inactive or frozen user.",
        "check the user in Setup → Users → Users (Active checked, not frozen) and that the "
        "username (sub) is exact.",
    ),
    Diagnosis(
        "app_not_found",
        "not installed",
        "The app is not installed in the org reached through this login host and audience.",
        "use the org's My Domain URL as the environment (and, for some orgs, as the audience), "
        f"and check the app exists in {_APP}.",
    ),
    Diagnosis(
        "invalid_grant",
        "login rate exceeded",
        "More than 3,600 logins for this user in the last hour.",
        "reuse tokens (sfbearer caches them; share a file or Redis cache across processes) "
        "and wait for the hourly window to pass.",
    ),
    Diagnosis(
        "invalid_grant",
        "ip restricted",
        "The user's profile restricts login IP ranges or hours and the app enforces them.",
        f"set {_APP} → Policies → OAuth Policies → IP Relaxation to 'Relax IP restrictions', "
        "or add this machine's address to the profile's Login IP Ranges.",
    ),
    Diagnosis(
        "unsupported_grant_type",
        "",
        "The token endpoint did not receive a form-encoded jwt-bearer grant (often a proxy "
        "rewrote the body).",
        "POST application/x-www-form-urlencoded with grant_type="
        "urn:ietf:params:oauth:grant-type:jwt-bearer; check proxies in between.",
    ),
    Diagnosis(
        "invalid_grant",
        "",
        "Salesforce refused the assertion.",
        "run sfbearer doctor: it checks the key, certificate, audience and user in turn.",
    ),
)

_LOCAL: dict[str, Diagnosis] = {
    "invalid_response": Diagnosis(
        "invalid_response",
        "",
        "The token URL answered, but not with a bearer token (an HTML page from a proxy, a "
        "captive portal or a wrong URL).",
        "check the environment / token URL of the profile and any proxy settings.",
    ),
    "redirect": Diagnosis(
        "redirect",
        "",
        "The token URL redirects; an assertion is never re-sent to another address.",
        "use the final URL (usually the org's My Domain) as the environment.",
    ),
    "server_error": Diagnosis(
        "server_error",
        "",
        "Salesforce had a temporary problem.",
        "try again later; check https://status.salesforce.com.",
    ),
}
_LOCAL["temporarily_unavailable"] = _LOCAL["server_error"]


def diagnose(error: str, description: str, *, status: int = 400, detail: str = "") -> str:
    """The cause and fix for a token-endpoint error, as one paragraph for a person."""
    for row in DIAGNOSES:
        if row.matches(error, description):
            return row.text()
    local = _LOCAL.get(error)
    if local is not None:
        text = local.text()
        return f"{text} (Location: {detail})" if detail else text
    if status in (429,) or status >= 500 or status in (0, 408):
        return (
            f"The token endpoint answered HTTP {status}: a temporary problem at Salesforce "
            "or in between. Fix: try again later; check https://status.salesforce.com."
        )
    return (
        f"Salesforce sent an error sfbearer does not know ({error}). Fix: read the "
        "description, then run sfbearer doctor."
    )


def troubleshooting_markdown() -> str:
    """The error table of ``docs/troubleshooting.md``."""
    lines = ["| error | error_description | cause | fix |", "|---|---|---|---|"]
    for row in (*DIAGNOSES, *dict.fromkeys(_LOCAL.values())):
        description = f"`{row.description}`" if row.description else "(any)"
        lines.append(f"| `{row.error}` | {description} | {row.cause} | {row.fix} |")
    return "\n".join(lines) + "\n"
