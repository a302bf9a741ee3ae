"""``sfbearer emulator serve`` as a real process: write-behind while idle, SIGTERM, start-up errors."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from sfbearer.emulator.control import EmulatorControl
from sfbearer.keys import KeyPair

from .conftest import GRANT

USER = "proc@acme.com"


@dataclass
class Served:
    proc: subprocess.Popen[str]
    url: str
    consumer_key: str

    def token(self, key_pair: KeyPair) -> str:
        claims = {
            "iss": self.consumer_key,
            "sub": USER,
            "aud": self.url,
            "exp": int(time.time()) + 120,
        }
        assertion = jwt.encode(claims, key_pair.private_key, algorithm="RS256")
        response = httpx.post(
            self.url + "/services/oauth2/token", data={"grant_type": GRANT, "assertion": assertion}
        )
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    def api_call(self, token: str) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        assert (
            httpx.get(self.url + "/services/data/v68.0/limits/", headers=headers).status_code == 200
        )

    def stop(self, sig: int = signal.SIGTERM) -> tuple[str, str]:
        self.proc.send_signal(sig)
        out, err = self.proc.communicate(timeout=20)
        return out, err


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SFBEARER_")}
    env["TMPDIR"] = str(tmp)  # the temporary state folder lands here, where the test can look
    return env


def _cli(*args: str | Path) -> list[str]:
    return [sys.executable, "-c", "from sfbearer.cli import run; run()", *map(str, args)]


@pytest.fixture
def seed(tmp_path: Path, key_files: tuple[Path, Path]) -> Path:
    _, cert = key_files
    path = tmp_path / "seed.json"
    path.write_text(json.dumps({
        "apps": [{"name": "p", "certificate": str(cert), "consumer_key": "3MVG9proc.test.key"}],
        "users": [{"username": USER}],
        "authorizations": [{"app": "p", "profile": "Integration User"}],
    }))  # fmt: skip
    return path


@pytest.fixture
def serve(tmp_path: Path, seed: Path) -> Iterator[Any]:
    started: list[Served] = []
    tmp = tmp_path / "tmp"
    tmp.mkdir()

    def start(*args: str | Path) -> Served:
        proc = subprocess.Popen(
            _cli("emulator", "serve", "--seed", seed, *args),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(tmp),
        )  # fmt: skip
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), proc.stderr.read() if proc.stderr else ""
        served = Served(proc, url, "3MVG9proc.test.key")
        started.append(served)
        return served

    yield start
    for served in started:
        if served.proc.poll() is None:
            served.proc.kill()
            served.proc.communicate(timeout=20)


def _file_stats(state: Path) -> dict[str, Any]:
    return EmulatorControl(state=state).stats()


def test_counters_reach_the_state_file_while_the_emulator_is_idle(
    serve: Any, tmp_path: Path, key_pair: KeyPair
) -> None:
    state = tmp_path / "org.db"
    served = serve("--state", state)
    token = served.token(key_pair)
    served.token(key_pair)
    served.api_call(token)
    # No request after these: only the idle write-behind can bring them to the file.
    deadline = time.monotonic() + 4
    while True:
        stats = _file_stats(state)
        if stats["token_requests"]["ok"] == 2 and stats["api_calls"] == 1:
            break
        assert time.monotonic() < deadline, f"still {stats} in the file"
        time.sleep(0.2)
    assert stats["token_requests"]["by_user"] == {USER: 2}
    assert stats["active_sessions"] == 2
    served.stop()


def test_sigterm_writes_what_is_pending_and_exits_cleanly(
    serve: Any, tmp_path: Path, key_pair: KeyPair
) -> None:
    state = tmp_path / "org.db"
    served = serve("--state", state)
    served.api_call(served.token(key_pair))
    _out, err = served.stop(signal.SIGTERM)  # at once: the write-behind has not run yet
    assert served.proc.returncode == 0, err
    assert "emulator stopped" in err
    assert "Traceback" not in err
    stats = _file_stats(state)
    assert stats["token_requests"]["ok"] == 1
    assert stats["api_calls"] == 1


def test_sigterm_removes_the_temporary_state(serve: Any, tmp_path: Path) -> None:
    served = serve()
    assert httpx.get(served.url + "/services/data/").status_code == 200
    assert list((tmp_path / "tmp").glob("sfbearer-emulator-*"))  # the temporary org exists
    _, err = served.stop(signal.SIGTERM)
    assert served.proc.returncode == 0, err
    assert "emulator stopped" in err
    assert list((tmp_path / "tmp").glob("sfbearer-emulator-*")) == []


def test_ctrl_c_still_stops_cleanly(serve: Any, tmp_path: Path) -> None:
    served = serve()
    _, err = served.stop(signal.SIGINT)
    assert served.proc.returncode == 0, err
    assert "emulator stopped" in err
    assert list((tmp_path / "tmp").glob("sfbearer-emulator-*")) == []


def _serve_fails(tmp_path: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    tmp = tmp_path / "tmp-fail"
    tmp.mkdir(exist_ok=True)
    done = subprocess.run(
        _cli("emulator", "serve", *args), capture_output=True, text=True, env=_env(tmp), timeout=30
    )
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    assert list(tmp.glob("sfbearer-emulator-*")) == []  # nothing left behind on failure
    return done


def test_a_state_file_in_a_missing_folder_is_a_configuration_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "dir" / "org.db"
    done = _serve_fails(tmp_path, "--state", missing)
    assert done.returncode == 78, done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines[0].startswith("error: cannot create the emulator state file ")
    assert str(missing) in lines[0]
    assert lines[1].startswith("hint: ")
    assert "mkdir -p" in lines[1]
    assert len(lines) == 2


def test_a_ca_out_in_a_missing_folder_names_that_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "ca.pem"
    done = _serve_fails(tmp_path, "--tls", "--ca-out", missing)
    assert done.returncode == 78, done.stderr
    assert "cannot listen" not in done.stderr
    assert f"--ca-out {missing}" in done.stderr
    assert "hint: the folder" in done.stderr


def test_a_port_in_use_comes_with_a_hint(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        done = _serve_fails(tmp_path, "--port", str(port))
    assert done.returncode == 78, done.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "hint:" in done.stderr
    assert "--port 0" in done.stderr


def test_an_emulator_in_a_thread_writes_behind_while_idle(tmp_path: Path) -> None:
    import sqlite3

    from sfbearer.emulator import Emulator

    path = tmp_path / "thread.db"
    with Emulator(state=path) as sf:
        sf.ctx.sessions.flush()
        sf.ctx.sessions.bump("api:calls")  # pending: the last write was just now
        deadline = time.monotonic() + 4
        while True:
            conn = sqlite3.connect(path)
            try:
                row = conn.execute("SELECT value FROM counters WHERE key = 'api:calls'").fetchone()
            finally:
                conn.close()
            if row is not None and row[0] == 1:
                break
            assert time.monotonic() < deadline, "the pending count never reached the file"
            time.sleep(0.1)


def test_sigterm_during_a_slow_request_answers_it_cleanly(serve: Any, key_pair: KeyPair) -> None:
    served = serve()
    token = served.token(key_pair)
    set_faults = httpx.post(served.url + "/__emulator/faults", json={"latency": 8})
    assert set_faults.status_code == 200, set_faults.text
    answers: list[httpx.Response] = []

    def slow_call() -> None:
        answers.append(httpx.get(served.url + "/services/data/v68.0/limits/", timeout=30,
                                 headers={"Authorization": f"Bearer {token}"}))  # fmt: skip

    caller = threading.Thread(target=slow_call)
    caller.start()
    time.sleep(0.5)  # the request is in flight, sleeping in the latency fault
    _, err = served.stop(signal.SIGTERM)
    caller.join(30)
    assert served.proc.returncode == 0, err
    assert "Traceback" not in err
    assert "emulator stopped" in err
    (answer,) = answers
    assert answer.status_code == 503, answer.text  # after the 2 s grace: an answer to retry
    assert answer.json()[0]["errorCode"] == "SERVER_UNAVAILABLE"
    assert answer.headers["retry-after"] == "1"
