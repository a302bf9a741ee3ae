"""Small things a newcomer trips on: a curl that trusts the emulator's CA, a CSV header for an
empty result, a real ``init`` command in the promotion steps."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli_result import RunCli
from sfbearer.config import Profile, get_profile, save_profile
from sfbearer.emulator import Emulator

USER = "minor@acme.example"


def _org(sf: Emulator, key_files: tuple[Path, Path]) -> tuple[str, ...]:
    app = sf.add_app(name="minor", certificate=key_files[1])
    sf.add_user(username=USER)
    sf.authorize(app="minor", user=USER)
    return ("-i", app.consumer_key, "-o", USER, "-f", str(key_files[0]), "-r", sf.url)


@pytest.fixture
def tls_org(key_files: tuple[Path, Path]) -> Iterator[tuple[Emulator, tuple[str, ...]]]:
    with Emulator(tls=True) as sf:
        yield sf, _org(sf, key_files)


def _printed_curl(stderr: str) -> str:
    return next(line.strip() for line in stderr.splitlines() if line.strip().startswith("curl "))


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_printed_curl_trusts_the_ca_bundle_sfbearer_trusts(
    run_cli: RunCli, tls_org: tuple[Emulator, tuple[str, ...]], tmp_path: Path
) -> None:
    sf, flags = tls_org
    assert sf.ca_path is not None
    out = tmp_path / "jwt.txt"
    result = run_cli(
        "assertion", "new", *flags, "--out", out, env={"SFBEARER_CA_BUNDLE": str(sf.ca_path)}
    )
    assert result.code == 0, result
    command = _printed_curl(result.stderr)
    assert f"--cacert {sf.ca_path}" in command
    run = subprocess.run(
        shlex.split(command),
        capture_output=True,
        timeout=30,
        check=False,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert run.returncode == 0, run.stderr
    assert "access_token" in json.loads(run.stdout)
    # without the bundle, the printed command could not have worked: curl refuses the CA
    bare = command.replace(f"--cacert {sf.ca_path} ", "")
    refused = subprocess.run(
        shlex.split(bare),
        capture_output=True,
        timeout=30,
        check=False,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert refused.returncode != 0


def test_no_cacert_without_a_bundle(
    run_cli: RunCli, key_files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    with Emulator() as sf:
        result = run_cli("assertion", "new", *_org(sf, key_files))
    assert result.code == 0, result
    assert "--cacert" not in _printed_curl(result.stderr)


def test_ssl_cert_file_becomes_cacert(
    run_cli: RunCli, key_files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Python reads SSL_CERT_FILE, curl does not: the printed command must name the bundle.
    with Emulator(tls=True) as sf:
        ca = str(sf.ca_path)
        monkeypatch.setenv("SSL_CERT_FILE", ca)
        result = run_cli("assertion", "new", *_org(sf, key_files))
    assert result.code == 0, result
    assert f"--cacert {ca} " in _printed_curl(result.stderr)


@pytest.mark.parametrize(
    ("soql", "header"),
    [
        ("SELECT Id, Name, Owner.Name FROM Account WHERE Name = 'nobody'", "Id,Name,Owner.Name"),
        (
            "SELECT Name, (SELECT LastName FROM Contacts) FROM Account WHERE Name = 'nobody'",
            "Name,Contacts",
        ),
    ],
)
def test_csv_of_an_empty_result_still_has_its_header(
    run_cli: RunCli, key_files: tuple[Path, Path], soql: str, header: str
) -> None:
    with Emulator() as sf:
        flags = _org(sf, key_files)
        empty = run_cli("query", soql, "--format", "csv", *flags)
    assert empty.code == 0, empty
    assert empty.stdout == header + "\n"


def test_promotion_steps_give_an_init_command_that_works(
    run_cli: RunCli, key_files: tuple[Path, Path]
) -> None:
    save_profile(
        Profile(
            name="uat",
            client_id="3MVG9sandboxapp",
            username="int@acme.com.uat",
            environment="https://acme--uat.sandbox.my.salesforce.com",
            jwt_key_file=str(key_files[0]),
            session_timeout=30,
            cache="file:/var/cache/sfbearer",
        )
    )
    result = run_cli(
        "profiles", "promote", "uat", "--to", "prod", "-r", "production", "-o", "int@acme.com"
    )
    assert result.code in (0, 1), result
    line = next(ln for ln in result.output.splitlines() if "Copy the new app's consumer key" in ln)
    assert "or sfbearer init --force" not in line
    init = line.split(", or ", 1)[1].removesuffix(".")
    assert init.startswith("sfbearer init prod --client-id CONSUMER_KEY ")
    promoted = get_profile("prod")
    argv = shlex.split(init.replace("CONSUMER_KEY", "3MVG9prodapp"))
    done = run_cli(*argv[1:])
    assert done.code == 0, done
    rewritten = get_profile("prod")
    assert rewritten.client_id == "3MVG9prodapp"
    for field in (
        "username",
        "environment",
        "jwt_key_file",
        "cert_file",
        "cache",
        "session_timeout",
    ):
        assert getattr(rewritten, field) == getattr(promoted, field), field
