"""docs/agents.md works as written: its commands, configuration and Python run against the emulator.

The guide's ``sfbearer init`` commands are run (Salesforce URL and file paths pointed at a
temporary org and directory; consumer keys exactly as written), the configuration they make
is compared with the file the guide shows, then every Python block runs in order and the
tracing commands read the trail those runs wrote.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sfbearer.audit import read_trail
from sfbearer.cli import main
from sfbearer.config import config_path, load_profiles
from sfbearer.emulator import Emulator
from sfbearer.keys import KeyPair, load_certificate, write_key_pair

GUIDE = Path(__file__).parents[2] / "docs" / "agents.md"
DOC_URL = "https://acme.my.salesforce.com"
DOC_CACHE = "/var/cache/sfbearer"
DOC_AUDIT = "/var/log/sfbearer/audit.jsonl"
DOC_SHARED_KEY = "/etc/sfbearer/agents/server.key"
AGENTS = ("billing-agent", "support-agent", "reporting-agent")


def blocks(language: str) -> list[str]:
    """The guide's fenced code blocks in ``language``, indentation removed."""
    text = GUIDE.read_text()
    found = re.findall(r"^( *)```" + language + r"\n(.*?)^\1```", text, re.M | re.S)
    return ["\n".join(line[len(ind) :] for line in body.splitlines()) for ind, body in found]


@dataclass
class Setup:
    sf: Emulator
    tmp: Path

    def local(self, text: str) -> str:
        """The guide's text with its URL and paths moved to this test's org and directory."""
        for old, new in (
            (DOC_URL, self.sf.url),
            (DOC_CACHE, str(self.tmp / "cache")),
            (DOC_AUDIT, str(self.tmp / "log" / "audit.jsonl")),
            (DOC_SHARED_KEY, str(self.tmp / "agents" / "server.key")),
        ):
            text = text.replace(old, new)
        return text


@pytest.fixture
def setup(tmp_path: Path, key_pair: KeyPair, capsys: pytest.CaptureFixture[str]) -> Iterator[Setup]:
    write_key_pair(key_pair, tmp_path / "agents")
    with Emulator() as sf:
        here = Setup(sf, tmp_path)
        commands = [c for c in blocks("sh")[0].replace("\\\n", " ").splitlines() if c.strip()]
        inits = [shlex.split(here.local(c)) for c in commands if c.startswith("sfbearer init")]
        assert [argv[2] for argv in inits] == ["reporting-agent", "billing-agent", "support-agent"]
        for argv in inits:
            assert main(argv[1:]) == 0, argv
        capsys.readouterr()
        # The org as the guide describes it: a user per agent, pre-authorized by a
        # permission set of its own; the reporting agent's app holds its generated key.
        generated = config_path().parent / "keys" / "reporting-agent" / "server.crt"
        sf.add_app(
            name="Reporting Agent",
            certificate=load_certificate(generated).certificate,
            consumer_key="3MVG9REPORTING...",
            session_timeout=30,
        )
        sf.add_app(
            name="AI Agents",
            certificate=key_pair.certificate,
            consumer_key="3MVG9AGENTS...",
            session_timeout=30,
        )
        for agent in AGENTS:
            access = f"{agent.replace('-', ' ').title()} - App Access"
            sf.add_user(username=f"{agent}@acme.com", permission_sets=(access,))
            app = "Reporting Agent" if agent == "reporting-agent" else "AI Agents"
            sf.authorize(app=app, permission_set=access)
        sf.records.create("Account", {"Name": "Acme"})
        yield here


def test_the_init_commands_make_the_configuration_shown(setup: Setup) -> None:
    (shown,) = blocks("toml")
    expected = tomllib.loads(setup.local(shown))
    written = tomllib.loads(config_path().read_text())
    generated = str(config_path().parent / "keys" / "reporting-agent" / "server.key")
    expected["profiles"]["reporting-agent"]["jwt_key_file"] = generated
    assert written == expected
    assert set(load_profiles()) == set(AGENTS)


def test_the_python_examples_run_and_each_agent_acts_as_itself(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio_example, threads_example, revoke_example = blocks("python")

    exec(compile(asyncio_example, "agents.md (asyncio)", "exec"), {})
    lines = sorted(capsys.readouterr().out.splitlines())
    assert lines == [f"{a} acts as {a}@acme.com and sees 1 accounts" for a in sorted(AGENTS)]

    exec(compile(threads_example, "agents.md (threads)", "exec"), {})  # asserts inside

    logins = setup.sf.stats()["token_requests"]["by_user"]
    assert logins == {f"{a}@acme.com": 1 for a in AGENTS}  # one shared file cache
    users = {a: setup.sf.ctx.registry.get_user_by_username(f"{a}@acme.com").id for a in AGENTS}
    assert all(setup.sf.ctx.sessions.active_count(u) == 1 for u in users.values())

    exec(compile(revoke_example, "agents.md (revoke)", "exec"), {})
    assert capsys.readouterr().out == "revoked\n"
    active = {a: setup.sf.ctx.sessions.active_count(u) for a, u in users.items()}
    assert active == {"billing-agent": 1, "support-agent": 0, "reporting-agent": 1}

    trail = setup.tmp / "log" / "audit.jsonl"
    records = list(read_trail(trail))
    assert {r["profile"] for r in records} == set(AGENTS)
    assert all(r["username"] == f"{r['profile']}@acme.com" for r in records)
    assert [r["profile"] for r in records if r["event"] == "token.revoked"] == ["support-agent"]

    # the tracing commands of the guide, on that trail
    assert main(["audit", "tail", "--profile", "support-agent", "-n", "50"]) == 0
    shown = capsys.readouterr().out.splitlines()
    assert shown
    assert all("  support-agent  " in line for line in shown)
    if shutil.which("jq") is None:
        pytest.skip("jq is not installed: the guide's jq commands were not run")
    jq = [c for c in _shell_commands(blocks("sh")[1]) if c.startswith("jq")]
    assert len(jq) == 3
    issued = next(r for r in records if r["event"] == "token.issued")
    jq[2] = jq[2].replace("1f2e3d4c5b6a", issued["token_hash"])  # a hash from this run
    outputs = [_run(setup.local(c)) for c in jq]
    counts = {line.split()[1]: int(line.split()[0]) for line in outputs[0].splitlines()}
    assert counts == dict.fromkeys(AGENTS, 1)
    assert outputs[1] == ""  # no failure
    found = outputs[2].splitlines()  # issued, then reused from the cache by the next run
    assert f"{issued['ts']} {issued['profile']} {issued['username']}" in found
    assert all(line.endswith(f" {issued['profile']} {issued['username']}") for line in found)


def _shell_commands(block: str) -> list[str]:
    """Commands of a shell block: comments dropped, continuation lines joined."""
    lines = [
        re.sub(r"\s{2,}#.*$", "", line)  # a trailing comment
        for line in block.splitlines()
        if not line.lstrip().startswith("#")
    ]
    joined = "\n".join(lines).replace("\\\n", " ")
    commands: list[str] = []
    for line in joined.splitlines():
        if not line.strip():
            continue
        if commands and commands[-1].count("'") % 2:  # inside a quoted jq program
            commands[-1] += "\n" + line
        else:
            commands.append(line.strip())
    return commands


def _run(command: str) -> str:
    done = subprocess.run(
        ["sh", "-c", command], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0, (command, done.stderr)
    return done.stdout
