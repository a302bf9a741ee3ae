"""Deleting a parent record over the REST API, as Salesforce does it: an account takes its
contacts and opportunities with it; an account or contact that cases look up is refused."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from sfbearer.keys import KeyPair

from .conftest import Org, simple_salesforce_over_tls

V = "/services/data/v68.0"


@pytest.fixture
def token(sf_org: Org) -> str:
    return sf_org.login()


def create(org: Org, token: str, sobject: str, **fields: Any) -> str:
    return org.create(token, sobject, **fields)


def family(org: Org, token: str) -> dict[str, str]:
    """An account with a contact and two opportunities (one closed won), and a bystander."""
    name = f"Acme {uuid.uuid4().hex[:8]}"
    account = create(org, token, "Account", Name=name)
    return {
        "name": name,
        "account": account,
        "contact": create(org, token, "Contact", LastName="Kim", AccountId=account),
        "open": create(org, token, "Opportunity", Name="Deal", StageName="Prospecting",
                       CloseDate="2027-01-31", AccountId=account),
        "won": create(org, token, "Opportunity", Name="Won", StageName="Closed Won",
                      CloseDate="2026-06-30", AccountId=account),
        "bystander": create(org, token, "Contact", LastName="Lee"),
    }  # fmt: skip


def live_ids(org: Org, token: str, soql: str, *, all_rows: bool = False) -> dict[str, bool]:
    """Id -> IsDeleted of the rows ``soql`` (which selects Id, IsDeleted) returns."""
    endpoint = "queryAll" if all_rows else "query"
    response = org.api("GET", f"{V}/{endpoint}/", token, params={"q": soql})
    assert response.status_code == 200, response.text
    return {r["Id"]: r["IsDeleted"] for r in response.json()["records"]}


def test_an_account_takes_its_contacts_and_opportunities_with_it(sf_org: Org, token: str) -> None:
    rows = family(sf_org, token)
    deleted = sf_org.api("DELETE", f"{V}/sobjects/Account/{rows['account']}", token)
    assert deleted.status_code == 204, deleted.text
    for sobject, key in (("Contact", "contact"), ("Opportunity", "open"), ("Opportunity", "won")):
        gone = sf_org.api("GET", f"{V}/sobjects/{sobject}/{rows[key]}", token)
        assert gone.status_code == 404
        assert gone.json()[0]["errorCode"] == "ENTITY_IS_DELETED"
    children = f"SELECT Id, IsDeleted FROM Opportunity WHERE AccountId = '{rows['account']}'"
    assert live_ids(sf_org, token, children) == {}
    assert live_ids(sf_org, token, children, all_rows=True) == {
        rows["open"]: True,
        rows["won"]: True,
    }
    bystander = sf_org.api("GET", f"{V}/sobjects/Contact/{rows['bystander']}", token)
    assert bystander.status_code == 200
    assert bystander.json()["IsDeleted"] is False


def test_an_account_with_a_case_is_refused_and_nothing_is_deleted(sf_org: Org, token: str) -> None:
    rows = family(sf_org, token)
    case = create(sf_org, token, "Case", Subject="Broken", AccountId=rows["account"])
    number = sf_org.api("GET", f"{V}/sobjects/Case/{case}", token).json()["CaseNumber"]
    refused = sf_org.api("DELETE", f"{V}/sobjects/Account/{rows['account']}", token)
    assert refused.status_code == 400
    assert refused.json() == [{
        "message": f"Your attempt to delete {rows['name']} could not be completed because it "
                   f"is associated with the following cases.: {number}\n",
        "errorCode": "DELETE_FAILED", "fields": []}]  # fmt: skip
    for sobject, key in (("Account", "account"), ("Contact", "contact"), ("Opportunity", "open")):
        assert sf_org.api("GET", f"{V}/sobjects/{sobject}/{rows[key]}", token).status_code == 200
    # Once the case is gone, the account goes (with its children).
    assert sf_org.api("DELETE", f"{V}/sobjects/Case/{case}", token).status_code == 204
    assert sf_org.api("DELETE", f"{V}/sobjects/Account/{rows['account']}", token).status_code == 204
    assert sf_org.api("GET", f"{V}/sobjects/Contact/{rows['contact']}", token).status_code == 404


def test_a_case_of_a_contact_of_the_account_also_forbids_it(sf_org: Org, token: str) -> None:
    rows = family(sf_org, token)
    first = create(sf_org, token, "Case", Subject="A", ContactId=rows["contact"])
    second = create(sf_org, token, "Case", Subject="B", ContactId=rows["contact"])
    numbers = sorted(
        sf_org.api("GET", f"{V}/sobjects/Case/{case}", token).json()["CaseNumber"]
        for case in (first, second)
    )
    for sobject, key, name in (("Account", "account", rows["name"]), ("Contact", "contact", "Kim")):
        refused = sf_org.api("DELETE", f"{V}/sobjects/{sobject}/{rows[key]}", token)
        assert refused.status_code == 400
        (error,) = refused.json()
        assert error["errorCode"] == "DELETE_FAILED"
        assert error["message"].startswith(f"Your attempt to delete {name} could not")
        assert error["message"].endswith(f"cases.: {', '.join(numbers)}\n")
    # A closed case forbids it too; a contact with none is deleted alone.
    assert (
        sf_org.api("DELETE", f"{V}/sobjects/Contact/{rows['bystander']}", token).status_code == 204
    )
    assert sf_org.api("GET", f"{V}/sobjects/Account/{rows['account']}", token).status_code == 200


def test_collections_delete_reports_the_refusal_per_record(sf_org: Org, token: str) -> None:
    kept, doomed = family(sf_org, token), family(sf_org, token)
    create(sf_org, token, "Case", Subject="Open", AccountId=kept["account"])
    ids = ",".join([kept["account"], doomed["account"], doomed["contact"]])
    response = sf_org.api("DELETE", f"{V}/composite/sobjects", token, params={"ids": ids})
    assert response.status_code == 200, response.text
    first, second, third = response.json()
    assert first["success"] is False
    assert first["errors"][0]["statusCode"] == "DELETE_FAILED"
    assert second == {"id": doomed["account"], "success": True, "errors": []}
    # The contact went with its account before its own turn came.
    assert third["success"] is False
    assert third["errors"][0]["statusCode"] == "ENTITY_IS_DELETED"
    # allOrNone: the refusal undoes the cascade of the other account as well.
    again = family(sf_org, token)
    ids = ",".join([again["account"], kept["account"]])
    params = {"ids": ids, "allOrNone": "true"}
    response = sf_org.api("DELETE", f"{V}/composite/sobjects", token, params=params)
    assert [r["success"] for r in response.json()] == [False, False]
    for key in ("account", "contact", "open"):
        sobject = {"account": "Account", "contact": "Contact", "open": "Opportunity"}[key]
        assert sf_org.api("GET", f"{V}/sobjects/{sobject}/{again[key]}", token).status_code == 200


def test_simple_salesforce_sees_salesforces_delete_failure(
    key_pair: KeyPair, monkeypatch: pytest.MonkeyPatch
) -> None:
    with simple_salesforce_over_tls(key_pair, monkeypatch) as (module, sf):
        account = sf.Account.create({"Name": "Globex"})["id"]
        contact = sf.Contact.create({"LastName": "Ng", "AccountId": account})["id"]
        sf.Case.create({"Subject": "Help", "AccountId": account})
        with pytest.raises(module.exceptions.SalesforceMalformedRequest) as info:
            sf.Account.delete(account)
        assert info.value.content[0]["errorCode"] == "DELETE_FAILED"
        assert sf.Contact.get(contact)["IsDeleted"] is False
        cases = sf.query(f"SELECT Id FROM Case WHERE AccountId = '{account}'")["records"]
        sf.Case.delete(cases[0]["Id"])
        assert sf.Account.delete(account) == 204
        soql = f"SELECT Id, IsDeleted FROM Contact WHERE Id = '{contact}'"
        assert sf.query_all(soql)["records"] == []
        (row,) = sf.query_all(soql, include_deleted=True)["records"]
        assert row["IsDeleted"] is True


def test_a_composite_rollback_undoes_the_cascade(sf_org: Org, token: str) -> None:
    rows = family(sf_org, token)
    body = {"allOrNone": True, "compositeRequest": [
        {"method": "DELETE", "url": f"{V}/sobjects/Account/{rows['account']}", "referenceId": "gone"},
        {"method": "PATCH", "url": f"{V}/sobjects/Contact/{rows['bystander']}", "referenceId": "bad",
         "body": {"Nope__c": 1}},
    ]}  # fmt: skip
    response = sf_org.api("POST", f"{V}/composite", token, json=body)
    assert response.status_code == 200, response.text
    assert [r["httpStatusCode"] for r in response.json()["compositeResponse"]] == [400, 400]
    for sobject, key in (("Account", "account"), ("Contact", "contact"), ("Opportunity", "won")):
        got = sf_org.api("GET", f"{V}/sobjects/{sobject}/{rows[key]}", token)
        assert got.status_code == 200, (sobject, got.text)
