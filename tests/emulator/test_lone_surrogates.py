"""Lone UTF-16 surrogates (``"\\ud800"``: what JSON encoders send for a broken string) in every
place a client's text reaches: never a 5xx, never a dropped connection, always valid JSON."""

from __future__ import annotations

import json

import httpx
import pytest

from .conftest import Org

V = "/services/data/v68.0"
BROKEN = "a\ud800b\udfffc"
RAW = json.dumps(BROKEN)  # '"a\\ud800b\\udfffc"': escapes only, as Python and JavaScript send it


@pytest.fixture
def token(sf_org: Org) -> str:
    return sf_org.login()


def send(org: Org, method: str, path: str, token: str, body: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    response = org.client.request(method, path, content=body.encode("ascii"), headers=headers)
    assert response.status_code < 500, response.text
    json.loads(response.content.decode("utf-8"))  # valid UTF-8, valid JSON
    return response


def test_a_stored_lone_surrogate_reads_back_as_it_was_sent(sf_org: Org, token: str) -> None:
    created = send(sf_org, "POST", f"{V}/sobjects/Account", token, f'{{"Name": {RAW}}}')
    assert created.status_code == 201
    record_id = created.json()["id"]
    got = sf_org.api("GET", f"{V}/sobjects/Account/{record_id}", token)
    assert got.status_code == 200
    assert got.json()["Name"] == BROKEN
    soql = f"SELECT Id, Name FROM Account WHERE Id = '{record_id}'"
    for endpoint in ("query", "queryAll"):
        found = sf_org.api("GET", f"{V}/{endpoint}/", token, params={"q": soql})
        assert found.status_code == 200
        assert found.json()["records"][0]["Name"] == BROKEN
    # The same keep-alive connection still answers afterwards.
    assert sf_org.api("GET", f"{V}/", token).status_code == 200
    assert sf_org.api("DELETE", f"{V}/sobjects/Account/{record_id}", token).status_code == 204


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", f"{V}/sobjects/Account", f'{{{RAW}: "x"}}'),  # a field name echoed in the error
        ("POST", f"{V}/composite/sobjects/Account", f'{{"ids": ["001"], "fields": [{RAW}]}}'),
        ("PATCH", f"{V}/composite/sobjects",
         f'{{"records": [{{"attributes": {{"type": "Account"}}, "id": {RAW}}}]}}'),
        ("POST", f"{V}/composite", f'{{"compositeRequest": [{{"method": "GET", '
         f'"url": "{V}/sobjects/Account/x", "referenceId": {RAW}}}]}}'),
        ("POST", f"{V}/composite", f'{{"compositeRequest": [{{"method": "GET", '
         f'"url": {RAW}, "referenceId": "r"}}]}}'),
        ("POST", f"{V}/composite/tree/Account",
         f'{{"records": [{{"attributes": {{"type": "Account", "referenceId": {RAW}}}, '
         f'"Name": "x"}}]}}'),
        ("POST", f"{V}/composite/sobjects",
         f'{{"records": [{{"attributes": {{"type": {RAW}}}, "Name": "x"}}]}}'),
    ],
)  # fmt: skip
def test_errors_that_repeat_the_text_stay_json(
    sf_org: Org, token: str, method: str, path: str, body: str
) -> None:
    response = send(sf_org, method, path, token, body)
    assert "\\ud800" in response.text  # the text, echoed escaped: valid UTF-8 and valid JSON
    assert sf_org.api("GET", f"{V}/", token).status_code == 200


def test_admin_api_refuses_a_lone_surrogate_cleanly(sf_org: Org) -> None:
    body = f'{{"username": {RAW}}}'.encode("ascii")
    response = sf_org.client.post("/__emulator/users", content=body)
    assert 400 <= response.status_code < 500, response.text
    assert "error" in response.json()
