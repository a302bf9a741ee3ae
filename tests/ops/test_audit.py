"""The audit trail: JSON lines, 0600, rotation under a cross-process lock, redaction, reading."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from sfbearer.audit import (
    REDACTED,
    AuditSink,
    AuditTrail,
    NullAudit,
    follow_trail,
    read_trail,
    redact_fields,
    token_hash,
    trail_files,
)
from sfbearer.keys import KeyPair

FIXED = dt.datetime(2026, 12, 1, 8, 30, 15, 250000, tzinfo=dt.UTC)
TOKEN = "00Dxx0000001gPL!AR8AQJXg5oj8jXSgxJfA0lBog.dQ4GjR0xL8kz4kV0SIeZHEJsHkZyU0v3T5nOq"
ASSERTION = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiIzTVZHOSIsInN1YiI6ImFAYi5jb20ifQ.c2lnbmF0dXJl"


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_sinks_satisfy_the_protocol(tmp_path: Path) -> None:
    assert isinstance(AuditTrail(tmp_path / "a.jsonl"), AuditSink)
    assert isinstance(NullAudit(), AuditSink)
    assert NullAudit().record("token.issued", {"x": 1}) is None


def test_record_is_a_json_line_with_timestamp_and_fields(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "audit.jsonl"
    trail = AuditTrail(path, clock=lambda: FIXED)
    trail.record(
        "token.issued",
        {
            "profile": "prod",
            "client_id": "3MVG9",
            "username": "int@acme.com",
            "token_hash": token_hash(TOKEN),
        },
    )
    trail.record("token.reused", {"profile": "prod", "age_seconds": 12.5, "shared": True})
    first, second = _lines(path)
    assert first == {
        "ts": "2026-12-01T08:30:15.250000Z",
        "event": "token.issued",
        "profile": "prod",
        "client_id": "3MVG9",
        "username": "int@acme.com",
        "token_hash": token_hash(TOKEN),
    }
    assert second["event"] == "token.reused"
    assert second["age_seconds"] == 12.5
    assert second["shared"] is True
    assert path.read_bytes().endswith(b"\n")


def test_fields_cannot_replace_timestamp_or_event(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    AuditTrail(path, clock=lambda: FIXED).record("token.failed", {"ts": "forged", "event": "x"})
    (record,) = _lines(path)
    assert record["ts"] == "2026-12-01T08:30:15.250000Z"
    assert record["event"] == "token.failed"


def test_file_and_lock_are_private(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        path = tmp_path / "audit.jsonl"
        AuditTrail(path).record("token.issued", {"profile": "p"})
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(Path(f"{path}.lock").stat().st_mode) & 0o077 == 0


def test_records_go_to_logging_at_info(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    trail = AuditTrail(tmp_path / "a.jsonl")
    with caplog.at_level(logging.INFO, logger="sfbearer.audit"):
        trail.record("session.reauthenticated", {"profile": "prod", "access_token": TOKEN})
    (entry,) = [r for r in caplog.records if r.name == "sfbearer.audit"]
    assert entry.levelno == logging.INFO
    assert "session.reauthenticated" in entry.getMessage()
    assert TOKEN not in entry.getMessage()


def test_custom_logger(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("acme.audit")
    with caplog.at_level(logging.INFO, logger="acme.audit"):
        AuditTrail(tmp_path / "a.jsonl", logger=logger).record("token.revoked", {})
    assert [r.name for r in caplog.records] == ["acme.audit"]


def test_secrets_are_redacted(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "a.jsonl"
    pem = "-----BEGIN PRIVATE KEY-----\nMIIEv...\n-----END PRIVATE KEY-----\n"
    with caplog.at_level(logging.DEBUG):
        AuditTrail(path).record(
            "assertion.minted",
            {
                "access_token": TOKEN,
                "assertion": ASSERTION,
                "client_secret": "s3cr3t",
                "passphrase": "hunter2",
                "private_key": pem,
                "note": f"got {TOKEN}",
                "raw": ASSERTION,
                "details": {"refresh_token": "abc", "ok": "fine"},
                "history": ["fine", ASSERTION],
                "token_hash": "not a hash but a whole token " + TOKEN,
                "key_fingerprint": "AB:CD:EF:01",
                "token_age": 30,
                "jti": "6f1c2a",
                "aud": "https://login.salesforce.com",
            },
        )
    text = path.read_text()
    for secret in (TOKEN, ASSERTION, "s3cr3t", "hunter2", "MIIEv", "abc"):
        assert secret not in text
        assert secret not in caplog.text
    (record,) = _lines(path)
    assert record["access_token"] == REDACTED
    assert record["note"] == REDACTED
    assert record["details"] == {"refresh_token": REDACTED, "ok": "fine"}
    assert record["history"] == ["fine", REDACTED]
    assert record["token_hash"] == REDACTED
    assert record["key_fingerprint"] == "AB:CD:EF:01"
    assert record["token_age"] == 30
    assert record["jti"] == "6f1c2a"
    assert record["aud"] == "https://login.salesforce.com"


def test_redact_fields_keeps_token_hash() -> None:
    digest = token_hash(TOKEN)
    assert len(digest) == 12
    assert redact_fields({"token_hash": digest}) == {"token_hash": digest}


def test_unserialisable_values_are_written_as_text(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    AuditTrail(path).record("certificate.warning", {"path": Path("/etc/x.crt"), "when": FIXED})
    (record,) = _lines(path)
    assert record["path"] == "/etc/x.crt"
    assert record["when"].startswith("2026-12-01")


def test_write_failure_never_raises(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    trail = AuditTrail(blocker / "audit.jsonl")
    with caplog.at_level(logging.WARNING, logger="sfbearer.audit"):
        trail.record("token.issued", {"profile": "p"})
    assert any(
        r.levelno == logging.WARNING and "not written" in r.getMessage() for r in caplog.records
    )


def test_bad_event_never_raises(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    class Boom:
        def __str__(self) -> str:
            raise RuntimeError("no")

    with caplog.at_level(logging.WARNING, logger="sfbearer.audit"):
        AuditTrail(tmp_path / "a.jsonl").record("token.issued", {"x": Boom()})
    assert any("could not be encoded" in r.getMessage() for r in caplog.records)


def test_rotation_keeps_backups(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    trail = AuditTrail(path, max_bytes=300, backups=2)
    for i in range(40):
        trail.record("token.reused", {"n": i, "profile": "p"})
    files = trail_files(path)
    assert [p.name for p in files] == ["audit.jsonl.2", "audit.jsonl.1", "audit.jsonl"]
    for file in files:
        assert file.stat().st_size <= 300
        assert stat.S_IMODE(file.stat().st_mode) == 0o600
    numbers = [r["n"] for r in read_trail(path)]
    assert numbers == sorted(numbers)
    assert numbers[-1] == 39
    assert len(numbers) < 40  # the oldest went with the dropped backup


def test_zero_backups_truncates(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    trail = AuditTrail(path, max_bytes=200, backups=0)
    for i in range(20):
        trail.record("e", {"n": i})
    assert trail_files(path) == [path]
    assert [r["n"] for r in read_trail(path)][-1] == 19


def test_invalid_limits() -> None:
    with pytest.raises(ValueError, match="max_bytes"):
        AuditTrail("x", max_bytes=0)
    with pytest.raises(ValueError, match="backups"):
        AuditTrail("x", backups=-1)


def test_threads_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    trail = AuditTrail(path, max_bytes=4096, backups=10_000)

    def work(t: int) -> None:
        for i in range(100):
            trail.record("token.reused", {"t": t, "i": i})

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    seen = [(r["t"], r["i"]) for r in read_trail(path)]
    assert sorted(seen) == [(t, i) for t in range(8) for i in range(100)]


_WRITER = """
import sys, time, os
from pathlib import Path
from sfbearer.audit import AuditTrail
path, worker, go = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
trail = AuditTrail(path, max_bytes=2048, backups=100000)
while not go.exists():
    time.sleep(0.005)
for i in range(200):
    trail.record("token.issued", {"profile": f"p{worker}", "worker": worker, "i": i, "pad": "x" * 40})
"""


def test_processes_writing_one_trail_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    go = tmp_path / "go"
    procs = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(path), str(w), str(go)])
        for w in range(4)
    ]
    time.sleep(0.3)  # let them all start, so they write at the same time
    go.touch()
    for proc in procs:
        assert proc.wait(timeout=60) == 0
    files = trail_files(path)
    assert len(files) > 10  # rotated many times under contention
    seen = []
    for file in files:
        for line in file.read_bytes().splitlines():
            record = json.loads(line)  # every line is valid JSON: nothing torn or interleaved
            seen.append((record["worker"], record["i"]))
        assert file.stat().st_size <= 2048
    assert sorted(seen) == [(w, i) for w in range(4) for i in range(200)]
    assert len(seen) == len(set(seen)) == 800
    for w in range(4):  # within one writer, order is kept across rotations
        assert [i for ww, i in seen if ww == w] == list(range(200))


def test_read_trail_tolerates_torn_and_foreign_lines(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    trail = AuditTrail(path)
    trail.record("a", {"profile": "x"})
    trail.record("b", {"profile": "y"})
    with open(path, "ab") as fh:
        fh.write(b"[1, 2]\nnot json\n")
        fh.write(b'{"ts": "2026-12-01T00:00:00Z", "event": "c", "prof')  # a crash mid-write
    assert [r["event"] for r in read_trail(path)] == ["a", "b"]
    assert [r["event"] for r in read_trail(path, profile="y")] == ["b"]
    assert list(read_trail(tmp_path / "missing.jsonl")) == []


def test_read_trail_across_rotated_files(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    trail = AuditTrail(path, max_bytes=250, backups=50)
    for i in range(30):
        trail.record("e", {"n": i, "profile": "even" if i % 2 == 0 else "odd"})
    assert [r["n"] for r in read_trail(path)] == list(range(30))
    assert [r["n"] for r in read_trail(path, "odd")] == list(range(1, 30, 2))
    assert [r["n"] for r in read_trail(path, rotated=False)] == [r["n"] for r in read_trail(path)][
        -len(list(read_trail(path, rotated=False))) :
    ]


class _Script:
    """A fake sleep that runs one scripted action per poll, then stops the follower."""

    def __init__(self, *actions: object) -> None:
        self.actions = list(actions)

    def __call__(self, _seconds: float) -> None:
        if not self.actions:
            raise KeyboardInterrupt
        action = self.actions.pop(0)
        if callable(action):
            action()


def _collect(path: Path, sleep: _Script, **kwargs: object) -> list[object]:
    seen: list[object] = []
    try:
        for record in follow_trail(path, sleep=sleep, **kwargs):  # type: ignore[arg-type]
            seen.append(record["n"])
    except KeyboardInterrupt:
        pass
    return seen


def test_follow_yields_new_records_and_survives_rotation(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    trail = AuditTrail(path, max_bytes=10_000, backups=5)
    trail.record("old", {"n": -1})  # already there: not followed

    def write(*numbers: int) -> object:
        return lambda: [trail.record("e", {"n": n}) for n in numbers]

    def rotate_then_write() -> None:
        trail.record("e", {"n": 3})  # lands in the file about to be rotated
        trail._rotate()
        trail.record("e", {"n": 4})

    def torn_then_complete() -> None:
        with open(path, "ab") as fh:
            fh.write(b'{"event": "e", "n": 5')

    def complete() -> None:
        with open(path, "ab") as fh:
            fh.write(b"}\n")

    sleep = _Script(write(0, 1), write(2), rotate_then_write, torn_then_complete, complete, None)
    assert _collect(path, sleep) == [0, 1, 2, 3, 4, 5]


def test_follow_waits_for_the_file_and_filters(tmp_path: Path) -> None:
    path = tmp_path / "later.jsonl"
    trail = AuditTrail(path)

    def write() -> None:
        trail.record("e", {"n": 1, "profile": "a"})
        trail.record("e", {"n": 2, "profile": "b"})

    assert _collect(path, _Script(None, write, None), profile="b") == [2]


def test_follow_from_start(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    AuditTrail(path).record("e", {"n": 7})
    assert _collect(path, _Script(None), from_start=True) == [7]


def test_read_latest_then_follow_misses_nothing(tmp_path: Path) -> None:
    from sfbearer.audit import read_latest

    path = tmp_path / "audit.jsonl"
    trail = AuditTrail(path, max_bytes=260, backups=50)
    for n in range(6):
        trail.record("e", {"n": n})
    with open(path, "ab") as fh:
        fh.write(b'{"event": "e", "n": 6')  # being written while we read
    latest, position = read_latest(path, count=3)
    assert [r["n"] for r in latest] == [3, 4, 5]
    assert position is not None
    with open(path, "ab") as fh:
        fh.write(b"}\n")
    trail.record("e", {"n": 7})  # written after reading, before following: not lost

    def rotate_and_write() -> None:
        trail.record("e", {"n": 8})
        trail._rotate()
        trail.record("e", {"n": 9})

    seen = _collect(path, _Script(rotate_and_write, None), start=position)
    assert seen == [6, 7, 8, 9]


def test_follow_from_a_position_in_a_file_rotated_meanwhile(tmp_path: Path) -> None:
    from sfbearer.audit import read_latest

    path = tmp_path / "audit.jsonl"
    trail = AuditTrail(path, max_bytes=10_000, backups=5)
    trail.record("e", {"n": 0})
    _, position = read_latest(path)
    trail.record("e", {"n": 1})  # lands in the old file...
    trail._rotate()  # ...which is rotated before the follower starts
    trail.record("e", {"n": 2})
    assert _collect(path, _Script(None), start=position) == [1, 2]


def test_read_latest_of_a_missing_trail(tmp_path: Path) -> None:
    from sfbearer.audit import read_latest

    assert read_latest(tmp_path / "none.jsonl") == ([], None)


def test_the_runtimes_key_fingerprint_is_kept(tmp_path: Path, key_pair: KeyPair) -> None:
    from sfbearer.signers import public_key_fingerprint

    pub = key_pair.private_key.public_key()
    fingerprint = public_key_fingerprint(pub)
    path = tmp_path / "a.jsonl"
    AuditTrail(path).record("assertion.minted", {"key_fingerprint": fingerprint, "jti": "x"})
    (record,) = _lines(path)
    assert record["key_fingerprint"] == fingerprint
