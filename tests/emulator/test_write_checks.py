"""Values Salesforce refuses on save, refused the same way over the REST API: lookups to rows
that are missing, deleted or of another type; malformed email addresses; ints out of range."""

from __future__ import annotations

from typing import Any

import pytest

from sfbearer.emulator.schema import make_id

from .conftest import Org

V = "/services/data/v68.0"


@pytest.fixture
def token(sf_org: Org) -> str:
    return sf_org.login()


def post(org: Org, token: str, sobject: str, **fields: Any) -> tuple[int, Any]:
    response = org.api("POST", f"{V}/sobjects/{sobject}", token, json=fields)
    return response.status_code, response.json()


def test_lookups_must_name_a_live_row_of_their_type(sf_org: Org, token: str) -> None:
    status, account = post(sf_org, token, "Account", Name="Parent")
    assert status == 201
    status, opportunity = post(sf_org, token, "Opportunity", Name="O", StageName="Prospecting",
                               CloseDate="2027-01-01", AccountId=account["id"])  # fmt: skip
    assert status == 201
    assert post(sf_org, token, "Contact", LastName="ok", AccountId=account["id"])[0] == 201

    status, body = post(sf_org, token, "Contact", LastName="x", AccountId=opportunity["id"])
    assert (status, body) == (400, [{
        "message": f"Account ID: id value of incorrect type: {opportunity['id']}",
        "errorCode": "FIELD_INTEGRITY_EXCEPTION", "fields": ["AccountId"]}])  # fmt: skip

    missing = make_id("001", 61_000_000)
    status, body = post(sf_org, token, "Contact", LastName="x", AccountId=missing)
    assert (status, body[0]["errorCode"], body[0]["message"]) == (
        400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")  # fmt: skip

    status, gone = post(sf_org, token, "Account", Name="Gone")
    assert sf_org.api("DELETE", f"{V}/sobjects/Account/{gone['id']}", token).status_code == 204
    status, body = post(sf_org, token, "Contact", LastName="x", AccountId=gone["id"])
    assert (status, body[0]["errorCode"]) == (400, "ENTITY_IS_DELETED")

    # An update is checked the same way, and a refused one changes nothing.
    contact = post(sf_org, token, "Contact", LastName="y", AccountId=account["id"])[1]["id"]
    patched = sf_org.api(
        "PATCH", f"{V}/sobjects/Contact/{contact}", token, json={"AccountId": missing}
    )
    assert patched.status_code == 400
    assert patched.json()[0]["errorCode"] == "INVALID_CROSS_REFERENCE_KEY"
    got = sf_org.api("GET", f"{V}/sobjects/Contact/{contact}", token).json()
    assert got["AccountId"] == account["id"]
    # A user id is the right type for OwnerId; an account id is not.
    status, body = post(sf_org, token, "Account", Name="Owned", OwnerId=account["id"])
    assert (status, body[0]["errorCode"]) == (400, "FIELD_INTEGRITY_EXCEPTION")


@pytest.mark.parametrize(
    ("email", "accepted"),
    [("kim@acme.com", True), ("first.last+tag@mail.acme.co.uk", True), ("not-an-email", False),
     ("kim@acme", False), ("kim @acme.com", False), ("@acme.com", False), ("a@b@c.com", False)],
)  # fmt: skip
def test_email_addresses(sf_org: Org, token: str, email: str, accepted: bool) -> None:
    status, body = post(sf_org, token, "Contact", LastName="Kim", Email=email)
    if accepted:
        assert status == 201
    else:
        assert (status, body) == (400, [{
            "message": f"Email: invalid email address: {email}",
            "errorCode": "INVALID_EMAIL_ADDRESS", "fields": ["Email"]}])  # fmt: skip


@pytest.mark.parametrize(
    ("value", "accepted"),
    [(2**31 - 1, True), (-(2**31), True), (2**31, False), (-(2**31) - 1, False)],
)
def test_int_fields_hold_a_java_int(sf_org: Org, token: str, value: int, accepted: bool) -> None:
    status, body = post(sf_org, token, "Account", Name="Big", NumberOfEmployees=value)
    assert (status == 201) is accepted
    if not accepted:
        assert body[0]["errorCode"] == "JSON_PARSER_ERROR"


@pytest.mark.parametrize("username", ["notanemail", "kim@acme", "kim @acme.com", "@acme.com"])
def test_usernames_have_the_form_of_an_email_address(username: str) -> None:
    from sfbearer.emulator import Emulator
    from sfbearer.emulator.registry import RegistryError

    with Emulator() as sf:
        with pytest.raises(RegistryError, match="form of an email address"):
            sf.add_user(username=username)
        assert sf.add_user(username="kim.lee+ci@acme.example.com").username.startswith("kim")
