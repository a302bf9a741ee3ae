"""CLI test fixtures: ``run_cli`` runs ``sfbearer.cli.main(argv)`` in-process and captures output."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pytest

from sfbearer.cli import main


@dataclass(frozen=True)
class CliResult:
    """What one CLI run produced."""

    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        """stdout and stderr together (for "the secret appears nowhere" checks)."""
        return self.stdout + self.stderr

    def __repr__(self) -> str:  # shown by pytest when an assertion about a run fails
        return f"CliResult(code={self.code}, stdout={self.stdout!r}, stderr={self.stderr!r})"


RunCli = Callable[..., CliResult]


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> RunCli:
    """Run the CLI: ``run_cli("keys", "show", path, input="...", env={...}, tty=False)``.

    Arguments may be ``str`` or path-like. ``input`` becomes stdin; ``env`` is set for the run
    (a ``None`` value unsets a variable); ``tty=True`` makes stdin look like a terminal.
    """

    def run(
        *args: str | os.PathLike[str],
        input: str | None = None,
        env: Mapping[str, str | None] | None = None,
        tty: bool = False,
    ) -> CliResult:
        with monkeypatch.context() as patch:
            for name, value in (env or {}).items():
                if value is None:
                    patch.delenv(name, raising=False)
                else:
                    patch.setenv(name, value)
            stdin = io.StringIO(input or "")
            stdin.isatty = lambda: tty  # type: ignore[method-assign]
            patch.setattr(sys, "stdin", stdin)
            capsys.readouterr()
            code = main([os.fspath(a) for a in args])
            out, err = capsys.readouterr()
        return CliResult(code, out, err)

    return run
