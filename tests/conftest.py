"""Fixtures shared by the whole suite: keys made once per session, isolated config and env,
and ``run_cli``, the in-process CLI."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from cli_result import CliResult, RunCli
from sfbearer.cli import main
from sfbearer.keys import KeyPair, generate_key_pair, write_key_pair

_ENV_PREFIX = "SFBEARER_"


@pytest.fixture(scope="session")
def key_pair() -> KeyPair:
    """One RSA-2048 key pair with a self-signed certificate for the whole session."""
    return generate_key_pair(common_name="sfbearer-test", days=365)


@pytest.fixture(scope="session")
def other_key_pair() -> KeyPair:
    """A second, unrelated key pair (for 'certificate of another key' cases)."""
    return generate_key_pair(common_name="sfbearer-other", days=365)


@pytest.fixture
def key_files(tmp_path: Path, key_pair: KeyPair) -> tuple[Path, Path]:
    """``server.key`` (0600) and ``server.crt`` for ``key_pair`` in a temp directory."""
    return write_key_pair(key_pair, tmp_path / "keys")


@pytest.fixture(autouse=True)
def _isolated_environment(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No test reads the developer's own sfbearer configuration or SFBEARER_* variables."""
    for name in list(os.environ):
        if name.startswith(_ENV_PREFIX) and name != "SFBEARER_REQUIRE_SERVICES":
            monkeypatch.delenv(name, raising=False)
    config_dir = tmp_path_factory.mktemp("config")
    monkeypatch.setenv("SFBEARER_CONFIG", str(config_dir / "config.toml"))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "120")


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> RunCli:
    """Run ``sfbearer.cli.main(argv)`` in-process: ``run_cli("keys", "show", path, input="...")``.

    Arguments may be ``str`` or path-like. ``input`` becomes stdin (empty by default); ``env``
    is set for the run (a ``None`` value unsets a variable); ``tty=True`` makes stdin look
    like a terminal.
    """

    def run(
        *args: str | os.PathLike[str],
        input: str | None = None,
        env: Mapping[str, str | None] | None = None,
        tty: bool = False,
    ) -> CliResult:
        with monkeypatch.context() as patch:
            for name, value in (env or {}).items():
                if value is None:
                    patch.delenv(name, raising=False)
                else:
                    patch.setenv(name, value)
            stdin = io.StringIO(input or "")
            stdin.isatty = lambda: tty  # type: ignore[method-assign]
            patch.setattr(sys, "stdin", stdin)
            capsys.readouterr()
            code = main([os.fspath(a) for a in args])
            out, err = capsys.readouterr()
        return CliResult(code, out, err)

    return run
