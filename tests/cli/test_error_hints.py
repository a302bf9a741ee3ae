"""Walkthrough findings: one-line errors that had no hint now say what to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli_result import RunCli
from sfbearer.emulator import Emulator

USER = "hints@acme.example"


# -- 8. hints ----------------------------------------------------------------------------------
def _one_error_and_a_hint(result, code: int) -> str:  # type: ignore[no-untyped-def]
    assert result.code == code, result
    lines = result.stderr.strip().splitlines()
    errors = [ln for ln in lines if ln.startswith("error: ")]
    hints = [ln for ln in lines if ln.startswith("hint: ")]
    assert len(errors) == 1, result
    assert len(hints) == 1, result
    assert "Traceback" not in result.output
    return hints[0]


@pytest.mark.parametrize(
    ("argv", "env", "in_hint"),
    [
        (("keys", "show", "/nonexistent"), {}, "keys new"),
        (
            ("token", "-f", "/nonexistent.key", "-i", "x", "-o", USER, "-r", "production"),
            {},
            "keys new",
        ),
        (("assertion", "decode", "nope.txt"), {}, "stdin"),
        (("init", "x", "-i", "", "-o", USER, "-r", "production"), {}, "Consumer Key"),
        (
            ("token", "-i", "x", "-o", USER, "-r", "production"),
            {"SFBEARER_JWT_KEY": "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----"},
            "dashed first and last lines",
        ),
        (("certs", "status", "--critical-days", "14", "--warn-days", "5"), {}, "--warn-days"),
    ],
    ids=[
        "keys-show",
        "token-key-file",
        "assertion-decode",
        "init-empty-id",
        "jwt-key-env",
        "thresholds",
    ],
)
def test_one_line_errors_come_with_a_hint(
    run_cli: RunCli,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    argv: tuple[str, ...],
    env: dict[str, str],
    in_hint: str,
) -> None:
    monkeypatch.chdir(tmp_path)  # nope.txt is looked for here
    hint = _one_error_and_a_hint(run_cli(*argv, env=env), 78)
    assert in_hint in hint


def test_an_api_401_from_an_app_without_the_api_scope_says_so(
    run_cli: RunCli, key_files: tuple[Path, Path]
) -> None:
    with Emulator() as sf:
        app = sf.add_app(name="noapi", certificate=key_files[1], scopes="refresh_token")
        sf.add_user(username=USER)
        sf.authorize(app="noapi", user=USER)
        args = ("-i", app.consumer_key, "-o", USER, "-f", key_files[0], "-r", sf.url)
        result = run_cli("query", *args, "SELECT Id FROM Account")
    hint = _one_error_and_a_hint(result, 2)
    assert "not valid for use with the REST API" in result.stderr
    assert "api scope" in hint
    assert "OAuth scopes" in hint
