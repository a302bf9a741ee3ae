"""SOQL: parsing, Salesforce's error codes and messages, and evaluation over rows."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

import pytest

from sfbearer.emulator import soql
from sfbearer.emulator.schema import make_id
from sfbearer.emulator.soql import SoqlError, execute, parse

NOW = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)  # a Tuesday

ACME, GLOBEX, INITECH = (make_id("001", n) for n in (1, 2, 3))
ACCOUNTS = [
    {"Id": ACME, "Name": "Acme", "AnnualRevenue": 100.0, "NumberOfEmployees": 10,
     "Type": "Customer", "CreatedDate": "2026-12-01T09:00:00.000+0000", "IsDeleted": False},
    {"Id": GLOBEX, "Name": "globex", "AnnualRevenue": None, "NumberOfEmployees": 50,
     "Type": None, "CreatedDate": "2026-11-30T23:59:59.000+0000", "IsDeleted": False},
    {"Id": INITECH, "Name": "Initech 100%", "AnnualRevenue": 5.5, "NumberOfEmployees": 5,
     "Type": "Partner", "CreatedDate": "2025-06-01T00:00:00.000+0000", "IsDeleted": False},
]  # fmt: skip
CONTACTS = [
    {"Id": make_id("003", 1), "LastName": "Lovelace", "AccountId": ACME, "Birthdate": "1815-12-10"},
    {"Id": make_id("003", 2), "LastName": "Turing", "AccountId": None, "Birthdate": None},
]
DATA: dict[str, list[dict[str, object]]] = {"Account": ACCOUNTS, "Contact": CONTACTS}


def _rows(sobject: str) -> Iterable[Mapping[str, object]]:
    return DATA.get(sobject, [])


def _lookup(sobject: str, record_id: str) -> Mapping[str, object] | None:
    return next((r for r in DATA.get(sobject, []) if r["Id"] == record_id), None)


def run(q: str) -> tuple[int, list[dict[str, object]]]:
    return execute(q, _rows, lookup=_lookup, now=NOW, api_version="68.0")


def names(q: str) -> list[object]:
    return [r["Name"] for r in run(q)[1]]


def error(q: object) -> SoqlError:
    parse_only = isinstance(q, str) and q.startswith("PARSE:")
    call = (lambda: parse(str(q)[6:])) if parse_only else (lambda: run(q))  # type: ignore[arg-type]
    with pytest.raises(SoqlError) as info:
        call()
    assert info.value.status == 400
    return info.value


def test_select_shape_and_canonical_case() -> None:
    total, records = run("select id, NAME from ACCOUNT where name = 'ACME'")
    assert total == 1
    assert records == [{
        "attributes": {"type": "Account", "url": f"/services/data/v68.0/sobjects/Account/{ACME}"},
        "Id": ACME, "Name": "Acme",
    }]  # fmt: skip


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("Name = 'acme'", ["Acme"]),
        ("Name != 'Acme'", ["globex", "Initech 100%"]),
        ("Name <> 'Acme'", ["globex", "Initech 100%"]),
        ("AnnualRevenue > 5.5", ["Acme"]),
        ("AnnualRevenue >= 5.5", ["Acme", "Initech 100%"]),
        ("AnnualRevenue < 100", ["Initech 100%"]),
        ("AnnualRevenue <= -1", []),
        ("AnnualRevenue = null", ["globex"]),
        ("AnnualRevenue != NULL", ["Acme", "Initech 100%"]),
        ("Type != 'Customer'", ["globex", "Initech 100%"]),  # nulls are "not equal"
        ("Name LIKE 'a%'", ["Acme"]),
        ("Name LIKE '%E%'", ["Acme", "globex", "Initech 100%"]),
        ("Name LIKE 'glob_x'", ["globex"]),
        ("Name LIKE '%\\%'", ["Initech 100%"]),
        ("Name LIKE 'Acm'", []),
        ("Name IN ('ACME', 'Globex')", ["Acme", "globex"]),
        ("Name NOT IN ('ACME', 'Globex')", ["Initech 100%"]),
        ("NOT Name = 'Acme'", ["globex", "Initech 100%"]),
        ("NOT (Name = 'Acme' OR Name = 'globex')", ["Initech 100%"]),
        ("(Name = 'Acme' OR Name = 'globex') AND NumberOfEmployees > 10", ["globex"]),
        ("Name = 'Acme' AND NumberOfEmployees = 10 AND Type = 'Customer'", ["Acme"]),
        ("Id = '" + ACME[:15] + "'", ["Acme"]),
        ("Id IN ('" + GLOBEX + "')", ["globex"]),
        ("IsDeleted = false", ["Acme", "globex", "Initech 100%"]),
        ("IsDeleted = TRUE", []),
        ("CreatedDate = TODAY", ["Acme"]),
        ("CreatedDate = YESTERDAY", ["globex"]),
        ("CreatedDate < YESTERDAY", ["Initech 100%"]),
        ("CreatedDate > YESTERDAY", ["Acme"]),
        ("CreatedDate = LAST_N_DAYS:2", ["Acme", "globex"]),
        ("CreatedDate = THIS_MONTH", ["Acme"]),
        ("CreatedDate = LAST_MONTH", ["globex"]),
        ("CreatedDate = THIS_YEAR", ["Acme", "globex"]),
        ("CreatedDate > 2026-11-30T23:59:58Z", ["Acme", "globex"]),
        ("CreatedDate >= 2026-12-01T10:00:00+01:00", ["Acme"]),
    ],
)
def test_where(where: str, expected: list[str]) -> None:
    assert names(f"SELECT Name FROM Account WHERE {where}") == expected


def test_date_field_literals() -> None:
    assert run("SELECT Id FROM Contact WHERE Birthdate = 1815-12-10")[0] == 1
    assert run("SELECT Id FROM Contact WHERE Birthdate < 1900-01-01")[0] == 1
    assert run("SELECT Id FROM Contact WHERE Birthdate = LAST_N_DAYS:30")[0] == 0


def test_order_limit_offset() -> None:
    assert names("SELECT Name FROM Account ORDER BY Name") == ["Acme", "globex", "Initech 100%"]
    assert names("SELECT Name FROM Account ORDER BY Name DESC") == [
        "Initech 100%",
        "globex",
        "Acme",
    ]
    assert names("SELECT Name FROM Account ORDER BY AnnualRevenue") == [
        "globex",
        "Initech 100%",
        "Acme",
    ]
    assert names("SELECT Name FROM Account ORDER BY AnnualRevenue DESC") == [
        "Acme",
        "Initech 100%",
        "globex",
    ]
    assert names("SELECT Name FROM Account ORDER BY AnnualRevenue ASC NULLS LAST") == [
        "Initech 100%", "Acme", "globex"]  # fmt: skip
    assert names("SELECT Name FROM Account ORDER BY AnnualRevenue DESC NULLS FIRST") == [
        "globex", "Acme", "Initech 100%"]  # fmt: skip
    assert names("SELECT Name FROM Account ORDER BY Type DESC, Name") == [
        "Initech 100%",
        "Acme",
        "globex",
    ]
    assert names("SELECT Name FROM Account ORDER BY Name LIMIT 2") == ["Acme", "globex"]
    assert names("SELECT Name FROM Account ORDER BY Name LIMIT 2 OFFSET 2") == ["Initech 100%"]
    assert names("SELECT Name FROM Account ORDER BY Name OFFSET 1") == ["globex", "Initech 100%"]
    assert names("SELECT Name FROM Account LIMIT 0") == []


def test_count() -> None:
    assert run("SELECT COUNT() FROM Account") == (3, [])
    assert run("SELECT count() FROM Account WHERE AnnualRevenue != null") == (2, [])
    assert run("SELECT COUNT(AnnualRevenue) FROM Account") == (
        1, [{"attributes": {"type": "AggregateResult"}, "expr0": 2}])  # fmt: skip
    assert run("SELECT COUNT(Id) total FROM Account")[1][0]["total"] == 3


def test_relationship_fields() -> None:
    total, records = run(
        "SELECT LastName, Account.Name, Account.Type FROM Contact ORDER BY LastName"
    )
    assert total == 2
    assert records[0]["Account"] == {
        "attributes": {"type": "Account", "url": f"/services/data/v68.0/sobjects/Account/{ACME}"},
        "Name": "Acme", "Type": "Customer",
    }  # fmt: skip
    assert records[1]["Account"] is None
    assert [
        r["LastName"] for r in run("SELECT LastName FROM Contact WHERE Account.Name LIKE 'ac%'")[1]
    ] == ["Lovelace"]
    assert names("SELECT Account.Name FROM Account WHERE Account.Name = 'Acme'") == ["Acme"]
    assert [
        r["LastName"] for r in run("SELECT LastName FROM Contact ORDER BY Account.Name DESC")[1]
    ] == ["Lovelace", "Turing"]


def test_string_escapes() -> None:
    q = parse(r"SELECT Id FROM Account WHERE Name = 'O\'Brien \\ \n \"x\"'")
    assert q.where is not None
    assert q.where.values[0].value == 'O\'Brien \\ \n "x"'


MSG_COLUMN = ("No such column 'Foo' on entity 'Account'. If you are attempting to use a custom "
              "field, be sure to append the '__c' after the custom field name. Please reference "
              "your WSDL or the describe call for the appropriate names.")  # fmt: skip
MSG_TYPE = ("sObject type 'Widget' is not supported. If you are attempting to use a custom "
            "object, be sure to append the '__c' after the entity name. Please reference your "
            "WSDL or the describe call for the appropriate names.")  # fmt: skip


def test_error_messages() -> None:
    err = error("SELECT Foo FROM Account")
    assert err.error_code == "INVALID_FIELD"
    assert (
        err.message == "\nSELECT Foo FROM Account\n       ^\nERROR at Row:1:Column:8\n" + MSG_COLUMN
    )
    err = error("SELECT Id FROM Widget")
    assert err.error_code == "INVALID_TYPE"
    assert err.message.endswith("ERROR at Row:1:Column:16\n" + MSG_TYPE)
    err = error("SELECT Id FRM Account")
    assert err.error_code == "MALFORMED_QUERY"
    assert err.message.endswith("ERROR at Row:1:Column:11\nunexpected token: 'FRM'")
    err = error("SELECT Id FROM Account WHERE")
    assert err.message.endswith("unexpected token: '<EOF>'")
    err = error("SELECT Id\nFROM Account\nWHERE Nam = 'x'")
    assert "ERROR at Row:3:Column:7\nNo such column 'Nam'" in err.message
    assert err.body()[0]["errorCode"] == "INVALID_FIELD"


@pytest.mark.parametrize(
    ("query", "code", "fragment"),
    [
        ("", "MALFORMED_QUERY", "<EOF>"),
        ("   ", "MALFORMED_QUERY", "<EOF>"),
        ("SELECT FROM Account", "MALFORMED_QUERY", "unexpected token: 'FROM'"),
        ("SELECT Id, FROM Account", "MALFORMED_QUERY", "unexpected token: 'FROM'"),
        ("SELECT Id Name FROM Account", "MALFORMED_QUERY", "unexpected token: 'Name'"),
        (
            "SELECT Id FROM Account WHERE Name = 'x' AND Type = 'y' OR Id = null",
            "MALFORMED_QUERY",
            "unexpected token: 'OR'",
        ),
        ("SELECT Id FROM Account WHERE Name = 'x", "MALFORMED_QUERY", "unterminated"),
        (
            "SELECT Id FROM Account WHERE Name = 'a\\qb'",
            "MALFORMED_QUERY",
            "Illegal character sequence",
        ),
        ("SELECT Id FROM Account WHERE Name = :name", "MALFORMED_QUERY", "unexpected token"),
        ("SELECT Id FROM Account LIMIT -1", "MALFORMED_QUERY", "unexpected token: '-1'"),
        ("SELECT Id FROM Account LIMIT 1.5", "MALFORMED_QUERY", "unexpected token: '1.5'"),
        ("SELECT Id FROM Account;", "MALFORMED_QUERY", "unexpected token: ';'"),
        (
            "SELECT Id FROM Account WHERE CreatedDate = 2026-13-01",
            "MALFORMED_QUERY",
            "unexpected token",
        ),
        (
            "SELECT Id FROM Account WHERE CreatedDate = LAST_N_DAYS",
            "MALFORMED_QUERY",
            "unexpected token",
        ),
        (
            "SELECT Id FROM Account WHERE CreatedDate = TODAY:3",
            "MALFORMED_QUERY",
            "unexpected token",
        ),
        (
            "SELECT Id FROM Account WHERE Name = 5",
            "INVALID_FIELD",
            "value of filter criterion for field 'Name' must be of type string and should be enclosed in quotes",
        ),
        (
            "SELECT Id FROM Account WHERE AnnualRevenue = '5'",
            "INVALID_FIELD",
            "must be of type double and should not be enclosed in quotes",
        ),
        (
            "SELECT Id FROM Account WHERE IsDeleted = 'true'",
            "INVALID_FIELD",
            "must be of type boolean",
        ),
        (
            "SELECT Id FROM Account WHERE CreatedDate = 2026-01-01",
            "INVALID_FIELD",
            "must be of type dateTime",
        ),
        (
            "SELECT Id FROM Contact WHERE Birthdate = 2026-01-01T00:00:00Z",
            "INVALID_FIELD",
            "must be of type date",
        ),
        (
            "SELECT Id FROM Account WHERE Id = 'nope'",
            "INVALID_QUERY_FILTER_OPERATOR",
            "invalid ID field: nope",
        ),
        (
            "SELECT Id FROM Account WHERE IsDeleted > true",
            "INVALID_QUERY_FILTER_OPERATOR",
            "boolean",
        ),
        (
            "SELECT Id FROM Account WHERE AnnualRevenue LIKE '1%'",
            "INVALID_QUERY_FILTER_OPERATOR",
            "invalid operator",
        ),
        ("SELECT Id FROM Account WHERE Description = 'x'", "INVALID_FIELD", "can not be filtered"),
        ("SELECT Id FROM Account ORDER BY Description", "INVALID_FIELD", "can not be sorted"),
        ("SELECT Id, id FROM Account", "INVALID_FIELD", "duplicate field selected: id"),
        (
            "SELECT Owner.Bogus FROM Account",
            "INVALID_FIELD",
            "No such column 'Bogus' on entity 'User'",
        ),
        (
            "SELECT Parent.Name FROM Account",
            "INVALID_FIELD",
            "Didn't understand relationship 'Parent'",
        ),
        (
            "SELECT Id FROM Account OFFSET 2001",
            "NUMBER_OUTSIDE_VALID_RANGE",
            "Maximum SOQL offset allowed is 2000",
        ),
    ],
)
def test_refusals(query: str, code: str, fragment: str) -> None:
    err = error(query)
    assert err.error_code == code
    assert fragment in err.message


def test_input_caps_are_soql_errors() -> None:
    err = error("PARSE:SELECT Id FROM Account WHERE Name = '" + "x" * soql.MAX_QUERY_LENGTH + "'")
    assert err.error_code == "MALFORMED_QUERY"
    assert "100,000" in err.message
    deep = "SELECT Id FROM Account WHERE " + "(" * 5000 + "Name = 'x'" + ")" * 5000
    assert error(deep).error_code == "MALFORMED_QUERY"
    nots = "SELECT Id FROM Account WHERE " + "NOT " * 5000 + "Name = 'x'"
    assert error(nots).error_code == "MALFORMED_QUERY"
    # nesting below the limit still works
    ok = "SELECT Name FROM Account WHERE " + "(" * 30 + "Name = 'Acme'" + ")" * 30
    assert names(ok) == ["Acme"]
    assert error(12345).error_code == "MALFORMED_QUERY"  # not even a string


def test_error_line_is_trimmed_for_long_queries() -> None:
    err = error(
        "SELECT Id FROM Account WHERE Name = 'a' AND " + "Name = 'b' AND " * 500 + "Bogus = 1"
    )
    assert len(err.message) < 1000
    assert "No such column 'Bogus'" in err.message


def test_date_ranges_cover_whole_days() -> None:
    start, end = soql.date_range("LAST_N_DAYS", 7, NOW)
    assert start == datetime(2026, 11, 24, tzinfo=UTC)
    assert end == datetime(2026, 12, 2, tzinfo=UTC)
    start, end = soql.date_range("THIS_WEEK", 0, NOW)
    assert start == datetime(2026, 11, 29, tzinfo=UTC)  # Sunday
    start, end = soql.date_range("NEXT_MONTH", 0, NOW)
    assert (start, end) == (datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 2, 1, tzinfo=UTC))
    assert soql.date_range("N_DAYS_AGO", 1, NOW)[0] == datetime(2026, 11, 30, tzinfo=UTC)
    # huge N stays within datetime's range instead of overflowing
    assert soql.date_range("LAST_N_DAYS", 999_999_999, NOW)[0].year < 2026


def d(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


@pytest.mark.parametrize(
    ("literal", "n", "span"),
    [
        ("THIS_QUARTER", 0, (d(2026, 10, 1), d(2027, 1, 1))),
        ("LAST_QUARTER", 0, (d(2026, 7, 1), d(2026, 10, 1))),
        ("NEXT_QUARTER", 0, (d(2027, 1, 1), d(2027, 4, 1))),
        ("LAST_N_QUARTERS", 2, (d(2026, 4, 1), d(2026, 10, 1))),  # the current one excluded
        ("NEXT_N_QUARTERS", 2, (d(2027, 1, 1), d(2027, 7, 1))),
        ("N_QUARTERS_AGO", 1, (d(2026, 7, 1), d(2026, 10, 1))),
        ("LAST_N_MONTHS", 2, (d(2026, 10, 1), d(2026, 12, 1))),
        ("NEXT_N_MONTHS", 2, (d(2027, 1, 1), d(2027, 3, 1))),
        ("N_MONTHS_AGO", 12, (d(2025, 12, 1), d(2026, 1, 1))),
        ("LAST_N_WEEKS", 2, (d(2026, 11, 15), d(2026, 11, 29))),  # weeks start on Sunday
        ("NEXT_N_WEEKS", 1, (d(2026, 12, 6), d(2026, 12, 13))),
        ("N_WEEKS_AGO", 1, (d(2026, 11, 22), d(2026, 11, 29))),
        ("LAST_N_YEARS", 2, (d(2024, 1, 1), d(2026, 1, 1))),
        ("NEXT_N_YEARS", 1, (d(2027, 1, 1), d(2028, 1, 1))),
        ("N_YEARS_AGO", 3, (d(2023, 1, 1), d(2024, 1, 1))),
        # The fiscal year is the calendar year (Salesforce's default).
        ("THIS_FISCAL_YEAR", 0, (d(2026, 1, 1), d(2027, 1, 1))),
        ("LAST_FISCAL_QUARTER", 0, (d(2026, 7, 1), d(2026, 10, 1))),
        ("N_FISCAL_YEARS_AGO", 1, (d(2025, 1, 1), d(2026, 1, 1))),
    ],
)
def test_week_month_quarter_year_and_fiscal_literals(
    literal: str, n: int, span: tuple[datetime, datetime]
) -> None:
    assert soql.date_range(literal, n, NOW) == span
    written = f"{literal}:{n}" if "_N_" in literal or literal.startswith("N_") else literal
    run(f"SELECT Id FROM Account WHERE CreatedDate = {written}")  # parses and runs
    with pytest.raises(soql.SoqlError):  # and the :n is required exactly where it belongs
        run(f"SELECT Id FROM Account WHERE CreatedDate = {literal}{'' if ':' in written else ':3'}")
