"""Parent-to-child relationship subqueries: ``SELECT Name, (SELECT Id FROM Contacts) FROM Account``.

Over a running emulator (httpx on loopback, and simple-salesforce over TLS), plus the
evaluator directly for the error cases and a fuzz test that sees only 400s.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sfbearer.emulator import Emulator
from sfbearer.emulator.columns import column_metadata
from sfbearer.emulator.schema import make_id
from sfbearer.emulator.soql import SoqlError, execute
from sfbearer.keys import KeyPair, write_key_pair

from .conftest import Org, make_org

V = "/services/data/v68.0"


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator() as sf:
        yield sf


@pytest.fixture(scope="module")
def seeded(emulator: Emulator, key_pair: KeyPair) -> Iterator[tuple[Org, str, dict[str, str]]]:
    """Acme (two contacts, one deleted contact, three opportunities, a case), Globex (none)."""
    for org in make_org(emulator, key_pair):
        token = org.login()

        def create(sobject: str, **values: Any) -> str:
            response = org.api("POST", f"{V}/sobjects/{sobject}", token, json=values)
            assert response.status_code == 201, response.text
            return str(response.json()["id"])

        ids = {"acme": create("Account", Name="Acme"), "globex": create("Account", Name="Globex")}
        ids["ada"] = create("Contact", LastName="Lovelace", AccountId=ids["acme"])
        ids["alan"] = create("Contact", LastName="Turing", AccountId=ids["acme"])
        ids["gone"] = create("Contact", LastName="Gone", AccountId=ids["acme"])
        assert org.api("DELETE", f"{V}/sobjects/Contact/{ids['gone']}", token).status_code == 204
        for name, stage, amount in (("Big", "Closed Won", 900), ("Small", "Closed Won", 10),
                                    ("Lost", "Closed Lost", 5000)):  # fmt: skip
            ids[name] = create("Opportunity", Name=name, StageName=stage, CloseDate="2026-11-01",
                               Amount=amount, AccountId=ids["acme"])  # fmt: skip
        ids["case"] = create("Case", Subject="Broken", ContactId=ids["ada"], AccountId=ids["acme"])
        yield org, token, ids


def _query(seeded: tuple[Org, str, dict[str, str]], soql: str, resource: str = "query") -> Any:
    org, token, _ = seeded
    response = org.api("GET", f"{V}/{resource}", token, params={"q": soql})
    assert response.status_code == 200, response.text
    return response.json()


def _error(seeded: tuple[Org, str, dict[str, str]], soql: str) -> tuple[str, str]:
    org, token, _ = seeded
    response = org.api("GET", f"{V}/query", token, params={"q": soql})
    assert response.status_code == 400, response.text
    body = response.json()[0]
    return body["errorCode"], body["message"]


def _by_name(result: Any) -> dict[str, Any]:
    return {r["Name"]: r for r in result["records"]}


def test_children_block_and_null(seeded: tuple[Org, str, dict[str, str]]) -> None:
    _, _, ids = seeded
    soql = (
        "SELECT Id, Name, (SELECT Id, LastName FROM Contacts ORDER BY LastName) "
        "FROM Account WHERE Name IN ('Acme', 'Globex')"
    )
    result = _query(seeded, soql)
    assert result["totalSize"] == 2
    accounts = _by_name(result)
    contacts = accounts["Acme"]["Contacts"]
    assert contacts["totalSize"] == 2
    assert contacts["done"] is True
    assert [c["LastName"] for c in contacts["records"]] == ["Lovelace", "Turing"]  # no deleted
    first = contacts["records"][0]
    assert first["attributes"] == {"type": "Contact", "url": f"{V}/sobjects/Contact/{ids['ada']}"}
    assert set(first) == {"attributes", "Id", "LastName"}
    assert accounts["Globex"]["Contacts"] is None


def test_where_order_limit_and_canonical_names(seeded: tuple[Org, str, dict[str, str]]) -> None:
    soql = ("SELECT Name, (SELECT Name, Amount FROM opportunities WHERE StageName = 'Closed Won' "
            "ORDER BY Amount DESC LIMIT 1) FROM Account WHERE Name = 'Acme'")  # fmt: skip
    acme = _query(seeded, soql)["records"][0]
    block = acme["Opportunities"]  # the relationship's own spelling, whatever the query's
    assert block["totalSize"] == 1
    assert [(r["Name"], r["Amount"]) for r in block["records"]] == [("Big", 900)]


def test_several_subqueries_and_parent_paths(seeded: tuple[Org, str, dict[str, str]]) -> None:
    soql = ("SELECT Name, (SELECT LastName, Account.Name FROM Contacts WHERE LastName = 'Turing'), "
            "(SELECT Subject FROM Cases) FROM Account WHERE Name = 'Acme'")  # fmt: skip
    acme = _query(seeded, soql)["records"][0]
    turing = acme["Contacts"]["records"][0]
    assert turing["Account"]["Name"] == "Acme"
    assert acme["Cases"]["records"][0]["Subject"] == "Broken"


def test_keys_follow_select_order(seeded: tuple[Org, str, dict[str, str]]) -> None:
    soql = (
        "SELECT (SELECT Subject FROM Cases), Name, Owner.Name, (SELECT Id FROM Contacts), Id "
        "FROM Account WHERE Name = 'Acme'"
    )
    acme = _query(seeded, soql)["records"][0]
    assert list(acme) == ["attributes", "Cases", "Name", "Owner", "Contacts", "Id"]


def test_contact_cases(seeded: tuple[Org, str, dict[str, str]]) -> None:
    soql = "SELECT LastName, (SELECT Subject FROM Cases) FROM Contact WHERE LastName != null"
    contacts = {r["LastName"]: r for r in _query(seeded, soql)["records"]}
    assert contacts["Lovelace"]["Cases"]["totalSize"] == 1
    assert contacts["Turing"]["Cases"] is None


def test_query_all_includes_deleted_children(seeded: tuple[Org, str, dict[str, str]]) -> None:
    soql = "SELECT Name, (SELECT LastName FROM Contacts) FROM Account WHERE Name = 'Acme'"
    assert _query(seeded, soql)["records"][0]["Contacts"]["totalSize"] == 2
    acme = _query(seeded, soql, "queryAll")["records"][0]
    assert acme["Contacts"]["totalSize"] == 3
    assert "Gone" in {r["LastName"] for r in acme["Contacts"]["records"]}


def test_a_cached_plan_gives_live_children(seeded: tuple[Org, str, dict[str, str]]) -> None:
    org, token, ids = seeded
    soql = "SELECT Name, (SELECT LastName FROM Contacts WHERE LastName = 'New') FROM Account"
    assert _by_name(_query(seeded, soql))["Acme"]["Contacts"] is None
    response = org.api("POST", f"{V}/sobjects/Contact", token,
                       json={"LastName": "New", "AccountId": ids["globex"]})  # fmt: skip
    assert response.status_code == 201
    accounts = _by_name(_query(seeded, soql))  # the same text: its plan comes from the cache
    assert accounts["Globex"]["Contacts"]["records"][0]["LastName"] == "New"
    assert (
        org.api("DELETE", f"{V}/sobjects/Contact/{response.json()['id']}", token).status_code == 204
    )
    assert _by_name(_query(seeded, soql))["Globex"]["Contacts"] is None


def test_offset_needs_outer_limit_1(seeded: tuple[Org, str, dict[str, str]]) -> None:
    soql = (
        "SELECT Name, (SELECT Name FROM Opportunities ORDER BY Name LIMIT 2 OFFSET 1) FROM Account"
    )
    code, message = _error(seeded, soql)
    assert code == "MALFORMED_QUERY"
    assert "LIMIT 1" in message
    acme = _query(seeded, soql.replace("FROM Account", "FROM Account WHERE Name = 'Acme' LIMIT 1"))
    assert [r["Name"] for r in acme["records"][0]["Opportunities"]["records"]] == ["Lost", "Small"]


@pytest.mark.parametrize(
    ("soql", "code", "words"),
    [
        ("SELECT Id, (SELECT Id FROM Contactz) FROM Account", "INVALID_TYPE",
         "Didn't understand relationship 'Contactz' in FROM part of query call. If you are "
         "attempting to use a custom relationship, be sure to append the '__r' after the custom "
         "relationship name."),
        ("SELECT Id, (SELECT Id FROM Contacts) FROM Opportunity", "INVALID_TYPE",
         "Didn't understand relationship 'Contacts'"),
        ("SELECT Id, (SELECT Id, (SELECT Id FROM Cases) FROM Contacts) FROM Account",
         "MALFORMED_QUERY", "unexpected token: 'SELECT'"),
        ("SELECT COUNT(), (SELECT Id FROM Contacts) FROM Account", "MALFORMED_QUERY",
         "unexpected token: ','"),
        ("SELECT Id, (SELECT COUNT() FROM Contacts) FROM Account", "MALFORMED_QUERY",
         "unexpected token: 'COUNT'"),
        # A semi-join's FROM names an object, not a relationship; none inside a subquery.
        ("SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Contacts)", "INVALID_TYPE",
         "sObject type 'Contacts' is not supported"),
        ("SELECT Id, (SELECT Id FROM Contacts WHERE Id IN (SELECT ContactId FROM Case)) "
         "FROM Account", "MALFORMED_QUERY", "Nesting of semi join sub-selects is not supported"),
        ("SELECT Id, (SELECT Nope FROM Contacts) FROM Account", "INVALID_FIELD",
         "No such column 'Nope' on entity 'Contact'"),
        ("SELECT Id, (SELECT Id FROM Contacts WHERE Birthdate = 'x') FROM Account",
         "INVALID_FIELD", "must be of type date"),
        ("SELECT Id, (SELECT Id FROM Contacts), (SELECT Name FROM contacts) FROM Account",
         "INVALID_FIELD", "duplicate field selected: Contacts"),
        ("SELECT Id, (SELECT Id FROM Contacts FROM Account", "MALFORMED_QUERY",
         "unexpected token: 'FROM'"),
    ],
)  # fmt: skip
def test_refused(seeded: tuple[Org, str, dict[str, str]], soql: str, code: str, words: str) -> None:
    got_code, message = _error(seeded, soql)
    assert got_code == code
    assert words in message


def test_columns_describe_a_subquery_as_an_aggregate_column(
    seeded: tuple[Org, str, dict[str, str]],
) -> None:
    org, token, _ = seeded
    soql = "SELECT Name, (SELECT LastName, Account.Name FROM Contacts) FROM Account"
    response = org.api("GET", f"{V}/query", token, params={"q": soql, "columns": "true"})
    assert response.status_code == 200
    assert response.json() == column_metadata(soql)
    name, contacts = response.json()["columnMetadata"]
    assert name["columnName"] == "Name"
    assert contacts["columnName"] == "Contacts"
    assert contacts["aggregate"] is True
    assert [c["columnName"] for c in contacts["joinColumns"]] == ["LastName", "Account"]
    assert contacts["joinColumns"][1]["joinColumns"][0]["columnName"] == "Name"


# --- simple-salesforce over TLS ---------------------------------------------------------------


def test_simple_salesforce_query(key_pair: KeyPair, tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    simple_salesforce = pytest.importorskip("simple_salesforce")
    from .test_real_clients import _session

    with Emulator(tls=True) as emulator:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(emulator.ca_path))
        monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
        app = emulator.add_app(name="simple", certificate=key_pair.certificate)
        emulator.add_user(username="simple@acme.com")
        emulator.authorize(app="simple", user="simple@acme.com")
        key_path, _ = write_key_pair(key_pair, tmp_path / "keys")
        sf = simple_salesforce.Salesforce(
            username="simple@acme.com",
            consumer_key=app.consumer_key,
            privatekey_file=str(key_path),
            session=_session(emulator),
        )
        acme = sf.Account.create({"Name": "Acme"})["id"]
        sf.Account.create({"Name": "Empty"})
        ada = sf.Contact.create({"LastName": "Lovelace", "AccountId": acme})["id"]
        result = sf.query("SELECT Id, (SELECT Id FROM Contacts) FROM Account")
        sf.session.close()  # no keep-alive connection left for the server's shutdown
    assert result["totalSize"] == 2
    url = f"/services/data/v{sf.sf_version}"
    blocks = {r["Id"]: r["Contacts"] for r in result["records"]}
    assert blocks[acme]["records"] == [
        {"attributes": {"type": "Contact", "url": f"{url}/sobjects/Contact/{ada}"}, "Id": ada}
    ]
    assert sorted(v is None for v in blocks.values()) == [False, True]


# --- the evaluator directly: no input makes anything but a SoqlError ---------------------------

NOW = datetime(2026, 12, 1, tzinfo=UTC)
ROWS: dict[str, list[dict[str, object]]] = {
    "Account": [{"Id": make_id("001", 1), "Name": "Acme"}],
    "Contact": [{"Id": make_id("003", 1), "LastName": "X", "AccountId": make_id("001", 1),
                 "Birthdate": "2000-01-01"}],
}  # fmt: skip
PIECES = [
    "SELECT", "FROM", "WHERE", "ORDER", "BY", "LIMIT", "OFFSET", "COUNT", "(", ")", ",", ".",
    "=", "1", "Id", "Name", "LastName", "Account", "Contacts", "Cases", "Contact", "Foo",
    "(SELECT Id FROM Contacts)", "(SELECT", "TODAY", "Birthdate", "'x'", "DESC", "NULLS", "LAST",
]  # fmt: skip


def _execute(text: str) -> tuple[int, list[dict[str, object]]]:
    def lookup(sobject: str, record_id: str) -> dict[str, object] | None:
        return next((r for r in ROWS.get(sobject, []) if r["Id"] == record_id), None)

    return execute(text, lambda s: ROWS.get(s, []), now=NOW, lookup=lookup)


def test_evaluator_date_literal_in_a_subquery() -> None:
    total, records = _execute(
        "SELECT Name, (SELECT LastName FROM Contacts WHERE Birthdate < TODAY LIMIT 3) FROM Account"
    )
    assert total == 1
    assert records[0]["Contacts"] == {
        "totalSize": 1,
        "done": True,
        "records": [{"attributes": {"type": "Contact",
                                    "url": f"{V}/sobjects/Contact/{make_id('003', 1)}"},
                     "LastName": "X"}],
    }  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(PIECES), max_size=24))
def test_fuzzed_subqueries_are_answered_or_refused_with_a_400(words: list[str]) -> None:
    text = "SELECT Id, " + " ".join(words) + " FROM Account"
    error: SoqlError | None = None
    try:
        _execute(text)
    except SoqlError as exc:
        error = exc
    if error is not None:
        assert error.status == 400
        assert error.error_code.isupper()
