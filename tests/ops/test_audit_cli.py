"""``sfbearer audit tail``: where the trail is found, -n, --json, --profile, --follow."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import sfbearer.cli.audit as audit_cli
from sfbearer.audit import AuditTrail
from sfbearer.config import Profile, save_profile

RunCli = Callable[..., Any]


@pytest.fixture
def trail_file(tmp_path: Path) -> Path:
    path = tmp_path / "audit.jsonl"
    trail = AuditTrail(path, max_bytes=400, backups=20)
    for n in range(10):
        trail.record(
            "token.issued" if n % 2 == 0 else "token.reused",
            {"profile": "prod" if n % 2 == 0 else "uat", "n": n, "username": "int@acme.com"},
        )
    return path


def _numbers(stdout: str) -> list[int]:
    return [json.loads(line)["n"] for line in stdout.splitlines()]


def test_tail_latest_records_as_json(run_cli: RunCli, trail_file: Path) -> None:
    result = run_cli("audit", "tail", "--path", trail_file, "--json")
    assert result.code == 0, result
    assert _numbers(result.stdout) == list(range(10))  # rotated files read too
    three = run_cli("audit", "tail", "--path", trail_file, "--json", "-n", "3")
    assert _numbers(three.stdout) == [7, 8, 9]
    none = run_cli("audit", "tail", "--path", trail_file, "-n", "0")
    assert none.stdout == ""


def test_tail_human_format(run_cli: RunCli, trail_file: Path) -> None:
    result = run_cli("audit", "tail", "--path", trail_file, "-n", "1")
    (line,) = result.stdout.splitlines()
    assert "token.reused" in line
    assert "uat" in line
    assert "username=int@acme.com" in line
    assert "n=9" in line


def test_tail_filters_by_profile(run_cli: RunCli, trail_file: Path) -> None:
    result = run_cli("audit", "tail", "--path", trail_file, "--json", "--profile", "uat")
    assert _numbers(result.stdout) == [1, 3, 5, 7, 9]


def test_trail_from_environment(
    run_cli: RunCli, trail_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SFBEARER_AUDIT", str(trail_file))
    result = run_cli("audit", "tail", "--json", "-n", "2")
    assert _numbers(result.stdout) == [8, 9]


def test_trail_from_profile(run_cli: RunCli, trail_file: Path) -> None:
    save_profile(Profile(name="prod", client_id="3MVG", username="a@b.com", audit=str(trail_file)))
    result = run_cli("audit", "tail", "--json", "-p", "prod")
    assert _numbers(result.stdout) == [0, 2, 4, 6, 8]
    default = run_cli("audit", "tail", "--json", "-n", "1")  # the default profile's trail
    assert _numbers(default.stdout) == [9]


def test_profile_without_trail(run_cli: RunCli) -> None:
    save_profile(Profile(name="bare", client_id="3MVG", username="a@b.com"))
    result = run_cli("audit", "tail")
    assert result.code == 78
    assert "no audit trail" in result.stderr
    assert "hint:" in result.stderr


def test_nothing_configured(run_cli: RunCli) -> None:
    result = run_cli("audit", "tail")
    assert result.code == 78
    assert "--path" in result.stderr
    unknown = run_cli("audit", "tail", "-p", "ghost")
    assert unknown.code == 78
    assert "ghost" in unknown.stderr


def test_missing_file_and_directory(run_cli: RunCli, tmp_path: Path) -> None:
    missing = run_cli("audit", "tail", "--path", tmp_path / "none.jsonl")
    assert missing.code == 78
    assert "not found" in missing.stderr
    bad_n = run_cli("audit", "tail", "--path", tmp_path / "none.jsonl", "-n", "-1")
    assert bad_n.code == 64


def test_follow_prints_new_records_and_ctrl_c_exits_zero(
    run_cli: RunCli, trail_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    polls: list[float] = []

    def fake_sleep(seconds: float) -> None:
        polls.append(seconds)
        if len(polls) == 1:
            AuditTrail(trail_file, max_bytes=400, backups=20).record("token.refreshed", {"n": 10})
        else:
            raise KeyboardInterrupt

    monkeypatch.setattr(audit_cli, "_sleep", lambda: fake_sleep)
    result = run_cli("audit", "tail", "--path", trail_file, "--json", "-n", "1", "--follow")
    assert result.code == 0
    assert _numbers(result.stdout) == [9, 10]
    assert polls == [0.5, 0.5]


def test_secret_never_printed(run_cli: RunCli, tmp_path: Path) -> None:
    token = "00Dxx0000001gPL!AR8AQJXg5oj8jXSgxJfA0lBog.dQ4GjR0xL8kz4kV0SIeZ"
    path = tmp_path / "a.jsonl"
    AuditTrail(path).record("token.issued", {"access_token": token, "profile": "p"})
    result = run_cli("audit", "tail", "--path", path)
    assert result.code == 0
    assert token not in result.stdout + result.stderr
