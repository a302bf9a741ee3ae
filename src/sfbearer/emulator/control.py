"""Configure an emulator from outside: a running one through its admin API, or a stopped
one through its state file. Used by the ``sfbearer emulator`` commands.

Example:
    >>> control = EmulatorControl(url="http://127.0.0.1:8443")  # doctest: +SKIP
    >>> control.run("users", {"username": "int@acme.com"}, ops.add_user)["id"]  # doctest: +SKIP
    '0055g00000000FfAAI'
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sfbearer.emulator.context import Context

__all__ = ["ControlError", "EmulatorControl"]


class ControlError(Exception):
    """The emulator could not be reached (``unreachable``) or refused the request."""

    def __init__(self, message: str, *, unreachable: bool = False, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.unreachable = unreachable
        self.hint = hint


class EmulatorControl:
    """Exactly one of ``url`` (a running emulator) or ``state`` (a stopped one's file).

    Args:
        url: the emulator's base URL (its admin API answers loopback clients only).
        state: the SQLite state file of a stopped emulator.
        ca: a CA certificate to trust when ``url`` is https.
    """

    def __init__(
        self, *, url: str | None = None, state: Path | None = None, ca: Path | None = None
    ) -> None:
        if bool(url) == bool(state):
            raise ValueError("exactly one of url and state is needed")
        self.url = url.rstrip("/") if url else None
        self.state = state
        self.ca = ca

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """One admin API call (``url`` mode); returns the decoded JSON answer."""
        import httpx

        if self.url is None:
            raise ValueError("call() needs a url")
        verify: ssl.SSLContext | bool = True
        if self.ca is not None:
            verify = ssl.create_default_context(cafile=str(self.ca))
        try:
            response = httpx.request(
                method, f"{self.url}/__emulator/{path}", json=body, timeout=30, verify=verify
            )
        except (httpx.HTTPError, ssl.SSLError, OSError) as exc:
            if _untrusted(exc):
                raise ControlError(
                    f"the emulator's TLS certificate at {self.url} is not trusted",
                    unreachable=True,
                    hint="pass --ca with the CA file `sfbearer emulator serve --tls --ca-out` "
                    "wrote",
                ) from None
            raise ControlError(
                f"cannot reach the emulator at {self.url}: {type(exc).__name__}",
                unreachable=True,
                hint="is `sfbearer emulator serve` running there?",
            ) from None
        try:
            data = response.json()
        except ValueError:
            data = None
        if response.status_code != 200 or data is None:
            detail = data.get("error") if isinstance(data, dict) else None
            raise ControlError(f"the emulator refused: {detail or f'HTTP {response.status_code}'}")
        return data

    def open(self) -> Context:
        """The org of the state file (``state`` mode); close it with ``ctx.close()``."""
        from sfbearer.emulator.config import EmulatorConfig
        from sfbearer.emulator.core import open_context

        if self.state is None:
            raise ValueError("open() needs a state file")
        if not self.state.is_file():
            raise ControlError(
                f"no emulator state file at {self.state}",
                hint="start one with: sfbearer emulator serve --state FILE",
            )
        return open_context(EmulatorConfig(), state=self.state)

    def run(self, path: str, body: dict[str, Any], operation: Callable[..., Any]) -> Any:
        """POST ``body`` to the admin ``path`` (url mode) or apply ``operation(ctx, **body)``."""
        if self.url is not None:
            return self.call("POST", path, body)
        from sfbearer.emulator.registry import RegistryError

        ctx = self.open()
        try:
            result = operation(ctx, **body)
            return result.to_dict() if hasattr(result, "to_dict") else result
        except (RegistryError, ValueError) as exc:
            raise ControlError(str(exc)) from None
        finally:
            ctx.close()

    def stats(self) -> dict[str, Any]:
        """The counters, from either kind of emulator."""
        if self.url is not None:
            data: dict[str, Any] = self.call("GET", "stats")
            return data
        ctx = self.open()
        try:
            return ctx.sessions.stats()
        finally:
            ctx.close()


def _untrusted(exc: BaseException) -> bool:
    """An ``ssl.SSLCertVerificationError`` somewhere in ``exc``'s (short) chain."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
