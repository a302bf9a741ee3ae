"""The Composite resource (``POST /composite``) over a real loopback socket.

Answers are compared with the shapes of Salesforce's REST API Developer Guide (Composite
Request Body, Composite Subrequest Result): one ``{"body", "httpHeaders", "httpStatusCode",
"referenceId"}`` per subrequest in request order, ``PROCESSING_HALTED`` for unresolvable
references and for what an all-or-none failure undid. A failing subrequest must answer
exactly what the same request sent alone answers, and every change (or its absence) is
checked through SOQL afterwards.
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
COMPOSITE = f"{V}/composite"
ROLLED_BACK = [
    {
        "errorCode": "PROCESSING_HALTED",
        "message": "The transaction was rolled back since another operation in the same "
        "transaction failed.",
    }
]


@pytest.fixture
def token(sf_org: Org) -> str:
    return sf_org.login()


def _tag() -> str:
    return "T" + uuid.uuid4().hex[:12]


def _sub(method: str, url: str, ref: str, body: Any = ..., **extra: Any) -> dict[str, Any]:
    sub = {"method": method, "url": url if url.startswith("/") else f"{V}/{url}",
           "referenceId": ref, **extra}  # fmt: skip
    if body is not ...:
        sub["body"] = body
    return sub


def _composite(org: Org, token: str, subs: list[dict[str, Any]], **flags: Any) -> httpx.Response:
    return org.api("POST", COMPOSITE, token, json={**flags, "compositeRequest": subs})


def _results(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    results: list[dict[str, Any]] = response.json()["compositeResponse"]
    return results


def _count(org: Org, token: str, soql: str) -> int:
    response = org.api("GET", f"{V}/query/", token, params={"q": soql})
    assert response.status_code == 200, response.text
    return int(response.json()["totalSize"])


def _usage(response: httpx.Response) -> int:
    return int(response.headers["sforce-limit-info"].split("=")[1].split("/")[0])


def _invalid_reference(expression: str, ref: str) -> list[dict[str, str]]:
    message = f"Invalid reference specified. No value for {expression} found in {ref}."
    return [{"errorCode": "PROCESSING_HALTED", "message": message}]


# --- references and chaining -----------------------------------------------------------------


def test_references_in_url_and_body_chain_subrequests_as_one_api_call(
    sf_org: Org, token: str
) -> None:
    tag = _tag()
    before = sf_org.api("GET", f"{V}/limits/", token)
    soql = f"SELECT+Id,Name+FROM+Account+WHERE+Name='{tag}'"
    response = _composite(sf_org, token, [
        _sub("POST", "sobjects/Account", "acc", {"Name": tag}),
        _sub("POST", "sobjects/Contact", "con", {"LastName": tag, "AccountId": "@{acc.id}"}),
        _sub("GET", "sobjects/Contact/@{con.id}?fields=AccountId,LastName", "getCon"),
        _sub("GET", f"query/?q={soql}", "q"),
        _sub("PATCH", "sobjects/Account/@{q.records[0].Id}", "upd",
             {"Name": "@{q.records[0].Name} renamed", "NumberOfEmployees": "@{q.totalSize}"}),
    ], allOrNone=True, collateSubrequests=True)  # fmt: skip
    results = _results(response)
    assert _usage(response) == _usage(before) + 1  # the whole composite is one API call
    assert [r["referenceId"] for r in results] == ["acc", "con", "getCon", "q", "upd"]
    assert [r["httpStatusCode"] for r in results] == [201, 201, 200, 200, 204]
    acc_id, con_id = results[0]["body"]["id"], results[1]["body"]["id"]
    assert results[0]["body"] == {"id": acc_id, "success": True, "errors": []}
    assert results[0]["httpHeaders"] == {"Location": f"{V}/sobjects/Account/{acc_id}"}
    assert results[1]["httpHeaders"] == {"Location": f"{V}/sobjects/Contact/{con_id}"}
    assert results[2]["body"]["AccountId"] == acc_id
    assert results[2]["httpHeaders"] == {}
    assert results[3]["body"]["records"][0]["Id"] == acc_id
    assert results[4]["body"] is None
    # What the subrequests did is there afterwards.
    got = sf_org.api("GET", f"{V}/sobjects/Account/{acc_id}", token).json()
    assert got["Name"] == f"{tag} renamed"
    assert got["NumberOfEmployees"] == 1  # a whole-string reference keeps the value's type
    assert _count(sf_org, token, f"SELECT Id FROM Contact WHERE AccountId = '{acc_id}'") == 1


def test_subrequests_run_as_the_caller(sf_org: Org, token: str) -> None:
    results = _results(_composite(sf_org, token, [
        _sub("POST", "sobjects/Account", "acc", {"Name": _tag()}),
        _sub("GET", "sobjects/Account/@{acc.id}?fields=CreatedById", "get"),
    ]))  # fmt: skip
    me = sf_org.api("GET", f"{V}/query/", token, params={
        "q": f"SELECT Id FROM User WHERE Username = '{sf_org.username}'"}).json()  # fmt: skip
    assert results[1]["body"]["CreatedById"] == me["records"][0]["Id"]


def test_unresolvable_references_fail_that_subrequest(sf_org: Org, token: str) -> None:
    tag = _tag()
    results = _results(_composite(sf_org, token, [
        _sub("GET", "sobjects/Account/@{later.id}", "forward"),
        _sub("POST", "sobjects/Account", "acc", {"Name": tag}),
        _sub("GET", "sobjects/Account/@{nobody.id}", "unknown"),
        _sub("POST", "sobjects/Contact", "missing", {"LastName": "@{acc.Nope}"}),
        _sub("GET", f"query/?q=SELECT+Id,Phone+FROM+Account+WHERE+Name='{tag}'", "q"),
        _sub("GET", "sobjects/Account/@{q.records[3].Id}", "outOfRange"),
        _sub("POST", "sobjects/Contact", "nullValue", {"LastName": "@{q.records[0].Phone}"}),
        _sub("POST", "sobjects/Contact", "noPath", {"LastName": "@{acc}"}),
        _sub("GET", "sobjects/Account/@{acc.id}", "later"),
    ]))  # fmt: skip
    by_ref = {r["referenceId"]: r for r in results}
    expected = {
        "forward": ("later.id", "later"),  # a later subrequest's answer does not exist yet
        "unknown": ("nobody.id", "nobody"),
        "missing": ("acc.Nope", "acc"),
        "outOfRange": ("q.records[3].Id", "q"),
        "nullValue": ("q.records[0].Phone", "q"),
        "noPath": ("acc", "acc"),
    }
    for ref, (expression, name) in expected.items():
        assert by_ref[ref]["httpStatusCode"] == 400, ref
        assert by_ref[ref]["body"] == _invalid_reference(expression, name), ref
        assert by_ref[ref]["httpHeaders"] == {}
    assert by_ref["acc"]["httpStatusCode"] == 201
    assert by_ref["later"]["httpStatusCode"] == 200
    # Without allOrNone nothing is undone; no contact was created with a bad reference.
    assert _count(sf_org, token, f"SELECT Id FROM Account WHERE Name = '{tag}'") == 1
    assert _count(sf_org, token, f"SELECT Id FROM Contact WHERE AccountId = '{by_ref['acc']['body']['id']}'") == 0  # fmt: skip


# --- failures: the standalone answer, allOrNone ------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("GET", "sobjects/Account/001000000000000AAA", ...),
        ("GET", "sobjects/Account/not-an-id", ...),
        ("GET", "sobjects/Nope/001000000000000AAA", ...),
        ("POST", "sobjects/Contact", {"FirstName": "no last name"}),
        ("POST", "sobjects/Account", {"Name": "x", "Nope__c": 1}),
        ("POST", "sobjects/Account", ["not", "an", "object"]),
        ("POST", "sobjects/Account", ...),
        ("PUT", "sobjects/Account/001000000000000AAA", {"Name": "x"}),
        ("GET", "query/?q=SELECT+Nope+FROM+Account", ...),
        ("GET", "query/", ...),
        ("POST", "composite/sobjects", {"records": "nope"}),
        ("GET", "/services/data/v41.0/composite/sobjects/Account?ids=x&fields=Id", ...),
    ],
)
def test_a_failing_subrequest_answers_as_the_request_alone(
    sf_org: Org, token: str, method: str, url: str, body: Any
) -> None:
    path = url if url.startswith("/") else f"{V}/{url}"
    alone = sf_org.api(method, path, token, **({} if body is ... else {"json": body}))
    assert 400 <= alone.status_code < 500
    (result,) = _results(_composite(sf_org, token, [_sub(method, url, "r", body)]))
    assert result["httpStatusCode"] == alone.status_code
    assert result["body"] == alone.json()


def test_all_or_none_rolls_back_every_change(sf_org: Org, token: str) -> None:
    tag = _tag()
    existing = sf_org.api("POST", f"{V}/sobjects/Account/", token, json={"Name": tag}).json()["id"]
    bad = {"FirstName": tag}  # no LastName
    results = _results(_composite(sf_org, token, [
        _sub("POST", "sobjects/Account", "acc", {"Name": tag}),
        _sub("PATCH", f"sobjects/Account/{existing}", "upd", {"Name": f"{tag} changed"}),
        _sub("DELETE", f"sobjects/Account/{existing}", "del"),
        _sub("POST", "sobjects/Contact", "bad", bad),
        _sub("POST", "sobjects/Account", "after", {"Name": tag}),
    ], allOrNone=True))  # fmt: skip
    alone = sf_org.api("POST", f"{V}/sobjects/Contact/", token, json=bad)
    assert [r["httpStatusCode"] for r in results] == [400, 400, 400, alone.status_code, 400]
    assert results[3]["body"] == alone.json()
    for i in (0, 1, 2, 4):
        assert results[i]["body"] == ROLLED_BACK
        assert results[i]["httpHeaders"] == {}
    # Nothing happened: one account, named as before, not deleted.
    assert _count(sf_org, token, f"SELECT Id FROM Account WHERE Name = '{tag}'") == 1
    assert _count(sf_org, token, f"SELECT Id FROM Account WHERE Name LIKE '{tag}%'") == 1
    assert sf_org.api("GET", f"{V}/sobjects/Account/{existing}", token).json()["Name"] == tag


def test_an_unresolved_reference_also_rolls_back_under_all_or_none(sf_org: Org, token: str) -> None:
    tag = _tag()
    results = _results(_composite(sf_org, token, [
        _sub("POST", "sobjects/Account", "acc", {"Name": tag}),
        _sub("POST", "sobjects/Contact", "con", {"LastName": tag, "AccountId": "@{acc.Id}"}),
    ], allOrNone=True))  # fmt: skip
    assert results[0]["body"] == ROLLED_BACK
    assert results[1]["body"] == _invalid_reference("acc.Id", "acc")  # the answer says "id"
    assert _count(sf_org, token, f"SELECT Id FROM Account WHERE Name = '{tag}'") == 0


def test_without_all_or_none_successes_stay_and_only_dependents_halt(
    sf_org: Org, token: str
) -> None:
    tag = _tag()
    results = _results(_composite(sf_org, token, [
        _sub("POST", "sobjects/Account", "first", {"Name": tag}),
        _sub("POST", "sobjects/Account", "bad", {"Name": tag, "Nope__c": 1}),
        _sub("POST", "sobjects/Contact", "dependent", {"LastName": tag, "AccountId": "@{bad.id}"}),
        _sub("POST", "sobjects/Account", "independent", {"Name": tag}),
    ], allOrNone=False))  # fmt: skip
    assert [r["httpStatusCode"] for r in results] == [201, 400, 400, 201]
    assert results[1]["body"][0]["errorCode"] == "INVALID_FIELD"
    assert results[2]["body"] == _invalid_reference("bad.id", "bad")
    assert _count(sf_org, token, f"SELECT Id FROM Account WHERE Name = '{tag}'") == 2
    assert _count(sf_org, token, f"SELECT Id FROM Contact WHERE LastName = '{tag}'") == 0


@pytest.mark.parametrize("inner", [True, False])
def test_all_or_none_overrides_a_collection_subrequests_own(
    sf_org: Org, token: str, inner: bool
) -> None:
    tag = _tag()
    records = [{"attributes": {"type": "Account"}, "Name": tag},
               {"attributes": {"type": "Account"}, "Nope__c": tag}]  # fmt: skip
    results = _results(_composite(sf_org, token, [
        _sub("POST", "sobjects/Contact", "con", {"LastName": tag}),
        _sub("POST", "composite/sobjects", "coll", {"allOrNone": inner, "records": records}),
    ], allOrNone=True))  # fmt: skip
    assert results[0]["body"] == ROLLED_BACK
    assert results[1]["httpStatusCode"] == 200
    assert [r["success"] for r in results[1]["body"]] == [False, False]
    assert results[1]["body"][0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert _count(sf_org, token, f"SELECT Id FROM Account WHERE Name = '{tag}'") == 0
    assert _count(sf_org, token, f"SELECT Id FROM Contact WHERE LastName = '{tag}'") == 0


def test_collections_keep_their_own_all_or_none_otherwise(sf_org: Org, token: str) -> None:
    tag = _tag()
    records = [{"attributes": {"type": "Account"}, "Name": tag},
               {"attributes": {"type": "Account"}, "Nope__c": tag}]  # fmt: skip
    (result,) = _results(_composite(sf_org, token, [
        _sub("POST", "composite/sobjects", "coll", {"allOrNone": False, "records": records}),
    ], allOrNone=False))  # fmt: skip
    assert [r["success"] for r in result["body"]] == [True, False]
    assert _count(sf_org, token, f"SELECT Id FROM Account WHERE Name = '{tag}'") == 1


# --- limits, shapes, versions ----------------------------------------------------------------


def test_at_most_25_subrequests_and_5_queries_or_collections(sf_org: Org, token: str) -> None:
    tag = _tag()
    many = [_sub("POST", "sobjects/Account", f"a{n}", {"Name": tag}) for n in range(26)]
    response = _composite(sf_org, token, many)
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "LIMIT_EXCEEDED"
    assert response.json()[0]["message"] == "The request can’t contain more than 25 operations."
    queries = [_sub("GET", "query/?q=SELECT+Id+FROM+Account+LIMIT+1", f"q{n}") for n in range(3)]
    queries += [_sub("GET", "queryAll/?q=SELECT+Id+FROM+Account+LIMIT+1", "all")]
    queries += [_sub("GET", "composite/sobjects/Account?ids=x&fields=Id", "coll")]
    assert [r["httpStatusCode"] for r in _results(_composite(sf_org, token, queries))] == [200] * 5
    sixth = [*queries, _sub("GET", "query/?q=SELECT+Id+FROM+Account", "q9")]
    response = _composite(sf_org, token, [*sixth, *many[:19]])
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "LIMIT_EXCEEDED"
    assert _results(_composite(sf_org, token, many[:25]))[24]["httpStatusCode"] == 201
    assert _count(sf_org, token, f"SELECT Id FROM Account WHERE Name = '{tag}'") == 25


_ACC = {"method": "POST", "url": f"{V}/sobjects/Account", "referenceId": "a", "body": {"Name": "x"}}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", "JSON_PARSER_ERROR"),
        (b"[]", "JSON_PARSER_ERROR"),
        (b"{}", "MISSING_ARGUMENT"),
        (b'{"compositeRequest": []}', "MISSING_ARGUMENT"),
        (b'{"compositeRequest": {"a": 1}}', "JSON_PARSER_ERROR"),
        (b'{"compositeRequest": [7]}', "JSON_PARSER_ERROR"),
        (b'{"compositeRequest": [{"method": "GET", "url": "/services/data/v68.0/limits"}]}',
         "JSON_PARSER_ERROR"),
        (b'{"compositeRequest": [{"method": 1, "url": "/x", "referenceId": "a"}]}',
         "JSON_PARSER_ERROR"),
        (b'{"allOrNone": "maybe", "compositeRequest": []}', "JSON_PARSER_ERROR"),
        (b'{"collateSubrequests": 3, "compositeRequest": []}', "JSON_PARSER_ERROR"),
    ],
)  # fmt: skip
def test_malformed_bodies_are_refused_whole(
    sf_org: Org, token: str, body: bytes, code: str
) -> None:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    response = sf_org.client.post(COMPOSITE, headers=headers, content=body)
    assert response.status_code == 400, response.text
    assert response.json()[0]["errorCode"] == code


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"method": "post"}, "INVALID_INPUT"),  # methods are case-sensitive
        ({"method": "HEAD"}, "INVALID_INPUT"),
        ({"url": "/services/apexrest/x"}, "INVALID_INPUT"),
        ({"url": "sobjects/Account"}, "INVALID_INPUT"),
        ({"referenceId": "my-ref"}, "JSON_PARSER_ERROR"),
        ({"referenceId": "_ref"}, "JSON_PARSER_ERROR"),
        ({"httpHeaders": {"Authorization": "Bearer x"}}, "INVALID_INPUT"),
        ({"httpHeaders": {"content-type": "text/plain"}}, "INVALID_INPUT"),
        ({"httpHeaders": {"X-Thing": 1}}, "JSON_PARSER_ERROR"),
    ],
)
def test_bad_subrequests_refuse_the_whole_request(
    sf_org: Org, token: str, change: dict[str, Any], code: str
) -> None:
    tag = _tag()
    good = {**_ACC, "body": {"Name": tag}}
    response = _composite(sf_org, token, [good, {**_ACC, "referenceId": "b", **change}])
    assert response.status_code == 400, response.text
    assert response.json()[0]["errorCode"] == code
    assert _count(sf_org, token, f"SELECT Id FROM Account WHERE Name = '{tag}'") == 0


def test_duplicate_reference_ids_refuse_the_whole_request(sf_org: Org, token: str) -> None:
    response = _composite(sf_org, token, [_ACC, _ACC])
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "INVALID_INPUT"
    assert "a" in response.json()[0]["message"]


def test_other_subrequest_headers_are_accepted(sf_org: Org, token: str) -> None:
    (result,) = _results(_composite(sf_org, token, [
        {**_ACC, "body": {"Name": _tag()}, "httpHeaders": {"Sforce-Auto-Assign": "FALSE"}}]))  # fmt: skip
    assert result["httpStatusCode"] == 201


@pytest.mark.parametrize(
    "url",
    [
        f"{V}/limits",
        f"{V}/composite/tree/Account",
        f"{V}/composite",
        f"{V}/nope",
        "/services/data/v99.0/sobjects/Account",
        "/services/data/v68.0",
    ],
)
def test_resources_composite_does_not_serve_answer_not_found(
    sf_org: Org, token: str, url: str
) -> None:
    (result,) = _results(_composite(sf_org, token, [_sub("POST", url, "r", {"records": []})]))
    assert result["httpStatusCode"] == 404
    assert result["body"][0]["errorCode"] == "NOT_FOUND"


def test_composite_from_v34(sf_org: Org, token: str) -> None:
    body = {"compositeRequest": [{**_ACC, "body": {"Name": _tag()}}]}
    old = sf_org.api("POST", "/services/data/v33.0/composite", token, json=body)
    assert old.status_code == 404
    assert old.json()[0]["errorCode"] == "NOT_FOUND"
    first = sf_org.api("POST", "/services/data/v34.0/composite", token, json=body)
    assert first.status_code == 200
    # The listing is unchanged: Composite itself is the URL listed, not an entry.
    listing = sf_org.api("GET", COMPOSITE, token).json()
    assert set(listing) == {"tree", "sobjects"}
    assert sf_org.api("PATCH", COMPOSITE, token, json=body).status_code == 404


def test_composite_needs_a_session(sf_org: Org) -> None:
    response = sf_org.client.post(COMPOSITE, json={"compositeRequest": [_ACC]})
    assert response.status_code == 401
    assert response.json()[0]["errorCode"] == "INVALID_AUTH_HEADER"


# --- a real client -----------------------------------------------------------------------------


def test_simple_salesforce_restful_composite(
    key_pair: KeyPair, monkeypatch: pytest.MonkeyPatch
) -> None:
    """simple-salesforce's generic ``restful`` call, unchanged, over TLS."""
    tag = _tag()
    with simple_salesforce_over_tls(key_pair, monkeypatch) as (_, api):
        version = api.sf_version
        answer = api.restful("composite", method="POST", json={"allOrNone": True,
            "compositeRequest": [
                _sub("POST", f"/services/data/v{version}/sobjects/Account", "acc",
                     {"Name": tag}),
                _sub("POST", f"/services/data/v{version}/sobjects/Contact", "con",
                     {"LastName": tag, "AccountId": "@{acc.id}"}),
            ]})  # fmt: skip
        codes = [r["httpStatusCode"] for r in answer["compositeResponse"]]
        assert codes == [201, 201]
        found = api.query(f"SELECT AccountId FROM Contact WHERE LastName = '{tag}'")
        assert found["records"][0]["AccountId"] == answer["compositeResponse"][0]["body"]["id"]


# --- bad input, generated --------------------------------------------------------------------

_scalars = (
    st.none() | st.booleans() | st.integers(-(10**20), 10**20) | st.text(max_size=12)
    | st.sampled_from(["@{a.id}", "@{a.records[0].Id}", "@{", "@{}", "@{a..b}", "@{a[x]}"])
)  # fmt: skip
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)  # fmt: skip
_urls = st.sampled_from([
    "sobjects/Account", "sobjects/Account/@{a.id}", "sobjects/Contact", "query/?q=SELECT+Id+FROM+Account+LIMIT+2",
    "query/?q=@{a.id}", "composite/sobjects", "sobjects/Account/%00", "sobjects/@{a.x}", "queryAll/?q=",
    "sobjects/Account/001000000000000AAA?fields=@{a.records[0].Id}", "sobjects/Account/\u00e9?x=\u00e9 y",
])  # fmt: skip
_subrequests = st.fixed_dictionaries(
    {
        "method": st.sampled_from(["GET", "POST", "PATCH", "DELETE", "PUT"]),
        "url": _urls.map(lambda u: f"{V}/{u}"),
        "referenceId": st.sampled_from(["a", "b", "c", "d"]),
    },
    optional={"body": _values, "httpHeaders": st.dictionaries(st.sampled_from(["X-A", "If-Match"]), st.text(max_size=4))},
) | _values  # fmt: skip


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    subs=st.lists(_subrequests, max_size=5),
    all_or_none=st.sampled_from([True, False, "true", None, 1]),
    extra=st.dictionaries(st.text(max_size=5), _values, max_size=2),
)
def test_generated_bodies_never_give_a_server_error(
    sf_org: Org, token: str, subs: Any, all_or_none: Any, extra: dict[str, Any]
) -> None:
    body = {**extra, "compositeRequest": subs, "allOrNone": all_or_none}
    response = sf_org.api("POST", COMPOSITE, token, json=body)
    assert response.status_code < 500, response.text
    answer = response.json()
    if response.status_code == 200:
        results = answer["compositeResponse"]
        assert [r["referenceId"] for r in results] == [s["referenceId"] for s in subs]
        assert all(r["httpStatusCode"] < 500 for r in results), results
    else:
        assert isinstance(answer, list)
