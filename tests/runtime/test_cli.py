"""``sfbearer token``, ``token revoke``, ``request`` and ``query`` against the real emulator."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sfbearer.cli import main
from sfbearer.emulator import Emulator
from sfbearer.keys import KeyPair

USERNAME = "integration@acme.com"


@pytest.fixture
def cli(
    key_pair: KeyPair, key_files: tuple[Path, Path], capfd: pytest.CaptureFixture[str]
) -> Iterator[Callable[..., tuple[int, str, str]]]:
    with Emulator() as sf:
        app = sf.add_app(name="cli", certificate=key_pair.certificate)
        sf.add_user(username=USERNAME)
        sf.authorize(app="cli", profile="Integration User")
        for i in range(3):
            sf.records.create("Account", {"Name": f"Acme {i}"})
        flags = ["-i", app.consumer_key, "-o", USERNAME, "-f", str(key_files[0]), "-r", sf.url]

        def run(*args: str, connection: bool = True) -> tuple[int, str, str]:
            capfd.readouterr()
            code = main([*args, *(flags if connection else [])])
            out, err = capfd.readouterr()
            return code, out, err

        run.sf = sf  # type: ignore[attr-defined]
        run.flags = flags  # type: ignore[attr-defined]
        yield run


def test_token_shows_details_not_the_token(cli) -> None:
    code, out, err = cli("token")
    assert code == 0, err
    assert "instance url" in out
    assert cli.sf.org_id[:15] in out
    assert "!" not in out  # no access token (they contain the org id and a '!')


def test_token_json_and_show_token(cli) -> None:
    code, out, _ = cli("token", "--json")
    details = json.loads(out)
    assert code == 0
    assert "access_token" not in details
    assert details["org_id"].startswith("00D")
    assert details["expires_at_estimate"]
    code, out, _ = cli("token", "--json", "--show-token")
    assert json.loads(out)["access_token"].startswith("00D")


def test_token_revoke(cli) -> None:
    code, _, err = cli("token", "revoke")
    assert code == 78  # the memory cache: a new process never holds a session to revoke
    assert "no session" in err


def test_token_refused_is_exit_2_with_the_diagnosis(cli) -> None:
    flags = [("nobody@acme.com" if f == USERNAME else f) for f in cli.flags]
    code, _out, err = cli("token", *flags, connection=False)
    assert code == 2
    assert "invalid_grant" in err
    assert "hint:" in err
    assert "Traceback" not in err


def test_unreachable_is_exit_3(cli, key_files, monkeypatch) -> None:
    import time

    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    code, _, err = cli(
        "token",
        "-i", "3MVG9fake0000000000000", "-o", USERNAME, "-f", str(key_files[0]),
        "-r", "http://127.0.0.1:9",
        connection=False,
    )  # fmt: skip
    assert code == 3, err
    assert "could not reach" in err
    assert len(slept) == 3  # retried with backoff before giving up


def test_untrusted_environment_is_exit_78(cli, key_files) -> None:
    code, _, err = cli(
        "token",
        "-i", "3MVG9fake0000000000000", "-o", USERNAME, "-f", str(key_files[0]),
        "-r", "https://evil.example.com",
        connection=False,
    )  # fmt: skip
    assert code == 78
    assert "not a Salesforce host" in err


def test_request_get_prints_json(cli) -> None:
    code, out, err = cli("request", "GET", "/services/data/")
    assert code == 0, err
    assert any(v["version"] for v in json.loads(out))
    code, out, _ = cli("request", "get", "limits/")
    assert "DailyApiRequests" in json.loads(out)


def test_request_post_with_data_file(cli, tmp_path: Path) -> None:
    body = tmp_path / "account.json"
    body.write_text('{"Name": "From file"}')
    code, out, err = cli("request", "POST", "sobjects/Account/", "--data", f"@{body}")
    assert code == 0, err
    record_id = json.loads(out)["id"]
    code, out, _ = cli("request", "GET", f"sobjects/Account/{record_id}")
    assert json.loads(out)["Name"] == "From file"
    code, out, err = cli("request", "DELETE", f"sobjects/Account/{record_id}")
    assert code == 0
    assert "204" in err


@pytest.mark.parametrize(
    ("args", "code", "text"),
    [
        (("request", "FETCH", "/x"), 64, "unknown method"),
        (("request", "POST", "sobjects/Account/", "--data", "{not json"), 64, "not valid JSON"),
        (("request", "POST", "sobjects/Account/", "--data", "@/nonexistent"), 64, "cannot read"),
        (("request", "GET", "sobjects/Nope__x/describe"), 2, "NOT_FOUND"),
    ],
)
def test_request_errors(cli, args, code, text) -> None:
    got, _out, err = cli(*args)
    assert got == code, err
    assert text in err


def test_query_formats(cli) -> None:
    code, out, err = cli("query", "SELECT Name FROM Account ORDER BY Name", "--format", "json")
    assert code == 0, err
    assert [r["Name"] for r in json.loads(out)] == ["Acme 0", "Acme 1", "Acme 2"]
    code, out, _ = cli("query", "SELECT Name FROM Account ORDER BY Name", "--json")
    assert len(json.loads(out)) == 3
    code, out, _ = cli("query", "SELECT Id, Name FROM Account ORDER BY Name", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["Name"] for r in rows] == ["Acme 0", "Acme 1", "Acme 2"]
    code, out, err = cli("query", "SELECT Name FROM Account")
    assert "Acme 1" in out
    assert "3 records" in err


def test_query_streams_pages_with_progress(cli) -> None:
    for i in range(2100):
        cli.sf.records.create("Contact", {"LastName": f"C{i}"})
    code, out, err = cli("query", "SELECT LastName FROM Contact", "--format", "csv")
    assert code == 0, err
    assert len(out.splitlines()) == 2101
    assert "fetched" in err
    assert "of 2100 records" in err


def test_query_bad_soql_is_exit_2(cli) -> None:
    code, _, err = cli("query", "SELECT Bogus FROM Account")
    assert code == 2
    assert "INVALID_FIELD" in err


def test_no_secret_in_cli_output_or_logs_at_debug(cli, caplog, tmp_path: Path) -> None:
    import logging

    body = tmp_path / "a.json"
    body.write_text('{"Name": "Canary"}')
    org15 = cli.sf.org_id[:15]
    with caplog.at_level(logging.DEBUG):
        runs = [
            cli("-vv", "token"),
            cli("-vv", "token", "--json"),
            cli("-vv", "request", "GET", "limits/"),
            cli("-vv", "request", "POST", "sobjects/Account/", "--data", f"@{body}"),
            cli("-vv", "query", "SELECT Name FROM Account", "--format", "csv"),
            cli("-vv", "query", "SELECT Bogus FROM Account"),
            cli("-vv", "token", "revoke"),
        ]
        shown = cli("token", "--show-token", "--json")
    text = "".join(out + err for _, out, err in runs) + caplog.text
    assert json.loads(shown[1])["access_token"].startswith(f"{org15}")  # the canary's shape
    assert f"{org15}!" not in text  # no access token anywhere
    assert cli.sf.org_id in text  # the ids themselves are fine to show
    assert "eyJ" not in text  # no assertion
    assert "PRIVATE KEY" not in text
