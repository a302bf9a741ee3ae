"""Custom objects: definitions, CRUD, describe, SOQL (parent paths, subqueries, aggregates),
sObject Tree and Collections, lookups cleared on delete, persistence and isolation."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sfbearer.emulator import Emulator
from sfbearer.emulator.custom_fields import custom_object
from sfbearer.emulator.registry import RegistryError
from sfbearer.keys import KeyPair

from .conftest import Org, make_org, simple_salesforce_over_tls

V = "/services/data/v68.0"


def invoices(sf: Emulator) -> None:
    sf.add_object("Invoice__c", "Invoice")
    sf.add_field("Invoice__c", "Account__c", "lookup", reference_to="Account",
                 relationship_name="Invoices")  # fmt: skip
    sf.add_field("Invoice__c", "Amount__c", "currency")
    sf.add_field("Invoice__c", "Number__c", "text", length=20, external_id=True, unique=True)


@pytest.fixture
def org(key_pair: KeyPair) -> Iterator[Org]:
    with Emulator() as sf:
        invoices(sf)
        yield from make_org(sf, key_pair)


@pytest.fixture
def token(org: Org) -> str:
    return org.login()


def post(org: Org, token: str, sobject: str, **fields: Any) -> str:
    return org.create(token, sobject, **fields)


def rows(org: Org, token: str, soql: str) -> list[dict[str, Any]]:
    response = org.api("GET", f"{V}/query/", token, params={"q": soql})
    assert response.status_code == 200, response.text
    records: list[dict[str, Any]] = response.json()["records"]
    return records


@pytest.mark.parametrize(
    ("name", "message"),
    [("Invoice", "ending in __c"), ("Two__Parts__c", "single underscores"),
     ("Invoice__c", "already has an object called Invoice__c")],
)  # fmt: skip
def test_definitions_salesforce_would_refuse(name: str, message: str) -> None:
    with Emulator() as sf:
        sf.add_object("Invoice__c")
        with pytest.raises(RegistryError, match=message):
            custom_object(sf.records.schema, name)
        sf.add_object("Invoice__c")  # the same object again changes nothing
        assert [o.name for o in sf.records.schema.objects_custom] == ["Invoice__c"]
        with pytest.raises(RegistryError, match="Account, Contact"):
            sf.add_field("Nope__c", "X__c")


def test_crud_describe_and_ids(org: Org, token: str) -> None:
    account = post(org, token, "Account", Name="Acme")
    invoice = post(org, token, "Invoice__c", Name="INV-1", Account__c=account, Amount__c=12.5)
    assert invoice.startswith("a00")
    got = org.api("GET", f"{V}/sobjects/Invoice__c/{invoice}", token).json()
    assert (got["Name"], got["Account__c"], got["Amount__c"]) == ("INV-1", account, 12.5)
    assert got["attributes"]["type"] == "Invoice__c"
    assert org.api("PATCH", f"{V}/sobjects/Invoice__c/{invoice}", token,
                   json={"Name": "INV-1b"}).status_code == 204  # fmt: skip
    missing_name = org.api("POST", f"{V}/sobjects/Invoice__c", token, json={"Amount__c": 1})
    assert missing_name.json()[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    describe = org.api("GET", f"{V}/sobjects/Invoice__c/describe", token).json()
    assert (describe["custom"], describe["keyPrefix"], describe["label"]) == (
        True,
        "a00",
        "Invoice",
    )
    assert {"Id", "Name", "OwnerId", "Account__c", "Amount__c"} <= {
        f["name"] for f in describe["fields"]
    }
    listed = org.api("GET", f"{V}/sobjects/", token).json()["sobjects"]
    assert [o["custom"] for o in listed if o["name"] == "Invoice__c"] == [True]
    account_describe = org.api("GET", f"{V}/sobjects/Account/describe", token).json()
    assert {"childSObject": "Invoice__c", "field": "Account__c", "relationshipName": "Invoices__r"} in [
        {k: r[k] for k in ("childSObject", "field", "relationshipName")}
        for r in account_describe["childRelationships"]]  # fmt: skip


def test_soql_parent_paths_subqueries_and_aggregates(org: Org, token: str) -> None:
    acme = post(org, token, "Account", Name="Acme")
    globex = post(org, token, "Account", Name="Globex")
    for name, account, amount in (("I1", acme, 10), ("I2", acme, 5), ("I3", globex, 7)):
        post(org, token, "Invoice__c", Name=name, Account__c=account, Amount__c=amount)
    found = rows(org, token, "SELECT Name, Account__r.Name FROM Invoice__c "
                             "WHERE Account__r.Name = 'Acme' ORDER BY Name")  # fmt: skip
    assert [(r["Name"], r["Account__r"]["Name"]) for r in found] == [("I1", "Acme"), ("I2", "Acme")]
    nested = rows(org, token, "SELECT Name, (SELECT Name FROM Invoices__r ORDER BY Name) "
                              "FROM Account ORDER BY Name")  # fmt: skip
    assert [(r["Name"], [c["Name"] for c in r["Invoices__r"]["records"]]) for r in nested] == [
        ("Acme", ["I1", "I2"]), ("Globex", ["I3"])]  # fmt: skip
    totals = rows(org, token, "SELECT Account__r.Name, SUM(Amount__c) total FROM Invoice__c "
                              "GROUP BY Account__r.Name ORDER BY Account__r.Name")  # fmt: skip
    assert [(r["Name"], r["total"]) for r in totals] == [("Acme", 15.0), ("Globex", 7.0)]
    semi = rows(org, token, "SELECT Name FROM Account WHERE Id IN "
                            "(SELECT Account__c FROM Invoice__c WHERE Amount__c > 8)")  # fmt: skip
    assert [r["Name"] for r in semi] == ["Acme"]


def test_tree_collections_and_upsert(org: Org, token: str) -> None:
    tree = {"records": [{"attributes": {"type": "Account", "referenceId": "acc"}, "Name": "Tree",
                         "Invoices__r": {"records": [
                             {"attributes": {"type": "Invoice__c", "referenceId": "inv"},
                              "Name": "T-1"}]}}]}  # fmt: skip
    made = org.api("POST", f"{V}/composite/tree/Account", token, json=tree)
    assert made.status_code == 201, made.text
    ids = {r["referenceId"]: r["id"] for r in made.json()["results"]}
    assert rows(org, token, f"SELECT Account__c FROM Invoice__c WHERE Id = '{ids['inv']}'")[0][
        "Account__c"] == ids["acc"]  # fmt: skip
    created = org.api("POST", f"{V}/composite/sobjects", token, json={"records": [
        {"attributes": {"type": "Invoice__c"}, "Name": "C-1"},
        {"attributes": {"type": "Account"}, "Name": "Mixed"}]})  # fmt: skip
    new_ids = [r["id"] for r in created.json()]
    deleted = org.api("DELETE", f"{V}/composite/sobjects", token,
                      params={"ids": ",".join(new_ids)})  # fmt: skip
    assert [r["success"] for r in deleted.json()] == [True, True]
    upserted = org.api("PATCH", f"{V}/sobjects/Invoice__c/Number__c/N-9", token,
                       json={"Name": "By number"})  # fmt: skip
    assert (upserted.status_code, upserted.json()["created"]) == (201, True)


def test_deleting_a_parent_clears_custom_lookups(org: Org, token: str) -> None:
    account = post(org, token, "Account", Name="Doomed")
    invoice = post(org, token, "Invoice__c", Name="Orphan", Account__c=account)
    assert org.api("DELETE", f"{V}/sobjects/Account/{account}", token).status_code == 204
    got = org.api("GET", f"{V}/sobjects/Invoice__c/{invoice}", token).json()
    assert (got["IsDeleted"], got["Account__c"]) == (False, None)


def test_persisted_and_kept_apart(tmp_path: Path) -> None:
    state = tmp_path / "org.db"
    with Emulator(state=state) as sf:
        invoices(sf)
        sf.add_object("Shipment__c")
        sf.records.create("Invoice__c", {"Name": "Kept", "Number__c": "K-1"})
    with Emulator(state=state) as sf, Emulator() as other:
        assert [(o.name, o.key_prefix) for o in sf.records.schema.objects_custom] == [
            ("Invoice__c", "a00"), ("Shipment__c", "a01")]  # fmt: skip
        assert sf.records.query("SELECT Name FROM Invoice__c")["records"][0]["Name"] == "Kept"
        assert other.records.schema.get("Invoice__c") is None  # another org, another schema
        with pytest.raises(Exception, match="not supported"):
            other.records.query("SELECT Name FROM Invoice__c")


def test_seed_and_admin_api(tmp_path: Path, key_pair: KeyPair) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({
        "objects": [{"name": "Invoice__c", "label": "Invoice"}],
        "fields": [{"object": "Invoice__c", "name": "Amount__c", "type": "number", "scale": 2}],
        "records": {"Invoice__c": [{"Name": "Seeded", "Amount__c": 3}]},
    }))  # fmt: skip
    with Emulator(seed=seed) as sf:
        for org in make_org(sf, key_pair):
            added = org.client.post("/__emulator/objects", json={"name": "Ticket__c"})
            assert added.json() == {"name": "Ticket__c", "label": "Ticket", "plural": "Tickets",
                                    "key_prefix": "a01"}  # fmt: skip
            assert (
                org.client.post("/__emulator/objects", json={"name": "Ticket"}).status_code == 400
            )
            token = org.login()
            assert rows(org, token, "SELECT Name, Amount__c FROM Invoice__c") == [
                {"attributes": rows(org, token, "SELECT Name FROM Invoice__c")[0]["attributes"],
                 "Name": "Seeded", "Amount__c": 3.0}]  # fmt: skip
            assert post(org, token, "Ticket__c", Name="T").startswith("a01")


def test_simple_salesforce_on_a_custom_object(
    key_pair: KeyPair, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (
        Emulator(tls=True) as emulator,
        simple_salesforce_over_tls(key_pair, monkeypatch, emulator) as (_, sf),
    ):
        invoices(emulator)
        account = sf.Account.create({"Name": "Initech"})["id"]
        created = sf.Invoice__c.create({"Name": "INV-7", "Account__c": account, "Amount__c": 99})
        assert created["success"] is True
        assert sf.Invoice__c.get(created["id"])["Amount__c"] == 99.0
        result = sf.query_all("SELECT Name, (SELECT Name FROM Invoices__r) FROM Account")
        assert result["records"][0]["Invoices__r"]["records"][0]["Name"] == "INV-7"
        assert sf.Invoice__c.upsert("Number__c/N-1", {"Name": "INV-8"}) == 201
        assert sf.Invoice__c.describe()["custom"] is True


def test_objects_added_through_the_state_file_while_serving(tmp_path: Path) -> None:
    from sfbearer.emulator.control import EmulatorControl
    from sfbearer.emulator.ops import add_object

    state = tmp_path / "org.db"
    with Emulator(state=state) as sf:
        sf.add_object("Invoice__c")  # a00
        other = EmulatorControl(state=state).open()  # another process's view of the file
        try:
            add_object(other, name="Shipment__c")  # a01, written to the file
        finally:
            other.close()
        sf.add_object("Payment__c")  # takes the file's objects in first: a02, not a clash
        assert [(o.name, o.key_prefix) for o in sf.records.schema.objects_custom] == [
            ("Invoice__c", "a00"), ("Shipment__c", "a01"), ("Payment__c", "a02")]  # fmt: skip
        assert sf.records.create("Shipment__c", {"Name": "S"}).startswith("a01")


def test_key_prefixes_run_out_cleanly() -> None:
    from sfbearer.emulator import custom_fields

    objects = [custom_fields.custom_object_def(f"X{n}__c", "X", "Xs", prefix)
               for n, prefix in enumerate(custom_fields._PREFIXES[:-1])]  # fmt: skip
    schema = custom_fields.OrgSchema((), objects)
    last = custom_fields.custom_object(schema, "Last__c")
    assert last.key_prefix == "azz"
    with pytest.raises(RegistryError, match="at most 3844 custom objects"):
        custom_fields.custom_object(schema.with_object(last), "Over__c")


def test_a_required_lookup_forbids_deleting_its_parent(org: Org, token: str) -> None:
    org.sf.add_object("Payment__c", "Payment")
    org.sf.add_field("Payment__c", "Invoice__c", "lookup", reference_to="Invoice__c",
                     required=True)  # fmt: skip
    invoice = post(org, token, "Invoice__c", Name="INV-R")
    post(org, token, "Payment__c", Name="PAY-1", Invoice__c=invoice)
    refused = org.api("DELETE", f"{V}/sobjects/Invoice__c/{invoice}", token)
    assert refused.status_code == 400
    assert refused.json()[0]["errorCode"] == "DELETE_FAILED"
    assert refused.json()[0]["message"] == (
        "Your attempt to delete INV-R could not be completed because it is associated with "
        "the following payments.: PAY-1\n")  # fmt: skip
    assert org.api("GET", f"{V}/sobjects/Invoice__c/{invoice}", token).status_code == 200
    described = org.api("GET", f"{V}/sobjects/Invoice__c/describe", token).json()
    (payments,) = [r for r in described["childRelationships"] if r["childSObject"] == "Payment__c"]
    assert (payments["restrictedDelete"], payments["cascadeDelete"]) == (True, False)


def test_adding_an_object_again_with_another_label_is_refused() -> None:
    with Emulator() as sf:
        sf.add_object("Invoice__c", "Invoice")
        sf.add_object("Invoice__c", "Invoice")  # the same: nothing changes
        sf.add_object("invoice__c")  # no label given: the same object
        with pytest.raises(RegistryError, match="labelled 'Invoice'"):
            sf.add_object("Invoice__c", "Bill")
        assert [o.label for o in sf.records.schema.objects_custom] == ["Invoice"]


def test_a_running_emulator_sees_what_another_process_adds_to_its_file(
    tmp_path: Path, key_pair: KeyPair
) -> None:
    import time

    from sfbearer.emulator.control import EmulatorControl
    from sfbearer.emulator.ops import add_field, add_object

    state = tmp_path / "org.db"
    with Emulator(state=state) as sf:
        orgs = make_org(sf, key_pair)
        org = next(orgs)
        token = org.login()
        other = EmulatorControl(state=state).open()  # what add-field --state does
        try:
            add_object(other, name="Ticket__c")
            add_field(other, object="Account", name="Via_File__c", type="text")
        finally:
            other.close()
        time.sleep(0.05)  # the running emulator looks at the file at most every 10 ms
        assert post(org, token, "Account", Name="A", Via_File__c="x")
        assert post(org, token, "Ticket__c", Name="T").startswith("a00")
