"""Aggregate SOQL (GROUP BY, HAVING, COUNT/SUM/AVG/MIN/MAX), FIELDS() and the clauses that are
accepted and ignored: over a running emulator on loopback, and the evaluator directly."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sfbearer.emulator import Emulator
from sfbearer.emulator.columns import column_metadata
from sfbearer.emulator.schema import get_sobject, make_id
from sfbearer.emulator.soql import SoqlError, execute, parse
from sfbearer.keys import KeyPair

from .conftest import Org, make_org

V = "/services/data/v68.0"
NOW = datetime(2026, 12, 1, tzinfo=UTC)
AGG = {"type": "AggregateResult"}

ACME, GLOBEX, INITECH, HOOLI = (make_id("001", n) for n in (1, 2, 3, 4))
ROWS: dict[str, list[dict[str, object]]] = {
    "Account": [
        {"Id": ACME, "Name": "Acme", "Type": "Customer", "AnnualRevenue": 100.0,
         "NumberOfEmployees": 10, "CreatedDate": "2026-11-30T10:00:00.000+0000"},
        {"Id": GLOBEX, "Name": "Globex", "Type": "customer", "AnnualRevenue": None,
         "NumberOfEmployees": 50, "CreatedDate": "2026-01-01T10:00:00.000+0000"},
        {"Id": INITECH, "Name": "Initech", "Type": "Partner", "AnnualRevenue": 5.5,
         "NumberOfEmployees": None, "CreatedDate": "2025-06-01T10:00:00.000+0000"},
        {"Id": HOOLI, "Name": "Hooli", "Type": None, "AnnualRevenue": 7.0,
         "NumberOfEmployees": 3, "CreatedDate": "2026-11-01T10:00:00.000+0000"},
    ],
    "Contact": [
        {"Id": make_id("003", 1), "LastName": "Lovelace", "AccountId": ACME},
        {"Id": make_id("003", 2), "LastName": "Turing", "AccountId": ACME},
        {"Id": make_id("003", 3), "LastName": "Hopper", "AccountId": GLOBEX},
        {"Id": make_id("003", 4), "LastName": "Nobody", "AccountId": None},
    ],
}  # fmt: skip


def run(q: str) -> tuple[int, list[dict[str, object]]]:
    def lookup(sobject: str, ident: str) -> dict[str, object] | None:
        return next((r for r in ROWS.get(sobject, []) if r["Id"] == ident), None)

    return execute(q, lambda s: ROWS.get(s, []), lookup=lookup, now=NOW)


def refused(q: str) -> SoqlError:
    with pytest.raises(SoqlError) as info:
        run(q)
    assert info.value.status == 400
    return info.value


# --- the evaluator ---------------------------------------------------------------------------


def test_group_by_with_aliases_and_implied_names() -> None:
    total, records = run(
        "SELECT Type, COUNT(Id) total, SUM(NumberOfEmployees), AVG(AnnualRevenue), "
        "MIN(Name), MAX(CreatedDate) latest FROM Account GROUP BY Type ORDER BY Type NULLS LAST"
    )
    assert total == 3  # totalSize is the number of groups
    assert records == [
        # Text groups as Salesforce compares it: case-insensitively (the first value seen).
        {"attributes": AGG, "Type": "Customer", "total": 2, "expr0": 60, "expr1": 100.0,
         "expr2": "Acme", "latest": "2026-11-30T10:00:00.000+0000"},
        {"attributes": AGG, "Type": "Partner", "total": 1, "expr0": None, "expr1": 5.5,
         "expr2": "Initech", "latest": "2025-06-01T10:00:00.000+0000"},
        {"attributes": AGG, "Type": None, "total": 1, "expr0": 3, "expr1": 7.0,
         "expr2": "Hooli", "latest": "2026-11-01T10:00:00.000+0000"},
    ]  # fmt: skip


def test_aggregates_skip_nulls_and_count_distinct() -> None:
    (record,) = run(
        "SELECT COUNT(Id), COUNT(AnnualRevenue), COUNT_DISTINCT(Type), SUM(AnnualRevenue) s "
        "FROM Account"
    )[1]
    assert record == {"attributes": AGG, "expr0": 4, "expr1": 3, "expr2": 2, "s": 112.5}


def test_no_rows_without_group_by_is_one_row_with_group_by_none() -> None:
    assert run("SELECT COUNT(Id), MAX(Name) FROM Account WHERE Name = 'x'") == (
        1, [{"attributes": AGG, "expr0": 0, "expr1": None}])  # fmt: skip
    assert run("SELECT Type, COUNT(Id) FROM Account WHERE Name = 'x' GROUP BY Type") == (0, [])


def test_count_alone_is_unchanged() -> None:
    assert run("SELECT COUNT() FROM Account") == (4, [])
    assert refused("SELECT COUNT() FROM Account GROUP BY Type").error_code == "MALFORMED_QUERY"
    assert run("SELECT COUNT() FROM Contact WHERE AccountId = null") == (1, [])


def test_having_order_by_aggregate_limit_offset() -> None:
    q = "SELECT AccountId, COUNT(Id) n FROM Contact GROUP BY AccountId"
    assert [r["n"] for r in run(q + " ORDER BY COUNT(Id) DESC, AccountId")[1]] == [2, 1, 1]
    assert [r["AccountId"] for r in run(q + " HAVING COUNT(Id) > 1")[1]] == [ACME]
    assert [r["AccountId"] for r in run(q + " HAVING COUNT(Id) = 1 AND AccountId != null")[1]] == [
        GLOBEX]  # fmt: skip
    # An aggregate in HAVING or ORDER BY need not be selected.
    only = run("SELECT AccountId FROM Contact GROUP BY AccountId HAVING MAX(LastName) LIKE 'T%'")
    assert only == (1, [{"attributes": AGG, "AccountId": ACME}])
    page = run(q + " ORDER BY COUNT(Id) DESC, AccountId NULLS LAST LIMIT 1 OFFSET 1")[1]
    assert [r["AccountId"] for r in page] == [GLOBEX]


def test_group_by_a_parent_field_names_it_by_its_last_part() -> None:
    total, records = run(
        "SELECT Account.Name, COUNT(Id) FROM Contact GROUP BY Account.Name ORDER BY Account.Name"
    )
    assert total == 3
    assert records[0] == {"attributes": AGG, "Name": None, "expr0": 1}
    assert records[1] == {"attributes": AGG, "Name": "Acme", "expr0": 2}


def test_group_by_without_aggregates_is_distinct_values() -> None:
    total, records = run("SELECT Type t FROM Account GROUP BY Type ORDER BY Type DESC")
    assert total == 3
    assert [r["t"] for r in records] == ["Partner", "Customer", None]


def test_more_than_2000_groups_is_refused_unless_limited() -> None:
    many = {"Account": [{"Id": make_id("001", n), "Name": f"A{n}"} for n in range(1, 2003)]}

    def go(q: str) -> tuple[int, list[dict[str, object]]]:
        return execute(q, lambda s: many.get(s, []), lookup=lambda s, i: None, now=NOW)

    with pytest.raises(SoqlError) as info:
        go("SELECT Name, COUNT(Id) FROM Account GROUP BY Name")
    assert info.value.error_code == "EXCEEDED_ID_LIMIT"
    assert info.value.message == ("Aggregate query does not support queryMore(), use LIMIT to "
                                  "restrict the results to a single batch")  # fmt: skip
    assert go("SELECT Name, COUNT(Id) FROM Account GROUP BY Name LIMIT 2000")[0] == 2000
    assert go("SELECT COUNT() FROM Account") == (2002, [])


@pytest.mark.parametrize(
    ("query", "code", "message"),
    [
        ("SELECT Name, COUNT(Id) FROM Account GROUP BY Type", "MALFORMED_QUERY",
         "Field must be grouped or aggregated: Name"),
        ("SELECT Name, COUNT(Id) FROM Account", "MALFORMED_QUERY",
         "Field must be grouped or aggregated: Name"),
        ("SELECT SUM(Name) FROM Account", "INVALID_FIELD",
         "field Name does not support aggregate operator SUM"),
        ("SELECT AVG(CreatedDate) FROM Account", "INVALID_FIELD",
         "field CreatedDate does not support aggregate operator AVG"),
        ("SELECT MAX(Description) FROM Account", "INVALID_FIELD",
         "field Description does not support aggregate operator MAX"),
        ("SELECT AnnualRevenue FROM Account GROUP BY AnnualRevenue", "INVALID_FIELD",
         "field 'AnnualRevenue' can not be grouped in a query call"),
        ("SELECT CreatedDate FROM Account GROUP BY CreatedDate", "INVALID_FIELD",
         "field 'CreatedDate' can not be grouped in a query call"),
        ("SELECT Type FROM Account GROUP BY Type ORDER BY Name", "MALFORMED_QUERY",
         "Ordered field must be grouped or aggregated: Name"),
        ("SELECT Type FROM Account GROUP BY Type HAVING Name = 'x'", "MALFORMED_QUERY",
         "Field must be grouped or aggregated: Name"),
        ("SELECT Type, COUNT(Id) Type FROM Account GROUP BY Type", "MALFORMED_QUERY",
         "duplicate alias: Type"),
        ("SELECT Type, COUNT(Id) FROM Account GROUP BY Type HAVING COUNT(Id) > 'x'",
         "INVALID_FIELD", "value of filter criterion for field 'Id' must be of type integer"),
        ("SELECT COUNT(Nope) FROM Account", "INVALID_FIELD", "No such column 'Nope'"),
        ("SELECT Id Name FROM Account", "MALFORMED_QUERY", "unexpected token: 'Name'"),
        ("SELECT Name FROM Account ORDER BY COUNT(Id)", "MALFORMED_QUERY",
         "unexpected token: 'COUNT'"),
        ("SELECT Type FROM Account HAVING COUNT(Id) > 1", "MALFORMED_QUERY",
         "unexpected token: 'HAVING'"),
        ("SELECT Id FROM Account WHERE COUNT(Id) > 1", "MALFORMED_QUERY",
         "unexpected token: '('"),
        ("SELECT Type, (SELECT Id FROM Contacts) FROM Account GROUP BY Type", "MALFORMED_QUERY",
         "unexpected token: 'SELECT'"),
        ("SELECT Name, (SELECT SUM(Id) FROM Contacts) FROM Account", "MALFORMED_QUERY",
         "unexpected token: 'SUM'"),
        ("SELECT Type, COUNT(Id) FROM Account GROUP BY Type ORDER BY total", "INVALID_FIELD",
         "No such column 'total'"),
    ],
)  # fmt: skip
def test_refusals(query: str, code: str, message: str) -> None:
    err = refused(query)
    assert (err.error_code, err.message.rsplit("\n", 1)[-1][: len(message)]) == (code, message)


# --- FIELDS(), WITH SECURITY_ENFORCED, FOR VIEW ------------------------------------------------


def test_fields_functions() -> None:
    account = get_sobject("Account")
    assert account is not None
    every = [f.name for f in account.fields]
    (record,) = run("SELECT FIELDS(ALL) FROM Account WHERE Name = 'Acme' LIMIT 200")[1]
    assert list(record)[1:] == every
    (record,) = run("SELECT FIELDS(STANDARD) FROM Account WHERE Name = 'Acme'")[1]
    assert list(record)[1:] == every
    (record,) = run("SELECT Name, FIELDS(CUSTOM) FROM Account WHERE Name = 'Acme' LIMIT 1")[1]
    assert list(record) == ["attributes", "Name"]  # no custom fields on the emulated objects
    child = run("SELECT Name, (SELECT FIELDS(STANDARD) FROM Contacts) FROM Account "
                "WHERE Name = 'Acme'")[1][0]["Contacts"]  # fmt: skip
    assert isinstance(child, dict)
    assert child["totalSize"] == 2


@pytest.mark.parametrize(
    ("query", "code", "message"),
    [
        ("SELECT FIELDS(ALL) FROM Account", "MALFORMED_QUERY",
         "The SOQL FIELDS function must have a LIMIT of at most 200"),
        ("SELECT FIELDS(CUSTOM) FROM Account LIMIT 201", "MALFORMED_QUERY",
         "The SOQL FIELDS function must have a LIMIT of at most 200"),
        ("SELECT Id, FIELDS(STANDARD) FROM Account", "INVALID_FIELD",
         "duplicate field selected: Id"),
        ("SELECT FIELDS(SOME) FROM Account", "MALFORMED_QUERY", "unexpected token: '('"),
        ("SELECT FIELDS(STANDARD), COUNT(Id) FROM Account", "MALFORMED_QUERY",
         "unexpected token: 'SELECT'"),
    ],
)  # fmt: skip
def test_fields_refusals(query: str, code: str, message: str) -> None:
    err = refused(query)
    assert (err.error_code, err.message.rsplit("\n", 1)[-1]) == (code, message)


def test_security_enforced_and_locking_clauses_are_ignored() -> None:
    plain = run("SELECT Name FROM Account WHERE Type = 'Partner' ORDER BY Name LIMIT 5")
    for clause in ("WITH SECURITY_ENFORCED", "FOR VIEW", "FOR REFERENCE", "FOR UPDATE"):
        where, tail = ("WHERE Type = 'Partner' " + clause, "ORDER BY Name LIMIT 5")
        if clause.startswith("FOR"):
            where, tail = "WHERE Type = 'Partner'", "ORDER BY Name LIMIT 5 " + clause
        assert run(f"SELECT Name FROM Account {where} {tail}") == plain
    assert run("SELECT COUNT(Id) FROM Account WITH SECURITY_ENFORCED GROUP BY Type")[0] == 3
    for bad in ("SELECT Id FROM Account WITH USER_MODE", "SELECT Id FROM Account FOR SHARE",
                "SELECT Id FROM Account FOR VIEW WHERE Name = 'x'"):  # fmt: skip
        assert refused(bad).error_code == "MALFORMED_QUERY"


def test_column_metadata_of_an_aggregate_query() -> None:
    body = column_metadata(
        "SELECT Type t, COUNT(Id), SUM(AnnualRevenue) s FROM Account GROUP BY Type"
    )
    assert body["groupBy"] is True
    assert [(c["columnName"], c["aggregate"], c["displayName"]) for c in body["columnMetadata"]] == [
        ("t", False, "Type"), ("expr0", True, "COUNT(Id)"), ("s", True, "SUM(AnnualRevenue)")]  # fmt: skip
    assert column_metadata("SELECT FIELDS(STANDARD) FROM Contact")["idSelected"] is True


def test_parse_keeps_select_order() -> None:
    q = parse("SELECT Type, COUNT(Id) n, Name FROM Account GROUP BY Type, Name")
    assert [getattr(i, "text", None) for i in q.select] == ["Type", "COUNT(Id)", "Name"]
    assert q.aggregate
    assert not parse("SELECT Id FROM Account").aggregate


# --- over the REST API -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def seeded(key_pair: KeyPair) -> Iterator[tuple[Org, str]]:
    with Emulator() as sf:
        for org in make_org(sf, key_pair):
            for name, kind, revenue in (("Acme", "Customer", 100), ("Globex", "Customer", 50),
                                        ("Initech", "Partner", 5)):  # fmt: skip
                account = sf.records.create("Account", {"Name": name, "Type": kind,
                                                        "AnnualRevenue": revenue})  # fmt: skip
                sf.records.create("Contact", {"LastName": f"{name} CEO", "AccountId": account})
            yield org, org.login()


def _get(seeded: tuple[Org, str], soql: str, **headers: str) -> Any:
    org, token = seeded
    return org.api("GET", f"{V}/query", token, params={"q": soql}, headers=headers)


def test_rest_answers_aggregate_results(seeded: tuple[Org, str]) -> None:
    response = _get(seeded, "SELECT Type, COUNT(Id) total, SUM(AnnualRevenue) FROM Account "
                            "GROUP BY Type ORDER BY SUM(AnnualRevenue) DESC")  # fmt: skip
    assert response.status_code == 200, response.text
    assert response.json() == {"totalSize": 2, "done": True, "records": [
        {"attributes": AGG, "Type": "Customer", "total": 2, "expr0": 150.0},
        {"attributes": AGG, "Type": "Partner", "total": 1, "expr0": 5.0}]}  # fmt: skip


def test_rest_aggregate_rows_are_never_paged(seeded: tuple[Org, str]) -> None:
    plain = _get(seeded, "SELECT Id FROM Contact", **{"Sforce-Query-Options": "batchSize=200"})
    assert plain.json()["done"] is True  # three rows: one page either way
    soql = "SELECT Account.Name, COUNT(Id) FROM Contact GROUP BY Account.Name ORDER BY Account.Name"
    body = _get(seeded, soql, **{"Sforce-Query-Options": "batchSize=200"}).json()
    assert body["done"] is True
    assert "nextRecordsUrl" not in body
    assert [r["Name"] for r in body["records"]] == ["Acme", "Globex", "Initech"]


def test_rest_errors_are_salesforce_arrays(seeded: tuple[Org, str]) -> None:
    response = _get(seeded, "SELECT Name, COUNT(Id) FROM Account GROUP BY Type")
    assert response.status_code == 400
    (error,) = response.json()
    assert error["errorCode"] == "MALFORMED_QUERY"
    assert error["message"].endswith("Field must be grouped or aggregated: Name")
    response = _get(seeded, "SELECT FIELDS(ALL) FROM Account LIMIT 500")
    assert response.json()[0]["message"].endswith("must have a LIMIT of at most 200")


def test_rest_fields_all_and_columns(seeded: tuple[Org, str]) -> None:
    body = _get(seeded, "SELECT FIELDS(ALL) FROM Account ORDER BY Name LIMIT 2").json()
    assert [r["Name"] for r in body["records"]] == ["Acme", "Globex"]
    assert "AnnualRevenue" in body["records"][0]
    assert "OwnerId" in body["records"][0]
    org, token = seeded
    columns = org.api("GET", f"{V}/query", token, params={
        "q": "SELECT Type, COUNT(Id) FROM Account GROUP BY Type", "columns": "true"}).json()  # fmt: skip
    assert [c["columnName"] for c in columns["columnMetadata"]] == ["Type", "expr0"]


def test_plain_query_plans_are_still_cached(seeded: tuple[Org, str]) -> None:
    org, _ = seeded
    plans = org.sf.records._plans
    soql = "SELECT Type, COUNT(Id) FROM Account GROUP BY Type"
    for _ in range(2):
        assert _get(seeded, soql).status_code == 200
    assert plans.get(soql) is not None
    today = "SELECT Type FROM Account GROUP BY Type HAVING MAX(CreatedDate) = TODAY"
    assert _get(seeded, today).json()["totalSize"] == 2
    assert plans.get(today) is None  # HAVING read the clock: planned again on each run


REST_WORDS = ["SELECT", "Type", "Name", "COUNT(Id)", "SUM(AnnualRevenue)", "MAX(Name)", "n", ",",
              "FROM", "Account", "Contact", "WHERE", "Id", "IN", "NOT", "(SELECT AccountId FROM Contact)",
              "GROUP", "BY", "HAVING", ">", "1", "ORDER", "DESC", "LIMIT", "200", "FIELDS(ALL)",
              "WITH", "SECURITY_ENFORCED", "FOR", "VIEW", "(", ")", "'x'", "OR", "AND"]  # fmt: skip


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(st.lists(st.sampled_from(REST_WORDS), max_size=14).map(" ".join))
def test_rest_never_answers_5xx(seeded: tuple[Org, str], soql: str) -> None:
    response = _get(seeded, soql)
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        assert response.json()[0]["errorCode"] in {
            "MALFORMED_QUERY", "INVALID_FIELD", "INVALID_TYPE", "EXCEEDED_ID_LIMIT",
            "INVALID_QUERY_FILTER_OPERATOR"}  # fmt: skip


def test_min_and_max_of_a_picklist_follow_its_defined_order() -> None:
    stages = ["Prospecting", "Negotiation", "Closed Lost"]
    ROWS["Opportunity"] = [{"Id": make_id("006", n), "Name": f"O{n}", "StageName": stage}
                           for n, stage in enumerate(stages, start=1)]  # fmt: skip
    try:
        _, records = run("SELECT MIN(StageName), MAX(StageName) FROM Opportunity")
        # Alphabetically this would be Closed Lost / Prospecting.
        assert records == [{"attributes": AGG, "expr0": "Prospecting", "expr1": "Closed Lost"}]
        assert refused("SELECT Probability FROM Opportunity GROUP BY Probability").error_code == (
            "INVALID_FIELD"
        )  # percent, like currency and double, cannot be grouped
    finally:
        del ROWS["Opportunity"]
