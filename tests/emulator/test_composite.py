"""sObject Collections and sObject Tree over a real loopback socket.

Answers are compared with the shapes of Salesforce's REST API Developer Guide: SaveResult and
DeleteResult arrays in request order, ``ALL_OR_NONE_OPERATION_ROLLED_BACK`` for the records an
all-or-none failure undid, ``EXCEEDED_ID_LIMIT`` past 200 records, tree answers keyed by
``referenceId``; and every change (or its absence) is checked through SOQL afterwards.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sfbearer.keys import KeyPair

from .conftest import Org, simple_salesforce_over_tls

V = "/services/data/v68.0"
COLL = f"{V}/composite/sobjects"
ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and the request was "
    "using AllOrNone header",
    "fields": [],
}


@pytest.fixture
def token(sf_org: Org) -> str:
    return sf_org.login()


def _tag() -> str:
    return "T" + uuid.uuid4().hex[:12]


def _acc(name: str, **extra: Any) -> dict[str, Any]:
    return {"attributes": {"type": "Account"}, "Name": name, **extra}


def _count(org: Org, token: str, soql: str, *, all_rows: bool = False) -> int:
    path = f"{V}/queryAll/" if all_rows else f"{V}/query/"
    response = org.api("GET", path, token, params={"q": soql})
    assert response.status_code == 200, response.text
    return int(response.json()["totalSize"])


def _raw(org: Org, method: str, path: str, token: str, body: bytes) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    return org.client.request(method, path, headers=headers, content=body)


def _usage(response: httpx.Response) -> int:
    return int(response.headers["sforce-limit-info"].split("=")[1].split("/")[0])


# --- create ----------------------------------------------------------------------------------


def test_create_mixed_types_in_order_as_one_api_call(sf_org: Org, token: str) -> None:
    tag = _tag()
    before = sf_org.api("GET", f"{V}/limits/", token)
    records = [
        _acc(f"{tag} A", BillingCity="Paris"),
        {"attributes": {"type": "Contact"}, "LastName": tag, "FirstName": "Erica"},
        _acc(f"{tag} B"),
    ]
    response = sf_org.api("POST", COLL, token, json={"allOrNone": False, "records": records})
    assert response.status_code == 200
    assert _usage(response) == _usage(before) + 1  # the whole collection is one call
    results = response.json()
    assert [r["id"][:3] for r in results] == ["001", "003", "001"]
    assert all(r["success"] is True and r["errors"] == [] and len(r["id"]) == 18 for r in results)
    rows = sf_org.api(
        "GET", f"{V}/query/", token,
        params={"q": f"SELECT Id, Name, BillingCity FROM Account WHERE Name LIKE '{tag}%' ORDER BY Name"},
    ).json()["records"]  # fmt: skip
    assert [(r["Id"], r["Name"], r["BillingCity"]) for r in rows] == [
        (results[0]["id"], f"{tag} A", "Paris"),
        (results[2]["id"], f"{tag} B", None),
    ]
    contact = sf_org.api("GET", f"{V}/sobjects/Contact/{results[1]['id']}", token).json()
    assert contact["Name"] == f"Erica {tag}"


def test_create_partial_success_without_all_or_none(sf_org: Org, token: str) -> None:
    tag = _tag()
    records = [
        _acc(f"{tag} ok"),
        {"attributes": {"type": "Account"}, "Phone": "1"},
        _acc(f"{tag} 2"),
    ]
    results = sf_org.api("POST", COLL, token, json={"records": records}).json()  # default false
    assert results[1] == {
        "success": False,
        "errors": [
            {
                "statusCode": "REQUIRED_FIELD_MISSING",
                "message": "Required fields are missing: [Name]",
                "fields": ["Name"],
            }
        ],
    }
    assert results[0]["success"] is True
    assert results[2]["success"] is True
    assert _count(sf_org, token, f"SELECT Id FROM Account WHERE Name LIKE '{tag}%'") == 2


def test_create_all_or_none_rolls_everything_back(sf_org: Org, token: str) -> None:
    tag = _tag()
    # A query first, so the store holds Account rows in its cache when the rollback comes.
    assert _count(sf_org, token, f"SELECT Id FROM Account WHERE Name LIKE '{tag}%'") == 0
    records = [_acc(f"{tag} 1"), _acc(f"{tag} 2", Nope__c=1), _acc(f"{tag} 3")]
    response = sf_org.api("POST", COLL, token, json={"allOrNone": True, "records": records})
    assert response.status_code == 200
    first, bad, last = response.json()
    assert first == {"success": False, "errors": [ROLLED_BACK]}  # no id: it no longer exists
    assert last == first
    assert bad["success"] is False
    assert bad["errors"][0]["statusCode"] == "INVALID_FIELD"
    assert "Nope__c" in bad["errors"][0]["message"]
    assert _count(sf_org, token, f"SELECT Id FROM Account WHERE Name LIKE '{tag}%'") == 0
    assert _count(sf_org, token, f"SELECT Id FROM Account WHERE Name LIKE '{tag}%'",
                  all_rows=True) == 0  # fmt: skip
    # The same request without the failing record goes through: nothing was left half-done.
    again = sf_org.api("POST", COLL, token, json={"allOrNone": True, "records": [records[0]]})
    assert again.json()[0]["success"] is True
    assert _count(sf_org, token, f"SELECT Id FROM Account WHERE Name LIKE '{tag}%'") == 1


def test_create_refuses_read_only_types_per_record(sf_org: Org, token: str) -> None:
    records = [{"attributes": {"type": "User"}, "LastName": "x"}, _acc(_tag())]
    results = sf_org.api("POST", COLL, token, json={"records": records}).json()
    assert results[0]["errors"][0]["statusCode"] == "INVALID_TYPE_FOR_OPERATION"
    assert results[1]["success"] is True


def test_two_hundred_records_at_most(sf_org: Org, token: str) -> None:
    tag = _tag()
    records = [_acc(f"{tag} {n:03d}") for n in range(201)]
    over = sf_org.api("POST", COLL, token, json={"records": records})
    assert over.status_code == 400
    assert over.json() == [
        {
            "message": "record limit reached. cannot submit more than 200 records into this call",
            "errorCode": "EXCEEDED_ID_LIMIT",
            "fields": [],
        }
    ]
    assert _count(sf_org, token, f"SELECT Id FROM Account WHERE Name LIKE '{tag}%'") == 0
    ok = sf_org.api("POST", COLL, token, json={"records": records[:200]})
    assert ok.status_code == 200
    assert len(ok.json()) == 200
    ids = [r["id"] for r in ok.json()]
    assert len(set(ids)) == 200
    assert _count(sf_org, token, f"SELECT Id FROM Account WHERE Name LIKE '{tag}%'") == 200
    too_many = ",".join(ids + ids[:1])
    refused = sf_org.api("DELETE", COLL, token, params={"ids": too_many})
    assert refused.json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
    deleted = sf_org.api("DELETE", COLL, token, params={"ids": ",".join(ids)})
    assert all(r["success"] for r in deleted.json())
    assert _count(sf_org, token, f"SELECT Id FROM Account WHERE Name LIKE '{tag}%'") == 0


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"not json", 400, "JSON_PARSER_ERROR"),
        (b"[1, 2]", 400, "JSON_PARSER_ERROR"),
        (b"{}", 400, "JSON_PARSER_ERROR"),
        (b'{"records": {"a": 1}}', 400, "JSON_PARSER_ERROR"),
        (b'{"records": [1]}', 400, "JSON_PARSER_ERROR"),
        (b'{"records": [{"Name": "x"}]}', 400, "INVALID_TYPE"),
        (b'{"records": [{"attributes": {"type": 7}}]}', 400, "INVALID_TYPE"),
        (b'{"records": [{"attributes": {"type": "Nope__c"}}]}', 400, "INVALID_TYPE"),
        (b'{"allOrNone": "maybe", "records": []}', 400, "JSON_PARSER_ERROR"),
        (b'{"allOrNone": [], "records": []}', 400, "JSON_PARSER_ERROR"),
    ],
)
def test_malformed_bodies_are_refused_whole(
    sf_org: Org, token: str, body: bytes, status: int, code: str
) -> None:
    for method in ("POST", "PATCH"):
        response = _raw(sf_org, method, COLL, token, body)
        assert response.status_code == status, response.text
        assert response.json()[0]["errorCode"] == code


def test_odd_values_never_give_a_server_error(sf_org: Org, token: str) -> None:
    odd: list[Any] = [None, 1e308, -(2**200), "x" * 5000, {"a": [1]}, [], True, "2026-13-45"]
    records = [
        {"attributes": {"type": "Account"}, "Name": "odd", "NumberOfEmployees": v} for v in odd
    ]
    for method in ("POST", "PATCH"):
        response = sf_org.api(method, COLL, token, json={"records": records})
        assert response.status_code == 200, response.text
        assert [r["success"] for r in response.json()] == [method == "POST"] + [False] * 7
    weird_ids = ["", "x", "001", "001" + "A" * 15, "zzz5g0000000001AAA", "\u00e9" * 18]
    for ids in (weird_ids, [",".join(weird_ids)]):
        assert sf_org.api("DELETE", COLL, token, params={"ids": ids}).status_code < 500
        got = sf_org.api("GET", f"{COLL}/Account", token, params={"ids": ids, "fields": "Id"})
        assert got.status_code < 500


def test_collections_need_api_v42(sf_org: Org, token: str) -> None:
    body = {"records": [_acc(_tag())]}
    old = sf_org.api("POST", "/services/data/v41.0/composite/sobjects", token, json=body)
    assert old.status_code == 404
    assert old.json()[0]["errorCode"] == "NOT_FOUND"
    new = sf_org.api("POST", "/services/data/v42.0/composite/sobjects/", token, json=body)
    assert new.status_code == 200
    assert new.json()[0]["success"] is True


def test_composite_resources_by_version(sf_org: Org, token: str) -> None:
    assert sf_org.api("GET", f"{V}/composite", token).json() == {
        "tree": f"{V}/composite/tree",
        "sobjects": f"{V}/composite/sobjects",
    }
    old = sf_org.api("GET", "/services/data/v41.0/composite/", token).json()
    assert old == {"tree": "/services/data/v41.0/composite/tree"}
    assert sf_org.api("GET", "/services/data/v33.0/composite", token).json() == {}


def test_wrong_methods_and_paths(sf_org: Org, token: str) -> None:
    put = sf_org.api("PUT", COLL, token, json={"records": []})
    assert put.status_code == 405
    assert (
        put.json()[0]["message"] == "HTTP Method 'PUT' not allowed. Allowed are DELETE,PATCH,POST"
    )
    assert sf_org.api("DELETE", f"{COLL}/Account", token).status_code == 405
    assert sf_org.api("GET", f"{V}/composite/tree/Account", token).status_code == 405
    assert sf_org.api("GET", f"{V}/composite/nothing", token).status_code == 404
    assert sf_org.api("GET", f"{COLL}/Account/Name/x", token).status_code == 404


# --- retrieve --------------------------------------------------------------------------------


def _make(org: Org, token: str, *names: str) -> list[str]:
    results = org.api("POST", COLL, token, json={"records": [_acc(n) for n in names]}).json()
    assert all(r["success"] for r in results), results
    return [r["id"] for r in results]


def test_retrieve_by_get_and_post_with_nulls(sf_org: Org, token: str) -> None:
    tag = _tag()
    first, second, gone = _make(sf_org, token, f"{tag} 1", f"{tag} 2", f"{tag} 3")
    assert sf_org.api("DELETE", f"{V}/sobjects/Account/{gone}", token).status_code == 204
    contact = sf_org.api("POST", f"{V}/sobjects/Contact", token, json={"LastName": tag}).json()[
        "id"
    ]
    ids = [second, first[:15], gone, contact, "001nonsense", "001" + "9" * 15]
    expected = [
        {"attributes": {"type": "Account", "url": f"{V}/sobjects/Account/{second}"},
         "Id": second, "Name": f"{tag} 2"},
        {"attributes": {"type": "Account", "url": f"{V}/sobjects/Account/{first}"},
         "Id": first, "Name": f"{tag} 1"},
        None, None, None, None,
    ]  # fmt: skip
    got = sf_org.api(
        "GET", f"{COLL}/Account", token, params={"ids": ",".join(ids), "fields": "id,name"}
    )
    assert got.status_code == 200
    assert got.json() == expected
    posted = sf_org.api(
        "POST", f"{COLL}/account", token, json={"ids": ids, "fields": ["ID", "NAME"]}
    )
    assert posted.json() == expected


def test_retrieve_errors(sf_org: Org, token: str) -> None:
    (record,) = _make(sf_org, token, _tag())
    for ids in (record, "001" + "9" * 15):  # a bad field fails even when no id matches
        bad = sf_org.api("GET", f"{COLL}/Account", token, params={"ids": ids, "fields": "Id,Nope"})
        assert bad.status_code == 400
        assert bad.json()[0]["errorCode"] == "INVALID_FIELD"
        assert "No such column 'Nope' on entity 'Account'" in bad.json()[0]["message"]
    for params in ({"ids": record}, {"fields": "Id"}, {"ids": "", "fields": "Id"}):
        missing = sf_org.api("GET", f"{COLL}/Account", token, params=params)
        assert missing.status_code == 400
        assert missing.json()[0]["errorCode"] == "MISSING_ARGUMENT"
    for body in (
        {"ids": record, "fields": ["Id"]},
        {"ids": [1], "fields": ["Id"]},
        {"ids": [record]},
    ):
        assert sf_org.api("POST", f"{COLL}/Account", token, json=body).status_code == 400
    unknown = sf_org.api("GET", f"{COLL}/Nope", token, params={"ids": record, "fields": "Id"})
    assert unknown.status_code == 404
    many = {"ids": [record] * 2001, "fields": ["Id"]}
    assert sf_org.api("POST", f"{COLL}/Account", token, json=many).json()[0]["errorCode"] == (
        "EXCEEDED_ID_LIMIT"
    )
    assert (
        len(
            sf_org.api(
                "POST", f"{COLL}/Account", token, json={**many, "ids": [record] * 2000}
            ).json()
        )
        == 2000
    )


# --- update ----------------------------------------------------------------------------------


def _names(org: Org, token: str, ids: list[str]) -> list[str | None]:
    got = org.api("GET", f"{COLL}/Account", token, params={"ids": ",".join(ids), "fields": "Name"})
    return [r["Name"] if r else None for r in got.json()]


def test_update_by_id_with_per_record_errors(sf_org: Org, token: str) -> None:
    tag = _tag()
    a, b = _make(sf_org, token, f"{tag} a", f"{tag} b")
    contact = sf_org.api("POST", f"{V}/sobjects/Contact", token, json={"LastName": tag}).json()[
        "id"
    ]
    records = [
        {"attributes": {"type": "Account"}, "id": a, "Name": f"{tag} a2"},
        {"attributes": {"type": "Account"}, "Name": "no id"},
        {"attributes": {"type": "Account"}, "id": contact, "Name": "wrong type"},
        {"attributes": {"type": "Contact"}, "Id": contact[:15], "Title": "Lead Engineer"},
        {"attributes": {"type": "Account"}, "id": b, "Name": ""},
    ]
    results = sf_org.api("PATCH", COLL, token, json={"allOrNone": False, "records": records}).json()
    assert results[0] == {"id": a, "success": True, "errors": []}
    assert results[1] == {"success": False, "errors": [
        {"statusCode": "MISSING_ARGUMENT", "message": "Id not specified in an update call",
         "fields": []}]}  # fmt: skip
    assert results[2] == {"success": False, "errors": [
        {"statusCode": "MALFORMED_ID",
         "message": f"Account ID: id value of incorrect type: {contact}", "fields": ["Id"]}]}  # fmt: skip
    assert results[3] == {"id": contact, "success": True, "errors": []}
    assert results[4]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert results[4]["id"] == b  # a failure on a valid record names it
    assert _names(sf_org, token, [a, b]) == [f"{tag} a2", f"{tag} b"]
    title = sf_org.api("GET", f"{V}/sobjects/Contact/{contact}", token, params={"fields": "Title"})
    assert title.json()["Title"] == "Lead Engineer"


def test_update_all_or_none_leaves_every_record_as_it_was(sf_org: Org, token: str) -> None:
    tag = _tag()
    a, b = _make(sf_org, token, f"{tag} a", f"{tag} b")
    sf_org.api("DELETE", f"{V}/sobjects/Account/{b}", token)
    records = [
        {"attributes": {"type": "Account"}, "id": a, "Name": f"{tag} changed"},
        {"attributes": {"type": "Account"}, "id": b, "Name": f"{tag} deleted"},
    ]
    results = sf_org.api("PATCH", COLL, token, json={"allOrNone": True, "records": records}).json()
    assert results[0] == {"id": a, "success": False, "errors": [ROLLED_BACK]}
    assert results[1]["errors"][0]["statusCode"] == "ENTITY_IS_DELETED"
    assert _names(sf_org, token, [a]) == [f"{tag} a"]
    assert _count(sf_org, token, f"SELECT Id FROM Account WHERE Name = '{tag} changed'") == 0


# --- delete ----------------------------------------------------------------------------------


def test_delete_mixed_types_and_malformed_ids(sf_org: Org, token: str) -> None:
    tag = _tag()
    a, b = _make(sf_org, token, f"{tag} a", f"{tag} b")
    contact = sf_org.api("POST", f"{V}/sobjects/Contact", token, json={"LastName": tag}).json()[
        "id"
    ]
    before = sf_org.api("GET", f"{V}/limits/", token)
    response = sf_org.api(
        "DELETE", COLL, token, params={"ids": f"{a},001RM000003oLrB000,{contact}"}
    )
    assert _usage(response) == _usage(before) + 1
    assert response.json() == [
        {"id": a, "success": True, "errors": []},
        {"success": False, "errors": [
            {"statusCode": "MALFORMED_ID", "message": "malformed id 001RM000003oLrB000", "fields": []}]},
        {"id": contact, "success": True, "errors": []},
    ]  # fmt: skip
    assert _count(sf_org, token, f"SELECT Id FROM Account WHERE Name LIKE '{tag}%'") == 1
    assert _count(sf_org, token, f"SELECT Id FROM Account WHERE Name LIKE '{tag}%'",
                  all_rows=True) == 2  # fmt: skip
    again = sf_org.api("DELETE", COLL, token, params={"ids": f"{a},{b}", "allOrNone": "true"})
    assert again.json() == [
        {"success": False, "errors": [
            {"statusCode": "ENTITY_IS_DELETED", "message": "entity is deleted", "fields": []}]},
        {"id": b, "success": False, "errors": [ROLLED_BACK]},
    ]  # fmt: skip
    assert _names(sf_org, token, [b]) == [f"{tag} b"]  # still there
    assert sf_org.api("DELETE", COLL, token).json()[0]["errorCode"] == "MISSING_ARGUMENT"


# --- sObject Tree ----------------------------------------------------------------------------


def _node(sobject: str, ref: str, **fields: Any) -> dict[str, Any]:
    return {"attributes": {"type": sobject, "referenceId": ref}, **fields}


def test_tree_creates_nested_records_level_by_level(sf_org: Org, token: str) -> None:
    tag = _tag()
    before = sf_org.api("GET", f"{V}/limits/", token)
    body = {"records": [
        _node("Account", "ref1", name=f"{tag} 1", phone="1234567890", numberOfEmployees="100",
              Contacts={"records": [
                  _node("Contact", "ref2", lastname="Smith", title="President",
                        Cases={"records": [_node("Case", "ref5", Subject=f"{tag} case")]}),
                  _node("Contact", "ref3", lastname="Evans")]},
              opportunities={"records": [
                  _node("Opportunity", "ref6", Name=f"{tag} deal", StageName="Prospecting",
                        CloseDate="2026-12-31")]}),
        _node("Account", "ref4", Name=f"{tag} 2"),
    ]}  # fmt: skip
    response = sf_org.api("POST", f"{V}/composite/tree/Account/", token, json=body)
    assert response.status_code == 201, response.text
    assert _usage(response) == _usage(before) + 1
    answer = response.json()
    assert answer["hasErrors"] is False
    refs = {r["referenceId"]: r["id"] for r in answer["results"]}
    assert [r["referenceId"] for r in answer["results"]] == [
        "ref1",
        "ref4",
        "ref2",
        "ref3",
        "ref6",
        "ref5",
    ]
    assert [refs[r][:3] for r in ("ref1", "ref4", "ref2", "ref3", "ref6", "ref5")] == [
        "001",
        "001",
        "003",
        "003",
        "006",
        "500",
    ]
    contacts = sf_org.api("GET", f"{V}/query/", token, params={
        "q": f"SELECT LastName, AccountId, Account.Name FROM Contact WHERE AccountId = '{refs['ref1']}' ORDER BY LastName"
    }).json()["records"]  # fmt: skip
    assert [(c["LastName"], c["AccountId"], c["Account"]["Name"]) for c in contacts] == [
        ("Evans", refs["ref1"], f"{tag} 1"),
        ("Smith", refs["ref1"], f"{tag} 1"),
    ]
    case = sf_org.api("GET", f"{V}/sobjects/Case/{refs['ref5']}", token).json()
    assert (case["ContactId"], case["Subject"]) == (refs["ref2"], f"{tag} case")
    deal = sf_org.api("GET", f"{V}/sobjects/Opportunity/{refs['ref6']}", token).json()
    assert deal["AccountId"] == refs["ref1"]
    account = sf_org.api("GET", f"{V}/sobjects/Account/{refs['ref1']}", token).json()
    assert (account["Phone"], account["NumberOfEmployees"]) == ("1234567890", 100)


def test_tree_failure_creates_nothing_and_names_the_failing_records(
    sf_org: Org, token: str
) -> None:
    tag = _tag()
    body = {"records": [
        _node("Account", "acc1", Name=f"{tag} 1", Contacts={"records": [
            _node("Contact", "okContact", LastName=tag),
            _node("Contact", "noName", FirstName="x"),
            _node("Contact", "badMail", LastName=tag, Email="x" * 100)]}),
        _node("Account", "acc2", Name=f"{tag} 2"),
    ]}  # fmt: skip
    response = sf_org.api("POST", f"{V}/composite/tree/Account", token, json=body)
    assert response.status_code == 400
    answer = response.json()
    assert answer["hasErrors"] is True
    assert [r["referenceId"] for r in answer["results"]] == ["noName", "badMail"]
    assert answer["results"][0]["errors"] == [{
        "statusCode": "REQUIRED_FIELD_MISSING", "message": "Required fields are missing: [LastName]",
        "fields": ["LastName"]}]  # fmt: skip
    assert answer["results"][1]["errors"][0]["statusCode"] == "STRING_TOO_LONG"
    assert "id" not in answer["results"][0]
    assert _count(sf_org, token, f"SELECT Id FROM Account WHERE Name LIKE '{tag}%'",
                  all_rows=True) == 0  # fmt: skip
    assert _count(sf_org, token, f"SELECT Id FROM Contact WHERE LastName = '{tag}'",
                  all_rows=True) == 0  # fmt: skip


def test_tree_refusals_before_creating(sf_org: Org, token: str) -> None:
    tag = _tag()
    path = f"{V}/composite/tree/Account"

    def post(records: Any) -> httpx.Response:
        return sf_org.api("POST", path, token, json={"records": records})

    dup = post([_node("Account", "r1", Name=tag), _node("Account", "r1", Name=tag),
                _node("Account", "r2", Name=tag)]).json()  # fmt: skip
    assert dup["hasErrors"] is True
    assert dup["results"] == [
        {"referenceId": "r1", "errors": [{"statusCode": "INVALID_INPUT",
         "message": "Duplicate ReferenceId provided in the request.", "fields": []}]},
    ] * 2  # fmt: skip
    wrong = post([_node("Account", "a", Name=tag, Contacts={"records": [
        _node("User", "u", LastName="x"), _node("Account", "c", Name="x")]})]).json()  # fmt: skip
    assert [(r["referenceId"], r["errors"][0]["message"]) for r in wrong["results"]] == [
        ("u", "Invalid entity type provided in the request: User"),
        ("c", "Invalid entity type provided in the request: Account"),
    ]
    root = sf_org.api("POST", f"{V}/composite/tree/Contact", token,
                      json={"records": [_node("Account", "a", Name=tag)]})  # fmt: skip
    assert root.status_code == 400
    assert root.json()["results"][0]["errors"][0]["statusCode"] == "INVALID_INPUT"
    unknown_child = post([_node("Account", "a", Name=tag, Contactz={"records": []})])
    assert unknown_child.status_code == 400
    assert unknown_child.json()["results"][0]["errors"][0]["statusCode"] == "INVALID_FIELD"
    over = post([_node("Account", f"r{n}", Name=tag) for n in range(201)])
    assert over.status_code == 400
    assert over.json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
    nested_over = post([_node("Account", "a", Name=tag, Contacts={"records": [
        _node("Contact", f"c{n}", LastName=tag) for n in range(200)]})])  # fmt: skip
    assert nested_over.json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
    assert _count(sf_org, token, f"SELECT Id FROM Account WHERE Name = '{tag}'",
                  all_rows=True) == 0  # fmt: skip
    full = post([_node("Account", f"r{n}", Name=tag) for n in range(200)])
    assert full.status_code == 201
    assert len(full.json()["results"]) == 200
    assert _count(sf_org, token, f"SELECT Id FROM Account WHERE Name = '{tag}'") == 200


@pytest.mark.parametrize(
    "body",
    [
        b"nope", b"[]", b"{}", b'{"records": 1}', b'{"records": [1]}',
        b'{"records": [{"Name": "x"}]}', b'{"records": [{"attributes": {"referenceId": "r"}}]}',
        b'{"records": [{"attributes": {"type": "Account", "referenceId": ""}}]}',
        b'{"records": [{"attributes": {"type": "Account", "referenceId": "r"}, "Contacts": {}}]}',
        b'{"records": [{"attributes": {"type": "Account", "referenceId": "r"}, "Contacts": []}]}',
        b'{"records": []}',
    ],
)  # fmt: skip
def test_tree_malformed_bodies(sf_org: Org, token: str, body: bytes) -> None:
    response = _raw(sf_org, "POST", f"{V}/composite/tree/Account", token, body)
    assert 400 <= response.status_code < 500, response.text
    answer = response.json()
    assert isinstance(answer, list | dict)


def test_tree_versions_and_unknown_type(sf_org: Org, token: str) -> None:
    body = {"records": [_node("Account", "a", Name=_tag())]}
    assert sf_org.api("POST", "/services/data/v33.0/composite/tree/Account", token,
                      json=body).status_code == 404  # fmt: skip
    assert sf_org.api("POST", "/services/data/v34.0/composite/tree/Account", token,
                      json=body).status_code == 201  # fmt: skip
    unknown = sf_org.api("POST", f"{V}/composite/tree/Nope", token, json=body)
    assert unknown.status_code == 404


def test_composite_needs_a_session(sf_org: Org) -> None:
    response = sf_org.client.post(COLL, json={"records": [_acc("x")]})
    assert response.status_code == 401
    assert response.json()[0]["errorCode"] == "INVALID_AUTH_HEADER"


def test_simple_salesforce_restful_collections_and_tree(
    key_pair: KeyPair, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real client, unchanged: simple-salesforce's ``restful`` over TLS, as scripts use it."""
    tag = _tag()
    with simple_salesforce_over_tls(key_pair, monkeypatch) as (simple_salesforce, api):
        created = api.restful("composite/sobjects", method="POST", json={
            "allOrNone": True, "records": [_acc(f"{tag} {n}") for n in range(3)]})  # fmt: skip
        assert [r["success"] for r in created] == [True] * 3
        tree = api.restful("composite/tree/Account", method="POST", json={"records": [
            _node("Account", "a1", Name=f"{tag} tree", Contacts={"records": [
                _node("Contact", "c1", LastName=tag)]})]})  # fmt: skip
        assert [r["referenceId"] for r in tree["results"]] == ["a1", "c1"]
        with pytest.raises(simple_salesforce.exceptions.SalesforceMalformedRequest) as info:
            api.restful("composite/tree/Account", method="POST", json={"records": [
                _node("Account", "bad", Phone="1")]})  # fmt: skip
        assert info.value.content["results"][0]["referenceId"] == "bad"
        found = api.query(f"SELECT Id FROM Account WHERE Name LIKE '{tag}%'")
        assert found["totalSize"] == 4
        ids = ",".join(r["id"] for r in created)
        deleted = api.restful("composite/sobjects", method="DELETE", params={"ids": ids})
        assert [r["success"] for r in deleted] == [True] * 3
        assert api.query(f"SELECT Id FROM Account WHERE Name LIKE '{tag}%'")["totalSize"] == 1


# --- bad input, generated --------------------------------------------------------------------

_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20) | st.sampled_from(["001", "2026-01-01", "true", "@ref"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)  # fmt: skip
_types = st.sampled_from(["Account", "contact", "Case", "Opportunity", "User", "Nope", "", 7, None])
_field_names = st.sampled_from(
    ["Name", "LastName", "AccountId", "ContactId", "NumberOfEmployees", "Email", "Id", "id",
     "attributes", "Contacts", "cases", "CloseDate", "StageName"]
)  # fmt: skip


def _record(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    attributes = st.fixed_dictionaries(
        {}, optional={"type": _types, "referenceId": st.text(max_size=4) | st.integers()}
    )
    fields = st.dictionaries(
        _field_names, _values | st.fixed_dictionaries({"records": children}), max_size=4
    )
    return st.builds(lambda a, f: {**f, "attributes": a}, attributes, fields) | _values


_records = st.recursive(
    st.just([]), lambda inner: st.lists(_record(inner), max_size=4), max_leaves=10
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    records=_records,
    all_or_none=st.sampled_from([True, False, "true", None, 1]),
    extra=st.dictionaries(st.text(max_size=5), _values, max_size=2),
)
def test_generated_bodies_never_give_a_server_error(
    sf_org: Org, token: str, records: Any, all_or_none: Any, extra: dict[str, Any]
) -> None:
    body = {**extra, "records": records, "allOrNone": all_or_none}
    for method, path in (("POST", COLL), ("PATCH", COLL), ("POST", f"{V}/composite/tree/Account")):
        response = sf_org.api(method, path, token, json=body)
        assert response.status_code < 500, response.text
        assert isinstance(response.json(), list | dict)
    ids = [str(v) for v in (records if isinstance(records, list) else [])][:5] or ["x"]
    got = sf_org.api("POST", f"{COLL}/Account", token, json={"ids": ids, "fields": ["Id", *extra]})
    assert got.status_code < 500, got.text
