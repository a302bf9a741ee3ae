"""Records by external id over loopback: upsert, get and delete by ``Id`` or an external id
field, the collections upsert, and what simple-salesforce sends for them."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from sfbearer.emulator import Emulator
from sfbearer.keys import KeyPair

from .conftest import Org, make_org, simple_salesforce_over_tls

V = "/services/data/v68.0"


@pytest.fixture
def org(key_pair: KeyPair) -> Iterator[Org]:
    with Emulator() as sf:
        sf.add_field("Account", "Ext__c", "string", external_id=True, unique=True)
        sf.add_field("Account", "Legacy__c", "string", external_id=True)  # not unique
        sf.add_field("Account", "Code__c", "string")  # not an external id
        sf.add_field("Contact", "Legacy_Number__c", "number", external_id=True)
        yield from make_org(sf, key_pair)


@pytest.fixture
def token(org: Org) -> str:
    return org.login()


def names(org: Org, token: str, where: str = "") -> list[str]:
    soql = f"SELECT Name FROM Account {where} ORDER BY Name"
    return [r["Name"] for r in org.api("GET", f"{V}/query/", token, params={"q": soql})
            .json()["records"]]  # fmt: skip


def test_upsert_creates_then_updates(org: Org, token: str) -> None:
    created = org.api("PATCH", f"{V}/sobjects/Account/Ext__c/A-1", token, json={"Name": "Acme"})
    assert created.status_code == 201
    record_id = created.json()["id"]
    assert created.json() == {"id": record_id, "success": True, "errors": [], "created": True}
    again = org.api("PATCH", f"{V}/sobjects/Account/Ext__c/a-1", token, json={"Name": "Acme 2"})
    assert (again.status_code, again.json()) == (
        200, {"id": record_id, "success": True, "errors": [], "created": False})  # fmt: skip
    got = org.api("GET", f"{V}/sobjects/Account/{record_id}", token).json()
    assert (got["Name"], got["Ext__c"]) == ("Acme 2", "A-1")  # the key as the URL first gave it
    # Before v46.0: no "created", and an update answers 204.
    old = org.api("PATCH", "/services/data/v45.0/sobjects/Account/Ext__c/A-1", token,
                  json={"Name": "Acme 3"})  # fmt: skip
    assert (old.status_code, old.content) == (204, b"")
    fresh = org.api("PATCH", "/services/data/v45.0/sobjects/Account/Ext__c/B-2", token,
                    json={"Name": "Beta"})  # fmt: skip
    assert fresh.status_code == 201
    assert "created" not in fresh.json()
    assert names(org, token) == ["Acme 3", "Beta"]


def test_the_body_may_repeat_the_key_but_not_contradict_it(org: Org, token: str) -> None:
    ok = org.api("PATCH", f"{V}/sobjects/Account/Ext__c/K-1", token,
                 json={"Name": "K", "Ext__c": "k-1"})  # fmt: skip
    assert ok.status_code == 201
    clash = org.api("PATCH", f"{V}/sobjects/Account/Ext__c/K-1", token,
                    json={"Name": "K", "Ext__c": "K-2"})  # fmt: skip
    assert clash.status_code == 400
    assert clash.json()[0]["errorCode"] == "INVALID_FIELD"
    assert names(org, token) == ["K"]


def test_update_only_and_fields_that_are_not_keys(org: Org, token: str) -> None:
    missing = org.api("PATCH", f"{V}/sobjects/Account/Ext__c/NONE", token,
                      params={"updateOnly": "true"}, json={"Name": "x"})  # fmt: skip
    assert (missing.status_code, missing.json()[0]["errorCode"]) == (404, "NOT_FOUND")
    for field in ("Code__c", "Name", "Nope__c"):
        refused = org.api("PATCH", f"{V}/sobjects/Account/{field}/x", token, json={"Name": "x"})
        assert refused.status_code == 404
        assert refused.json()[0]["message"] == (
            f"Provided external ID field does not exist or is not accessible: {field}"
        )
    assert org.api("GET", f"{V}/sobjects/Nope/Ext__c/x", token).status_code == 404
    assert names(org, token) == []


def test_several_matches_answer_300_and_change_nothing(org: Org, token: str) -> None:
    ids = [org.api("POST", f"{V}/sobjects/Account", token,
                   json={"Name": name, "Legacy__c": "L-9"}).json()["id"]
           for name in ("One", "Two")]  # fmt: skip
    for method, body in (("PATCH", {"Name": "Changed"}), ("GET", None), ("DELETE", None)):
        response = org.api(method, f"{V}/sobjects/Account/Legacy__c/L-9", token, json=body)
        assert response.status_code == 300
        assert response.json() == [f"{V}/sobjects/Account/{i}" for i in ids]
    assert names(org, token) == ["One", "Two"]


def test_get_and_delete_by_external_id(org: Org, token: str) -> None:
    record_id = org.api("PATCH", f"{V}/sobjects/Account/Ext__c/G-1", token,
                        json={"Name": "Gamma"}).json()["id"]  # fmt: skip
    got = org.api("GET", f"{V}/sobjects/Account/Ext__c/g-1", token, params={"fields": "Name"})
    assert got.json() == {"attributes": {"type": "Account",
                                         "url": f"{V}/sobjects/Account/{record_id}"},
                          "Name": "Gamma"}  # fmt: skip
    assert org.api("DELETE", f"{V}/sobjects/Account/Ext__c/G-1", token).status_code == 204
    assert org.api("GET", f"{V}/sobjects/Account/Ext__c/G-1", token).status_code == 404
    assert org.api("DELETE", f"{V}/sobjects/Account/Ext__c/G-1", token).status_code == 404


def test_numbers_match_by_value(org: Org, token: str) -> None:
    first = org.api("PATCH", f"{V}/sobjects/Contact/Legacy_Number__c/42", token,
                    json={"LastName": "Kim"})  # fmt: skip
    assert first.status_code == 201
    again = org.api("PATCH", f"{V}/sobjects/Contact/Legacy_Number__c/42.0", token,
                    json={"LastName": "Kim 2"})  # fmt: skip
    assert (again.status_code, again.json()["id"]) == (200, first.json()["id"])
    bad = org.api("PATCH", f"{V}/sobjects/Contact/Legacy_Number__c/forty", token,
                  json={"LastName": "x"})  # fmt: skip
    assert bad.json()[0]["errorCode"] == "JSON_PARSER_ERROR"


def test_id_as_the_key(org: Org, token: str) -> None:
    created = org.api("POST", f"{V}/sobjects/Account/Id", token, json={"Name": "By Id"})
    assert created.status_code == 201
    record_id = created.json()["id"]
    updated = org.api("PATCH", f"{V}/sobjects/Account/Id/{record_id}", token,
                      json={"Name": "By Id 2"})  # fmt: skip
    assert (updated.status_code, updated.json()["created"]) == (200, False)
    unknown = org.api("PATCH", f"{V}/sobjects/Account/Id/{record_id[:-4]}ZZZZ", token,
                      json={"Name": "x"})  # fmt: skip
    assert unknown.status_code == 404
    assert names(org, token) == ["By Id 2"]


def test_concurrent_upserts_of_one_key_make_one_record(org: Org, token: str) -> None:
    results: list[int] = []

    def upsert(n: int) -> None:
        response = org.api("PATCH", f"{V}/sobjects/Account/Ext__c/RACE", token,
                           json={"Name": f"Racer {n}"})  # fmt: skip
        results.append(response.status_code)

    threads = [threading.Thread(target=upsert, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200] * 7 + [201]
    assert len(names(org, token, "WHERE Ext__c = 'RACE'")) == 1


def collection(org: Org, token: str, records: list[dict[str, Any]], **extra: Any) -> Any:
    body = {"records": [{"attributes": {"type": "Account"}, **r} for r in records], **extra}
    return org.api("PATCH", f"{V}/composite/sobjects/Account/Ext__c", token, json=body)


def test_collections_upsert(org: Org, token: str) -> None:
    existing = org.api("PATCH", f"{V}/sobjects/Account/Ext__c/C-1", token,
                       json={"Name": "Old"}).json()["id"]  # fmt: skip
    response = collection(org, token, [
        {"Ext__c": "c-1", "Name": "Updated"},
        {"Ext__c": "C-2", "Name": "Created"},
        {"Name": "No key"},
        {"Ext__c": "D-1", "Name": "Twice"}, {"Ext__c": "d-1", "Name": "Twice"},
    ])  # fmt: skip
    assert response.status_code == 200, response.text
    one, two, three, four, five = response.json()
    assert one == {"id": existing, "success": True, "errors": [], "created": False}
    assert (two["success"], two["created"]) == (True, True)
    assert three["errors"][0]["statusCode"] == "MISSING_ARGUMENT"
    assert four["errors"][0]["statusCode"] == five["errors"][0]["statusCode"] == (
        "DUPLICATE_EXTERNAL_ID")  # fmt: skip
    assert names(org, token) == ["Created", "Updated"]
    # allOrNone: one failure undoes the rest.
    undone = collection(org, token, [{"Ext__c": "E-1", "Name": "E"}, {"Name": "No key"}],
                        allOrNone=True)  # fmt: skip
    assert [r["success"] for r in undone.json()] == [False, False]
    assert undone.json()[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert names(org, token) == ["Created", "Updated"]
    # Other types in the list, a non-key field, an old version.
    mixed = org.api("PATCH", f"{V}/composite/sobjects/Account/Ext__c", token,
                    json={"records": [{"attributes": {"type": "Contact"}, "LastName": "x"}]})  # fmt: skip
    assert mixed.json()[0]["errorCode"] == "INVALID_TYPE"
    assert org.api("PATCH", f"{V}/composite/sobjects/Account/Code__c", token,
                   json={"records": []}).status_code == 404  # fmt: skip
    assert org.api("PATCH", "/services/data/v45.0/composite/sobjects/Account/Ext__c", token,
                   json={"records": []}).status_code == 404  # fmt: skip


def test_simple_salesforce_upsert_and_get_by_custom_id(
    key_pair: KeyPair, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (
        Emulator(tls=True) as emulator,
        simple_salesforce_over_tls(key_pair, monkeypatch, emulator) as (_, sf),
    ):
        emulator.add_field("Account", "Erp_Id__c", "string", external_id=True, unique=True)
        assert sf.Account.upsert("Erp_Id__c/ERP-1", {"Name": "Initech"}) == 201
        assert sf.Account.upsert("Erp_Id__c/ERP-1", {"Name": "Initech Corp"}) == 200
        record = sf.Account.get_by_custom_id("Erp_Id__c", "ERP-1")
        assert (record["Name"], record["Erp_Id__c"]) == ("Initech Corp", "ERP-1")
        assert sf.Account.describe()["fields"][-1]["externalId"] is True


def test_id_in_the_body_in_either_length(org: Org, token: str) -> None:
    record_id = org.api("POST", f"{V}/sobjects/Account", token, json={"Name": "A"}).json()["id"]
    for url_id, body_id in ((record_id[:15], record_id[:15]), (record_id, record_id[:15]),
                            (record_id[:15], record_id)):  # fmt: skip
        response = org.api("PATCH", f"{V}/sobjects/Account/Id/{url_id}", token,
                           json={"Name": "B", "Id": body_id})  # fmt: skip
        assert (response.status_code, response.json()["id"]) == (200, record_id), response.text
    other = org.api("POST", f"{V}/sobjects/Account", token, json={"Name": "C"}).json()["id"]
    clash = org.api("PATCH", f"{V}/sobjects/Account/Id/{record_id}", token,
                    json={"Name": "B", "Id": other})  # fmt: skip
    assert clash.json()[0]["errorCode"] == "INVALID_FIELD"
    body = {"records": [
        {"attributes": {"type": "Account"}, "Id": record_id[:15], "Name": "D"},
        {"attributes": {"type": "Account"}, "Id": "001NOTANID", "Name": "E"}]}  # fmt: skip
    results = org.api("PATCH", f"{V}/composite/sobjects/Account/Id", token, json=body).json()
    assert results[0] == {"id": record_id, "success": True, "errors": [], "created": False}
    assert results[1]["errors"][0]["statusCode"] == "NOT_FOUND"
    assert names(org, token) == ["C", "D"]
