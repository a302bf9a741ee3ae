"""Bulk API 2.0: ingest and query jobs over loopback, with httpx and simple-salesforce."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sfbearer.keys import KeyPair

from .conftest import Org, simple_salesforce_over_tls

V = "/services/data/v68.0/jobs"


def _client(org: Org) -> tuple[str, dict[str, str]]:
    return org.login(), {}


def create(org: Org, token: str, path: str, body: Any) -> httpx.Response:
    return org.api("POST", f"{V}/{path}", token, json=body)


def upload(org: Org, token: str, job_id: str, data: str | bytes) -> httpx.Response:
    content = data.encode() if isinstance(data, str) else data
    return org.api("PUT", f"{V}/ingest/{job_id}/batches", token, content=content,
                   headers={"Content-Type": "text/csv"})  # fmt: skip


def close(org: Org, token: str, job_id: str, state: str = "UploadComplete") -> httpx.Response:
    return org.api("PATCH", f"{V}/ingest/{job_id}", token, json={"state": state})


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def ingest(org: Org, token: str, csv_text: str, **job: Any) -> str:
    created = create(org, token, "ingest", {"object": "Account", "operation": "insert", **job})
    assert created.status_code == 200, created.text
    job_id = str(created.json()["id"])
    assert upload(org, token, job_id, csv_text).status_code == 201
    assert close(org, token, job_id).status_code == 200
    return job_id


def test_ingest_insert_shapes_and_results(sf_org: Org) -> None:
    token = sf_org.login()
    created = create(sf_org, token, "ingest", {"object": "account", "operation": "insert",
                                               "contentType": "CSV", "lineEnding": "LF"})  # fmt: skip
    info = created.json()
    assert created.status_code == 200
    assert info["id"].startswith("750")
    assert len(info["id"]) == 18
    assert info["state"] == "Open"
    assert info["object"] == "Account"
    assert info["concurrencyMode"] == "Parallel"
    assert info["apiVersion"] == 68.0
    assert info["contentUrl"] == f"services/data/v68.0/jobs/ingest/{info['id']}/batches"
    job_id = info["id"]
    assert (
        upload(sf_org, token, job_id, "Name,NumberOfEmployees\nAcme Bulk,10\n").status_code == 201
    )
    assert upload(sf_org, token, job_id, "Name,NumberOfEmployees\n,5\n").status_code == 201
    closed = close(sf_org, token, job_id)
    assert closed.json()["state"] == "UploadComplete"
    got = sf_org.api("GET", f"{V}/ingest/{job_id}", token).json()
    assert got["state"] == "JobComplete"
    assert got["jobType"] == "V2Ingest"
    assert (got["numberRecordsProcessed"], got["numberRecordsFailed"]) == (2, 1)
    ok = sf_org.api("GET", f"{V}/ingest/{job_id}/successfulResults/", token)
    assert ok.headers["content-type"].startswith("text/csv")
    assert ok.text.startswith('"sf__Id","sf__Created",Name,NumberOfEmployees\n')
    [success] = rows(ok.text)
    assert success["sf__Created"] == "true"
    assert success["Name"] == "Acme Bulk"
    record = sf_org.api("GET", f"/services/data/v68.0/sobjects/Account/{success['sf__Id']}", token)
    assert record.json()["NumberOfEmployees"] == 10
    bad = sf_org.api("GET", f"{V}/ingest/{job_id}/failedResults", token).text
    [failure] = rows(bad)
    assert failure["sf__Id"] == ""
    assert failure["sf__Error"] == (
        "REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --"
    )
    unprocessed = sf_org.api("GET", f"{V}/ingest/{job_id}/unprocessedrecords", token).text
    assert unprocessed == "Name,NumberOfEmployees\n"
    # A finished job accepts no more data and no other state; then it can be deleted.
    assert upload(sf_org, token, job_id, "Name\nX\n").status_code == 409
    again = close(sf_org, token, job_id, "Aborted")
    assert again.status_code == 400
    assert again.json()[0]["errorCode"] == "INVALIDJOBSTATE"
    assert sf_org.api("DELETE", f"{V}/ingest/{job_id}", token).status_code == 204
    gone = sf_org.api("GET", f"{V}/ingest/{job_id}", token)
    assert gone.status_code == 404
    assert gone.json()[0]["errorCode"] == "NOT_FOUND"


def test_update_upsert_delete_and_null(sf_org: Org) -> None:
    token = sf_org.login()
    job_id = ingest(sf_org, token, "Name,Phone\nNull Co,555\n")
    ok = rows(sf_org.api("GET", f"{V}/ingest/{job_id}/successfulResults", token).text)
    record_id = ok[0]["sf__Id"]
    # Empty leaves a field as it is; #N/A sets it to null.
    job_id = ingest(sf_org, token, f"Id,Name,Phone\n{record_id},,#N/A\n", operation="update")
    url = f"/services/data/v68.0/sobjects/Account/{record_id}"
    record = sf_org.api("GET", url, token).json()
    assert record["Name"] == "Null Co"
    assert record["Phone"] is None
    upsert = ingest(sf_org, token, f"Id,Name\n{record_id},Renamed\n,Brand New\n",
                    operation="upsert", externalIdFieldName="Id")  # fmt: skip
    results = rows(sf_org.api("GET", f"{V}/ingest/{upsert}/successfulResults", token).text)
    assert [r["sf__Created"] for r in results] == ["false", "true"]
    assert sf_org.api("GET", url, token).json()["Name"] == "Renamed"
    deleted = ingest(sf_org, token, f"Id\n{record_id}\n001000000000000AAA\n", operation="delete")
    info = sf_org.api("GET", f"{V}/ingest/{deleted}", token).json()
    assert (info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (2, 1)
    assert sf_org.api("GET", url, token).status_code == 404


def test_failed_jobs_and_refusals(sf_org: Org) -> None:
    token = sf_org.login()
    job_id = ingest(sf_org, token, "Name,Bogus__c\nA,b\n")
    info = sf_org.api("GET", f"{V}/ingest/{job_id}", token).json()
    assert info["state"] == "Failed"
    assert info["errorMessage"] == "InvalidBatch : Field name not found : Bogus__c"
    unprocessed = sf_org.api("GET", f"{V}/ingest/{job_id}/unprocessedrecords", token).text
    assert unprocessed == "Name,Bogus__c\nA,b\n"
    crlf = ingest(sf_org, token, "Name\r\nA\r\n")
    assert (
        "LineEnding is invalid"
        in sf_org.api("GET", f"{V}/ingest/{crlf}", token).json()["errorMessage"]
    )
    tab = ingest(sf_org, token, "Name\tPhone\r\nTabbed\t1\r\n", columnDelimiter="TAB",
                 lineEnding="CRLF")  # fmt: skip
    assert sf_org.api("GET", f"{V}/ingest/{tab}", token).json()["numberRecordsFailed"] == 0
    for body, code in [
        ({"object": "Nope", "operation": "insert"}, "INVALIDENTITY"),
        ({"object": "Account", "operation": "merge"}, "INVALIDJOB"),
        ({"object": "Account", "operation": "upsert"}, "INVALIDJOB"),
        ({"object": "Account", "operation": "upsert", "externalIdFieldName": "Name"}, "INVALIDJOB"),
        ({"object": "Account", "operation": "insert", "columnDelimiter": "STAR"}, "INVALIDJOB"),
    ]:
        refused = create(sf_org, token, "ingest", body)
        assert (refused.status_code, refused.json()[0]["errorCode"]) == (400, code), body
    aborted = create(sf_org, token, "ingest", {"object": "Account", "operation": "insert"})
    aborted_id = aborted.json()["id"]
    assert close(sf_org, token, aborted_id, "Aborted").json()["state"] == "Aborted"
    assert sf_org.api("GET", f"{V}/ingest/750000000000000AAA", token).status_code == 404
    assert sf_org.api("GET", "/services/data/v40.0/jobs/ingest", token).status_code == 404
    listed = sf_org.api("GET", f"{V}/ingest", token).json()
    assert listed["done"] is True
    assert listed["nextRecordsUrl"] is None
    assert aborted_id in {j["id"] for j in listed["records"]}


def test_query_job_pages_and_parent_columns(sf_org: Org) -> None:
    token = sf_org.login()
    tag = sf_org.username.split("@")[0]
    ingest(sf_org, token, "Name\n" + "".join(f"{tag}-{i}\n" for i in range(5)))
    soql = f"SELECT Id, Name, Owner.Name FROM Account WHERE Name LIKE '{tag}-%' ORDER BY Name"
    created = create(sf_org, token, "query", {"operation": "query", "query": soql})
    info = created.json()
    assert created.status_code == 200
    assert info["state"] == "UploadComplete"
    assert info["object"] == "Account"
    assert info["id"].startswith("750")
    got = sf_org.api("GET", f"{V}/query/{info['id']}", token).json()
    assert got["state"] == "JobComplete"
    assert got["numberRecordsProcessed"] == 5
    names: list[str] = []
    params: dict[str, Any] = {"maxRecords": 2}
    for _ in range(4):
        page = sf_org.api("GET", f"{V}/query/{info['id']}/results", token, params=params)
        assert page.text.startswith('"Id","Name","Owner.Name"\n')
        names += [r["Name"] for r in rows(page.text)]
        assert int(page.headers["Sforce-NumberOfRecords"]) == len(rows(page.text))
        if page.headers["Sforce-Locator"] == "null":
            break
        params["locator"] = page.headers["Sforce-Locator"]
    assert names == [f"{tag}-{i}" for i in range(5)]
    bad = sf_org.api("GET", f"{V}/query/{info['id']}/results?locator=zzz", token)
    assert bad.status_code == 400
    for soql, code in [("SELECT Bogus FROM Account", "INVALID_FIELD"),
                       ("SELECT COUNT() FROM Account", "API_ERROR"),
                       ("SELECT Id FROM Account OFFSET 2", "API_ERROR")]:  # fmt: skip
        refused = create(sf_org, token, "query", {"operation": "query", "query": soql})
        assert (refused.status_code, refused.json()[0]["errorCode"]) == (400, code)
    assert sf_org.api("DELETE", f"{V}/query/{info['id']}", token).status_code == 204


_TEXT = st.text(st.characters(min_codepoint=1, max_codepoint=0x2FF), max_size=40)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.one_of(st.binary(max_size=200), _TEXT.map(str.encode)),
    head=st.sampled_from(["Name", "Name,Phone", "Id", "Id,Name", "Bogus", ""]),
    operation=st.sampled_from(["insert", "update", "upsert", "delete", "hardDelete"]),
    delimiter=st.sampled_from(["COMMA", "TAB", "PIPE", "CARET"]),
    body=st.one_of(st.none(), st.dictionaries(_TEXT, _TEXT | st.integers(), max_size=3)),
)
def test_random_csv_and_bodies_never_5xx(
    sf_org: Org, data: bytes, head: str, operation: str, delimiter: str, body: Any
) -> None:
    token = getattr(sf_org, "_bulk_token", None) or sf_org.login()
    sf_org._bulk_token = token  # type: ignore[attr-defined]
    job = {"object": "Account", "operation": operation, "columnDelimiter": delimiter,
           "externalIdFieldName": "Id"}  # fmt: skip
    created = create(sf_org, token, "ingest", job)
    assert created.status_code == 200
    job_id = created.json()["id"]
    statuses = [upload(sf_org, token, job_id, head.encode() + b"\n" + data).status_code,
                close(sf_org, token, job_id).status_code]  # fmt: skip
    for tail in ("", "/successfulResults", "/failedResults", "/unprocessedrecords"):
        statuses.append(sf_org.api("GET", f"{V}/ingest/{job_id}{tail}", token).status_code)
    statuses.append(sf_org.api("PATCH", f"{V}/ingest/{job_id}", token, json=body).status_code)
    statuses.append(create(sf_org, token, "ingest", body).status_code)
    statuses.append(create(sf_org, token, "query", body).status_code)
    statuses.append(sf_org.api("DELETE", f"{V}/ingest/{job_id}", token).status_code)
    assert all(s < 500 for s in statuses), statuses


def test_simple_salesforce_bulk2(key_pair: KeyPair, monkeypatch: pytest.MonkeyPatch) -> None:
    with simple_salesforce_over_tls(key_pair, monkeypatch) as (_, sf):
        records = [{"Name": f"SS Bulk {i}", "NumberOfEmployees": str(i)} for i in range(3)]
        [inserted] = sf.bulk2.Account.insert(records=records, wait=0)
        assert inserted["numberRecordsProcessed"] == 3
        assert inserted["numberRecordsFailed"] == 0
        results = sf.bulk2.Account.get_all_ingest_records(inserted["job_id"])
        ids = [r["sf__Id"] for r in results["successfulRecords"]]
        assert len(ids) == 3
        assert results["failedRecords"] == []
        upserted = sf.bulk2.Account.upsert(
            records=[{"Id": ids[0], "Name": "SS Renamed"}, {"Id": "", "Name": "SS New"}],
            external_id_field="Id", wait=0,
        )  # fmt: skip
        assert upserted[0]["numberRecordsFailed"] == 0
        pages = list(sf.bulk2.Account.query(
            "SELECT Id, Name FROM Account WHERE Name LIKE 'SS %' ORDER BY Name",
            max_records=2, wait=0,
        ))  # fmt: skip
        names = [r["Name"] for page in pages for r in rows(page)]
        assert names == ["SS Bulk 1", "SS Bulk 2", "SS New", "SS Renamed"]
        [deleted] = sf.bulk2.Account.delete(records=[{"Id": ids[1]}], wait=0)
        assert deleted["numberRecordsProcessed"] == 1
        assert deleted["numberRecordsFailed"] == 0
        everything = list(sf.bulk2.Account.query_all(
            "SELECT Id, IsDeleted FROM Account WHERE Name LIKE 'SS %'", wait=0))  # fmt: skip
        flags = sorted(r["IsDeleted"] for page in everything for r in rows(page))
        assert flags == ["false", "false", "false", "true"]
