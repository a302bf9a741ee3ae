"""The ``sfbearer`` command line.

Exit codes, one table for the whole CLI:

====  =====================================================================
0     ok
1     warning (a check passed with warnings, a certificate nears expiry)
2     failure (a check failed, critical, Salesforce refused)
3     unknown / unreachable (network, DNS, TLS, timeout)
64    usage error (unknown option, missing argument)
78    configuration error (bad profile, key file, certificate, URL)
====  =====================================================================
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from sfbearer.cli._app import (
    EXIT_CONFIG,
    EXIT_FAILURE,
    EXIT_USAGE,
    Abort,
    App,
    LazyGroup,
    global_options,
)

__all__ = ["cli", "main"]

_COMMANDS: dict[str, tuple[str, str]] = {
    "app": ("sfbearer.cli.app:app", "External Client App metadata and setup checklist."),
    "assertion": ("sfbearer.cli.assertion:assertion", "Mint or decode a JWT bearer assertion."),
    "audit": ("sfbearer.cli.audit:audit", "Read the audit trail."),
    "certs": ("sfbearer.cli.certs:certs", "Certificate status, rotation and reminders."),
    "demo": ("sfbearer.cli.demo:demo", "The whole flow end to end against the embedded emulator."),
    "doctor": ("sfbearer.cli.doctor:doctor", "Check the whole chain and explain each failure."),
    "emulator": (
        "sfbearer.cli.emulator:emulator",
        "Run and configure the local Salesforce emulator.",
    ),
    "init": ("sfbearer.cli.init:init", "Create a profile (and keys) for an org."),
    "keys": ("sfbearer.cli.keys:keys", "Generate, show, check and import keys and certificates."),
    "profiles": ("sfbearer.cli.profiles:profiles", "List, show, remove and promote profiles."),
    "query": ("sfbearer.cli.api:query", "Run a SOQL query."),
    "request": ("sfbearer.cli.api:request", "Make an authenticated REST API request."),
    "token": ("sfbearer.cli.token:token", "Get, show or revoke an access token."),
}


def _available_commands() -> dict[str, tuple[str, str]]:
    import importlib.util

    found = {}
    for name, (target, help_) in _COMMANDS.items():
        module = target.partition(":")[0]
        if importlib.util.find_spec(module) is not None:
            found[name] = (target, help_)
    return found


@click.group(
    cls=LazyGroup,
    lazy_commands=_available_commands(),
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(package_name="sfbearer", prog_name="sfbearer")
@global_options
def cli() -> None:
    """sfbearer: Salesforce server-to-server integrations over the OAuth 2.0 JWT Bearer Flow.

    Exit codes: 0 ok, 1 warning, 2 failure, 3 unreachable, 64 usage, 78 configuration.
    """


def _render_error(message: str, hint: str) -> None:
    """``error: …`` and ``hint: …``, one line each whatever the message holds."""
    click.echo(f"error: {_one_line(message)}", err=True)
    if hint:
        click.echo(f"hint: {_one_line(hint)}", err=True)


def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


def _fallback_hint(exc: Exception) -> str:
    """A hint for an error raised without one, by its branch of the tree."""
    from sfbearer._exceptions import ConfigError, SalesforceError, TransportError

    if isinstance(exc, ConfigError):
        return "fix the file, flag or setting named above; 'sfbearer COMMAND --help' lists each"
    if isinstance(exc, TransportError):
        return "check the network, proxy and CA bundle; sfbearer doctor checks the whole chain"
    if isinstance(exc, SalesforceError):
        return "sfbearer doctor checks the whole chain and explains each failure"
    return "run again with -v for more detail"


def _render_details(app: App, exc: Exception) -> None:
    """With -v, what did not fit on the error line (a SOQL error's query and caret)."""
    from sfbearer._exceptions import ApiError

    if app.verbosity > 0 and isinstance(exc, ApiError) and "\n" in exc.api_message.strip():
        for line in exc.api_message.strip("\n").splitlines():
            click.echo(f"  {line}", err=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return (and, as a console script, exit with) the exit code."""
    from sfbearer._exceptions import SfBearerError

    app = App()
    try:
        result = cli.main(
            args=list(argv) if argv is not None else None,
            prog_name="sfbearer",
            standalone_mode=False,
            obj=app,
        )
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.ctx.get_help() if exc.ctx else str(exc), err=True)
        code = EXIT_USAGE
    except click.UsageError as exc:
        # One line and a hint, like every other error: the usage line moves into the hint.
        cmd = exc.ctx.command_path if exc.ctx is not None else "sfbearer"
        usage = exc.ctx.get_usage().removeprefix("Usage: ") if exc.ctx is not None else ""
        hint = f"usage: {_one_line(usage)} (see '{cmd} --help')" if usage else ""
        _render_error(exc.format_message(), hint or f"see '{cmd} --help'")
        code = EXIT_USAGE
    except click.BadParameter as exc:  # pragma: no cover - a UsageError subclass
        _render_error(exc.format_message(), "")
        code = EXIT_USAGE
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.Abort:
        click.echo("aborted", err=True)
        code = 130
    except Abort as exc:
        _render_error(exc.message, exc.hint)
        code = exc.code
    except SfBearerError as exc:
        _render_error(str(exc), exc.hint or _fallback_hint(exc))
        _render_details(app, exc)
        code = exc.exit_code
    except click.ClickException as exc:
        _render_error(exc.format_message(), "run again with -v for more detail")
        code = EXIT_CONFIG if exc.exit_code == 1 else exc.exit_code
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        code = 130
    except BrokenPipeError:
        code = 0
    except OSError as exc:
        _render_error(
            f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": "),
            "check the path named and its permissions",
        )
        code = EXIT_FAILURE
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, no traceback
        if app.verbosity > 1:
            import traceback

            traceback.print_exc()
        _render_error(
            f"internal error: {type(exc).__name__}",
            "run again with -vv for details, and please report it",
        )
        code = EXIT_FAILURE
    else:
        code = result if isinstance(result, int) else 0
    return code


def run() -> None:  # pragma: no cover - the console-script shim
    sys.exit(main())
