"""``sfbearer emulator`` admin commands: configure a running emulator (``--url``) or a
stopped one's state file (``--state``).

The ``emulator`` group in :mod:`sfbearer.cli.emulator` registers them; exit codes: 0 ok,
3 the emulator cannot be reached, 64 usage, 78 a request it refused.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from sfbearer.cli._app import (
    EXIT_CONFIG,
    EXIT_USAGE,
    Abort,
    App,
    global_options,
    pass_app,
)
from sfbearer.cli._emulator_target import Target, ca_option, render, url_option, with_target

__all__ = ["ADMIN_COMMANDS", "Target", "render", "with_target"]


@click.command("add-app")
@click.option("--name", required=True, help="App name.")
@click.option(
    "--cert",
    "cert",
    required=True,
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    help="The app's certificate (PEM or DER).",
)
@click.option(
    "--scopes",
    default="api,refresh_token",
    show_default=True,
    help="OAuth scopes (api,refresh_token or Api, RefreshToken).",
)
@click.option(
    "--policy",
    type=click.Choice(["admin-approved", "self-authorized"]),
    default="admin-approved",
    show_default=True,
)
@click.option(
    "--session-timeout",
    type=click.IntRange(1, 1440),
    default=120,
    show_default=True,
    help="Minutes.",
)
@click.option("--consumer-key", default=None, help="Consumer key (default: generated).")
@click.option("--not-installed", is_flag=True, help="Register the app as not installed in the org.")
@with_target
@global_options
@pass_app
def add_app(
    app: App, name: str, cert: Path, scopes: str, policy: str, session_timeout: int,
    consumer_key: str | None, not_installed: bool, target: Target,
) -> None:  # fmt: skip
    """Create an External Client App, or update the one of that name; prints its consumer key.

    Re-adding an existing app updates it in place: its consumer key is kept (profiles
    already using it keep working) unless --consumer-key gives another, and so are its
    pre-authorizations; the certificate, scopes, policy, session timeout and installed
    flag are replaced.

    \b
    Examples:
      sfbearer emulator add-app --name ci --cert server.crt --url http://127.0.0.1:8443
      CK=$(sfbearer emulator add-app --name ci --cert server.crt --state org.db)
      sfbearer emulator add-app --name ci --cert new.crt --url $URL   # certificate cutover
      sfbearer emulator add-app --name legacy --cert server.crt --scopes api --url $URL
    """
    from sfbearer.emulator import ops
    from sfbearer.emulator.registry import RegistryError

    target.control  # noqa: B018 - a missing --url/--state is reported before a bad certificate
    try:
        pem = ops.certificate_pem(cert)
    except RegistryError as exc:
        raise Abort(str(exc), EXIT_CONFIG, hint=_certificate_hint(cert)) from None
    body = {"name": name, "certificate": pem, "scopes": scopes, "policy": policy,
            "session_timeout": session_timeout, "installed": not not_installed}  # fmt: skip
    if consumer_key:
        body["consumer_key"] = consumer_key
    before = {a["name"]: a["consumer_key"] for a in target.listing("apps")}
    existed, old_key = name in before, before.get(name)
    result = target.run("apps", body, ops.add_app)
    render(app, {**result, "created": not existed}, result["consumer_key"])
    if not existed:
        app.info(f"app {name} created")
    elif old_key != result["consumer_key"]:
        app.warn(
            f"app {name} updated with a NEW consumer key: profiles using the old one now fail "
            "with invalid_client_id"
        )
    else:
        app.info(
            f"app {name} updated: consumer key and pre-authorizations kept; certificate, "
            "scopes, policy, session timeout and installed flag replaced"
        )


def _certificate_hint(path: Path) -> str:
    try:
        head = path.read_bytes()[:4096]
    except OSError:
        return "give --cert a readable certificate file (PEM or DER)"
    if b"PRIVATE KEY" in head:
        return "--cert takes the certificate (server.crt), never the private key; `sfbearer keys new` writes both"
    if b"PUBLIC KEY" in head or b"CERTIFICATE REQUEST" in head:
        return "--cert takes an X.509 certificate; make one with: sfbearer keys new (server.crt)"
    return "--cert takes an X.509 certificate in PEM or DER, like the server.crt `sfbearer keys new` writes"


@click.command("add-user")
@click.option("--username", required=True)
@click.option(
    "--sf-profile",
    "sf_profile",
    default="Integration User",
    show_default=True,
    help="The user's Salesforce profile.",
)
@click.option(
    "--permission-set", "permission_sets", multiple=True, help="A permission set (repeatable)."
)
@click.option("--email", default=None)
@click.option("--inactive", is_flag=True, help="Create the user deactivated.")
@with_target
@global_options
@pass_app
def add_user(
    app: App, username: str, sf_profile: str, permission_sets: tuple[str, ...], email: str | None,
    inactive: bool, target: Target,
) -> None:  # fmt: skip
    """Create a user, or update the one with that username (its id is kept); prints its id.

    \b
    Examples:
      sfbearer emulator add-user --username int@acme.com --url http://127.0.0.1:8443
      sfbearer emulator add-user --username int@acme.com --sf-profile "Integration User" \\
          --permission-set "CI Access" --state org.db
      sfbearer emulator add-user --username old@acme.com --inactive --url $URL
    """
    from sfbearer.emulator import ops

    body: dict[str, Any] = {"username": username, "profile": sf_profile,
                            "permission_sets": list(permission_sets), "active": not inactive}  # fmt: skip
    if email:
        body["email"] = email
    result = target.run("users", body, ops.add_user)
    render(app, result, result["id"])


@click.command("authorize")
@click.option("--app", "app_name", required=True, help="App name.")
@click.option(
    "--sf-profile", "sf_profile", default=None, help="Pre-authorize this Salesforce profile."
)
@click.option("--permission-set", default=None, help="Pre-authorize this permission set.")
@click.option("--user", default=None, help="Pre-authorize one user (through a permission set).")
@with_target
@global_options
@pass_app
def authorize(
    app: App, app_name: str, sf_profile: str | None, permission_set: str | None, user: str | None,
    target: Target,
) -> None:  # fmt: skip
    """Pre-authorize a profile, a permission set or a user for an app.

    \b
    Examples:
      sfbearer emulator authorize --app ci --sf-profile "Integration User" --url $URL
      sfbearer emulator authorize --app ci --permission-set "CI Access" --state org.db
      sfbearer emulator authorize --app ci --user int@acme.com --url $URL
    """
    from sfbearer.emulator import ops

    if sum(x is not None for x in (sf_profile, permission_set, user)) != 1:
        raise Abort("give exactly one of --sf-profile, --permission-set, --user", EXIT_USAGE)
    body = {"app": app_name, "profile": sf_profile, "permission_set": permission_set, "user": user}
    result = target.run("authorize", body, ops.authorize)
    render(
        app,
        result,
        f"{app_name}: profiles {', '.join(result['profiles']) or '-'}; permission sets {', '.join(result['permission_sets']) or '-'}",
    )


@click.command("revoke-sessions")
@click.option("--user", default=None, help="Only this user's sessions (default: all).")
@with_target
@global_options
@pass_app
def revoke_sessions(app: App, user: str | None, target: Target) -> None:
    """Revoke sessions (all, or one user's); the next API call with them answers 401.

    \b
    Examples:
      sfbearer emulator revoke-sessions --url http://127.0.0.1:8443
      sfbearer emulator revoke-sessions --user int@acme.com --url $URL
    """
    from sfbearer.emulator import ops

    def operation(ctx: Any, user: str | None = None) -> Any:
        return {"revoked": ops.revoke_sessions(ctx, user)}

    result = target.run("revoke-sessions", {"user": user}, operation)
    render(app, result, f"revoked {result['revoked']} session(s)")


@click.command("stats")
@with_target
@global_options
@pass_app
def stats(app: App, target: Target) -> None:
    """Counters: token requests (ok/failed, per user and app), API calls, active sessions.

    \b
    Examples:
      sfbearer emulator stats --url http://127.0.0.1:8443
      sfbearer emulator stats --state org.db --json    # a running one's file: ~1 s behind
    """
    data = target.stats()
    if app.json_mode:
        app.json(data)
        return
    tokens = data["token_requests"]
    app.out(f"token requests: {tokens['ok']} ok, {tokens['failed']} failed")
    for kind in ("by_app", "by_user"):
        for name, count in sorted(tokens[kind].items()):
            app.out(f"  {kind[3:]} {name}: {count}")
    app.out(f"API calls: {data['api_calls']}")
    app.out(f"active sessions: {data['active_sessions']}")


@click.command("faults")
@click.option(
    "--latency", type=click.FloatRange(0, 600), default=None, help="Seconds added to each response."
)
@click.option(
    "--error-rate",
    type=click.FloatRange(0, 1),
    default=None,
    help="Share of requests answered with --error-status.",
)
@click.option("--error-status", type=click.IntRange(500, 599), default=None)
@click.option(
    "--retry-after",
    type=click.IntRange(0, 86400),
    default=None,
    help="Send Retry-After with injected errors.",
)
@click.option("--no-retry-after", is_flag=True, help="Send no Retry-After.")
@click.option(
    "--drop-rate",
    type=click.FloatRange(0, 1),
    default=None,
    help="Share of connections dropped mid-response.",
)
@click.option(
    "--scope",
    type=click.Choice(["all", "token", "api"]),
    default=None,
    help="Which requests the faults hit.",
)
@click.option(
    "--login-rate-exhausted/--login-rate-ok",
    default=None,
    help="Every login fails with 'login rate exceeded'.",
)
@click.option(
    "--ip-restricted/--ip-allowed",
    default=None,
    help="Every login fails with 'IP restricted or invalid login hours'.",
)
@click.option("--reset", is_flag=True, help="Clear every fault first.")
@url_option(required=True)
@ca_option("CA certificate to trust for an https --url.")
@global_options
@pass_app
def faults(
    app: App, latency: float | None, error_rate: float | None, error_status: int | None,
    retry_after: int | None, no_retry_after: bool, drop_rate: float | None, scope: str | None,
    login_rate_exhausted: bool | None, ip_restricted: bool | None, reset: bool, url: str, ca: Path | None,
) -> None:  # fmt: skip
    """Show or change the fault switches of a running emulator.

    \b
    Examples:
      sfbearer emulator faults --url $URL                                  # show them
      sfbearer emulator faults --error-rate 0.2 --error-status 503 --retry-after 2 --url $URL
      sfbearer emulator faults --latency 1.5 --scope api --url $URL
      sfbearer emulator faults --login-rate-exhausted --url $URL
      sfbearer emulator faults --reset --url $URL
    """
    changes: dict[str, Any] = {"reset": reset} if reset else {}
    for name, value in (("latency", latency), ("error_rate", error_rate), ("error_status", error_status),
                        ("retry_after", retry_after), ("drop_rate", drop_rate), ("scope", scope),
                        ("login_rate_exhausted", login_rate_exhausted), ("ip_restricted", ip_restricted)):  # fmt: skip
        if value is not None:
            changes[name] = value
    if no_retry_after:
        changes["retry_after"] = None
    target = Target(url, None, ca)
    data = target.call("POST" if changes else "GET", "faults", changes or None)
    if app.json_mode:
        app.json(data)
    else:
        for key, value in data.items():
            app.out(f"{key}: {json.dumps(value)}")


ADMIN_COMMANDS = (add_app, add_user, authorize, revoke_sessions, stats, faults)
"""The admin commands; ``add-field`` lives in :mod:`sfbearer.cli._emulator_field`."""
