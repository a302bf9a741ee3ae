"""The Python snippets of docs/emulator.md that use an sfbearer token, run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sfbearer import JWTBearerCredentials
from sfbearer.emulator import Emulator
from sfbearer.keys import KeyPair

DOC = Path(__file__).resolve().parents[2] / "docs" / "emulator.md"


def _python_block_after(marker: str) -> str:
    text = DOC.read_text()
    start = text.index(marker)
    found = re.search(r"```python\n(.*?)```", text[start:], re.DOTALL)
    assert found is not None, f"no python block after {marker!r} in {DOC.name}"
    return found.group(1)


def test_the_simple_salesforce_snippet_runs_with_an_sfbearer_token(
    key_pair: KeyPair, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("simple_salesforce")
    snippet = _python_block_after("**simple-salesforce** — with a token from sfbearer")
    assert "token" in snippet
    with Emulator(tls=True) as sf:
        app = sf.add_app(name="doc", certificate=key_pair.certificate)
        sf.add_user(username="doc@acme.com")
        sf.authorize(app="doc", user="doc@acme.com")
        sf.records.create("Account", {"Name": "Documented"})
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(sf.ca_path))
        monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
        with JWTBearerCredentials(
            client_id=app.consumer_key,
            username="doc@acme.com",
            private_key=key_pair.private_key,
            environment=sf.url,
            ca_bundle=str(sf.ca_path),
        ) as creds:
            namespace = {"token": creds.token()}  # what the snippet calls "a token from sfbearer"
        exec(compile(snippet, str(DOC), "exec"), namespace)
        client = namespace["sf"]
        try:
            result = client.query("SELECT Id, Name FROM Account")  # type: ignore[attr-defined]
        finally:
            client.session.close()  # type: ignore[attr-defined] # before the server stops
        assert [r["Name"] for r in result["records"]] == ["Documented"]
