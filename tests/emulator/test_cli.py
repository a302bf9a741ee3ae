"""``sfbearer emulator ...``: serve in a real process; configure via --url and via --state."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from sfbearer.cli import main
from sfbearer.emulator import Emulator
from sfbearer.keys import KeyPair

from .conftest import GRANT


def run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def state_file(tmp_path: Path) -> Path:
    path = tmp_path / "org.db"
    with Emulator(state=path):
        pass
    return path


def test_configure_a_state_file(
    capsys: pytest.CaptureFixture[str],
    state_file: Path,
    key_files: tuple[Path, Path],
    key_pair: KeyPair,
) -> None:
    _, cert = key_files
    code, out, _ = run(
        capsys, "emulator", "add-app", "--name", "ci", "--cert", cert, "--state", state_file
    )
    assert code == 0
    consumer_key = out.strip()
    assert consumer_key.startswith("3MVG9")
    assert (
        run(capsys, "emulator", "add-user", "--username", "cli@acme.com", "--state", state_file)[0]
        == 0
    )
    assert (
        run(
            capsys,
            "emulator",
            "authorize",
            "--app",
            "ci",
            "--user",
            "cli@acme.com",
            "--state",
            state_file,
        )[0]
        == 0
    )
    with Emulator(state=state_file) as sf:
        import jwt

        claims = {
            "iss": consumer_key,
            "sub": "cli@acme.com",
            "aud": sf.url,
            "exp": int(sf.clock.now()) + 60,
        }
        assertion = jwt.encode(claims, key_pair.private_key, algorithm="RS256")
        assert (
            httpx.post(sf.token_url, data={"grant_type": GRANT, "assertion": assertion}).status_code
            == 200
        )
    code, out, _ = run(capsys, "emulator", "stats", "--json", "--state", state_file)
    assert code == 0
    assert json.loads(out)["token_requests"]["by_user"] == {"cli@acme.com": 1}
    code, out, _ = run(capsys, "emulator", "revoke-sessions", "--state", state_file)
    assert (code, out.strip()) == (0, "revoked 1 session(s)")


def test_configure_a_running_emulator(
    capsys: pytest.CaptureFixture[str], key_files: tuple[Path, Path]
) -> None:
    _, cert = key_files
    with Emulator() as sf:
        code, out, _ = run(
            capsys,
            "emulator",
            "add-app",
            "--name",
            "ci",
            "--cert",
            cert,
            "--scopes",
            "Api, RefreshToken",
            "--json",
            "--url",
            sf.url,
        )
        assert code == 0
        assert json.loads(out)["scopes"] == "refresh_token api"
        assert (
            run(
                capsys,
                "emulator",
                "add-user",
                "--username",
                "u@acme.com",
                "--sf-profile",
                "Ops",
                "--url",
                sf.url,
            )[0]
            == 0
        )
        code, out, _ = run(
            capsys, "emulator", "authorize", "--app", "ci", "--sf-profile", "Ops", "--url", sf.url
        )
        assert code == 0
        assert "Ops" in out
        assert sf.ctx.registry.get_app("ci").profiles == ("Ops",)  # type: ignore[union-attr]
        code, out, _ = run(
            capsys,
            "emulator",
            "faults",
            "--error-rate",
            "0.25",
            "--retry-after",
            "3",
            "--url",
            sf.url,
        )
        assert code == 0
        assert (sf.faults.error_rate, sf.faults.retry_after) == (0.25, 3)
        assert run(capsys, "emulator", "faults", "--reset", "--url", sf.url)[0] == 0
        assert sf.faults.error_rate == 0
        code, out, _ = run(capsys, "emulator", "stats", "--url", sf.url)
        assert "token requests: 0 ok, 0 failed" in out
        code, _, err = run(
            capsys,
            "emulator",
            "authorize",
            "--app",
            "nope",
            "--user",
            "u@acme.com",
            "--url",
            sf.url,
        )
        assert code == 78
        assert "no app named 'nope'" in err


def test_target_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "emulator", "stats")
    assert code == 64
    assert "--url" in err
    code, _, err = run(capsys, "emulator", "stats", "--url", "http://127.0.0.1:9")
    assert code == 3
    code, _, err = run(capsys, "emulator", "stats", "--state", tmp_path / "missing.db")
    assert code == 78
    assert not (tmp_path / "missing.db").exists()


def test_serve_prints_url_and_stops_on_ctrl_c(tmp_path: Path, key_files: tuple[Path, Path]) -> None:
    _, cert = key_files
    seed = tmp_path / "seed.json"
    seed.write_text(
        json.dumps(
            {
                "apps": [{"name": "s", "certificate": str(cert)}],
                "users": [{"username": "s@acme.com"}],
            }
        )
    )
    ca = tmp_path / "ca.pem"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SFBEARER_")}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from sfbearer.cli import run; run()", "emulator", "serve", "--seed", str(seed), "--ca-out", str(ca), "--state", str(tmp_path / "s.db")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("https://127.0.0.1:")
        import ssl

        trust = ssl.create_default_context(cafile=str(ca))
        assert httpx.get(url + "/services/data/", verify=trust).status_code == 200
        state = httpx.get(url + "/__emulator/state", verify=trust).json()
        assert [a["name"] for a in state["apps"]] == ["s"]
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert "consumer key 3MVG9" in err


def test_a_file_that_is_not_a_state_file_is_refused_and_left_alone(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    garbage = tmp_path / "notes.db"
    garbage.write_bytes(b"not a database at all, " * 100)
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE invoices (id INTEGER)")
    conn.commit()
    conn.close()
    before = {p: p.read_bytes() for p in (garbage, other)}
    for path, says in ((garbage, "is not an emulator state file"), (other, "something else")):
        for args in (("serve", "--port", "0"), ("stats",)):
            code, out, err = run(capsys, "emulator", *args, "--state", path)
            assert code == 78, err
            assert says in err
            assert "hint: give --state a new file name" in err
            assert "Traceback" not in err
            assert out == ""
    assert {p: p.read_bytes() for p in before} == before  # nothing written to either
    assert not (tmp_path / "other.db-wal").exists()
