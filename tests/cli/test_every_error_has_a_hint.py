"""Every CLI error is one ``error:`` line and one ``hint:`` line with a documented exit code;
API errors carry a hint derived from Salesforce's errorCode, in Python too."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cli_result import CliResult, RunCli
from sfbearer import ApiError, JWTBearerCredentials, SalesforceClient, load_private_key
from sfbearer._api_hints import api_hint
from sfbearer.emulator import Emulator
from sfbearer.keys import KeyPair, write_key_pair

USER = "hints2@acme.example"


def _one_error_and_a_hint(result: CliResult, code: int) -> str:
    assert result.code == code, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2, result
    assert lines[0].startswith("error: "), result
    assert lines[1].startswith("hint: "), result
    assert len(lines[1]) > len("hint: ") + 10, result
    assert "Traceback" not in result.output
    return lines[1]


@pytest.fixture
def org(key_files: tuple[Path, Path]) -> Iterator[tuple[Emulator, tuple[str, ...]]]:
    with Emulator() as sf:
        app = sf.add_app(name="hints", certificate=key_files[1])
        sf.add_user(username=USER)
        sf.authorize(app="hints", user=USER)
        yield sf, ("-i", app.consumer_key, "-o", USER, "-f", str(key_files[0]), "-r", sf.url)


# -- API errors over loopback ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("argv", "code", "in_hint"),
    [
        (("request", "GET", "sobjects/Account/001000000000000AAA"), "NOT_FOUND", "record id"),
        (("query", "SELEC Id FROM Account"), "MALFORMED_QUERY", "row and column"),
        (("query", "SELECT Id, Nam FROM Account"), "INVALID_FIELD", "__c"),
        (
            (
                "request",
                "POST",
                "sobjects/Contact/",
                "--data",
                '{"LastName": "Lee", "AccountId": "001000000000000AAA"}',
            ),
            "INVALID_CROSS_REFERENCE_KEY",
            "points at no record",
        ),
    ],
    ids=["not-found", "malformed-query", "invalid-field", "cross-reference"],
)
def test_api_errors_come_with_a_hint_from_the_error_code(
    run_cli: RunCli,
    org: tuple[Emulator, tuple[str, ...]],
    argv: tuple[str, ...],
    code: str,
    in_hint: str,
) -> None:
    _, flags = org
    result = run_cli(*argv, *flags)
    hint = _one_error_and_a_hint(result, 2)
    assert f" {code}: " in result.stderr.splitlines()[0]
    assert in_hint in hint


def test_a_soql_error_is_one_line_and_verbose_shows_the_caret(
    run_cli: RunCli, org: tuple[Emulator, tuple[str, ...]]
) -> None:
    _, flags = org
    quiet = run_cli("query", "SELECT Id, Nam FROM Account", *flags)
    _one_error_and_a_hint(quiet, 2)
    assert "(row 1, column 12)" in quiet.stderr
    verbose = run_cli("query", "-v", "SELECT Id, Nam FROM Account", *flags)
    assert verbose.code == 2
    lines = verbose.stderr.splitlines()
    query_line = lines.index("  SELECT Id, Nam FROM Account")
    assert lines[query_line + 1] == "  " + " " * len("SELECT Id, ") + "^"


def test_the_library_api_error_has_a_hint(
    key_files: tuple[Path, Path], org: tuple[Emulator, tuple[str, ...]]
) -> None:
    sf, flags = org
    creds = JWTBearerCredentials(
        client_id=flags[1],
        username=USER,
        private_key=load_private_key(key_files[0]),
        environment=sf.url,
    )
    with creds, SalesforceClient(creds) as client, pytest.raises(ApiError) as caught:
        client.get_json("sobjects/Account/001000000000000AAA")
    assert caught.value.error_code == "NOT_FOUND"
    assert caught.value.hint.startswith("check the object name and record id")
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "code",
    [
        "NOT_FOUND",
        "MALFORMED_QUERY",
        "INVALID_FIELD",
        "INVALID_SESSION_ID",
        "REQUEST_LIMIT_EXCEEDED",
        "DELETE_FAILED",
        "DUPLICATE_VALUE",
        "INVALID_CROSS_REFERENCE_KEY",
        "INVALID_TYPE",
        "REQUIRED_FIELD_MISSING",
        "INSUFFICIENT_ACCESS_OR_READONLY",
    ],
)
def test_each_known_error_code_has_its_own_hint(code: str) -> None:
    generic = api_hint(418, "SOMETHING_NEW")
    assert api_hint(400, code) != generic
    assert api_hint(400, code) != api_hint(400, "HTTP_400")
    assert ApiError(400, code, "m").hint == api_hint(400, code)


def test_an_unknown_code_falls_back_to_the_status() -> None:
    assert "HTTP method" in ApiError(405, "SOMETHING_NEW", "m").hint
    assert "unavailable" in ApiError(503, "HTTP_503", "m").hint
    assert ApiError(400, "X", "m", hint="mine").hint == "mine"


# -- local errors -------------------------------------------------------------------------------
@pytest.fixture
def encrypted_key(tmp_path: Path, key_pair: KeyPair) -> Path:
    key, _ = write_key_pair(key_pair, tmp_path / "enc", passphrase="right-one")
    return key


@pytest.fixture
def bundle(tmp_path: Path, key_pair: KeyPair) -> Path:
    from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12

    data = pkcs12.serialize_key_and_certificates(
        b"acme",
        key_pair.private_key,
        key_pair.certificate,
        None,
        BestAvailableEncryption(b"right-one"),
    )
    path = tmp_path / "bundle.p12"
    path.write_bytes(data)
    return path


def test_local_errors_come_with_a_hint(
    run_cli: RunCli,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    key_files: tuple[Path, Path],
    encrypted_key: Path,
    bundle: Path,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.txt").write_text("not a jwt\n")
    unwritable = Path("/proc/sfbearer-nope")  # not even root can create it
    connection = ("-i", "3MVG9x", "-o", USER, "-r", "production")
    wrong = {"SFBEARER_KEY_PASSPHRASE": "wrong-one"}
    cases: list[tuple[tuple[str | Path, ...], dict[str, str], int, str]] = [
        (
            (
                "request",
                "GET",
                "limits/",
                "--data",
                "@nofile.json",
                *connection,
                "-f",
                key_files[0],
            ),
            {},
            64,
            "@FILE",
        ),
        (("keys", "import", bundle, "--out-dir", tmp_path / "imp"), wrong, 78, "passphrase"),
        (("assertion", "decode", "bad.txt"), {}, 78, "header.payload.signature"),
        (("keys", "show", "/etc/passwd"), {}, 78, "certificate"),
        (("keys", "new", "--out-dir", unwritable / "keys"), {}, 78, "--out-dir"),
        (
            ("init", "x", *connection, "-f", key_files[0]),
            {"SFBEARER_CONFIG": str(unwritable / "sub" / "config.toml")},
            78,
            "SFBEARER_CONFIG",
        ),
        (("assertion", "new", *connection, "-f", encrypted_key), wrong, 78, "passphrase"),
        (("demo", "--keep", unwritable / "demo"), {}, 78, "--keep"),
    ]
    for argv, env, code, in_hint in cases:
        hint = _one_error_and_a_hint(run_cli(*argv, env=env), code)
        assert in_hint in hint, (argv, hint)
    assert (
        "wrong-one"
        not in run_cli("assertion", "new", *connection, "-f", encrypted_key, env=wrong).output
    )


@pytest.mark.parametrize(
    "argv",
    [("keys", "nosuch"), ("keys", "show"), ("keys", "show", "--bogus", "x"), ("nosuch",)],
)
def test_usage_errors_are_one_line_and_a_hint_exit_64(
    run_cli: RunCli, argv: tuple[str, ...]
) -> None:
    hint = _one_error_and_a_hint(run_cli(*argv), 64)
    assert hint.startswith("hint: usage: sfbearer")
    assert "--help" in hint
    assert not run_cli(*argv).stderr.startswith("Usage:")
