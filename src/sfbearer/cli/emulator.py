"""``sfbearer emulator``: run the local Salesforce emulator and configure it.

``serve`` runs it in the foreground. The other commands talk to a running emulator through
its admin API (``--url``, loopback only) or change a stopped emulator's state file
(``--state``). Exit codes: 0 ok, 3 the emulator cannot be reached, 64 usage, 78 a request
it refused (unknown app, bad certificate...).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

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

__all__ = ["emulator"]

_URL_ENV = "SFBEARER_EMULATOR_URL"
_STATE_ENV = "SFBEARER_EMULATOR_STATE"


class _Target:
    """The CLI face of :class:`~sfbearer.emulator.control.EmulatorControl`: errors become exits."""

    def __init__(self, url: str | None, state: Path | None, ca: Path | None) -> None:
        from sfbearer.emulator.control import EmulatorControl

        if bool(url) == bool(state):
            raise Abort(
                "name exactly one emulator: --url URL (running) or --state FILE (stopped)",
                EXIT_USAGE,
                hint=f"or set {_URL_ENV} / {_STATE_ENV}",
            )
        self.control = EmulatorControl(url=url, state=state, ca=ca)
        self.url = self.control.url

    def _do(self, action: Callable[[], Any]) -> Any:
        from sfbearer.emulator.control import ControlError

        try:
            return action()
        except ControlError as exc:
            raise Abort(
                exc.message, EXIT_UNREACHABLE if exc.unreachable else EXIT_CONFIG, hint=exc.hint
            ) from None

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        return self._do(lambda: self.control.call(method, path, body))

    def run(self, path: str, body: dict[str, Any], operation: Callable[..., Any]) -> Any:
        return self._do(lambda: self.control.run(path, body, operation))

    def stats(self) -> Any:
        return self._do(self.control.stats)


def _target_options(func: Any) -> Any:
    func = click.option(
        "--ca",
        "ca",
        type=click.Path(path_type=Path, dir_okay=False),
        default=None,
        help="CA certificate to trust for an https --url (from serve --ca-out).",
    )(func)
    func = click.option(
        "--state",
        "state",
        type=click.Path(path_type=Path, dir_okay=False),
        envvar=_STATE_ENV,
        default=None,
        help=f"State file of a stopped emulator [env: {_STATE_ENV}].",
    )(func)
    func = click.option(
        "--url",
        "url",
        envvar=_URL_ENV,
        default=None,
        metavar="URL",
        help=f"Base URL of a running emulator [env: {_URL_ENV}].",
    )(func)
    return func


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@global_options
def emulator() -> None:
    """Run and configure the local Salesforce emulator."""


@emulator.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="Port (0: a free one).",
)
@click.option(
    "--state",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="SQLite file keeping the org across restarts (default: temporary).",
)
@click.option(
    "--validation",
    type=click.Choice(["salesforce", "strict"]),
    default="salesforce",
    show_default=True,
    help="Assertion validation profile.",
)
@click.option(
    "--seed",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    default=None,
    help="TOML/JSON seed file (apps, users, authorizations, records).",
)
@click.option(
    "--app-metadata",
    type=click.Path(path_type=Path, exists=True, file_okay=False),
    default=None,
    help="External Client App metadata directory to load.",
)
@click.option("--tls", is_flag=True, help="Serve HTTPS with a certificate from a fresh local CA.")
@click.option(
    "--ca-out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write the local CA certificate here (implies --tls).",
)
@click.option(
    "--sandbox", is_flag=True, help="Emulate a sandbox (audience https://test.salesforce.com)."
)
@click.option(
    "--reuse-sessions",
    is_flag=True,
    help="A re-login while a session is alive returns that session.",
)
@click.option(
    "--login-rate-limit", type=click.IntRange(1), default=3600, show_default=True,
    help="Successful logins per user per hour.",
)  # fmt: skip
@click.option(
    "--daily-api-limit", type=click.IntRange(1), default=15000, show_default=True,
    help="API requests per day.",
)  # fmt: skip
@global_options
@pass_app
def serve(
    app: App, host: str, port: int, state: Path | None, validation: str, seed: Path | None,
    app_metadata: Path | None, tls: bool, ca_out: Path | None, sandbox: bool, reuse_sessions: bool,
    login_rate_limit: int, daily_api_limit: int,
) -> None:  # fmt: skip
    """Run the emulator in the foreground; print its base URL; stop with Ctrl-C."""
    from sfbearer._exceptions import ConfigError
    from sfbearer.emulator.config import EmulatorConfig
    from sfbearer.emulator.core import Emulator
    from sfbearer.emulator.registry import RegistryError
    from sfbearer.emulator.seed import SeedError

    try:
        sf = Emulator(
            validation=validation, tls=tls or ca_out is not None, state=state, sandbox=sandbox,
            host=host, port=port, seed=seed, app_metadata=app_metadata, reuse_sessions=reuse_sessions,
            config=EmulatorConfig(login_rate_limit=login_rate_limit, daily_api_limit=daily_api_limit),
        )  # fmt: skip
    except (SeedError, RegistryError, ConfigError) as exc:
        raise Abort(str(exc), EXIT_CONFIG) from None

    def ready(running: Emulator) -> None:
        if ca_out is not None and running.ca_pem is not None:
            ca_out.write_bytes(running.ca_pem)
        if app.json_mode:
            app.json(
                {
                    "url": running.url,
                    "org_id": running.org_id,
                    "validation": validation,
                    "ca": str(ca_out) if ca_out else None,
                }
            )
        else:
            app.out(running.url)
        app.info(f"org {running.org_id}, validation {validation}; state: {state or 'temporary'}")
        if ca_out is not None:
            app.info(
                f"CA certificate: {ca_out} (trust it: SSL_CERT_FILE, REQUESTS_CA_BUNDLE, NODE_EXTRA_CA_CERTS)"
            )
        for record in running.ctx.registry.list_apps():
            app.info(f"app {record.name}: consumer key {record.consumer_key}")
        app.info("press Ctrl-C to stop")

    try:
        sf.serve_forever(ready)
    except OSError as exc:
        raise Abort(f"cannot listen on {host}:{port}: {exc.strerror}", EXIT_CONFIG) from None
    app.info("emulator stopped")


def _render(app: App, data: Any, text: str) -> None:
    if app.json_mode:
        app.json(data)
    else:
        app.out(text)


@emulator.command("add-app")
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
@_target_options
@global_options
@pass_app
def add_app(
    app: App, name: str, cert: Path, scopes: str, policy: str, session_timeout: int,
    consumer_key: str | None, not_installed: bool, url: str | None, state: Path | None, ca: Path | None,
) -> None:  # fmt: skip
    """Create (or replace) an External Client App; prints its consumer key."""
    from sfbearer.emulator import ops
    from sfbearer.emulator.registry import RegistryError

    target = _Target(url, state, ca)
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


@emulator.command("add-user")
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
@_target_options
@global_options
@pass_app
def add_user(
    app: App, username: str, sf_profile: str, permission_sets: tuple[str, ...], email: str | None,
    inactive: bool, url: str | None, state: Path | None, ca: Path | None,
) -> None:  # fmt: skip
    """Create (or update) a user; prints its id."""
    from sfbearer.emulator import ops

    body: dict[str, Any] = {"username": username, "profile": sf_profile,
                            "permission_sets": list(permission_sets), "active": not inactive}  # fmt: skip
    if email:
        body["email"] = email
    result = _Target(url, state, ca).run("users", body, ops.add_user)
    _render(app, result, result["id"])


@emulator.command("authorize")
@click.option("--app", "app_name", required=True, help="App name.")
@click.option(
    "--sf-profile", "sf_profile", default=None, help="Pre-authorize this Salesforce profile."
)
@click.option("--permission-set", default=None, help="Pre-authorize this permission set.")
@click.option("--user", default=None, help="Pre-authorize one user (through a permission set).")
@_target_options
@global_options
@pass_app
def authorize(
    app: App, app_name: str, sf_profile: str | None, permission_set: str | None, user: str | None,
    url: str | None, state: Path | None, ca: Path | None,
) -> None:  # fmt: skip
    """Pre-authorize a profile, a permission set or a user for an app."""
    from sfbearer.emulator import ops

    if sum(x is not None for x in (sf_profile, permission_set, user)) != 1:
        raise Abort("give exactly one of --sf-profile, --permission-set, --user", EXIT_USAGE)
    body = {"app": app_name, "profile": sf_profile, "permission_set": permission_set, "user": user}
    result = _Target(url, state, ca).run("authorize", body, ops.authorize)
    _render(
        app,
        result,
        f"{app_name}: profiles {', '.join(result['profiles']) or '-'}; permission sets {', '.join(result['permission_sets']) or '-'}",
    )


@emulator.command("revoke-sessions")
@click.option("--user", default=None, help="Only this user's sessions (default: all).")
@_target_options
@global_options
@pass_app
def revoke_sessions(
    app: App, user: str | None, url: str | None, state: Path | None, ca: Path | None
) -> None:
    """Revoke sessions (all, or one user's)."""
    from sfbearer.emulator import ops

    def operation(ctx: Any, user: str | None = None) -> Any:
        return {"revoked": ops.revoke_sessions(ctx, user)}

    result = _Target(url, state, ca).run("revoke-sessions", {"user": user}, operation)
    _render(app, result, f"revoked {result['revoked']} session(s)")


@emulator.command("stats")
@_target_options
@global_options
@pass_app
def stats(app: App, url: str | None, state: Path | None, ca: Path | None) -> None:
    """Counters: token requests (ok/failed, per user and app), API calls, active sessions."""
    data = _Target(url, state, ca).stats()
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


@emulator.command("faults")
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
@click.option(
    "--url",
    "url",
    envvar=_URL_ENV,
    required=True,
    metavar="URL",
    help=f"Base URL of a running emulator [env: {_URL_ENV}].",
)
@click.option(
    "--ca",
    "ca",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="CA certificate to trust for an https --url.",
)
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
