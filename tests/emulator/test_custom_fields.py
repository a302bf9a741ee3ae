"""Custom fields: definitions, persistence, describe, SOQL, saves and uniqueness."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sfbearer.emulator import Emulator
from sfbearer.emulator.registry import RegistryError
from sfbearer.keys import KeyPair

from .conftest import Org, make_org

V = "/services/data/v68.0"


@pytest.fixture
def org(key_pair: KeyPair) -> Any:
    with Emulator() as sf:
        sf.add_field("Account", "External_Id__c", "string", length=20, external_id=True,
                     unique=True)  # fmt: skip
        sf.add_field("Account", "Tier__c", "picklist", values=["Gold", "Silver"])
        sf.add_field("Contact", "Score__c", "number", scale=2)
        sf.add_field("Contact", "Home__c", "lookup", reference_to="Account")
        sf.add_field("Contact", "Active__c", "checkbox")
        yield from make_org(sf, key_pair)


@pytest.mark.parametrize(
    ("sobject", "name", "kind", "options", "message"),
    [
        ("Account", "External_Id", "string", {}, "ending in __c"),
        ("Account", "9Lives__c", "string", {}, "starting with a letter"),
        ("Account", "Two__Parts__c", "string", {}, "single underscores"),
        ("Account", "A" * 41 + "__c", "string", {}, "at most 40"),
        ("User", "Badge__c", "string", {}, "not 'User'"),
        ("Nope", "Badge__c", "string", {}, "not 'Nope'"),
        ("Account", "Badge__c", "blob", {}, "field type 'blob'"),
        ("Account", "Badge__c", "picklist", {}, "needs values"),
        ("Account", "Badge__c", "string", {"values": ["a"]}, "only a picklist"),
        ("Account", "Badge__c", "lookup", {}, "needs the object it points to"),
        ("Account", "Badge__c", "lookup", {"reference_to": "Nope"}, "'Nope': no such object"),
        ("Account", "Badge__c", "lookup", {"reference_to": "Acount"}, "did you mean Account"),
        ("Account", "Badge__c", "checkbox", {"external_id": True}, "text, email or a number"),
        ("Account", "Badge__c", "string", {"length": 256}, "1 to 255"),
        ("Account", "Badge__c", "string", {"scale": 2}, "scale"),
        ("Account", "name__c", "string", {}, None),  # fine: Name is not name__c
    ],
)
def test_definitions_salesforce_would_refuse(
    sobject: str, name: str, kind: str, options: dict[str, Any], message: str | None
) -> None:
    with Emulator() as sf:
        if message is None:
            sf.add_field(sobject, name, kind, **options)
            assert sf.records.schema.get(sobject).field(name) is not None
            return
        with pytest.raises(RegistryError, match=message):
            sf.add_field(sobject, name, kind, **options)
        assert sf.records.schema.custom == ()


def test_adding_again_is_a_no_op_but_a_new_definition_is_refused() -> None:
    with Emulator() as sf:
        sf.add_field("Account", "Code__c", "string", length=10)
        sf.add_field("Account", "code__c", "string", length=10)  # the same field again
        assert len(sf.records.schema.custom) == 1
        with pytest.raises(RegistryError, match="already has a field called Code__c"):
            sf.add_field("Account", "Code__c", "string", length=11)


def test_fields_live_in_the_state_file(tmp_path: Path) -> None:
    state = tmp_path / "org.db"
    with Emulator(state=state) as sf:
        sf.add_field("Account", "External_Id__c", "string", external_id=True)
        sf.records.create("Account", {"Name": "Acme", "External_Id__c": "A-1"})
    with Emulator(state=state) as sf:
        rows = sf.records.query("SELECT Name FROM Account WHERE External_Id__c = 'a-1'")
        assert [r["Name"] for r in rows["records"]] == ["Acme"]
        assert sf.records.schema.get("Account").field("External_Id__c").external_id


def test_describe_shows_them(org: Org) -> None:
    token = org.login()
    fields = {f["name"]: f for f in org.api("GET", f"{V}/sobjects/Account/describe", token)
              .json()["fields"]}  # fmt: skip
    ext = fields["External_Id__c"]
    assert (ext["custom"], ext["externalId"], ext["unique"], ext["idLookup"], ext["length"]) == (
        True, True, True, True, 20)  # fmt: skip
    assert [v["value"] for v in fields["Tier__c"]["picklistValues"]] == ["Gold", "Silver"]
    assert fields["Name"]["custom"] is False
    contact = org.api("GET", f"{V}/sobjects/Contact/describe", token).json()
    home = next(f for f in contact["fields"] if f["name"] == "Home__c")
    assert (home["type"], home["referenceTo"], home["relationshipName"]) == (
        "reference", ["Account"], "Home__r")  # fmt: skip
    score = next(f for f in contact["fields"] if f["name"] == "Score__c")
    assert (score["type"], score["scale"]) == ("double", 2)


def test_soql_and_saves_use_them(org: Org) -> None:
    token = org.login()

    def post(sobject: str, **fields: Any) -> Any:
        return org.api("POST", f"{V}/sobjects/{sobject}", token, json=fields)

    account = post("Account", Name="Acme", External_Id__c="A-1", Tier__c="Gold").json()["id"]
    assert post("Contact", LastName="Kim", Score__c="4.25", Home__c=account,
                Active__c=True).status_code == 201  # fmt: skip
    assert post("Contact", LastName="Lee", Score__c=1).status_code == 201
    soql = ("SELECT LastName, Score__c, Home__r.Name, Home__r.Tier__c FROM Contact "
            "WHERE Score__c > 2 AND Active__c = true ORDER BY Score__c DESC")  # fmt: skip
    rows = org.api("GET", f"{V}/query/", token, params={"q": soql}).json()["records"]
    assert [(r["LastName"], r["Score__c"], r["Home__r"]["Name"], r["Home__r"]["Tier__c"])
            for r in rows] == [("Kim", 4.25, "Acme", "Gold")]  # fmt: skip
    custom = org.api("GET", f"{V}/query/", token,
                     params={"q": "SELECT FIELDS(CUSTOM) FROM Contact LIMIT 5"}).json()  # fmt: skip
    assert set(custom["records"][0]) == {"attributes", "Score__c", "Home__c", "Active__c"}
    # Typed like standard fields: wrong JSON types, lengths and lookups are refused.
    assert post("Contact", LastName="X", Score__c="lots").json()[0]["errorCode"] == (
        "JSON_PARSER_ERROR")  # fmt: skip
    assert post("Account", Name="Y", External_Id__c="x" * 21).json()[0]["errorCode"] == (
        "STRING_TOO_LONG")  # fmt: skip
    assert post("Contact", LastName="Z", Home__c=token[:15]).status_code == 400
    assert post("Contact", LastName="Z", Nope__c=1).json()[0]["errorCode"] == "INVALID_FIELD"


def test_unique_fields_refuse_a_repeated_value(org: Org) -> None:
    token = org.login()
    first = org.api("POST", f"{V}/sobjects/Account", token,
                    json={"Name": "A", "External_Id__c": "K-1"}).json()["id"]  # fmt: skip
    second = org.api("POST", f"{V}/sobjects/Account", token,
                     json={"Name": "B", "External_Id__c": "k-1"})  # fmt: skip
    assert second.status_code == 400
    assert second.json() == [{
        "message": f"duplicate value found: External_Id__c duplicates value on record with id: "
                   f"{first}", "errorCode": "DUPLICATE_VALUE", "fields": []}]  # fmt: skip
    other = org.api("POST", f"{V}/sobjects/Account", token,
                    json={"Name": "C", "External_Id__c": "K-2"}).json()["id"]  # fmt: skip
    clash = org.api("PATCH", f"{V}/sobjects/Account/{other}", token, json={"External_Id__c": "K-1"})
    assert clash.json()[0]["errorCode"] == "DUPLICATE_VALUE"
    same = org.api("PATCH", f"{V}/sobjects/Account/{first}", token, json={"External_Id__c": "K-1"})
    assert same.status_code == 204  # its own value
    assert org.api("DELETE", f"{V}/sobjects/Account/{first}", token).status_code == 204
    reuse = org.api("PATCH", f"{V}/sobjects/Account/{other}", token, json={"External_Id__c": "K-1"})
    assert reuse.status_code == 204  # a deleted row's value is free again


def test_seed_and_admin_api(tmp_path: Path, key_pair: KeyPair) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({
        "fields": [{"object": "Account", "name": "Erp_Id__c", "type": "text", "length": 12,
                    "external_id": True}],
        "records": {"Account": [{"Name": "Seeded", "Erp_Id__c": "ERP-7"}]},
    }))  # fmt: skip
    state = tmp_path / "org.db"
    for _ in range(2):  # applied at every start: the field is not added twice
        with Emulator(state=state, seed=seed) as sf:
            assert len(sf.records.schema.custom) == 1
    with Emulator(state=state) as sf:
        for org in make_org(sf, key_pair):
            added = org.client.post("/__emulator/fields", json={
                "object": "Contact", "name": "Badge__c", "type": "email"})  # fmt: skip
            assert added.status_code == 200, added.text
            assert added.json()["name"] == "Badge__c"
            refused = org.client.post("/__emulator/fields", json={
                "object": "Contact", "name": "Badge", "type": "email"})  # fmt: skip
            assert refused.status_code == 400
            assert "__c" in refused.json()["error"]
            token = org.login()
            got = org.api("GET", f"{V}/sobjects/Account/Erp_Id__c/erp-7", token).json()
            assert got["Name"] == "Seeded"
            bad = org.api("POST", f"{V}/sobjects/Contact", token,
                          json={"LastName": "Kim", "Badge__c": "not-an-email"})  # fmt: skip
            assert bad.json()[0]["errorCode"] == "INVALID_EMAIL_ADDRESS"


@pytest.mark.parametrize(
    "body",
    [
        {"object": "Account", "name": "X__c", "type": None},
        {"object": 5, "name": "X__c"},
        {"object": "Account", "name": "X__c", "type": "lookup", "reference_to": 5},
        {"object": "Account", "name": "X__c", "length": 2.5},
        {"object": "Account", "name": "X__c", "length": True},
        {"object": "Account", "name": "X__c", "type": "picklist", "values": "abc"},
        {"object": "Account", "name": "X__c", "type": "picklist", "values": [1, 2]},
        {"object": "Account", "name": "X__c", "unique": "yes"},
        {"object": "Account", "name": ["X__c"]},
    ],
)
def test_admin_api_refuses_options_of_the_wrong_type(key_pair: KeyPair, body: Any) -> None:
    with Emulator() as sf:
        for org in make_org(sf, key_pair):
            response = org.client.post("/__emulator/fields", json=body)
            assert response.status_code == 400, response.text
            assert "expected" in response.json()["error"]
            assert org.client.post("/__emulator/objects", json={"name": 7}).status_code == 400
            assert sf.records.schema.custom == ()


def test_seed_records_are_created_all_or_none_once(tmp_path: Path) -> None:
    from sfbearer.emulator.seed import SeedError

    state, seed = tmp_path / "org.db", tmp_path / "seed.json"

    def start_with(records: list[dict[str, Any]]) -> list[str]:
        seed.write_text(json.dumps({"records": {"Account": records}}))
        with Emulator(state=state, seed=seed) as sf:
            rows = sf.records.query("SELECT Name FROM Account ORDER BY Name")["records"]
            return [r["Name"] for r in rows]

    with pytest.raises(SeedError, match="Nope"):
        start_with([{"Name": "One"}, {"Nope": "x"}])
    with Emulator(state=state) as sf:  # the failed start left none of them
        assert sf.records.query("SELECT COUNT() FROM Account")["totalSize"] == 0
    assert start_with([{"Name": "One"}, {"Name": "Two"}]) == ["One", "Two"]
    assert start_with([{"Name": "One"}, {"Name": "Two"}]) == ["One", "Two"]  # not again


def test_a_custom_picklist_takes_only_its_values(org: Org) -> None:
    token = org.login()
    ok = org.api("POST", f"{V}/sobjects/Account", token, json={"Name": "A", "Tier__c": "gold"})
    assert ok.status_code == 201
    got = org.api("GET", f"{V}/sobjects/Account/{ok.json()['id']}", token).json()
    assert got["Tier__c"] == "Gold"  # stored as the value set spells it
    bad = org.api("POST", f"{V}/sobjects/Account", token, json={"Name": "B", "Tier__c": "Bogus"})
    assert bad.status_code == 400
    assert bad.json() == [{"message": "Tier: bad value for restricted picklist field: Bogus",
                           "errorCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                           "fields": ["Tier__c"]}]  # fmt: skip
    fields = org.api("GET", f"{V}/sobjects/Account/describe", token).json()["fields"]
    restricted = {f["name"]: f["restrictedPicklist"] for f in fields if f["type"] == "picklist"}
    assert restricted == {"Type": False, "Industry": False, "Tier__c": True}
