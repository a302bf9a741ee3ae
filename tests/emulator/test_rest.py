"""The REST slice over a real loopback socket: versions, limits, CRUD, query paging, errors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sfbearer.emulator import Emulator, EmulatorConfig
from sfbearer.keys import KeyPair

from .conftest import Org, make_org

V = "/services/data/v68.0"


@pytest.fixture
def token(sf_org: Org) -> str:
    return sf_org.login()


def test_versions_list(sf_org: Org) -> None:
    for path in ("/services/data", "/services/data/"):
        versions = sf_org.client.get(path).json()
        assert versions[-1] == {
            "label": "Winter '27",
            "url": "/services/data/v68.0",
            "version": "68.0",
        }
        assert {"label": "Spring '26", "url": "/services/data/v66.0", "version": "66.0"} in versions


def test_resources_and_limit_header(sf_org: Org, token: str) -> None:
    first = sf_org.api("GET", f"{V}/", token)
    assert first.json()["query"] == f"{V}/query"
    assert first.json()["jobs"] == f"{V}/jobs"  # Bulk API 2.0
    used = int(first.headers["sforce-limit-info"].split("=")[1].split("/")[0])
    second = sf_org.api("GET", V, token)
    assert second.headers["sforce-limit-info"] == f"api-usage={used + 1}/15000"
    limits = sf_org.api("GET", f"{V}/limits/", token).json()
    assert limits["DailyApiRequests"] == {"Max": 15000, "Remaining": 15000 - used - 2}
    assert "jobs" not in sf_org.api("GET", "/services/data/v40.0/", token).json()


def test_unknown_version_is_404(sf_org: Org, token: str) -> None:
    assert sf_org.api("GET", "/services/data/v99.0/", token).status_code == 404
    assert sf_org.api("GET", "/services/data/v10.0/", token).status_code == 404


def test_daily_limit_exceeded(key_pair: KeyPair) -> None:
    with Emulator(config=EmulatorConfig(daily_api_limit=3)) as sf:
        for org in make_org(sf, key_pair):
            token = org.login()
            for _ in range(3):
                assert org.api("GET", f"{V}/", token).status_code == 200
            response = org.api("GET", f"{V}/", token)
            assert response.status_code == 403
            assert response.json()[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
            assert response.json()[0]["message"] == "TotalRequests Limit exceeded."
            assert response.headers["sforce-limit-info"] == "api-usage=3/3"
            sf.clock.advance(days=1)  # a new day, a new allowance (and a new session)
            assert org.api("GET", f"{V}/", org.login()).status_code == 200


@pytest.mark.parametrize("slash", ["", "/"])
def test_crud(sf_org: Org, token: str, slash: str) -> None:
    created = sf_org.api("POST", f"{V}/sobjects/Account{slash}", token, json={"Name": "Acme"})
    assert created.status_code == 201
    body = created.json()
    assert body["success"] is True
    assert body["errors"] == []
    record_id = body["id"]
    assert record_id.startswith("001")
    assert len(record_id) == 18
    got = sf_org.api("GET", f"{V}/sobjects/Account/{record_id}{slash}", token).json()
    assert got["Name"] == "Acme"
    assert got["attributes"] == {"type": "Account", "url": f"{V}/sobjects/Account/{record_id}"}
    patched = sf_org.api(
        "PATCH", f"{V}/sobjects/Account/{record_id}{slash}", token, json={"Name": "Acme 2"}
    )
    assert patched.status_code == 204
    some = sf_org.api("GET", f"{V}/sobjects/Account/{record_id}", token, params={"fields": "Name"})
    assert set(some.json()) == {"attributes", "Name"}
    assert some.json()["Name"] == "Acme 2"
    assert (
        sf_org.api("DELETE", f"{V}/sobjects/Account/{record_id}{slash}", token).status_code == 204
    )
    gone = sf_org.api("GET", f"{V}/sobjects/Account/{record_id}", token)
    assert gone.status_code == 404
    assert gone.json()[0]["errorCode"] in ("NOT_FOUND", "ENTITY_IS_DELETED")


def test_describe_and_list(sf_org: Org, token: str) -> None:
    names = {s["name"] for s in sf_org.api("GET", f"{V}/sobjects/", token).json()["sobjects"]}
    assert {"Organization", "User", "Account", "Contact", "Opportunity", "Case"} <= names
    describe = sf_org.api("GET", f"{V}/sobjects/Contact/describe/", token).json()
    assert describe["keyPrefix"] == "003"
    assert any(f["name"] == "LastName" for f in describe["fields"])
    assert [r["relationshipName"] for r in describe["childRelationships"]] == ["Cases"]
    info = sf_org.api("GET", f"{V}/sobjects/Account", token).json()
    assert info["objectDescribe"]["name"] == "Account"
    assert sf_org.api("GET", f"{V}/sobjects/Nope/describe", token).status_code == 404


def test_bad_json_bodies(sf_org: Org, token: str) -> None:
    for content in (b"{", b"[1]", b"\xff"):
        response = sf_org.api("POST", f"{V}/sobjects/Account", token, content=content)
        assert response.status_code == 400
        assert response.json()[0]["errorCode"] == "JSON_PARSER_ERROR"


def test_query_errors(sf_org: Org, token: str) -> None:
    def q(text: str) -> tuple[int, str]:
        r = sf_org.api("GET", f"{V}/query/", token, params={"q": text})
        return r.status_code, r.json()[0]["errorCode"]

    assert q("SELECT FROM") == (400, "MALFORMED_QUERY")
    assert q("SELECT Bogus FROM Account") == (400, "INVALID_FIELD")
    assert q("SELECT Id FROM Bogus") == (400, "INVALID_TYPE")
    missing = sf_org.api("GET", f"{V}/query/", token)
    assert missing.status_code == 400


def test_organization_and_user_rows(sf_org: Org, token: str) -> None:
    org_q = "SELECT Name, InstanceName, IsSandbox, TrialExpirationDate, NamespacePrefix, OrganizationType FROM Organization"
    rows = sf_org.api("GET", f"{V}/query", token, params={"q": org_q}).json()["records"]
    assert rows[0]["IsSandbox"] is False
    user_q = f"SELECT Id, Username FROM User WHERE Username = '{sf_org.username}'"
    users = sf_org.api("GET", f"{V}/query", token, params={"q": user_q}).json()["records"]
    assert len(users) == 1
    identity = sf_org.api("GET", "/services/oauth2/userinfo", token).json()
    assert users[0]["Id"] == identity["user_id"]


@pytest.fixture
def small_batches(key_pair: KeyPair) -> Iterator[Org]:
    with Emulator(config=EmulatorConfig(query_batch_size=10)) as sf:
        for i in range(25):
            sf.records.create("Contact", {"LastName": f"C{i:02d}"})
        yield from make_org(sf, key_pair)


@pytest.mark.parametrize("endpoint", ["query", "queryAll"])
def test_query_paging(small_batches: Org, endpoint: str) -> None:
    org = small_batches
    token = org.login()
    org.sf.records.delete(
        "Contact",
        org.sf.records.query("SELECT Id FROM Contact WHERE LastName = 'C00'")["records"][0]["Id"],
    )
    page = org.api(
        "GET",
        f"{V}/{endpoint}/",
        token,
        params={"q": "SELECT LastName FROM Contact ORDER BY LastName"},
    ).json()
    names = [r["LastName"] for r in page["records"]]
    pages = 1
    while not page["done"]:
        page = org.api("GET", page["nextRecordsUrl"], token).json()
        names += [r["LastName"] for r in page["records"]]
        pages += 1
    expected = [f"C{i:02d}" for i in range(25)]
    if endpoint == "query":
        expected = expected[1:]
    assert names == expected
    assert pages == 3
    count = org.api("GET", f"{V}/query", token, params={"q": "SELECT COUNT() FROM Contact"}).json()
    assert count["totalSize"] == 24


@pytest.mark.parametrize(
    ("options", "sizes"),
    [
        ("batchSize=200", [200, 200, 50]),
        ("batchSize=50", [200, 200, 50]),  # below Salesforce's minimum: 200
        ("batchSize=300, other=1", [300, 150]),
        ("batchSize=9999", [450]),  # above the maximum: 2,000
        ("batchSize=lots", [450]),  # not a number: the default
        (None, [450]),
    ],
)
def test_query_options_batch_size(key_pair: KeyPair, options: str | None, sizes: list[int]) -> None:
    with Emulator() as sf:
        for i in range(450):
            sf.records.create("Contact", {"LastName": f"C{i:03d}"})
        for org in make_org(sf, key_pair):
            token = org.login()
            headers = {"Sforce-Query-Options": options} if options else {}
            params = {"q": "SELECT LastName FROM Contact ORDER BY LastName"}
            page = org.api("GET", f"{V}/query/", token, params=params, headers=headers).json()
            got, names = [len(page["records"])], [r["LastName"] for r in page["records"]]
            while not page["done"]:  # later pages keep the first page's size
                page = org.api("GET", page["nextRecordsUrl"], token).json()
                got.append(len(page["records"]))
                names += [r["LastName"] for r in page["records"]]
            assert got == sizes
            assert names == [f"C{i:03d}" for i in range(450)]


@pytest.mark.parametrize("value", [b"batchSize=\xb2", b"batchSize=" + b"9" * 5000, b"batchSize=-5"])
def test_query_options_that_are_not_a_number(sf_org: Org, token: str, value: bytes) -> None:
    # "\xb2" is latin-1 "²": a digit to str.isdigit, not to int().
    response = sf_org.api("GET", f"{V}/query/", token, params={"q": "SELECT Id FROM Organization"},
                          headers={"Sforce-Query-Options": value})  # fmt: skip
    assert response.status_code == 200, response.text
    assert response.json()["totalSize"] == 1
    assert sf_org.api("GET", f"{V}/", token).status_code == 200  # the connection carries on


def test_last_modified_by_is_the_session_user(sf_org: Org, token: str) -> None:
    sf = sf_org.sf
    sf.add_user(username="second@acme.com")
    sf.authorize(app=sf_org.app, user="second@acme.com")
    other = sf_org.login(sub="second@acme.com")
    made = sf_org.api("POST", f"{V}/sobjects/Account", token, json={"Name": "Who"}).json()["id"]
    who = "SELECT CreatedById, LastModifiedById FROM Account WHERE Id = '" + made + "'"

    def row() -> dict[str, str]:
        found = sf_org.api("GET", f"{V}/queryAll", token, params={"q": who}).json()
        return found["records"][0]

    first_user = row()["CreatedById"]
    assert row()["LastModifiedById"] == first_user
    assert (
        sf_org.api("PATCH", f"{V}/sobjects/Account/{made}", other, json={"Name": "W"}).status_code
        == 204
    )
    users = sf_org.api(
        "GET", f"{V}/query", token, params={"q": "SELECT Id, Username FROM User"}
    ).json()["records"]
    ids = {u["Username"]: u["Id"] for u in users}
    assert first_user == ids[sf_org.username]
    assert row()["LastModifiedById"] == ids["second@acme.com"]
    assert row()["CreatedById"] == first_user
    assert sf_org.api("DELETE", f"{V}/sobjects/Account/{made}", token).status_code == 204
    assert row()["LastModifiedById"] == first_user


@pytest.mark.parametrize(
    "body", ['{"Name": 1e400}', '{"Name": -1e400}', '{"AnnualRevenue": 1e999}']
)
def test_a_number_too_large_for_a_double_is_refused(sf_org: Org, token: str, body: str) -> None:
    response = sf_org.client.post(
        f"{V}/sobjects/Account",
        content=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert response.status_code == 400, response.text
    assert response.json()[0]["errorCode"] == "JSON_PARSER_ERROR"
    collection = sf_org.client.post(
        f"{V}/composite/sobjects",
        content='{"records": [{"attributes": {"type": "Account"}, ' + body[1:] + "]}",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert collection.status_code == 200, collection.text
    assert collection.json()[0]["success"] is False
