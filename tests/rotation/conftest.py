"""Fixtures for the rotation and promotion tests: an emulated org with one External Client
App, and a saved profile pointing at it (``run_cli`` comes from the suite's conftest)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from cli_result import RunCli
from sfbearer.config import Profile, save_profile
from sfbearer.emulator import Emulator

USERNAME = "integration@acme.com"
PERMISSION_SET = "Acme_Integration"
APP = "Acme_Sync"

__all__ = ["APP", "PERMISSION_SET", "USERNAME", "Org", "RunCli", "org", "prod"]


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
