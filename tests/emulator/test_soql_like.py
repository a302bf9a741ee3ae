"""LIKE: the matcher agrees with the plain regular-expression reading and never backtracks."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from sfbearer.emulator.schema import make_id
from sfbearer.emulator.soql import execute

NOW = datetime(2026, 12, 1, tzinfo=UTC)
# Pattern atoms as written in SOQL: plain characters (some that fold case), wildcards and
# escaped wildcards.
ATOMS = ["a", "A", "b", "ß", "ſ", "s", ".", "*", "%", "_", "\\%", "\\_", "\\\\"]


def names_like(pattern: str, names: list[str]) -> list[str]:
    rows = [{"Id": make_id("001", n + 1), "Name": name} for n, name in enumerate(names)]
    _, records = execute(
        f"SELECT Name FROM Account WHERE Name LIKE '{pattern}'",
        lambda sobject: rows,
        lookup=lambda sobject, record_id: None,
        now=NOW,
    )
    return [str(r["Name"]) for r in records]


def reference(atoms: list[str], value: str) -> bool:
    """One regular expression, ``%`` as ``.*``: right, but exponential on near misses."""
    regex = "".join(".*" if a == "%" else "." if a == "_" else re.escape(a[-1]) for a in atoms)
    return re.fullmatch(regex, value, re.IGNORECASE | re.DOTALL) is not None


@settings(max_examples=300, deadline=None)
@given(
    atoms=st.lists(st.sampled_from(ATOMS), max_size=8),
    values=st.lists(st.text(alphabet="aAbßſsS.*%_\\", max_size=8), min_size=1, max_size=6),
)
def test_like_agrees_with_the_regular_expression_reading(
    atoms: list[str], values: list[str]
) -> None:
    pattern = "".join(atoms)
    want = [v for v in values if reference(atoms, v)]
    assert names_like(pattern, values) == want


def test_like_cases() -> None:
    names = ["Acme", "ACME Corp", "acme", "Ac", "Initech 100%", "a_b", "axb", ""]
    assert names_like("acme", names) == ["Acme", "acme"]
    assert names_like("%me%", names) == ["Acme", "ACME Corp", "acme"]
    assert names_like("a%e", names) == ["Acme", "acme"]
    assert names_like("a_b", names) == ["a_b", "axb"]
    assert names_like("a\\_b", names) == ["a_b"]
    assert names_like("%\\%", names) == ["Initech 100%"]
    assert names_like("%%", names) == names
    assert names_like("%", names) == names
    assert names_like("", names) == [""]
    assert names_like("A%c%m%e%", names) == ["Acme", "ACME Corp", "acme"]
    assert names_like("ac%c", names) == []  # the first and last pieces may not overlap


def test_near_misses_do_not_backtrack() -> None:
    # A single regular expression takes minutes here (every split of 250 characters
    # among four ``.*``); the matcher answers at once.
    started = time.perf_counter()
    assert names_like("%a" * 12 + "%c", ["a" * 250 + "b"] * 20) == []
    assert time.perf_counter() - started < 1.0
