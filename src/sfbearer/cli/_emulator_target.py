"""Where an ``sfbearer emulator`` admin command applies: a running emulator (``--url``, its
admin API) or a stopped one's state file (``--state``); refusals become one line and a hint.
"""

from __future__ import annotations

import difflib
import functools
import re
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
)

if TYPE_CHECKING:
    from sfbearer.emulator.control import EmulatorControl

__all__ = ["Target", "ca_option", "render", "url_option", "with_target"]

_URL_ENV = "SFBEARER_EMULATOR_URL"
_NO_SUCH = re.compile(r"\bno (app|user) named '([^']*)'")
_STATE_ENV = "SFBEARER_EMULATOR_STATE"


class Target:
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

    def _do(self, action: Callable[[EmulatorControl], Any], hint: str = "") -> Any:
        from sfbearer.emulator.control import ControlError

        control = self.control
        try:
            return action(control)
        except ControlError as exc:
            if exc.unreachable:
                raise Abort(exc.message, EXIT_UNREACHABLE, hint=exc.hint) from None
            hint = exc.hint or self._refusal_hint(exc.message) or hint or _command_help()
            raise Abort(exc.message, EXIT_CONFIG, hint=hint) from None

    def _refusal_hint(self, message: str) -> str:
        """What to do about a refusal (the admin API sends only its message)."""
        missing = _NO_SUCH.search(message)
        if missing is not None:
            kind, name = missing.group(1), missing.group(2)
            if kind == "app":
                near = _closest(name, self._names("apps", "name"))
                if near:
                    return f"did you mean {near!r}? (app names are case-sensitive)"
                return f"create it first: sfbearer emulator add-app --name {name} --cert server.crt"
            near = _closest(name, self._names("users", "username"))
            if near:
                return f"did you mean {near!r}?"
            return f"create the user first: sfbearer emulator add-user --username {name}"
        if "consumer key already used" in message:
            return "give another --consumer-key, or none to keep the app's own (or get a new one)"
        return ""

    def _names(self, kind: str, key: str) -> list[str]:
        return [str(item[key]) for item in self.listing(kind)]

    def listing(self, kind: str) -> list[dict[str, Any]]:
        """The emulator's ``apps`` or ``users`` as dicts (none when they cannot be read)."""
        from sfbearer.emulator.control import ControlError

        control = self.control
        try:
            if control.url is not None:
                return list(control.call("GET", "state")[kind])
            ctx = control.open()
            try:
                items = ctx.registry.list_apps() if kind == "apps" else ctx.registry.list_users()
                return [item.to_dict() for item in items]
            finally:
                ctx.close()
        except (ControlError, KeyError, TypeError):
            return []

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        return self._do(lambda control: control.call(method, path, body))

    def run(
        self, path: str, body: dict[str, Any], operation: Callable[..., Any], hint: str = ""
    ) -> Any:
        """Apply ``operation`` (``--state``) or POST to the admin ``path`` (``--url``);
        ``hint`` goes with a refusal that has none more specific."""
        return self._do(lambda control: control.run(path, body, operation), hint)

    def stats(self) -> Any:
        return self._do(lambda control: control.stats())


def url_option(*, required: bool) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
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


def ca_option(help_text: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option(
        "--ca", "ca", type=click.Path(path_type=Path, dir_okay=False), default=None, help=help_text
    )


def with_target(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--url``/``--state``/``--ca`` (one emulator, running or stopped) and pass ``target``."""

    @url_option(required=False)
    @click.option(
        "--state",
        "state",
        type=click.Path(path_type=Path, dir_okay=False),
        envvar=_STATE_ENV,
        default=None,
        help=f"State file of a stopped emulator [env: {_STATE_ENV}].",
    )
    @ca_option("CA certificate to trust for an https --url (from serve --ca-out).")
    @functools.wraps(func)
    def wrapper(
        *args: Any, url: str | None, state: Path | None, ca: Path | None, **kwargs: Any
    ) -> Any:
        return func(*args, target=Target(url, state, ca), **kwargs)

    return wrapper


def _command_help() -> str:
    context = click.get_current_context(silent=True)
    command = context.info_name if context is not None else "COMMAND"
    return f"see: sfbearer emulator {command} --help"


def _closest(word: str, choices: list[str]) -> str:
    found = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return found[0] if found else ""


def render(app: App, data: Any, text: str) -> None:
    if app.json_mode:
        app.json(data)
    else:
        app.out(text)
