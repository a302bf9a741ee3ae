"""cli._checks.check_lines: one aligned line per check, the hint under it only when wrong."""

from __future__ import annotations

from sfbearer.cli._checks import MARK, check_lines
from sfbearer.doctor import Check


def test_a_failure_shows_its_hint_aligned_under_the_message() -> None:
    lines = list(check_lines(Check("token", "fail", "invalid_grant", "upload the cert"), width=8))
    assert lines == ["[FAIL] token    invalid_grant", "                -> upload the cert"]


def test_an_ok_check_hides_its_hint_and_hint_false_hides_any() -> None:
    assert list(check_lines(Check("key", "ok", "fine", "unused"), width=3)) == ["[ok  ] key fine"]
    warn = Check("clock", "warn", "40 s behind", "sync the clock")
    assert list(check_lines(warn, width=5, hint=False)) == ["[WARN] clock 40 s behind"]


def test_every_status_has_a_four_character_mark() -> None:
    assert set(MARK) == {"ok", "warn", "fail", "unreachable", "skip"}
    assert {len(mark) for mark in MARK.values()} == {4}
