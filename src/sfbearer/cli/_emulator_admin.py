"""``sfbearer emulator`` admin commands: configure a running emulator (``--url``) or a
stopped one's state file (``--state``).

The ``emulator`` group in :mod:`sfbearer.cli.emulator` registers them; exit codes: 0 ok,
3 the emulator cannot be reached, 64 usage, 78 a request it refused.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from sfbearer.cli._app import (
    EXIT_CONFIG,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    Abort,
    App,
    global_options,
    pass_app,
)

if TYPE_CHECKING:
    from sfbearer.emulator.control import EmulatorControl

__all__ = ["ADMIN_COMMANDS"]

_URL_ENV = "SFBEARER_EMULATOR_URL"
_STATE_ENV = "SFBEARER_EMULATOR_STATE"


class _Target:
    """The CLI face of :class:`~sfbearer.emulator.control.EmulatorControl`: errors become exits.

    Built from ``--url``/``--state``/``--ca`` before the command runs, but checked on first
    use, so a command reports its own usage errors first.
    """

    def __init__(self, url: str | None, state: Path | None, ca: Path | None) -> None:
        self._args = (url, state, ca)

    @functools.cached_property
    def control(self) -> EmulatorControl:
        from sfbearer.emulator.control import EmulatorControl

        url, state, ca = self._args
        if bool(url) == bool(state):
            raise Abort(
                "name exactly one emulator: --url URL (running) or --state FILE (stopped)",
                EXIT_USAGE,
                hint=f"or set {_URL_ENV} / {_STATE_ENV}",
            )
        return EmulatorControl(url=url, state=state, ca=ca)

    def _do(self, action: Callable[[EmulatorControl], Any]) -> Any:
        from sfbearer.emulator.control import ControlError

        control = self.control
        try:
            return action(control)
        except ControlError as exc:
            raise Abort(
                exc.message, EXIT_UNREACHABLE if exc.unreachable else EXIT_CONFIG, hint=exc.hint
            ) from None

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        return self._do(lambda control: control.call(method, path, body))

    def run(self, path: str, body: dict[str, Any], operation: Callable[..., Any]) -> Any:
        return self._do(lambda control: control.run(path, body, operation))

    def stats(self) -> Any:
        return self._do(lambda control: control.stats())


def _url_option(*, required: bool) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    # no default at all when required: click counts an explicit default=None as a value
    optional: dict[str, Any] = {} if required else {"default": None}
    return click.option(
        "--url",
        "url",
        envvar=_URL_ENV,
        required=required,
        metavar="URL",
        help=f"Base URL of a running emulator [env: {_URL_ENV}].",
        **optional,
    )


def _ca_option(help_text: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option(
        "--ca", "ca", type=click.Path(path_type=Path, dir_okay=False), default=None, help=help_text
    )


def _with_target(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--url``/``--state``/``--ca`` (one emulator, running or stopped) and pass ``target``."""

    @_url_option(required=False)
    @click.option(
        "--state",
        "state",
        type=click.Path(path_type=Path, dir_okay=False),
        envvar=_STATE_ENV,
        default=None,
        help=f"State file of a stopped emulator [env: {_STATE_ENV}].",
    )
    @_ca_option("CA certificate to trust for an https --url (from serve --ca-out).")
    @functools.wraps(func)
    def wrapper(
        *args: Any, url: str | None, state: Path | None, ca: Path | None, **kwargs: Any
    ) -> Any:
        return func(*args, target=_Target(url, state, ca), **kwargs)

    return wrapper


def _render(app: App, data: Any, text: str) -> None:
    if app.json_mode:
        app.json(data)
    else:
        app.out(text)


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
@_with_target
@global_options
@pass_app
def add_app(
    app: App, name: str, cert: Path, scopes: str, policy: str, session_timeout: int,
    consumer_key: str | None, not_installed: bool, target: _Target,
) -> None:  # fmt: skip
    """Create (or replace) an External Client App; prints its consumer key."""
    from sfbearer.emulator import ops
    from sfbearer.emulator.registry import RegistryError

    target.control  # noqa: B018 - a missing --url/--state is reported before a bad certificate
    try:
        pem = ops.certificate_pem(cert)
    except RegistryError as exc:
        raise Abort(str(exc), EXIT_CONFIG) from None
    body = {"name": name, "certificate": pem, "scopes": scopes, "policy": policy,
            "session_timeout": session_timeout, "installed": not not_installed}  # fmt: skip
    if consumer_key:
        body["consumer_key"] = consumer_key
    result = target.run("apps", body, ops.add_app)
    _render(app, result, result["consumer_key"])


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
@_with_target
@global_options
@pass_app
def add_user(
    app: App, username: str, sf_profile: str, permission_sets: tuple[str, ...], email: str | None,
    inactive: bool, target: _Target,
) -> None:  # fmt: skip
    """Create (or update) a user; prints its id."""
    from sfbearer.emulator import ops

    body: dict[str, Any] = {"username": username, "profile": sf_profile,
                            "permission_sets": list(permission_sets), "active": not inactive}  # fmt: skip
    if email:
        body["email"] = email
    result = target.run("users", body, ops.add_user)
    _render(app, result, result["id"])


@click.command("authorize")
@click.option("--app", "app_name", required=True, help="App name.")
@click.option(
    "--sf-profile", "sf_profile", default=None, help="Pre-authorize this Salesforce profile."
)
@click.option("--permission-set", default=None, help="Pre-authorize this permission set.")
@click.option("--user", default=None, help="Pre-authorize one user (through a permission set).")
@_with_target
@global_options
@pass_app
def authorize(
    app: App, app_name: str, sf_profile: str | None, permission_set: str | None, user: str | None,
    target: _Target,
) -> None:  # fmt: skip
    """Pre-authorize a profile, a permission set or a user for an app."""
    from sfbearer.emulator import ops

    if sum(x is not None for x in (sf_profile, permission_set, user)) != 1:
        raise Abort("give exactly one of --sf-profile, --permission-set, --user", EXIT_USAGE)
    body = {"app": app_name, "profile": sf_profile, "permission_set": permission_set, "user": user}
    result = target.run("authorize", body, ops.authorize)
    _render(
        app,
        result,
        f"{app_name}: profiles {', '.join(result['profiles']) or '-'}; permission sets {', '.join(result['permission_sets']) or '-'}",
    )


@click.command("revoke-sessions")
@click.option("--user", default=None, help="Only this user's sessions (default: all).")
@_with_target
@global_options
@pass_app
def revoke_sessions(app: App, user: str | None, target: _Target) -> None:
    """Revoke sessions (all, or one user's)."""
    from sfbearer.emulator import ops

    def operation(ctx: Any, user: str | None = None) -> Any:
        return {"revoked": ops.revoke_sessions(ctx, user)}

    result = target.run("revoke-sessions", {"user": user}, operation)
    _render(app, result, f"revoked {result['revoked']} session(s)")


@click.command("stats")
@_with_target
@global_options
@pass_app
def stats(app: App, target: _Target) -> None:
    """Counters: token requests (ok/failed, per user and app), API calls, active sessions."""
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
@_url_option(required=True)
@_ca_option("CA certificate to trust for an https --url.")
@global_options
@pass_app
def faults(
    app: App, latency: float | None, error_rate: float | None, error_status: int | None,
    retry_after: int | None, no_retry_after: bool, drop_rate: float | None, scope: str | None,
    login_rate_exhausted: bool | None, ip_restricted: bool | None, reset: bool, url: str, ca: Path | None,
) -> None:  # fmt: skip
    """Show or change the fault switches of a running emulator."""
    changes: dict[str, Any] = {"reset": reset} if reset else {}
    for name, value in (("latency", latency), ("error_rate", error_rate), ("error_status", error_status),
                        ("retry_after", retry_after), ("drop_rate", drop_rate), ("scope", scope),
                        ("login_rate_exhausted", login_rate_exhausted), ("ip_restricted", ip_restricted)):  # fmt: skip
        if value is not None:
            changes[name] = value
    if no_retry_after:
        changes["retry_after"] = None
    target = _Target(url, None, ca)
    data = target.call("POST" if changes else "GET", "faults", changes or None)
    if app.json_mode:
        app.json(data)
    else:
        for key, value in data.items():
            app.out(f"{key}: {json.dumps(value)}")


ADMIN_COMMANDS = (add_app, add_user, authorize, revoke_sessions, stats, faults)
