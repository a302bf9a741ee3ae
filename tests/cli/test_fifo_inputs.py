"""A FIFO given where a key, certificate or assertion file goes is refused at once.

Opening a FIFO for reading waits for a writer, for ever: each command runs in a child
process with a deadline, so a regression fails the test instead of hanging the suite.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs mkfifo")


@pytest.mark.parametrize(
    "argv",
    [
        ("keys", "show", "{fifo}"),
        ("keys", "check", "-f", "{fifo}", "--cert", "{fifo}"),
        ("keys", "csr", "-f", "{fifo}", "--common-name", "x"),
        ("keys", "import", "{fifo}", "--out-dir", "{tmp}/out"),
        ("assertion", "decode", "{fifo}"),
        ("certs", "status", "{fifo}"),
        ("token", "-i", "3MVG9x", "-o", "a@acme.com", "-f", "{fifo}", "-r", "production"),
    ],
    ids=lambda a: "-".join(a[:2]),
)
def test_a_fifo_is_refused_without_waiting(tmp_path: Path, argv: tuple[str, ...]) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo, 0o600)
    args = [a.format(fifo=fifo, tmp=tmp_path) for a in argv]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SFBEARER_")}
    env["SFBEARER_CONFIG"] = str(tmp_path / "config.toml")
    done = subprocess.run(
        [sys.executable, "-c", "from sfbearer.cli import run; run()", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode in (2, 78), done
    assert "not a regular file" in done.stdout + done.stderr
    assert "Traceback" not in done.stderr
