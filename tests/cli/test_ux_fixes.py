"""Walkthrough findings: what a newcomer sees from the CLI says what it means."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli_result import RunCli
from sfbearer.emulator import Emulator

USER = "ux@acme.example"


@pytest.fixture
def org(key_files: tuple[Path, Path]) -> Iterator[tuple[Emulator, tuple[str, ...]]]:
    """A running emulator with an authorized app, and the connection flags that reach it."""
    with Emulator() as sf:
        app = sf.add_app(name="ux", certificate=key_files[1])
        sf.add_user(username=USER)
        sf.authorize(app="ux", user=USER)
        yield sf, ("-i", app.consumer_key, "-o", USER, "-f", str(key_files[0]), "-r", sf.url)


# -- 1. SELECT COUNT() -----------------------------------------------------------------------
@pytest.mark.parametrize("contacts", [0, 3])
def test_count_query_prints_the_count_in_every_format(
    run_cli: RunCli, org: tuple[Emulator, tuple[str, ...]], contacts: int
) -> None:
    sf, args = org
    for i in range(contacts):
        sf.records.create("Contact", {"LastName": f"C{i}"})
    soql = "SELECT COUNT() FROM Contact"
    as_json = run_cli("query", *args, soql, "--json")
    assert as_json.code == 0, as_json
    assert json.loads(as_json.stdout) == {"totalSize": contacts}
    table = run_cli("query", *args, soql)
    assert table.code == 0, table
    assert table.stdout.strip() == str(contacts)
    as_csv = run_cli("query", *args, soql, "--format", "csv")
    assert list(csv.DictReader(io.StringIO(as_csv.stdout))) == [{"totalSize": str(contacts)}]


def test_an_empty_ordinary_query_is_still_an_empty_list(
    run_cli: RunCli, org: tuple[Emulator, tuple[str, ...]]
) -> None:
    _, args = org
    result = run_cli("query", *args, "SELECT Id FROM Contact", "--json")
    assert result.code == 0, result
    assert json.loads(result.stdout) == []


def test_query_help_promises_what_the_count_example_prints(run_cli: RunCli) -> None:
    result = run_cli("query", "--help")
    assert '"SELECT COUNT() FROM Contact" --json' in result.stdout
    assert '{"totalSize":' in result.stdout


# -- 2. app checklist --------------------------------------------------------------------------
def _step6_command(stdout: str) -> list[str]:
    import shlex

    (line,) = [ln for ln in stdout.splitlines() if "sfbearer init " in ln]
    command = line[line.index("sfbearer init ") :].removesuffix(".")
    return shlex.split(command)[1:]


def test_checklist_init_command_can_be_pasted(
    run_cli: RunCli, key_files: tuple[Path, Path]
) -> None:
    result = run_cli("app", "checklist", "--permission-set", "Int")
    assert result.code == 0, result
    argv = _step6_command(result.stdout)
    assert "--environment" in argv
    filled = [
        {
            "PROFILE": "pasted",
            "KEY": "3MVG9pasted",
            "USER": USER,
            "server.key": str(key_files[0]),
        }.get(a, a)
        for a in argv
    ]
    pasted = run_cli(*filled)
    assert pasted.code == 0, pasted


def test_checklist_with_a_profile_fills_in_its_values(
    run_cli: RunCli, key_files: tuple[Path, Path], key_pair
) -> None:
    key, cert = key_files
    made = run_cli("init", "acme", "-i", "3MVG9acme", "-o", USER, "-f", key, "-r", "sandbox")
    assert made.code == 0, made
    result = run_cli("app", "checklist", "-p", "acme", "--permission-set", "Int")
    assert result.code == 0, result
    out = result.stdout
    assert USER in out
    assert "integration.user@example.com" not in out
    assert str(cert) in out
    assert key_pair.certificate_info.sha256_fingerprint in out
    assert "3MVG9acme" in out
    assert "sfbearer doctor --profile acme" in out
    # An existing profile is never told to rewrite itself with init --force (that would
    # drop its other settings): only its client_id line is to change.
    assert "sfbearer init " not in out
    assert "--force" not in out
    assert "client_id under [profiles.acme]" in out
    as_json = run_cli("app", "checklist", "-p", "acme", "--permission-set", "Int", "--json")
    values = {k: v for s in json.loads(as_json.stdout)["steps"] for k, v in s["values"].items()}
    assert values["Username"].startswith(USER)
    assert values["Client id"].startswith("3MVG9acme")


def test_checklist_with_an_unknown_profile_is_a_configuration_error(run_cli: RunCli) -> None:
    result = run_cli("app", "checklist", "-p", "nope")
    assert result.code == 78
    assert "hint:" in result.stderr


# -- 3. token revoke with the memory cache ----------------------------------------------------
def test_token_revoke_with_the_memory_cache_says_it_cannot(
    run_cli: RunCli, org: tuple[Emulator, tuple[str, ...]]
) -> None:
    _, args = org
    result = run_cli("token", "revoke", *args)
    assert result.code == 78, result
    assert "memory" in result.stderr
    assert "hint:" in result.stderr
    assert "--cache file:" in result.stderr
    assert "redis://" in result.stderr


def test_token_revoke_with_a_file_cache_revokes_the_shared_session(
    run_cli: RunCli, org: tuple[Emulator, tuple[str, ...]], tmp_path: Path
) -> None:
    _, args = org
    env = {"SFBEARER_CACHE": f"file:{tmp_path / 'tokens'}"}
    assert run_cli("token", *args, env=env).code == 0
    revoked = run_cli("token", "revoke", *args, "--json", env=env)
    assert revoked.code == 0, revoked
    assert json.loads(revoked.stdout) == {"revoked": True}
    again = run_cli("token", "revoke", *args, env=env)
    assert again.code == 0, again
    assert "no cached session" in again.stderr


# -- 4. keys show of an encrypted key without its passphrase -----------------------------------
@pytest.mark.parametrize("pkcs1", [False, True])
def test_keys_show_encrypted_key_without_passphrase_shows_what_it_can(
    run_cli: RunCli, tmp_path: Path, key_pair, pkcs1: bool
) -> None:
    import os

    from cryptography.hazmat.primitives import serialization

    secret = "correct horse battery"
    pem = key_pair.private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL
        if pkcs1
        else serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(secret.encode()),
    )
    key = tmp_path / "enc.key"
    key.write_bytes(pem)
    os.chmod(key, 0o600)
    text = run_cli("keys", "show", key)
    assert text.code == 0, text
    lines = dict(line.split(":", 1) for line in text.stdout.splitlines())
    assert lines["encrypted"].strip() == "yes"
    assert lines["mode"].strip() == "0600"
    assert lines["format"].strip() == ("PKCS#1 PEM" if pkcs1 else "PKCS#8 PEM")
    assert "private key" in lines["type"]
    assert lines["size"].strip() == "unavailable"
    assert lines["public key sha256"].strip() == "unavailable"
    assert "hint:" in text.stderr
    assert "--passphrase-env" in text.stderr
    as_json = run_cli("keys", "show", key, "--json")
    assert as_json.code == 0, as_json
    data = json.loads(as_json.stdout)
    assert data["encrypted"] is True
    assert data["size"] is None
    assert data["public_key_sha256"] is None
    assert "--passphrase-env" in data["unavailable"]
    assert secret not in text.output + as_json.output
    assert "PRIVATE KEY" not in text.output + as_json.output


# -- 6. near-expiry advice ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def expiring_pair():  # type: ignore[no-untyped-def]
    """A key pair whose certificate has 10 days left (a warning at the default 30)."""
    from sfbearer.keys import generate_key_pair

    return generate_key_pair(common_name="sfbearer-expiring", days=10)


@pytest.fixture
def expiring_files(tmp_path: Path, expiring_pair) -> tuple[Path, Path]:
    from sfbearer.keys import write_key_pair

    return write_key_pair(expiring_pair, tmp_path / "expiring")


def test_keys_check_near_expiry_names_both_tools(
    run_cli: RunCli, expiring_files: tuple[Path, Path]
) -> None:
    key, cert = expiring_files
    result = run_cli("keys", "check", "-f", key, "--cert", cert)
    assert result.code == 1, result
    (line,) = [ln for ln in result.stdout.splitlines() if "validity" in ln]
    assert "sfbearer certs rotate -p" in line
    assert "sfbearer keys new" in line


def test_certs_status_advice_for_profiles_and_loose_files(
    run_cli: RunCli, expiring_files: tuple[Path, Path]
) -> None:
    key, cert = expiring_files
    loose = run_cli("certs", "status", cert)
    assert loose.code == 1, loose
    assert "sfbearer keys new" in loose.stderr
    made = run_cli("init", "acme", "-i", "3MVG9acme", "-o", USER, "-f", key, "-r", "sandbox")
    assert made.code == 0, made
    profile = run_cli("certs", "status", "-p", "acme")
    assert profile.code == 1, profile
    assert "sfbearer certs rotate -p acme" in profile.stderr
    rotated = run_cli("certs", "rotate", "-p", "acme")
    assert rotated.code == 0, rotated
    pending = run_cli("certs", "status", "-p", "acme")
    assert pending.code == 1, pending
    (warning,) = [ln for ln in pending.stderr.splitlines() if ln.startswith("warning: acme:")]
    assert "sfbearer certs promote -p acme" in warning
    assert "certs rotate" not in warning  # it would be refused: a pair is pending
    assert "(next)" in pending.stdout  # the new certificate is watched too, and is ok


# -- 7. cosmetics ---------------------------------------------------------------------------------
def _doctor_profile(sf: Emulator, key: Path, cert: Path) -> None:
    from org_setup import integration

    integration(sf, app="doc", username=USER, cert=cert, key=key, profile="doc")


def test_doctor_prints_a_refused_probe_as_it_counts_it(
    run_cli: RunCli, key_files: tuple[Path, Path]
) -> None:
    with Emulator() as sf:
        _doctor_profile(sf, *key_files)
        result = run_cli("doctor", "-p", "doc", "--probe-audiences")
    assert result.code == 0, result
    assert "[FAIL]" not in result.stdout
    refused = [ln for ln in result.stdout.splitlines() if "aud https://test.salesforce.com" in ln]
    assert len(refused) == 1, result.stdout
    assert refused[0].startswith("[skip]")
    assert "refused: invalid_grant" in refused[0]
    assert result.stdout.rstrip().endswith("doctor: all checks passed")


def test_doctor_near_expiry_advice_names_certs_rotate(
    run_cli: RunCli, expiring_files: tuple[Path, Path]
) -> None:
    with Emulator() as sf:
        _doctor_profile(sf, *expiring_files)
        result = run_cli("doctor", "-p", "doc")
    assert result.code == 1, result
    assert "sfbearer certs rotate -p" in result.stdout


@pytest.mark.parametrize(
    ("curve_or_kind", "phrase"), [("ec", "holds an EC key"), ("dsa", "holds a DSA key")]
)
def test_a_non_rsa_key_file_is_named_with_the_right_article(
    run_cli: RunCli, tmp_path: Path, curve_or_kind: str, phrase: str
) -> None:
    import os

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import dsa, ec

    key = (
        ec.generate_private_key(ec.SECP256R1())
        if curve_or_kind == "ec"
        else dsa.generate_private_key(2048)
    )
    path = tmp_path / "odd.key"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    os.chmod(path, 0o600)
    result = run_cli("keys", "show", path)
    assert result.code == 78, result
    assert phrase in result.stderr


def test_certs_calendar_bad_days_before_is_a_usage_error(
    run_cli: RunCli, key_files: tuple[Path, Path], tmp_path: Path
) -> None:
    out = tmp_path / "r.ics"
    result = run_cli("certs", "calendar", key_files[1], "--out", out, "--days-before", "60,abc")
    assert result.code == 64, result
    assert "--days-before" in result.stderr
    assert "hint:" in result.stderr
    assert not out.exists()


def test_certs_calendar_with_nothing_to_check_suggests_calendar(
    run_cli: RunCli, tmp_path: Path
) -> None:
    result = run_cli("certs", "calendar", "--out", tmp_path / "r.ics")
    assert result.code == 78, result
    (hint,) = [ln for ln in result.stderr.splitlines() if ln.startswith("hint:")]
    assert "sfbearer certs calendar --out" in hint
    assert "certs status" not in hint


# -- Subqueries in every format ---------------------------------------------------------------
def test_a_subquery_prints_its_records_in_every_format(
    run_cli: RunCli, org: tuple[Emulator, tuple[str, ...]]
) -> None:
    sf, args = org
    acme = sf.records.create("Account", {"Name": "Acme"})
    sf.records.create("Account", {"Name": "Empty Co"})
    for name in ("Lee", "Kim"):
        sf.records.create("Contact", {"LastName": name, "AccountId": acme})
    soql = ("SELECT Name, (SELECT LastName FROM Contacts ORDER BY LastName) FROM Account "
            "ORDER BY Name")  # fmt: skip
    as_json = run_cli("query", *args, soql, "--json")
    assert as_json.code == 0, as_json
    assert json.loads(as_json.stdout) == [
        {"Name": "Acme", "Contacts": [{"LastName": "Kim"}, {"LastName": "Lee"}]},
        {"Name": "Empty Co", "Contacts": None},
    ]
    as_csv = run_cli("query", *args, soql, "--format", "csv")
    assert as_csv.code == 0, as_csv
    assert list(csv.DictReader(io.StringIO(as_csv.stdout))) == [
        {"Name": "Acme", "Contacts": '[{"LastName":"Kim"},{"LastName":"Lee"}]'},
        {"Name": "Empty Co", "Contacts": ""},
    ]
    table = run_cli("query", *args, soql)
    assert table.code == 0, table
    assert '[{"LastName":"Kim"},{"LastName":"Lee"}]' in table.stdout
    assert "totalSize" not in table.stdout
    assert "attributes" not in table.stdout
