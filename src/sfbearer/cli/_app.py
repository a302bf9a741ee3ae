"""The CLI's shared pieces: exit codes, the terminal object, global options, lazy groups.

Commands never ``print`` or ``sys.exit``: data goes through :meth:`App.out` / :meth:`App.json`
(stdout), messages through :meth:`App.info` / :meth:`App.warn` (stderr), and failures are
raised (:class:`Abort` or any :class:`~sfbearer.SfBearerError`) and rendered by ``main``.
"""

from __future__ import annotations

import functools
import importlib
import json as _json
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

import click

__all__ = [
    "EXIT_CONFIG",
    "EXIT_FAILURE",
    "EXIT_OK",
    "EXIT_UNREACHABLE",
    "EXIT_USAGE",
    "EXIT_WARNING",
    "Abort",
    "App",
    "LazyGroup",
    "global_options",
    "pass_app",
]

EXIT_OK = 0
EXIT_WARNING = 1
EXIT_FAILURE = 2
EXIT_UNREACHABLE = 3
EXIT_USAGE = 64
EXIT_CONFIG = 78

F = TypeVar("F", bound=Callable[..., Any])


class Abort(Exception):
    """Stop the command with a one-line message, an optional hint, and an exit code."""

    def __init__(self, message: str, code: int = EXIT_FAILURE, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.hint = hint


@dataclass
class Settings:
    profile: str | None = None
    json: bool = False
    verbosity: int = 0


class App:
    """Owns all terminal output. Data → stdout; messages → stderr; user text printed as typed."""

    def __init__(self) -> None:
        self.settings = Settings()
        self._console: Any = None
        self._err_console: Any = None

    # -- settings -------------------------------------------------------------------------
    @property
    def profile(self) -> str | None:
        return self.settings.profile or os.environ.get("SFBEARER_PROFILE") or None

    @property
    def json_mode(self) -> bool:
        return self.settings.json

    @property
    def verbosity(self) -> int:
        return self.settings.verbosity

    # -- output ---------------------------------------------------------------------------
    @property
    def console(self) -> Any:
        if self._console is None:
            from rich.console import Console

            self._console = Console(highlight=False, markup=False, emoji=False, soft_wrap=True)
        return self._console

    @property
    def err_console(self) -> Any:
        if self._err_console is None:
            from rich.console import Console

            self._err_console = Console(
                stderr=True, highlight=False, markup=False, emoji=False, soft_wrap=True
            )
        return self._err_console

    def out(self, text: str = "", *, nl: bool = True) -> None:
        """A line of data on stdout (``nl=False``: no trailing newline)."""
        click.echo(text, nl=nl)

    def json(self, data: Any) -> None:
        """JSON data on stdout."""
        click.echo(_json.dumps(data, indent=2, default=str, ensure_ascii=False))

    def info(self, text: str) -> None:
        """A message on stderr (suppressed by -q)."""
        if self.verbosity >= 0:
            click.echo(text, err=True)

    def debug(self, text: str) -> None:
        if self.verbosity > 0:
            click.echo(text, err=True)

    def warn(self, text: str) -> None:
        click.echo(f"warning: {text}", err=True)

    def table(
        self, columns: Sequence[str], rows: Iterable[Sequence[object]], title: str = ""
    ) -> None:
        """A table on stdout (rich), user text printed as typed."""
        from rich.table import Table

        table = Table(title=title or None, show_header=True, header_style="bold")
        for col in columns:
            table.add_column(col, overflow="fold")
        for row in rows:
            table.add_row(*("" if v is None else str(v) for v in row))
        self.console.print(table)

    def abort(self, message: str, code: int = EXIT_FAILURE, *, hint: str = "") -> NoReturn:
        raise Abort(message, code, hint=hint)


def _merge_global(
    ctx: click.Context, profile: str | None, json_: bool, verbose: int, quiet: int
) -> None:
    app = ctx.find_object(App)
    if app is None:
        app = App()
        ctx.obj = app
    if profile:
        app.settings.profile = profile
    if json_:
        app.settings.json = True
    if verbose or quiet:
        app.settings.verbosity += verbose - quiet


def global_options(func: F) -> F:
    """Add ``--profile/-p``, ``--json``, ``-v`` and ``-q`` to a command or group.

    They work before and after the command name; the last one given wins.
    """

    @click.option(
        "-p",
        "--profile",
        "_g_profile",
        metavar="NAME",
        default=None,
        help="sfbearer profile to use [env: SFBEARER_PROFILE].",
    )
    @click.option("--json", "_g_json", is_flag=True, default=False, help="Machine-readable output.")
    @click.option("-v", "--verbose", "_g_verbose", count=True, help="More output (repeatable).")
    @click.option("-q", "--quiet", "_g_quiet", count=True, help="Less output.")
    @functools.wraps(func)
    def wrapper(
        *args: Any,
        _g_profile: str | None,
        _g_json: bool,
        _g_verbose: int,
        _g_quiet: int,
        **kwargs: Any,
    ) -> Any:
        _merge_global(click.get_current_context(), _g_profile, _g_json, _g_verbose, _g_quiet)
        return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def pass_app(func: Callable[..., Any]) -> Callable[..., Any]:
    """Pass the :class:`App` as the first argument."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        app = ctx.find_object(App)
        if app is None:
            app = App()
            ctx.obj = app
        return func(app, *args, **kwargs)

    return wrapper


class LazyGroup(click.Group):
    """A group whose subcommands are imported only when used (``--help`` stays instant).

    ``lazy_commands`` maps a command name to ``"module:attribute"`` and a short help line.
    """

    def __init__(
        self, *args: Any, lazy_commands: dict[str, tuple[str, str]] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = lazy_commands or {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy_commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_commands:
            target = self.lazy_commands[cmd_name][0]
            module_name, _, attr = target.partition(":")
            command = getattr(importlib.import_module(module_name), attr)
            if not isinstance(command, click.Command):
                raise TypeError(f"{target} is not a click command")
            return command
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            if name in self.lazy_commands:
                rows.append((name, self.lazy_commands[name][1]))
            else:
                cmd = super().get_command(ctx, name)
                if cmd is not None and not cmd.hidden:
                    rows.append((name, cmd.get_short_help_str(60)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def stdin_is_tty() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False
