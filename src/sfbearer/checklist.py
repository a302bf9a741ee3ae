"""The External Client App set up by hand: the steps in Setup, with the exact values to paste.

The same app :mod:`sfbearer.manifest` writes as metadata, for orgs where clicking through
Setup is the way (or to check what a deployment did).

Example:
    >>> steps = checklist(name="Acme_Sync", permission_set="Acme_Integration")
    >>> steps[0].title
    'Create the integration user'
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sfbearer.keys import CertificateInfo
from sfbearer.manifest import DEFAULT_CALLBACK_URL, DEFAULT_SCOPES, scope_warnings

__all__ = ["SCOPE_LABELS", "Identity", "Step", "checklist", "checklist_warnings", "init_command"]

# How Setup labels the scopes in "Selected OAuth Scopes".
SCOPE_LABELS = {
    "Api": "Manage user data via APIs (api)",
    "RefreshToken": "Perform requests at any time (refresh_token, offline_access)",
    "OfflineAccess": "Perform requests at any time (refresh_token, offline_access)",
    "Full": "Full access (full)",
    "Web": "Manage user data via Web browsers (web)",
    "OpenID": "Access unique user identifiers (openid)",
    "Basic": "Access the identity URL service (id, profile, email, address, phone)",
    "Chatter": "Access Connect REST API resources (chatter_api)",
}


@dataclass(frozen=True, slots=True)
class Step:
    """One step: what to do, and the values to type or paste (label → value)."""

    title: str
    actions: tuple[str, ...]
    values: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"title": self.title, "actions": list(self.actions), "values": dict(self.values)}


@dataclass(frozen=True, slots=True)
class Identity:
    """What an sfbearer profile already knows, to fill the steps in with real values.

    Attributes:
        profile: the sfbearer profile's name.
        username: the integration user's Salesforce username.
        environment: ``production``, ``sandbox`` or a login URL.
        client_id: the consumer key, when the profile has one.
        key_file: the private key file or signer URI the profile signs with.
    """

    profile: str
    username: str
    environment: str
    client_id: str | None = None
    key_file: str | None = None


def init_command(identity: Identity | None = None) -> str:
    """The ``sfbearer init`` line for step 6: every required option, real values when known.

    Example:
        >>> init_command(Identity("acme", "int@acme.com", "sandbox", "3MVG9x"))
        'sfbearer init acme --client-id 3MVG9x --username int@acme.com --environment sandbox'
    """
    if identity is None:
        return (
            "sfbearer init PROFILE --client-id KEY --username USER --jwt-key-file server.key "
            "--environment production"
        )
    parts = [
        "sfbearer init",
        shlex.quote(identity.profile),
        "--client-id",
        shlex.quote(identity.client_id) if identity.client_id else "KEY",
        "--username",
        shlex.quote(identity.username),
    ]
    if identity.key_file:
        parts += ["--jwt-key-file", shlex.quote(identity.key_file)]
    parts += ["--environment", shlex.quote(identity.environment)]
    return " ".join(parts)


def checklist(
    *,
    name: str = "My_Integration",
    certificate: CertificateInfo | None = None,
    certificate_file: str | None = None,
    scopes: Sequence[str] = DEFAULT_SCOPES,
    sf_profile: str | None = None,
    permission_set: str | None = None,
    session_timeout: int | None = None,
    contact_email: str | None = None,
    identity: Identity | None = None,
) -> list[Step]:
    """The manual setup of a least-privilege JWT bearer External Client App, step by step.

    Args:
        name: the app's API name.
        certificate: the certificate to upload (its fingerprints are shown to compare).
        certificate_file: the file to upload, as the user should pick it.
        scopes: the metadata scope tokens to select.
        sf_profile: the Salesforce profile to pre-authorize.
        permission_set: the permission set to pre-authorize (preferred over a profile).
        session_timeout: minutes, or ``None`` to keep the org's default.
        contact_email: the app's contact address.
        identity: the sfbearer profile the app is for: its username, client id, key and
            environment fill in the placeholders.
    """
    who_kind = "Profile" if sf_profile else "Permission set"
    who = sf_profile or permission_set or "<a permission set for the integration>"
    cert_values = {"Certificate file": certificate_file or "server.crt"}
    if certificate is not None:
        cert_values |= {
            "Subject": certificate.subject,
            "SHA-1 fingerprint": certificate.sha1_fingerprint,
            "SHA-256 fingerprint": certificate.sha256_fingerprint,
            "Expires": certificate.not_after.strftime("%Y-%m-%d %H:%M UTC"),
        }
    scope_labels = _unique(SCOPE_LABELS.get(s, s) for s in scopes)
    username = (
        f"{identity.username} (profile {identity.profile})"
        if identity
        else "integration.user@example.com (its sfbearer --username)"
    )
    if identity:
        # Rewriting a working profile with `init --force` would drop its other settings
        # (certificate, CA bundle, cache, audit...): point at the one line to change instead.
        from sfbearer.config import config_path

        where = f"client_id under [profiles.{identity.profile}] in {config_path()}"
        client_id = {
            "Client id": f"{identity.client_id} (profile {identity.profile}; compare it with "
            "the Consumer Key)"
            if identity.client_id
            else "<the Consumer Key>"
        }
        give_it = (
            f"Profile {identity.profile} exists: set {where} to the Consumer Key (nothing "
            f"else changes), then check it: sfbearer profiles show {identity.profile}."
        )
    else:
        client_id = {"Client id": "<the Consumer Key>"}
        give_it = (
            "Give it to sfbearer as the client id (--environment is production, sandbox or "
            f"your My Domain login URL): {init_command(identity)}."
        )
    doctor = f"sfbearer doctor --profile {shlex.quote(identity.profile) if identity else 'PROFILE'}"
    return [
        Step(
            "Create the integration user",
            (
                "Setup → Users → New User: a user for this integration only (the Salesforce "
                "Integration user license and the Minimum Access - API Only Integrations "
                "profile where available).",
                f"Assign the {who_kind.lower()} below to that user; give it only the object "
                "and field permissions the integration needs.",
            ),
            {who_kind: who, "Username": username},
        ),
        Step(
            "Create the External Client App",
            (
                "Setup → Apps → External Client Apps → External Client App Manager → "
                "New External Client App.",
                "Distribution State: Local.",
            ),
            {
                "External Client App Name": name,
                "API Name": name,
                "Contact Email": contact_email or "<your team's address>",
            },
        ),
        Step(
            "Enable OAuth",
            (
                "API (Enable OAuth Settings) → check Enable OAuth.",
                "Callback URL: any URL; the JWT bearer flow never uses it.",
                "Selected OAuth Scopes: add exactly these, nothing else.",
            ),
            {
                "Callback URL": DEFAULT_CALLBACK_URL,
                "Selected OAuth Scopes": "; ".join(scope_labels),
            },
        ),
        Step(
            "Enable the JWT bearer flow and upload the certificate",
            (
                "Flow Enablement → check Enable JWT Bearer Flow → upload the certificate "
                "(never the private key).",
                "Leave the other flows (client credentials, device, token exchange) unchecked.",
                "Create; after saving, compare the fingerprint Salesforce shows with the one below.",
            ),
            cert_values,
        ),
        Step(
            "Set the OAuth policies",
            (
                "External Client App Manager → the app → Policies → Edit → OAuth Policies.",
                "Permitted Users: Admin approved users are pre-authorized.",
                f"Select the {who_kind.lower()} that pre-authorizes the integration user.",
                "IP Relaxation: Enforce IP restrictions.",
                "Session timeout: how long a token lives (sfbearer refreshes it before).",
            ),
            {
                "Permitted Users": "Admin approved users are pre-authorized",
                who_kind: who,
                "IP Relaxation": "Enforce IP restrictions",
                "Session Timeout": f"{session_timeout} minutes"
                if session_timeout
                else "the org default (2 hours)",
            },
        ),
        Step(
            "Copy the consumer key",
            (
                "The app → Settings → OAuth Settings → Consumer Key and Secret (identity "
                "verification follows). Copy the Consumer Key only; the JWT bearer flow "
                "needs no secret.",
                give_it,
            ),
            client_id,
        ),
        Step(
            "Check the whole chain",
            (f"Run {doctor}; it explains any step that is missing.",),
        ),
    ]


def checklist_warnings(
    scopes: Iterable[str], *, sf_profile: str | None, permission_set: str | None
) -> list[str]:
    """Least-privilege and pre-authorization problems of the planned setup."""
    warnings = scope_warnings(scopes)
    if not sf_profile and not permission_set:
        warnings.append(
            "no profile or permission set is pre-authorized: token requests will fail with "
            "'user hasn't approved this consumer' (pass --permission-set or --sf-profile)"
        )
    return warnings


def _unique(items: Iterable[str]) -> list[str]:
    seen: list[str] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen
