"""``sfbearer emulator`` admin commands: re-adding apps, add-field, refusals with hints, help
examples, and a running emulator seeing what another process writes to its state file."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest

from cli_result import CliResult, RunCli
from sfbearer.emulator import Emulator
from sfbearer.emulator.control import EmulatorControl
from sfbearer.keys import KeyPair, generate_key_pair, write_key_pair

from .conftest import GRANT

COMMANDS = ("serve", "add-app", "add-user", "authorize", "revoke-sessions", "stats", "faults",
            "add-object", "add-field")  # fmt: skip


@pytest.fixture
def state(tmp_path: Path) -> Path:
    path = tmp_path / "org.db"
    with Emulator(state=path):
        pass
    return path


@pytest.fixture
def running() -> Iterator[Emulator]:
    with Emulator() as sf:
        yield sf


def _hint(result: CliResult) -> str:
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("error: "), result
    assert len(lines) == 2, result
    assert lines[1].startswith("hint: "), result
    return lines[1]


def _login(url: str, consumer_key: str, username: str, key_pair: KeyPair) -> httpx.Response:
    claims = {"iss": consumer_key, "sub": username, "aud": url, "exp": int(time.time()) + 120}
    assertion = jwt.encode(claims, key_pair.private_key, algorithm="RS256")
    return httpx.post(
        url + "/services/oauth2/token", data={"grant_type": GRANT, "assertion": assertion}
    )


@pytest.mark.parametrize("command", COMMANDS)
def test_every_emulator_command_has_help_with_examples(run_cli: RunCli, command: str) -> None:
    result = run_cli("emulator", command, "--help")
    assert result.code == 0, result
    assert "Examples:" in result.stdout
    examples = result.stdout.split("Examples:", 1)[1]
    assert f"sfbearer emulator {command} " in examples


# -- re-adding an app -------------------------------------------------------------------------


def test_re_adding_an_app_keeps_its_consumer_key_and_authorizations(
    run_cli: RunCli, state: Path, key_files: tuple[Path, Path], tmp_path: Path
) -> None:
    _, cert = key_files
    first = run_cli("emulator", "add-app", "--name", "ci", "--cert", cert, "--state", state)
    assert first.code == 0, first
    assert "app ci created" in first.stderr
    key = first.stdout.strip()
    authorized = run_cli(
        "emulator", "authorize", "--app", "ci", "--sf-profile", "Integration User",
        "--state", state,
    )  # fmt: skip
    assert authorized.code == 0, authorized
    _, new_cert = write_key_pair(generate_key_pair(common_name="next"), tmp_path / "next")
    again = run_cli(
        "emulator", "add-app", "--name", "ci", "--cert", new_cert, "--scopes", "api,refresh_token,web",
        "--state", state, "--json",
    )  # fmt: skip
    assert again.code == 0, again
    data = json.loads(again.stdout)
    assert data["consumer_key"] == key
    assert data["created"] is False
    assert data["profiles"] == ["Integration User"]
    assert "web" in data["scopes"]
    assert "app ci updated" in again.stderr
    ctx = EmulatorControl(state=state).open()
    try:
        app = ctx.registry.get_app("ci")
        assert app is not None
        assert app.certificate_pem.strip() == new_cert.read_text().strip()  # the cutover
    finally:
        ctx.close()


def test_re_adding_an_app_with_another_consumer_key_warns(
    run_cli: RunCli, state: Path, key_files: tuple[Path, Path]
) -> None:
    _, cert = key_files
    assert (
        run_cli("emulator", "add-app", "--name", "ci", "--cert", cert, "--state", state).code == 0
    )
    again = run_cli(
        "emulator", "add-app", "--name", "ci", "--cert", cert, "--consumer-key", "3MVG9other",
        "--state", state,
    )  # fmt: skip
    assert again.code == 0, again
    assert again.stdout.strip() == "3MVG9other"
    assert "warning: app ci updated with a NEW consumer key" in again.stderr


def test_re_adding_an_app_over_the_admin_api_keeps_its_key(
    run_cli: RunCli, running: Emulator, key_files: tuple[Path, Path]
) -> None:
    _, cert = key_files
    first = run_cli("emulator", "add-app", "--name", "ci", "--cert", cert, "--url", running.url)
    again = run_cli("emulator", "add-app", "--name", "ci", "--cert", cert, "--url", running.url)
    assert first.code == again.code == 0, (first, again)
    assert again.stdout == first.stdout
    assert "app ci updated" in again.stderr


# -- another process writes the file of a running emulator ------------------------------------


def test_a_running_emulator_sees_apps_and_users_added_through_its_state_file(
    run_cli: RunCli, tmp_path: Path, key_files: tuple[Path, Path], key_pair: KeyPair
) -> None:
    _, cert = key_files
    path = tmp_path / "shared.db"
    with Emulator(state=path) as sf:
        # Fill the running emulator's caches first: an unknown key, then a known user.
        assert _login(sf.url, "3MVG9late", "late@acme.com", key_pair).json()["error"] == (
            "invalid_client_id"
        )
        sf.add_user(username="late@acme.com")
        setup = (
            ("add-app", "--name", "late", "--cert", cert, "--consumer-key", "3MVG9late"),
            ("authorize", "--app", "late", "--sf-profile", "Integration User"),
        )
        for args in setup:
            result = run_cli("emulator", *args, "--state", path)
            assert result.code == 0, result
        # The same connection kept open elsewhere in this process is "another process" to
        # SQLite; the registry looks at the file's data_version at most every 10 ms.
        time.sleep(0.05)
        response = _login(sf.url, "3MVG9late", "late@acme.com", key_pair)
        assert response.status_code == 200, response.text
        deactivated = run_cli(
            "emulator", "add-user", "--username", "late@acme.com", "--inactive", "--state", path
        )
        assert deactivated.code == 0, deactivated
        time.sleep(0.05)
        refused = _login(sf.url, "3MVG9late", "late@acme.com", key_pair)
        assert refused.json()["error_description"] == "authentication failure"


# -- refusals carry a hint ---------------------------------------------------------------------


def test_an_unknown_app_is_refused_with_a_suggestion(
    run_cli: RunCli, state: Path, running: Emulator, key_files: tuple[Path, Path]
) -> None:
    _, cert = key_files
    for where in (("--state", state), ("--url", running.url)):
        added = run_cli("emulator", "add-app", "--name", "nightly", "--cert", cert, *where)
        assert added.code == 0, added
        near = run_cli("emulator", "authorize", "--app", "nigthly", "--sf-profile", "X", *where)
        assert near.code == 78, near
        assert "no app named 'nigthly'" in near.stderr
        assert _hint(near) == "hint: did you mean 'nightly'? (app names are case-sensitive)"
        far = run_cli("emulator", "authorize", "--app", "nope", "--sf-profile", "X", *where)
        assert far.code == 78, far
        assert "sfbearer emulator add-app --name nope" in _hint(far)


def test_an_unknown_user_is_refused_with_a_hint(run_cli: RunCli, state: Path) -> None:
    result = run_cli("emulator", "revoke-sessions", "--user", "ghost@acme.com", "--state", state)
    assert result.code == 78, result
    assert "add-user --username ghost@acme.com" in _hint(result)


def test_a_private_key_given_as_the_certificate_is_refused_with_a_hint(
    run_cli: RunCli, state: Path, key_files: tuple[Path, Path]
) -> None:
    key, _ = key_files
    result = run_cli("emulator", "add-app", "--name", "ci", "--cert", key, "--state", state)
    assert result.code == 78, result
    assert "never the private key" in _hint(result)
    assert "PRIVATE" not in result.output  # the key's text is not echoed


def test_a_seed_with_a_misspelt_key_suggests_the_right_one(
    run_cli: RunCli, tmp_path: Path, key_files: tuple[Path, Path]
) -> None:
    _, cert = key_files
    seed = tmp_path / "seed.toml"
    seed.write_text(f'[[apps]]\nname = "ci"\ncertficate = "{cert}"\n')
    result = run_cli("emulator", "serve", "--seed", seed, "--port", "0")
    assert result.code == 78, result
    assert "unknown key(s) in 'apps': certficate" in result.stderr
    assert _hint(result) == "hint: did you mean 'certificate'?"
    section = tmp_path / "seed.json"
    section.write_text(json.dumps({"user": [{"username": "a@b.c"}]}))
    result = run_cli("emulator", "serve", "--seed", section, "--port", "0")
    assert result.code == 78, result
    assert _hint(result) == "hint: did you mean 'users'?"


# -- add-field ---------------------------------------------------------------------------------


def test_add_field_to_a_state_file(run_cli: RunCli, state: Path) -> None:
    result = run_cli(
        "emulator", "add-field", "--object", "Account", "--name", "External_Id__c",
        "--length", "40", "--external-id", "--unique", "--state", state,
    )  # fmt: skip
    assert result.code == 0, result
    assert result.stdout.strip() == "Account.External_Id__c"
    ctx = EmulatorControl(state=state).open()
    try:
        field = ctx.records.schema.get("Account").field("External_Id__c")
        assert field is not None
        assert (field.length, field.external_id, field.unique) == (40, True, True)
    finally:
        ctx.close()


def test_add_field_to_a_running_emulator(run_cli: RunCli, running: Emulator) -> None:
    result = run_cli(
        "emulator", "add-field", "--object", "Contact", "--name", "Tier__c", "--type",
        "picklist", "--values", "Gold, Silver,Bronze", "--url", running.url, "--json",
    )  # fmt: skip
    assert result.code == 0, result
    data = json.loads(result.stdout)
    assert (data["object"], data["name"], data["values"]) == (
        "Contact", "Tier__c", ["Gold", "Silver", "Bronze"],
    )  # fmt: skip
    assert running.records.schema.get("Contact").field("Tier__c") is not None


@pytest.mark.parametrize(
    "args",
    [
        ("--object", "Account", "--name", "NoSuffix"),
        ("--object", "Nope", "--name", "X__c"),
        ("--object", "Account", "--name", "X__c", "--type", "blob"),
    ],
)
def test_add_field_refusals_are_configuration_errors_with_a_hint(
    run_cli: RunCli, running: Emulator, state: Path, args: tuple[str, ...]
) -> None:
    for where in (("--url", running.url), ("--state", state)):
        result = run_cli("emulator", "add-field", *args, *where)
        assert result.code == 78, result
        assert _hint(result)
        assert "Traceback" not in result.output


def test_add_field_needs_a_reachable_emulator(run_cli: RunCli) -> None:
    result = run_cli(
        "emulator", "add-field", "--object", "Account", "--name", "X__c",
        "--url", "http://127.0.0.1:9",
    )  # fmt: skip
    assert result.code == 3, result
    assert _hint(result)


# -- add-object --------------------------------------------------------------------------------


def test_add_object_then_its_fields(run_cli: RunCli, running: Emulator, state: Path) -> None:
    result = run_cli("emulator", "add-object", "--name", "Invoice__c", "--label", "Invoice",
                     "--url", running.url)  # fmt: skip
    assert result.code == 0, result
    assert result.stdout.strip() == "Invoice__c (a00)"
    result = run_cli("emulator", "add-field", "--object", "Invoice__c", "--name", "Account__c",
                     "--type", "lookup", "--reference-to", "Account", "--url", running.url)  # fmt: skip
    assert result.code == 0, result
    account = running.records.create("Account", {"Name": "Acme"})
    running.records.create("Invoice__c", {"Name": "I-1", "Account__c": account})
    rows = running.records.query("SELECT Name, (SELECT Name FROM Invoices__r) FROM Account")
    assert rows["records"][0]["Invoices__r"]["records"][0]["Name"] == "I-1"
    # In a state file, with --json; the second object takes the next key prefix.
    for name in ("Shipment__c", "Ticket__c"):
        result = run_cli("emulator", "add-object", "--name", name, "--state", state, "--json")
        assert result.code == 0, result
    assert json.loads(result.stdout) == {"name": "Ticket__c", "label": "Ticket",
                                         "plural": "Tickets", "key_prefix": "a01"}  # fmt: skip


def test_add_object_refusals(run_cli: RunCli, running: Emulator, state: Path) -> None:
    for where in (("--url", running.url), ("--state", state)):
        result = run_cli("emulator", "add-object", "--name", "Invoice", *where)
        assert result.code == 78, result
        assert "__c" in _hint(result) + result.stderr
        assert "Traceback" not in result.output
