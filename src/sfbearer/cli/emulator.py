"""``sfbearer emulator``: run the local Salesforce emulator and configure it.

``serve`` runs it in the foreground. The other commands (in
:mod:`sfbearer.cli._emulator_admin`) talk to a running emulator through its admin API
(``--url``, loopback only) or change a stopped emulator's state file (``--state``).
Exit codes: 0 ok, 3 the emulator cannot be reached, 64 usage, 78 a request it refused
(unknown app, bad certificate...).
"""

from __future__ import annotations

from pathlib import Path

import click

from sfbearer.cli._app import EXIT_CONFIG, Abort, App, global_options, pass_app
from sfbearer.cli._emulator_admin import ADMIN_COMMANDS
from sfbearer.cli._emulator_field import add_field, add_object

__all__ = ["emulator"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@global_options
def emulator() -> None:
    """Run and configure the local Salesforce emulator.

    \b
    Examples:
      sfbearer emulator serve --port 8443 --state org.db
      sfbearer emulator add-app --name ci --cert server.crt --url http://127.0.0.1:8443
      sfbearer emulator stats --state org.db
    """


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
    """Run the emulator in the foreground; print its base URL; stop with Ctrl-C or SIGTERM.

    Either stop writes pending counters and sessions to --state, removes a temporary
    database, prints "emulator stopped" and exits 0.

    \b
    Examples:
      sfbearer emulator serve                                  # a free port, temporary org
      sfbearer emulator serve --port 8443 --state org.db --seed seed.toml
      sfbearer emulator serve --tls --ca-out ca.pem            # HTTPS; trust ca.pem
      sfbearer emulator serve --validation strict --json       # {"url": ..., "org_id": ...}
    """
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
        hint = getattr(exc, "hint", "") or "see: sfbearer emulator serve --help"
        raise Abort(str(exc), EXIT_CONFIG, hint=hint) from None

    def ready(running: Emulator) -> None:
        if ca_out is not None and running.ca_pem is not None:
            try:
                ca_out.write_bytes(running.ca_pem)
            except OSError as exc:
                raise Abort(
                    f"cannot write the CA certificate to --ca-out {ca_out}: {exc.strerror}",
                    EXIT_CONFIG,
                    hint=_folder_hint(ca_out, "--ca-out"),
                ) from None
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
        raise Abort(
            f"cannot listen on {host}:{port}: {exc.strerror}",
            EXIT_CONFIG,
            hint=_listen_hint(exc, host, port),
        ) from None
    app.info("emulator stopped")


def _folder_hint(path: Path, option: str) -> str:
    folder = path.parent
    if not folder.is_dir():
        return f"the folder {folder} does not exist: create it (mkdir -p {folder}) or give {option} another path"
    return f"give {option} a path in a folder you can write to"


def _listen_hint(exc: OSError, host: str, port: int) -> str:
    import errno
    import socket

    if exc.errno == errno.EADDRINUSE:
        return (
            f"port {port} is taken (another emulator still running?): stop it, pick another "
            "--port, or --port 0 for a free one"
        )
    if exc.errno == errno.EACCES:
        return f"port {port} needs privileges: use a port above 1023, or --port 0 for a free one"
    if isinstance(exc, socket.gaierror) or exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
        return f"{host} is not an address of this machine: use --host 127.0.0.1"
    return "try --host 127.0.0.1 --port 0"


for _command in (*ADMIN_COMMANDS, add_object, add_field):
    emulator.add_command(_command)
