"""How a :class:`~sfbearer.doctor.Check` reads in a terminal (``doctor``, ``certs promote``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sfbearer.doctor import Check

__all__ = ["MARK", "NAME_WIDTH", "check_lines"]

# wide enough for every check doctor runs ("certificate validity", "connection settings"),
# so doctor and certs promote --check print the same columns
NAME_WIDTH = 22

# four characters each, so the names line up whatever the status
MARK = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL", "unreachable": "UNRE", "skip": "skip"}


def check_lines(check: Check, *, width: int = NAME_WIDTH, hint: bool = True) -> Iterator[str]:
    """``[FAIL] name  message``, then ``-> hint`` under it when something is wrong.

    Example:
        >>> from sfbearer.doctor import Check
        >>> list(check_lines(Check("clock", "warn", "30 s behind", "sync"), width=6))
        ['[WARN] clock  30 s behind', '              -> sync']
    """
    yield f"[{MARK[check.status]}] {check.name:<{width}} {check.message}"
    if hint and check.hint and check.status != "ok":
        yield f"       {'':<{width}} -> {check.hint}"
