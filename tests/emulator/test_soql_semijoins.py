"""Semi-joins and anti-joins (``WHERE Id [NOT] IN (SELECT AccountId FROM Contact ...)``): the
evaluator directly, Salesforce's refusals, and over a running emulator on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from sfbearer.emulator import Emulator
from sfbearer.emulator.schema import make_id
from sfbearer.emulator.soql import SoqlError, execute
from sfbearer.keys import KeyPair

from .conftest import Org, make_org

NOW = datetime(2026, 12, 1, tzinfo=UTC)
ACME, GLOBEX, INITECH = (make_id("001", n) for n in (1, 2, 3))
ADA, ALAN = make_id("003", 1), make_id("003", 2)
USER = make_id("005", 7)
ROWS: dict[str, list[dict[str, object]]] = {
    "Account": [{"Id": ACME, "Name": "Acme", "OwnerId": USER},
                {"Id": GLOBEX, "Name": "Globex", "OwnerId": None},
                {"Id": INITECH, "Name": "Initech", "OwnerId": USER}],
    "Contact": [{"Id": ADA, "LastName": "Lovelace", "AccountId": ACME, "OwnerId": USER},
                {"Id": ALAN, "LastName": "Turing", "AccountId": GLOBEX, "OwnerId": None},
                {"Id": make_id("003", 3), "LastName": "Orphan", "AccountId": None}],
    "Opportunity": [{"Id": make_id("006", 1), "Name": "Big", "AccountId": ACME,
                     "IsClosed": True}],
    "Case": [{"Id": make_id("500", 1), "ContactId": ALAN, "AccountId": GLOBEX}],
    "User": [{"Id": USER, "Username": "u@x.com", "IsActive": True}],
}  # fmt: skip


def names(q: str, sobject_field: str = "Name") -> list[object]:
    def lookup(sobject: str, ident: str) -> dict[str, object] | None:
        return next((r for r in ROWS.get(sobject, []) if r["Id"] == ident), None)

    records = execute(q, lambda s: ROWS.get(s, []), lookup=lookup, now=NOW)[1]
    return [r[sobject_field] for r in records]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("SELECT Name FROM Account WHERE Id IN (SELECT AccountId FROM Contact)",
         ["Acme", "Globex"]),
        ("SELECT Name FROM Account WHERE Id NOT IN (SELECT AccountId FROM Contact)", ["Initech"]),
        ("SELECT Name FROM Account WHERE Id IN (SELECT AccountId FROM Contact "
         "WHERE LastName LIKE 'tur%')", ["Globex"]),
        ("SELECT Name FROM Account WHERE Id IN (SELECT AccountId FROM Contact) "
         "AND Id NOT IN (SELECT AccountId FROM Opportunity WHERE IsClosed = true)", ["Globex"]),
        ("SELECT Name FROM Account WHERE Name != 'Acme' AND Id IN (SELECT AccountId FROM Case)",
         ["Globex"]),
        # A reference on each side.
        ("SELECT Name FROM Account WHERE OwnerId IN (SELECT Id FROM User WHERE IsActive = true)",
         ["Acme", "Initech"]),
        ("SELECT Name FROM Account WHERE OwnerId NOT IN (SELECT OwnerId FROM Contact)",
         ["Globex"]),  # a null reference is not in the set: the anti-join keeps it
        # The inner query's WHERE may follow a relationship.
        ("SELECT Name FROM Account WHERE Id IN (SELECT AccountId FROM Case "
         "WHERE Contact.LastName = 'Turing')", ["Globex"]),
    ],
)  # fmt: skip
def test_semi_and_anti_joins(query: str, expected: list[str]) -> None:
    assert names(query) == expected


def test_child_to_parent_and_with_other_clauses() -> None:
    q = ("SELECT LastName FROM Contact WHERE AccountId IN (SELECT Id FROM Account "
         "WHERE OwnerId != null) ORDER BY LastName")  # fmt: skip
    assert names(q, "LastName") == ["Lovelace"]
    counted = execute("SELECT COUNT() FROM Contact WHERE AccountId NOT IN (SELECT AccountId "
                      "FROM Case)", lambda s: ROWS.get(s, []), lookup=lambda s, i: None, now=NOW)  # fmt: skip
    assert counted == (2, [])
    agg = execute("SELECT COUNT(Id) n FROM Account WHERE Id IN (SELECT AccountId FROM Contact)",
                  lambda s: ROWS.get(s, []), lookup=lambda s, i: None, now=NOW)  # fmt: skip
    assert agg[1][0]["n"] == 2


@pytest.mark.parametrize(
    ("query", "code", "message"),
    [
        ("SELECT Id FROM Account WHERE Name IN (SELECT AccountId FROM Contact)",
         "MALFORMED_QUERY", "semi join sub selects can only query id fields, cannot use: 'Name'"),
        ("SELECT Id FROM Account WHERE Id IN (SELECT LastName FROM Contact)",
         "MALFORMED_QUERY", "semi join sub selects can only query id fields, cannot use: "
         "'LastName'"),
        ("SELECT Id FROM Account WHERE Id IN (SELECT Account.OwnerId FROM Contact)",
         "MALFORMED_QUERY", "semi join sub selects can only query id fields, cannot use: "
         "'Account.OwnerId'"),
        ("SELECT Name FROM Account WHERE Id IN (SELECT Id FROM Account WHERE Name = 'x')",
         "MALFORMED_QUERY", "The inner and outer selects should not be on the same object type"),
        ("SELECT Id FROM Account WHERE Id IN (SELECT OwnerId FROM Contact)", "MALFORMED_QUERY",
         "The selected field 'OwnerId' in the subquery and the left operand field in the where "
         "expression in the outer query 'Id' should point to the same object type"),
        ("SELECT Id FROM Account WHERE Name = 'x' OR Id IN (SELECT AccountId FROM Contact)",
         "MALFORMED_QUERY", "Semi join sub-selects are not allowed with the 'OR' operator"),
        ("SELECT Id FROM Account WHERE Name = 'x' AND (Name = 'y' OR Id IN "
         "(SELECT AccountId FROM Contact))", "MALFORMED_QUERY",
         "Semi join sub-selects are only allowed at the top level WHERE expressions."),
        ("SELECT Id FROM Account WHERE NOT Id IN (SELECT AccountId FROM Contact)",
         "MALFORMED_QUERY",
         "Semi join sub-selects are only allowed at the top level WHERE expressions."),
        ("SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Contact) AND Id IN "
         "(SELECT AccountId FROM Case) AND Id IN (SELECT AccountId FROM Opportunity)",
         "MALFORMED_QUERY", "Maximum 2 semi join sub-selects are allowed"),
        ("SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Contact WHERE Id IN "
         "(SELECT ContactId FROM Case))", "MALFORMED_QUERY",
         "Nesting of semi join sub-selects is not supported"),
        ("SELECT Id FROM Account WHERE Id IN (SELECT AccountId, Id FROM Contact)",
         "MALFORMED_QUERY", "unexpected token: 'SELECT'"),
        ("SELECT Id FROM Account WHERE Id IN (SELECT COUNT() FROM Contact)",
         "MALFORMED_QUERY", "unexpected token: 'COUNT'"),
        ("SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Contact ORDER BY Id)",
         "MALFORMED_QUERY", "unexpected token: 'ORDER'"),
        ("SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Contact LIMIT 1)",
         "MALFORMED_QUERY", "unexpected token: 'LIMIT'"),
        ("SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Widget)", "INVALID_TYPE",
         "sObject type 'Widget' is not supported"),
        ("SELECT Id FROM Account WHERE Id IN (SELECT Nope FROM Contact)", "INVALID_FIELD",
         "No such column 'Nope' on entity 'Contact'"),
        ("SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Contact WHERE Nope = 1)",
         "INVALID_FIELD", "No such column 'Nope' on entity 'Contact'"),
        ("SELECT Type FROM Account GROUP BY Type HAVING Type IN (SELECT Id FROM Account)",
         "MALFORMED_QUERY", "unexpected token: 'SELECT'"),
    ],
)  # fmt: skip
def test_refusals(query: str, code: str, message: str) -> None:
    with pytest.raises(SoqlError) as info:
        names(query)
    last = info.value.message.rsplit("\n", 1)[-1]
    assert (info.value.error_code, last[: len(message)]) == (code, message)
    assert info.value.message.startswith("\n")  # with the caret and the row/column


@pytest.fixture(scope="module")
def org_with_rows(key_pair: KeyPair) -> Iterator[tuple[Org, str]]:
    with Emulator() as sf:
        for org in make_org(sf, key_pair):
            acme = sf.records.create("Account", {"Name": "Acme"})
            sf.records.create("Account", {"Name": "Globex"})
            gone = sf.records.create("Account", {"Name": "Gone"})
            sf.records.create("Contact", {"LastName": "Lovelace", "AccountId": acme})
            contact = sf.records.create("Contact", {"LastName": "Ghost", "AccountId": gone})
            sf.records.delete("Contact", contact)
            yield org, org.login()


@pytest.mark.parametrize(
    ("resource", "soql", "expected"),
    [
        ("query", "SELECT Name FROM Account WHERE Id IN (SELECT AccountId FROM Contact)",
         ["Acme"]),
        ("query", "SELECT Name FROM Account WHERE Id NOT IN (SELECT AccountId FROM Contact) "
         "ORDER BY Name", ["Globex", "Gone"]),
        # queryAll: the deleted contact counts in the inner query too.
        ("queryAll", "SELECT Name FROM Account WHERE Id IN (SELECT AccountId FROM Contact) "
         "ORDER BY Name", ["Acme", "Gone"]),
    ],
)  # fmt: skip
def test_over_rest(
    org_with_rows: tuple[Org, str], resource: str, soql: str, expected: list[str]
) -> None:
    org, token = org_with_rows
    for _ in range(2):  # the second run uses the cached plan and reads the ids again
        response = org.api("GET", f"/services/data/v68.0/{resource}", token, params={"q": soql})
        assert response.status_code == 200, response.text
        assert [r["Name"] for r in response.json()["records"]] == expected


def test_the_inner_query_sees_writes_between_runs(org_with_rows: tuple[Org, str]) -> None:
    org, token = org_with_rows
    soql = "SELECT Name FROM Account WHERE Name = 'Globex' AND Id IN (SELECT AccountId FROM Case)"

    def found() -> list[str]:
        body = org.api("GET", "/services/data/v68.0/query", token, params={"q": soql}).json()
        return [r["Name"] for r in body["records"]]

    assert found() == []
    globex = org.sf.records.query("SELECT Id FROM Account WHERE Name = 'Globex'")["records"]
    org.sf.records.create("Case", {"Subject": "Help", "AccountId": globex[0]["Id"]})  # type: ignore[index]
    assert found() == ["Globex"]
    response = org.api("GET", "/services/data/v68.0/query", token, params={
        "q": "SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Contact) OR Name = 'x'"})  # fmt: skip
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "MALFORMED_QUERY"
