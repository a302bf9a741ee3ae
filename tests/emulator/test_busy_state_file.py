"""A state file another program holds locked: requests do not stall behind the write-behind,
and a stop neither hangs nor fails; what could not be written is said in one warning."""

from __future__ import annotations

import logging
import sqlite3
import time
from pathlib import Path

import pytest

from sfbearer.emulator import Emulator
from sfbearer.keys import KeyPair

from .conftest import make_org


def test_a_locked_state_file_delays_nothing(
    tmp_path: Path, key_pair: KeyPair, caplog: pytest.LogCaptureFixture
) -> None:
    state = tmp_path / "org.db"
    sf = Emulator(state=state).start()
    holder = sqlite3.connect(state, isolation_level=None)
    try:
        orgs = make_org(sf, key_pair)  # kept: its client closes with the generator
        org = next(orgs)
        holder.execute("BEGIN EXCLUSIVE")  # another program holds the file from here on
        started = time.monotonic()
        for _ in range(3):
            assert org.post(org.mint()).status_code == 200
        time.sleep(1.2)  # the write-behind runs, meets the lock and gives up for now
        assert org.post(org.mint()).status_code == 200
        assert time.monotonic() - started < 4  # no request waited out the lock (10 s)
        with caplog.at_level(logging.WARNING, logger="sfbearer.emulator"):
            started = time.monotonic()
            sf.stop()  # must not raise
            assert time.monotonic() - started < 5
        assert any("not written: the state file is busy" in r.message for r in caplog.records)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    # The file is intact and usable afterwards.
    with Emulator(state=state) as again:
        assert again.stats()["token_requests"]["ok"] >= 0
