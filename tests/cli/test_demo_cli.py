"""`sfbearer demo`: the main job, end to end against the embedded emulator."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import jwt

from sfbearer.keys import load_certificate


def test_demo_tells_the_whole_story_and_exits_0(run_cli) -> None:
    result = run_cli("demo")
    assert result.code == 0, result
    out = result.stdout
    for title in (
        "Generate an RSA-2048 key",
        "Register an External Client App",
        "Mint jwt.txt",
        "Exchange jwt.txt",
        "identity URL",
        "Query and create records",
        "Reuse the cached token",
        "heal it with one re-authentication",
        "Check the certificate",
    ):
        assert title in out
    assert "[11/11]" in out
    assert "0 new token request(s)" in out  # 20 calls served from the cache
    assert "re-authenticated 1 time(s)" in out
    assert "session.reauthenticated" in out  # the audit trail is shown


def test_demo_json_reports_counts_and_never_a_token(run_cli) -> None:
    result = run_cli("demo", "--json")
    assert result.code == 0, result
    report = json.loads(result.stdout)
    assert [s["step"] for s in report["steps"]] == list(range(1, 12))
    assert report["emulator"]["token_requests"] == {
        **report["emulator"]["token_requests"],
        "ok": 3,
        "failed": 0,
    }
    events = [r["event"] for r in report["audit"]]
    assert events.count("token.issued") == 1
    assert events.count("session.reauthenticated") == 1
    assert "!" not in "".join(str(r.get("token_hash", "")) for r in report["audit"])
    assert "eyJ" not in result.output  # no assertion printed anywhere


def test_demo_keep_leaves_working_artifacts(tmp_path: Path) -> None:
    keep = tmp_path / "kept"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SFBEARER_")}
    proc = subprocess.run(
        [sys.executable, "-m", "sfbearer", "demo", "--keep", str(keep)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    key, cert = keep / "keys" / "server.key", keep / "keys" / "server.crt"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE((keep / "jwt.txt").stat().st_mode) == 0o600
    assert (keep / "emulator.db").exists()
    assert (keep / "config.toml").exists()
    assert (keep / "audit.jsonl").exists()
    assertion = (keep / "jwt.txt").read_text().strip()
    claims = jwt.decode(
        assertion,
        load_certificate(cert).certificate.public_key(),
        algorithms=["RS256"],
        options={"verify_aud": False, "verify_exp": False},
    )
    assert claims["sub"] == "integration@demo.sfbearer.example"
    assert f"--state {keep / 'emulator.db'}" in proc.stdout
    assert f"SFBEARER_CONFIG={keep / 'config.toml'}" in proc.stdout


def test_demo_keep_refuses_a_non_empty_directory(run_cli, tmp_path: Path) -> None:
    (tmp_path / "something").write_text("x")
    result = run_cli("demo", "--keep", tmp_path)
    assert result.code == 78
    assert "not empty" in result.stderr
    assert (tmp_path / "something").read_text() == "x"
