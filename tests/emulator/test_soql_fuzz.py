"""No input string makes the SOQL module raise anything but SoqlError."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sfbearer.emulator.schema import make_id
from sfbearer.emulator.soql import SoqlError, execute

NOW = datetime(2026, 12, 1, tzinfo=UTC)
ROWS = {
    "Account": [{"Id": make_id("001", 1), "Name": "Acme", "AnnualRevenue": 1.0,
                 "CreatedDate": "2026-11-30T00:00:00.000+0000", "IsDeleted": False}],
    "Contact": [{"Id": make_id("003", 1), "LastName": "X", "AccountId": make_id("001", 1),
                 "Birthdate": "2000-01-01"}],
}  # fmt: skip
VALID = [
    "SELECT Id, Name FROM Account",
    "SELECT Id FROM Account WHERE Name = 'Acme' AND AnnualRevenue > 0",
    "SELECT Name FROM Account WHERE (Name LIKE 'A%' OR Name IN ('x', 'y')) ORDER BY Name DESC NULLS LAST LIMIT 5 OFFSET 1",
    "SELECT COUNT() FROM Contact WHERE Birthdate < 2001-01-01",
    "SELECT LastName, Account.Name FROM Contact WHERE NOT Account.Name = null",
    "SELECT Id FROM Account WHERE CreatedDate = LAST_N_DAYS:30 AND IsDeleted = false",
    "SELECT COUNT(Id) n FROM Account WHERE CreatedDate > 2020-01-01T00:00:00Z",
    "SELECT Name FROM Account WHERE Name NOT IN ('a\\'b', 'c\\\\d') ORDER BY AnnualRevenue, Name ASC",
    "SELECT Name n, COUNT(Id), SUM(AnnualRevenue) s FROM Account GROUP BY Name HAVING COUNT(Id) > 0 ORDER BY COUNT(Id) DESC LIMIT 3",
    "SELECT Account.Name, MAX(Birthdate), COUNT_DISTINCT(LastName) FROM Contact GROUP BY Account.Name",
    "SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Contact WHERE LastName = 'X') AND Id NOT IN (SELECT AccountId FROM Contact)",
    "SELECT FIELDS(ALL) FROM Account WITH SECURITY_ENFORCED LIMIT 200 FOR VIEW",
    "SELECT Name, FIELDS(CUSTOM), (SELECT FIELDS(STANDARD) FROM Contacts) FROM Account LIMIT 1 FOR UPDATE",
]
VOCAB = [
    "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER", "BY", "LIMIT", "OFFSET",
    "ASC", "DESC", "NULLS", "FIRST", "LAST", "NULL", "TRUE", "FALSE", "COUNT", "(", ")", ",", ".",
    "=", "!=", "<>", "<", ">", "<=", ">=", "Id", "Name", "Account", "Contact", "Foo", "Account.Name",
    "'x'", "'%a_'", "'\\'", "1", "-2.5", "99999999999", "2026-01-01", "2026-01-01T00:00:00Z",
    "TODAY", "LAST_N_DAYS:3", "N_DAYS_AGO:", ":x", "'", "\\", "AnnualRevenue", "Birthdate",
    "CreatedDate", "IsDeleted", "Description", "LastName", "AccountId",
    "GROUP", "HAVING", "SUM(AnnualRevenue)", "COUNT(Id)", "AVG(", "MIN(Name)", "MAX",
    "COUNT_DISTINCT(LastName)", "expr0", "total", "FIELDS(ALL)", "FIELDS(", "STANDARD", "CUSTOM",
    "WITH", "SECURITY_ENFORCED", "FOR", "VIEW", "UPDATE", "REFERENCE", "(SELECT AccountId FROM Contact)",
    "(SELECT Id FROM Contacts)", "(SELECT", "200",
]  # fmt: skip


def _run(text: str) -> None:
    """Either an answer or a SoqlError shaped like Salesforce's; never anything else."""
    error: SoqlError | None = None
    try:
        execute(text, lambda s: ROWS.get(s, []), now=NOW,
                lookup=lambda s, i: next((r for r in ROWS.get(s, []) if r["Id"] == i), None))  # fmt: skip
    except SoqlError as exc:
        error = exc
    if error is not None:
        assert error.status == 400
        assert error.error_code.isupper()
        assert error.message


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200))
def test_random_text(text: str) -> None:
    _run(text)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(VOCAB), max_size=25))
def test_token_soup(tokens: list[str]) -> None:
    _run(" ".join(tokens))
    _run("SELECT Id FROM Account WHERE " + " ".join(tokens))


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(VALID))
    for _ in range(draw(st.integers(1, 4))):
        if not text:
            break
        pos = draw(st.integers(0, len(text) - 1))
        action = draw(st.sampled_from(["delete", "insert", "replace", "token"]))
        if action == "delete":
            text = text[:pos] + text[pos + 1 :]
        elif action == "insert":
            text = text[:pos] + draw(st.characters()) + text[pos:]
        elif action == "replace":
            text = text[:pos] + draw(st.characters()) + text[pos + 1 :]
        else:
            text = text[:pos] + " " + draw(st.sampled_from(VOCAB)) + " " + text[pos:]
    return text


@settings(max_examples=600, deadline=None)
@given(mutated())
def test_mutated_valid_queries(text: str) -> None:
    _run(text)


def test_valid_seeds_run() -> None:
    for text in VALID:
        execute(text, lambda s: ROWS.get(s, []), now=NOW, lookup=lambda s, i: None)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(VOCAB), max_size=12))
def test_aggregate_and_semi_join_soup(tokens: list[str]) -> None:
    """Random tails after each new construct: only answers or SoqlErrors."""
    tail = " ".join(tokens)
    _run("SELECT Name, COUNT(Id) FROM Account GROUP BY " + tail)
    _run("SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Contact " + tail)
    _run("SELECT FIELDS(ALL) FROM Account " + tail)
