"""The emulated object model: ids, describe, validation of record bodies."""

from __future__ import annotations

import string
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sfbearer.emulator import schema
from sfbearer.emulator.schema import ApiErrorResponse, get_sobject, validate_record

_ID_CHARS = string.ascii_letters + string.digits


def _restore_case(id18: str) -> str:
    """Recover a 15-character id from its upper-cased 18-character form (what the suffix is for)."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
    out = []
    for chunk in range(3):
        bits = alphabet.index(id18[15 + chunk].upper())
        for i, ch in enumerate(id18[chunk * 5 : chunk * 5 + 5]):
            out.append(ch.upper() if bits & (1 << i) else ch.lower())
    return "".join(out)


@pytest.mark.parametrize(
    ("id15", "id18"),
    [
        # The pair Salesforce's own knowledge articles use to explain the suffix.
        ("001A0000006Vm9r", "001A0000006Vm9rIAC"),
        # Hand-checked: only the 'D' (position 3 of chunk one) is upper case -> bit 2 -> 'E'.
        ("00D000000000062", "00D000000000062EAA"),
        ("aaaaaaaaaaaaaaa", "aaaaaaaaaaaaaaaAAA"),
        ("AAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAA555"),
    ],
)
def test_to_18_known_pairs(id15: str, id18: str) -> None:
    assert schema.to_18(id15) == id18


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=_ID_CHARS, min_size=15, max_size=15))
def test_checksum_restores_letter_case(id15: str) -> None:
    id18 = schema.to_18(id15)
    assert _restore_case(id18.upper()) == id15
    assert schema.normalize_id(id18) == id18
    assert schema.normalize_id(id15) == id18


def test_normalize_id_rejects_bad_ids() -> None:
    good = schema.to_18("001A0000006Vm9r")
    assert schema.normalize_id(good.lower()[:15] + good[15:]) != good  # case matters in the base
    assert schema.normalize_id(good[:15] + "ZZZ") is None
    assert schema.normalize_id(good[:15] + "iac") == good  # the suffix is case-insensitive
    for bad in ("", "001", "001A0000006Vm9r-", "001A0000006Vm9rIA", 12, None, "001A0000006Vm9r!AC"):
        assert schema.normalize_id(bad) is None
    with pytest.raises(ValueError, match="15"):
        schema.to_18("short")


def test_make_id_is_prefixed_unique_and_valid() -> None:
    ids = [schema.make_id("001", n) for n in range(1000)]
    assert len(set(ids)) == 1000
    assert all(i.startswith("001") and len(i) == 18 for i in ids)
    assert all(schema.normalize_id(i) == i for i in ids)
    with pytest.raises(ValueError, match="range"):
        schema.make_id("001", -1)


def test_standard_objects_and_prefixes() -> None:
    prefixes = {name: get_sobject(name).key_prefix for name in (  # type: ignore[union-attr]
        "Organization", "User", "Profile", "PermissionSet", "Account", "Contact",
        "Opportunity", "Case")}  # fmt: skip
    assert prefixes == {
        "Organization": "00D", "User": "005", "Profile": "00e", "PermissionSet": "0PS",
        "Account": "001", "Contact": "003", "Opportunity": "006", "Case": "500",
    }  # fmt: skip
    assert get_sobject("oPpOrTuNiTy").name == "Opportunity"  # type: ignore[union-attr]
    assert get_sobject("Widget__c") is None
    org = get_sobject("Organization")
    assert org is not None
    for name in ("Name", "InstanceName", "IsSandbox", "TrialExpirationDate", "NamespacePrefix",
                 "OrganizationType", "CreatedDate", "SystemModstamp", "IsDeleted"):  # fmt: skip
        assert org.field(name.lower()) is not None
        assert org.field(name).name == name


def test_describe_lists_the_child_relationships_subqueries_use() -> None:
    account = schema.describe("Account")
    assert account is not None
    children = account["childRelationships"]
    assert isinstance(children, list)
    assert [(c["childSObject"], c["field"], c["relationshipName"]) for c in children] == [
        ("Case", "AccountId", "Cases"),
        ("Contact", "AccountId", "Contacts"),
        ("Opportunity", "AccountId", "Opportunities"),
    ]
    assert set(children[0]) == {
        "cascadeDelete", "childSObject", "deprecatedAndHidden", "field", "junctionIdListNames",
        "junctionReferenceTo", "relationshipName", "restrictedDelete"}  # fmt: skip
    # An account's contacts and opportunities go with it; its cases forbid the delete instead.
    assert [(c["cascadeDelete"], c["restrictedDelete"]) for c in children] == [
        (False, False), (True, False), (True, False)]  # fmt: skip
    contact = schema.describe("Contact")
    assert contact is not None
    assert [c["relationshipName"] for c in contact["childRelationships"]] == ["Cases"]  # type: ignore[union-attr]
    for name in ("Organization", "User", "Case"):
        described = schema.describe(name)
        assert described is not None
        assert described["childRelationships"] == []
    for parent in ("Account", "Contact"):  # every listed name is one a subquery accepts
        described = schema.describe(parent)
        assert described is not None
        for rel in described["childRelationships"]:  # type: ignore[attr-defined]
            name, child, field = schema.child_relationships(parent)[rel["relationshipName"].lower()]
            assert (name, child, field) == (
                rel["relationshipName"],
                rel["childSObject"],
                rel["field"],
            )


def test_describe_shape() -> None:
    result = schema.describe("account", api_version="60.0")
    assert result is not None
    assert result["name"] == "Account"
    assert result["keyPrefix"] == "001"
    assert result["urls"]["describe"] == "/services/data/v60.0/sobjects/Account/describe"  # type: ignore[index]
    fields = {f["name"]: f for f in result["fields"]}  # type: ignore[attr-defined]
    assert fields["Name"]["type"] == "string"
    assert fields["Name"]["nillable"] is False
    assert fields["Id"]["type"] == "id"
    assert fields["Id"]["createable"] is False
    assert fields["AnnualRevenue"]["type"] == "currency"
    assert schema.describe("Nope") is None
    contact = schema.describe("Contact")
    rel = next(f for f in contact["fields"] if f["name"] == "AccountId")  # type: ignore[union-attr,index]
    assert rel["referenceTo"] == ["Account"]
    assert rel["relationshipName"] == "Account"
    names = [o["name"] for o in schema.describe_global()["sobjects"]]  # type: ignore[union-attr]
    assert {"Organization", "User", "Account", "Case"} <= set(names)


def _err(obj: str, data: object, *, creating: bool = True) -> ApiErrorResponse:
    sobject = get_sobject(obj)
    assert sobject is not None
    with pytest.raises(ApiErrorResponse) as info:
        validate_record(sobject, data, creating=creating)
    return info.value


def test_validation_errors_match_salesforce() -> None:
    err = _err("Account", {"Name": "x", "Foo": 1})
    assert (err.status, err.error_code) == (400, "INVALID_FIELD")
    assert err.message == "No such column 'Foo' on sobject of type Account"
    err = _err("Contact", {"FirstName": "Ada"})
    assert err.error_code == "REQUIRED_FIELD_MISSING"
    assert err.fields == ["LastName"]
    assert err.message == "Required fields are missing: [LastName]"
    err = _err("Opportunity", {"Name": "Deal"})
    assert err.fields == ["StageName", "CloseDate"]
    err = _err("Account", {"Name": "x", "NumberOfEmployees": "many"})
    assert err.error_code == "JSON_PARSER_ERROR"
    assert "int" in err.message
    err = _err("Account", {"Name": "x", "Id": "001A0000006Vm9rIAC"})
    assert err.error_code == "INVALID_FIELD_FOR_INSERT_UPDATE"
    assert err.fields == ["Id"]
    err = _err("Account", {"Name": "x" * 256})
    assert err.error_code == "STRING_TOO_LONG"
    assert err.fields == ["Name"]
    err = _err("Contact", {"LastName": "L", "AccountId": "not-an-id"})
    assert err.error_code == "MALFORMED_ID"
    assert err.fields == ["AccountId"]
    err = _err("Contact", {"LastName": "L", "Birthdate": "31/12/2020"})
    assert err.error_code == "JSON_PARSER_ERROR"
    assert _err("Account", ["Name"]).error_code == "JSON_PARSER_ERROR"
    assert _err("Account", {"Name": None}).error_code == "REQUIRED_FIELD_MISSING"
    # an update that leaves the required field alone is fine; blanking it is not
    account = get_sobject("Account")
    assert account is not None
    assert validate_record(account, {"Phone": "1"}, creating=False) == {"Phone": "1"}
    assert _err("Account", {"Name": ""}, creating=False).error_code == "REQUIRED_FIELD_MISSING"
    err = _err("Contact", {"LastName": "L", "AccountId": "bad"})
    assert err.body() == [
        {"message": err.message, "errorCode": "MALFORMED_ID", "fields": ["AccountId"]}
    ]


def test_validation_canonicalises_names_and_values() -> None:
    opp = get_sobject("Opportunity")
    assert opp is not None
    out = validate_record(
        opp,
        {"attributes": {"type": "Opportunity"}, "name": "Deal", "STAGENAME": "Prospecting",
         "closedate": "2026-03-01", "amount": "1200.5", "Probability": 10},
        creating=True,
    )  # fmt: skip
    assert out == {"Name": "Deal", "StageName": "Prospecting", "CloseDate": "2026-03-01",
                   "Amount": 1200.5, "Probability": 10.0}  # fmt: skip
    case = get_sobject("Case")
    assert case is not None
    account = get_sobject("Account")
    assert account is not None
    assert validate_record(account, {"Name": 42}, creating=True) == {"Name": "42"}
    stamped = schema.coerce_value(
        get_sobject("Account").field("CreatedDate"), "2026-01-02T03:04:05+02:00"
    )  # type: ignore[arg-type,union-attr]
    assert stamped == "2026-01-02T01:04:05.000+0000"
    assert schema.coerce_value(account.field("AnnualRevenue"), None) is None  # type: ignore[arg-type]
    with pytest.raises(ApiErrorResponse):
        schema.coerce_value(account.field("AnnualRevenue"), float("nan"))  # type: ignore[arg-type]
    with pytest.raises(ApiErrorResponse):
        schema.coerce_value(account.field("AnnualRevenue"), True)  # type: ignore[arg-type]


def test_datetime_round_trip() -> None:
    moment = datetime(2026, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    text = schema.format_datetime(moment)
    assert text == "2026-05-06T07:08:09.123+0000"
    assert schema.parse_datetime("2026-05-06T07:08:09.123Z") == moment.replace(microsecond=123000)
    assert schema.parse_datetime("2026-05-06T09:08:09+0200") == moment.replace(microsecond=0)
    assert schema.parse_datetime("2026-02-30T00:00:00Z") is None
    assert schema.parse_datetime("yesterday") is None


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=40)
    | st.sampled_from(
        [10**400, -(10**30), 2**63, "1e400", "NaN", "2026-02-30", "001A0000006Vm9rIAC"]
    ),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=8,
)
_FIELD_NAMES = st.sampled_from(
    ["Name", "name", "AnnualRevenue", "NumberOfEmployees", "CreatedDate", "Birthdate", "AccountId",
     "IsDeleted", "Id", "LastName", "CloseDate", "Amount", "StageName", "Bogus", "attributes"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["Account", "Contact", "Opportunity", "Case"]),
    st.dictionaries(_FIELD_NAMES | st.text(max_size=8), _JSON, max_size=6) | _JSON,
    st.booleans(),
)
def test_validation_never_raises_anything_else(sobject: str, body: object, creating: bool) -> None:
    obj = get_sobject(sobject)
    assert obj is not None
    out: dict[str, object] | ApiErrorResponse
    try:
        out = validate_record(obj, body, creating=creating)
    except ApiErrorResponse as exc:
        out = exc
    if isinstance(out, ApiErrorResponse):
        assert 400 <= out.status < 500
    else:
        assert all(obj.field(name) is not None for name in out)


def test_huge_integers_are_refused_not_crashed() -> None:
    assert _err("Account", {"Name": 10**5000}).error_code == "JSON_PARSER_ERROR"
    assert (
        _err("Account", {"Name": "x", "NumberOfEmployees": 10**5000}).error_code
        == "JSON_PARSER_ERROR"
    )
