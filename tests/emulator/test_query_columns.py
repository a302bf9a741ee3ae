"""``GET .../query?q=SOQL&columns=true``: column metadata, as the Salesforce CLI reads it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sfbearer.emulator import Emulator
from sfbearer.emulator.columns import column_metadata
from sfbearer.keys import KeyPair

from .conftest import Org, make_org


@pytest.fixture(scope="module")
def module_emulator() -> Iterator[Emulator]:
    with Emulator() as sf:
        yield sf


@pytest.fixture
def org(module_emulator: Emulator, key_pair: KeyPair) -> Iterator[Org]:
    yield from make_org(module_emulator, key_pair)


def _columns(org: Org, soql: str, resource: str = "query") -> Any:
    token = org.login()
    return org.api(
        "GET", f"/services/data/v68.0/{resource}/", token, params={"q": soql, "columns": "true"}
    )


def _names(columns: list[dict[str, Any]]) -> list[object]:
    return [
        (c["columnName"], _names(c["joinColumns"])) if c["joinColumns"] else c["columnName"]
        for c in columns
    ]


def test_plain_fields_describe_their_types(org: Org) -> None:
    org.sf.records.create("Account", {"Name": "Acme"})
    response = _columns(org, "SELECT Id, Name, NumberOfEmployees FROM Account")
    assert response.status_code == 200
    assert response.headers["sforce-limit-info"].startswith("api-usage=")
    body = response.json()
    assert body["entityName"] == "Account"
    assert body["keyPrefix"] == "001"
    assert body["idSelected"] is True
    assert body["groupBy"] is False
    ident, name, employees = body["columnMetadata"]
    assert ident == {
        "aggregate": False, "apexType": "Id", "booleanType": False, "columnName": "Id",
        "custom": False, "displayName": "Id", "foreignKeyName": None, "insertable": False,
        "joinColumns": [], "numberType": False, "textType": False, "updatable": False,
    }  # fmt: skip
    assert (name["apexType"], name["textType"], name["insertable"]) == ("String", True, True)
    assert (employees["apexType"], employees["numberType"]) == ("Integer", True)
    assert "records" not in body  # the rows are not sent


def test_relationship_paths_nest_under_one_column(org: Org) -> None:
    body = _columns(
        org, "SELECT Name, Account.Name, Account.Owner.Name, account.id FROM Contact"
    ).json()
    assert _names(body["columnMetadata"]) == [
        "Name",
        ("Account", ["Name", ("Owner", ["Name"]), "Id"]),
    ]
    account = body["columnMetadata"][1]
    assert (account["foreignKeyName"], account["apexType"]) == ("AccountId", None)
    assert body["idSelected"] is False


def test_the_queried_objects_own_name_as_prefix_is_dropped(org: Org) -> None:
    body = _columns(org, "SELECT Account.Name FROM Account").json()
    assert _names(body["columnMetadata"]) == ["Name"]


def test_count_of_a_field_is_an_aggregate_named_by_its_alias() -> None:
    (column,) = column_metadata("SELECT COUNT(Id) n FROM Account")["columnMetadata"]
    assert (column["aggregate"], column["columnName"], column["displayName"]) == (
        True,
        "n",
        "COUNT(Id)",
    )
    (column,) = column_metadata("SELECT COUNT(Name) FROM Account")["columnMetadata"]
    assert column["columnName"] == "expr0"


def test_query_all_answers_too(org: Org) -> None:
    body = _columns(org, "SELECT Id FROM Account", resource="queryAll").json()
    assert _names(body["columnMetadata"]) == ["Id"]


@pytest.mark.parametrize(
    ("soql", "code"),
    [
        ("SELECT Id FROM Nope", "INVALID_TYPE"),
        ("SELECT Nope FROM Account", "INVALID_FIELD"),
        ("SELECT Id FROM Account WHERE Nope = 1", "INVALID_FIELD"),
        ("SELECT FROM Account", "MALFORMED_QUERY"),
    ],
)
def test_a_refused_query_answers_as_without_columns(org: Org, soql: str, code: str) -> None:
    response = _columns(org, soql)
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == code
    token = org.login()
    plain = org.api("GET", "/services/data/v68.0/query/", token, params={"q": soql})
    assert plain.json() == response.json()


def test_without_columns_the_rows_come_back(org: Org) -> None:
    token = org.login()
    for value in ("false", ""):
        response = org.api(
            "GET",
            "/services/data/v68.0/query/",
            token,
            params={"q": "SELECT Id FROM User", "columns": value},
        )
        assert "records" in response.json()
