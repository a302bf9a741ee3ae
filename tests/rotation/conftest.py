"""Fixtures for the rotation and promotion tests: an in-process CLI, an emulated org with
one External Client App, and a saved profile pointing at it."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sfbearer.cli import main
from sfbearer.config import Profile, save_profile
from sfbearer.emulator import Emulator

USERNAME = "integration@acme.com"
PERMISSION_SET = "Acme_Integration"
APP = "Acme_Sync"


@dataclass(frozen=True)
class CliResult:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


RunCli = Callable[..., CliResult]


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> RunCli:
    """Run ``sfbearer ARGS`` in-process (stdin empty and not a terminal)."""

    def run(*args: str | os.PathLike[str]) -> CliResult:
        stdin = io.StringIO("")
        stdin.isatty = lambda: False  # type: ignore[method-assign]
        monkeypatch.setattr(sys, "stdin", stdin)
        capsys.readouterr()
        code = main([os.fspath(a) for a in args])
        out, err = capsys.readouterr()
        return CliResult(code, out, err)

    return run


@dataclass
class Org:
    """A running emulated org with the app ``Acme_Sync`` holding the current certificate."""

    sf: Emulator
    consumer_key: str
    key: Path
    cert: Path


@pytest.fixture
def org(key_files: tuple[Path, Path]) -> Iterator[Org]:
    key, cert = key_files
    with Emulator() as sf:
        app = sf.add_app(name=APP, certificate=cert)
        sf.add_user(username=USERNAME, permission_sets=(PERMISSION_SET,))
        sf.authorize(app=APP, permission_set=PERMISSION_SET)
        yield Org(sf, app.consumer_key, key, cert)


@pytest.fixture
def prod(org: Org) -> Profile:
    """Profile ``prod`` (the default) for the org's app, with ``server.key`` / ``server.crt``."""
    profile = Profile(
        name="prod",
        client_id=org.consumer_key,
        username=USERNAME,
        environment=org.sf.url,
        jwt_key_file=str(org.key),
    )
    save_profile(profile)
    return profile
