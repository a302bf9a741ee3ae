"""How a :class:`~sfbearer.doctor.Check` reads in a terminal (``doctor``, ``certs promote``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sfbearer.doctor import Check

__all__ = ["MARK", "check_lines"]

# four characters each, so the names line up whatever the status
MARK = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL", "unreachable": "UNRE", "skip": "skip"}


def check_lines(check: Check, *, width: int, hint: bool = True) -> Iterator[str]:
    """``[FAIL] name  message``, then ``-> hint`` under it when something is wrong.

    Example:
        >>> from sfbearer.doctor import Check
        >>> list(check_lines(Check("clock", "warn", "30 s behind", "sync"), width=6))
        ['[WARN] clock  30 s behind', '              -> sync']
    """
    yield f"[{MARK[check.status]}] {check.name:<{width}} {check.message}"
    if hint and check.hint and check.status != "ok":
        yield f"       {'':<{width}} -> {check.hint}"
