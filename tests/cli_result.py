"""What the suite's ``run_cli`` fixture (tests/conftest.py) returns, importable by test modules.

A conftest cannot be imported by name reliably (pytest swaps ``conftest`` modules of
directories without ``__init__.py``), so the result type lives here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["CliResult", "RunCli"]


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
