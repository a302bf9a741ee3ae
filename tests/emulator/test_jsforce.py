"""jsforce, unchanged, against the emulator over TLS (trusted through NODE_EXTRA_CA_CERTS).

jsforce's own JWT bearer login (``Connection.authorize`` with the jwt-bearer grant, the assertion
signed by Node's crypto), then its REST calls: query, sObject create/retrieve/update/destroy
(one record, and arrays of records through sObject Collections), describe, identity, limits
and logout; and a ``Connection`` built from a token sfbearer obtained.

jsforce is found in the directory named by ``SFBEARER_NODE_MODULES`` (an ``npm install --prefix``
directory or a ``node_modules`` directory). Without node or jsforce the tests skip; with
``SFBEARER_REQUIRE_SERVICES=1`` and ``SFBEARER_NODE_MODULES`` set, a missing jsforce fails them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sfbearer import JWTBearerCredentials
from sfbearer.emulator import Emulator, EmulatorConfig
from sfbearer.keys import KeyPair, write_key_pair

# Read at import: the suite's autouse fixture clears SFBEARER_* variables for each test.
_NODE_MODULES = os.environ.get("SFBEARER_NODE_MODULES", "")
_REQUIRED = os.environ.get("SFBEARER_REQUIRE_SERVICES") == "1" and bool(_NODE_MODULES)
NODE = shutil.which("node")
USERNAME = "jsforce@acme.com"

SCRIPT = r"""
const crypto = require("crypto");
const fs = require("fs");
const jsforce = require("jsforce");
const [loginUrl, clientId, username, keyFile] = process.argv.slice(2);
const tokenJson = process.env.TOKEN_JSON;  // not in argv, where any local user could read it
const b64url = (b) => Buffer.from(b).toString("base64url");
// Each step records its value or the error jsforce raised, so one failure does not hide others.
const step = async (out, name, fn) => {
  try { out[name] = await fn(); }
  catch (e) { out[name] = { error: String(e.name), errorCode: e.errorCode || null, message: String(e.message) }; }
};

(async () => {
  const out = { version: jsforce.VERSION };
  const now = Math.floor(Date.now() / 1000);
  const header = b64url(JSON.stringify({ alg: "RS256", typ: "JWT" }));
  const claims = b64url(JSON.stringify({ iss: clientId, sub: username, aud: loginUrl, exp: now + 180 }));
  const sig = crypto.sign("RSA-SHA256", Buffer.from(header + "." + claims), fs.readFileSync(keyFile));
  const assertion = header + "." + claims + "." + b64url(sig);

  const conn = new jsforce.Connection({ loginUrl });
  await step(out, "authorize", async () => {
    const u = await conn.authorize({ grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion });
    return { id: u.id, organizationId: u.organizationId, url: u.url, instanceUrl: conn.instanceUrl };
  });
  await step(out, "query", async () => {
    const r = await conn.query("SELECT Id, Name FROM Account ORDER BY Name");
    return { totalSize: r.totalSize, done: r.done, names: r.records.map((x) => x.Name),
             type: r.records[0].attributes.type };
  });
  let id = null;
  await step(out, "create", async () => {
    const r = await conn.sobject("Account").create({ Name: "Jsforce Co" });
    id = r.id;
    return { success: r.success, idLength: r.id.length, errors: r.errors };
  });
  await step(out, "retrieve", async () => (await conn.sobject("Account").retrieve(id)).Name);
  await step(out, "update", async () => {
    const r = await conn.sobject("Account").update({ Id: id, Name: "Jsforce Co 2" });
    return { success: r.success, sameId: r.id === id };
  });
  await step(out, "retrieveUpdated", async () => (await conn.sobject("Account").retrieve(id)).Name);
  await step(out, "destroy", async () => {
    const r = await conn.sobject("Account").destroy(id);
    return { success: r.success, sameId: r.id === id };
  });
  await step(out, "retrieveDestroyed", async () => (await conn.sobject("Account").retrieve(id)).Name);
  await step(out, "queryAll", async () =>
    (await conn.query("SELECT Id FROM Account WHERE Id = '" + id + "'", { scanAll: true })).totalSize);
  // Arrays go through sObject Collections (jsforce uses them from API v42.0 on).
  const manyIds = [];
  await step(out, "createMany", async () => {
    const r = await conn.sobject("Account").create([{ Name: "Many 1" }, { Name: "Many 2" }, { Name: "Many 3" }]);
    manyIds.push(...r.map((x) => x.id));
    return r.map((x) => ({ success: x.success, idLength: x.id.length, errors: x.errors }));
  });
  await step(out, "retrieveMany", async () =>
    (await conn.sobject("Account").retrieve([manyIds[2], manyIds[0], "001000000000000AAA"])).map((x) => x && x.Name));
  await step(out, "updateMany", async () => {
    const r = await conn.sobject("Account").update(manyIds.map((id, i) => ({ Id: id, Name: `Many ${i + 1}b` })));
    return r.map((x, i) => ({ success: x.success, sameId: x.id === manyIds[i] }));
  });
  await step(out, "retrieveUpdatedMany", async () =>
    (await conn.sobject("Account").retrieve(manyIds)).map((x) => x.Name));
  await step(out, "createManyAllOrNone", async () => {
    const r = await conn.sobject("Account").create([{ Name: "Never" }, { Description: "no name" }], { allOrNone: true });
    return r.map((x) => ({ success: x.success, id: x.id || null, codes: x.errors.map((e) => e.statusCode) }));
  });
  await step(out, "neverCount", async () => await conn.sobject("Account").count({ Name: "Never" }));
  await step(out, "createManyPartial", async () => {
    const r = await conn.sobject("Account").create([{ Name: "Many 4" }, { Name: "x", Nope__c: 1 }]);
    if (r[0].id) manyIds.push(r[0].id);
    return r.map((x) => ({ success: x.success, codes: x.errors.map((e) => e.statusCode) }));
  });
  await step(out, "destroyMany", async () => {
    const r = await conn.sobject("Account").destroy(manyIds);
    return r.map((x, i) => ({ success: x.success, sameId: x.id === manyIds[i] }));
  });
  await step(out, "retrieveDestroyedMany", async () => await conn.sobject("Account").retrieve(manyIds));
  await step(out, "paged", async () => {
    // More rows than one batch: jsforce follows nextRecordsUrl by itself.
    const r = await conn.query("SELECT Id FROM User", { autoFetch: true, maxFetch: 100 });
    return { totalSize: r.totalSize, fetched: r.records.length, done: r.done };
  });
  await step(out, "count", async () => await conn.sobject("Account").count({ Name: "Alpha" }));
  await step(out, "find", async () =>
    (await conn.sobject("Account").find({ Name: { $like: "B%" } }, ["Id", "Name"]).sort({ Name: 1 }).limit(5))
      .map((x) => x.Name));
  await step(out, "describeGlobal", async () =>
    (await conn.describeGlobal()).sobjects.some((o) => o.name === "Account"));
  await step(out, "describe", async () => {
    const r = await conn.sobject("Account").describe();
    return { name: r.name, hasName: r.fields.some((f) => f.name === "Name") };
  });
  await step(out, "identity", async () => {
    const r = await conn.identity();
    return { username: r.username, user_id: r.user_id, organization_id: r.organization_id };
  });
  await step(out, "limits", async () => (await conn.limits()).DailyApiRequests.Max);
  await step(out, "badQuery", async () => (await conn.query("SELECT Id FROM Nope")).totalSize);
  // Upserts by an external id field: one record (sObject Rows by External ID), then several
  // (the sObject Collections upsert).
  await step(out, "upsertOne", async () => {
    const a = await conn.sobject("Account").upsert({ Name: "Upserted", Erp_Id__c: "J-1" }, "Erp_Id__c");
    const b = await conn.sobject("Account").upsert({ Name: "Upserted 2", Erp_Id__c: "j-1" }, "Erp_Id__c");
    return { first: [a.success, a.created], second: [b.success, b.created], sameId: a.id === b.id };
  });
  await step(out, "upsertMany", async () => {
    const r = await conn.sobject("Account").upsert(
      [{ Name: "Upserted 3", Erp_Id__c: "J-1" }, { Name: "Upserted 4", Erp_Id__c: "J-2" }], "Erp_Id__c");
    return r.map((x) => [x.success, x.created]);
  });
  await step(out, "upserted", async () =>
    (await conn.query("SELECT Name FROM Account WHERE Erp_Id__c != null ORDER BY Name")).records.map((x) => x.Name));
  await step(out, "aggregate", async () =>
    (await conn.query("SELECT COUNT(Id) n FROM Account WHERE Erp_Id__c != null")).records[0].n);

  const token = JSON.parse(tokenJson);
  const fromToken = new jsforce.Connection({ instanceUrl: token.instance_url, accessToken: token.access_token });
  await step(out, "tokenQuery", async () => (await fromToken.query("SELECT Id, Name FROM Account")).totalSize);
  await step(out, "tokenIdentity", async () => {
    const r = await fromToken.identity();
    return { username: r.username, user_id: r.user_id };
  });

  const loggedOut = new jsforce.Connection({ instanceUrl: conn.instanceUrl, accessToken: conn.accessToken });
  await step(out, "logout", async () => { await conn.logout(); return true; });
  await step(out, "afterLogout", async () => (await loggedOut.query("SELECT Id FROM Account")).totalSize);
  await step(out, "otherAfterLogout", async () => (await fromToken.query("SELECT Id FROM Account")).totalSize);
  console.log(JSON.stringify(out));
})().catch((e) => { console.error(String(e && e.stack)); process.exit(1); });
"""


def _jsforce_dir() -> Path | None:
    """The ``node_modules`` directory holding jsforce, if there is one."""
    if not _NODE_MODULES:
        return None
    root = Path(_NODE_MODULES)
    for candidate in (root / "node_modules", root):
        if (candidate / "jsforce" / "package.json").is_file():
            return candidate
    return None


def _unavailable(reason: str) -> None:
    if _REQUIRED:
        pytest.fail(f"{reason} (SFBEARER_REQUIRE_SERVICES=1)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def node_modules() -> Path:
    if NODE is None:
        _unavailable("node is not installed")
    found = _jsforce_dir()
    if found is None:
        _unavailable(
            "jsforce is not installed: set SFBEARER_NODE_MODULES to a directory made by "
            "`npm install --prefix DIR jsforce@3`"
        )
    assert found is not None
    return found


@pytest.fixture(scope="module")
def run(
    node_modules: Path, key_pair: KeyPair, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Emulator, dict[str, Any]]]:
    """One jsforce session against a fresh TLS emulator; every step's outcome, by name."""
    work = tmp_path_factory.mktemp("jsforce")
    key_path, _ = write_key_pair(key_pair, work / "keys")
    script = work / "check.js"
    script.write_text(SCRIPT)
    # Small query batches, so a query of the users takes several pages.
    with Emulator(tls=True, config=EmulatorConfig(query_batch_size=2)) as sf:
        app = sf.add_app(name="jsforce", certificate=key_pair.certificate)
        for n in range(4):
            sf.add_user(username=f"other{n}@acme.com")
        sf.add_user(username=USERNAME)
        sf.authorize(app="jsforce", user=USERNAME)
        for name in ("Beta", "Alpha"):
            sf.records.create("Account", {"Name": name})
        sf.add_field("Account", "Erp_Id__c", "string", external_id=True, unique=True)
        with JWTBearerCredentials(
            client_id=app.consumer_key,
            username=USERNAME,
            private_key=key_pair.private_key,
            environment=sf.url,
            ca_bundle=str(sf.ca_path),
        ) as creds:
            token = creds.token()
            token_json = json.dumps(
                {"instance_url": token.instance_url, "access_token": token.access_token}
            )
        env = {k: v for k, v in os.environ.items() if not k.startswith("SFBEARER_")}
        env.update(
            NODE_PATH=str(node_modules), NODE_EXTRA_CA_CERTS=str(sf.ca_path), TOKEN_JSON=token_json
        )
        done = subprocess.run(
            [str(NODE), str(script), sf.url, app.consumer_key, USERNAME, str(key_path)],
            capture_output=True, text=True, env=env, timeout=60, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        yield sf, json.loads(done.stdout)


def test_jwt_bearer_login_with_authorize(run: tuple[Emulator, dict[str, Any]]) -> None:
    sf, out = run
    assert out["version"].startswith("3.")
    login = out["authorize"]
    assert login["organizationId"] == sf.org_id
    assert login["instanceUrl"] == sf.url
    assert login["url"].startswith(f"{sf.url}/id/{sf.org_id}/")
    assert login["id"] == login["url"].rsplit("/", 1)[1]
    assert sf.stats()["token_requests"]["by_user"][USERNAME] >= 2  # jsforce's and sfbearer's


def test_query_and_crud(run: tuple[Emulator, dict[str, Any]]) -> None:
    _, out = run
    assert out["query"] == {
        "totalSize": 2,
        "done": True,
        "names": ["Alpha", "Beta"],
        "type": "Account",
    }
    assert out["create"] == {"success": True, "idLength": 18, "errors": []}
    assert out["retrieve"] == "Jsforce Co"
    assert out["update"] == {"success": True, "sameId": True}
    assert out["retrieveUpdated"] == "Jsforce Co 2"
    assert out["destroy"] == {"success": True, "sameId": True}
    assert out["retrieveDestroyed"]["errorCode"] == "ENTITY_IS_DELETED"  # in the recycle bin
    assert out["queryAll"] == 1  # the deleted row, still in the recycle bin


def test_multi_record_create_retrieve_update_destroy(run: tuple[Emulator, dict[str, Any]]) -> None:
    sf, out = run
    assert out["createMany"] == [{"success": True, "idLength": 18, "errors": []}] * 3
    assert out["retrieveMany"] == ["Many 3", "Many 1", None]  # null for an id not found
    assert out["updateMany"] == [{"success": True, "sameId": True}] * 3
    assert out["retrieveUpdatedMany"] == ["Many 1b", "Many 2b", "Many 3b"]
    assert out["createManyAllOrNone"] == [
        {"success": False, "id": None, "codes": ["ALL_OR_NONE_OPERATION_ROLLED_BACK"]},
        {"success": False, "id": None, "codes": ["REQUIRED_FIELD_MISSING"]},
    ]
    assert out["neverCount"] == 0  # rolled back
    assert out["createManyPartial"] == [
        {"success": True, "codes": []},
        {"success": False, "codes": ["INVALID_FIELD"]},
    ]
    assert out["destroyMany"] == [{"success": True, "sameId": True}] * 4
    assert out["retrieveDestroyedMany"] == [None] * 4
    deleted = sf.records.query(
        "SELECT Name FROM Account WHERE Name LIKE 'Many%'", include_deleted=True
    )
    assert sorted(r["Name"] for r in deleted["records"]) == [
        "Many 1b",
        "Many 2b",
        "Many 3b",
        "Many 4",
    ]


def test_paging_count_find_and_describe_global(run: tuple[Emulator, dict[str, Any]]) -> None:
    _, out = run
    assert out["paged"]["fetched"] == out["paged"]["totalSize"]
    assert out["paged"]["totalSize"] >= 5  # five users of ours, in pages of two
    assert out["paged"]["done"] is True
    assert out["count"] == 1
    assert out["find"] == ["Beta"]
    assert out["describeGlobal"] is True


def test_describe_identity_limits_and_errors(run: tuple[Emulator, dict[str, Any]]) -> None:
    sf, out = run
    assert out["describe"] == {"name": "Account", "hasName": True}
    assert out["identity"]["username"] == USERNAME
    assert out["identity"]["organization_id"] == sf.org_id
    assert out["identity"]["user_id"] == out["authorize"]["id"]
    assert out["limits"] == 15000
    assert out["badQuery"]["errorCode"] == "INVALID_TYPE"


def test_upsert_by_external_id(run: tuple[Emulator, dict[str, Any]]) -> None:
    _, out = run
    assert out["upsertOne"] == {"first": [True, True], "second": [True, False], "sameId": True}
    assert out["upsertMany"] == [[True, False], [True, True]]
    assert out["upserted"] == ["Upserted 3", "Upserted 4"]
    assert out["aggregate"] == 2


def test_connection_from_an_sfbearer_token(run: tuple[Emulator, dict[str, Any]]) -> None:
    _, out = run
    assert out["tokenQuery"] == 4  # Alpha, Beta and the two upserted
    assert out["tokenIdentity"] == {"username": USERNAME, "user_id": out["authorize"]["id"]}


def test_logout_revokes_only_jsforces_session(run: tuple[Emulator, dict[str, Any]]) -> None:
    _, out = run
    assert out["logout"] is True
    assert out["afterLogout"]["errorCode"] == "INVALID_SESSION_ID"
    assert out["otherAfterLogout"] == 4  # sfbearer's own session is untouched


def test_resources_by_version_name_the_callers_identity(key_pair: KeyPair) -> None:
    """What jsforce's ``identity()`` reads when it has only a token: an absolute URL."""
    import httpx
    import jwt

    with Emulator() as sf:
        app = sf.add_app(name="ids", certificate=key_pair.certificate)
        user = sf.add_user(username=USERNAME)
        sf.authorize(app="ids", user=USERNAME)
        claims = {"iss": app.consumer_key, "sub": USERNAME, "aud": sf.url, "exp": 2**31}
        with httpx.Client(base_url=sf.url, timeout=10) as client:
            token = client.post(
                "/services/oauth2/token",
                data={
                    "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                    "assertion": jwt.encode(claims, key_pair.private_key, algorithm="RS256"),
                },
            ).json()
            auth = {"Authorization": f"Bearer {token['access_token']}"}
            resources = client.get("/services/data/v68.0/", headers=auth).json()
            assert resources["identity"] == token["id"]
            assert resources["identity"] == f"{sf.url}/id/{sf.org_id}/{user.id}"
            assert resources["query"] == "/services/data/v68.0/query"
            assert client.get(resources["identity"], headers=auth).json()["username"] == USERNAME
