"""Twenty identities side by side in one process: tokens never cross, the trail names each one.

One configuration file, twenty profiles, all used at once from threads (``SalesforceClient``)
and asyncio tasks (``AsyncSalesforceClient``) over one shared token cache (memory, file or
Redis) and one audit trail.
What Salesforce (the emulator) says about each token is the referee: whose session it is,
what ``userinfo`` answers for it, how many logins each user made, who created each record.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from sfbearer import AsyncSalesforceClient, JWTBearerCredentials, SalesforceClient
from sfbearer.audit import read_trail, token_hash
from sfbearer.cache import MemoryCache, TokenCache
from sfbearer.cache.file import FileCache
from sfbearer.cli import main
from sfbearer.config import get_profile, resolve_profile

from .checks import audit_problems, token_problems
from .conftest import (
    IDENTITIES,
    AsyncRecordingTransport,
    Org,
    RecordingTransport,
    Seen,
    profile_name,
)

THREADS = 2  # per identity, each with SalesforceClient
TASKS = 2  # per identity, each with AsyncSalesforceClient
CALLS = 3  # userinfo calls per thread or task (plus one record created)

CacheChoice = Callable[[Org], TokenCache | None]


def _memory(org: Org) -> TokenCache | None:
    return MemoryCache()


def _file(org: Org) -> TokenCache | None:
    return FileCache(org.cache_dir)


def _from_profile(org: Org) -> TokenCache | None:
    return None  # each credentials object builds its own cache from the profile's file: spec


CACHES = {"memory-shared": _memory, "file-shared": _file, "file-from-profile": _from_profile}


@pytest.fixture
def redis_cache(request: pytest.FixtureRequest) -> Iterator[TokenCache]:
    """A Redis cache under a key prefix of this test's own (deleted afterwards)."""
    import secrets

    import redis

    from sfbearer.cache.redis_cache import RedisCache

    url = request.getfixturevalue("redis_url")
    prefix = f"sfbearer-test:{secrets.token_hex(6)}:"
    cache = RedisCache.from_url(f"{url}?prefix={prefix}")
    yield cache
    cache.close()
    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=prefix + "*"))
    if keys:
        client.delete(*keys)
    client.close()


def _credentials(org: Org, cache: TokenCache | None) -> dict[str, JWTBearerCredentials]:
    """One credentials object per profile of the configuration file."""
    made = {}
    for index in range(IDENTITIES):
        name = profile_name(index)
        if cache is None:
            made[name] = JWTBearerCredentials.from_profile(name)
        else:
            made[name] = JWTBearerCredentials.from_config(resolve_profile(name), cache=cache)
    return made


@pytest.fixture
def fleet_of(org: Org) -> Iterator[Callable[[TokenCache | None], dict[str, JWTBearerCredentials]]]:
    made: list[JWTBearerCredentials] = []

    def build(cache: TokenCache | None) -> dict[str, JWTBearerCredentials]:
        creds = _credentials(org, cache)
        made.extend(creds.values())
        return creds

    yield build
    for creds in made:
        creds.close()


def _work(
    creds: Mapping[str, JWTBearerCredentials],
    seen: Mapping[str, Seen],
    label: str,
    *,
    threads: int = THREADS,
    tasks: int = TASKS,
    calls: int = CALLS,
) -> list[BaseException]:
    """Every identity at once: ``threads`` threads and ``tasks`` asyncio tasks each."""
    errors: list[BaseException] = []
    start = threading.Event()

    def thread_body(name: str, number: int, sf: SalesforceClient) -> None:
        try:
            start.wait(10)
            sf.sobject("Account").create({"Name": f"{name} {label} thread {number}"})
            for _ in range(calls):
                sf.get_json("/services/oauth2/userinfo")
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    async def task_body(name: str, number: int, sf: AsyncSalesforceClient) -> None:
        await sf.sobject("Account").create({"Name": f"{name} {label} task {number}"})
        for _ in range(calls):
            await sf.get_json("/services/oauth2/userinfo")

    async def run_tasks() -> None:
        clients = {
            name: AsyncSalesforceClient(c, transport=AsyncRecordingTransport(seen[name]))
            for name, c in creds.items()
        }
        try:
            start.set()  # the threads and the tasks go together
            results = await asyncio.gather(
                *(task_body(n, i, sf) for n, sf in clients.items() for i in range(tasks)),
                return_exceptions=True,
            )
            errors.extend(r for r in results if isinstance(r, BaseException))
        finally:
            for sf in clients.values():
                await sf.aclose()

    sync_clients = {
        name: SalesforceClient(c, transport=RecordingTransport(seen[name]))
        for name, c in creds.items()
    }
    workers = [
        threading.Thread(target=thread_body, args=(name, i, sf))
        for name, sf in sync_clients.items()
        for i in range(threads)
    ]
    for thread in workers:
        thread.start()
    try:
        asyncio.run(run_tasks())
    finally:
        start.set()
        for thread in workers:
            thread.join(60)
        for sf in sync_clients.values():
            sf.close()
    return errors


def _owner(org: Org) -> Callable[[str], str | None]:
    return org.session_user


def _creators(org: Org, creds: JWTBearerCredentials) -> dict[str, str]:
    """Account name -> CreatedById, as the org reports it (queried by one identity)."""
    with SalesforceClient(creds) as sf:
        return {
            r["Name"]: r["CreatedById"] for r in sf.query("SELECT Name, CreatedById FROM Account")
        }


# -- the main proof ---------------------------------------------------------------------------
@pytest.mark.parametrize("choice", [*sorted(CACHES), "redis-shared"])
def test_twenty_identities_at_once_never_cross(
    org: Org, fleet_of: Any, choice: str, request: pytest.FixtureRequest
) -> None:
    if choice == "redis-shared":
        cache = request.getfixturevalue("redis_cache")
    else:
        cache = CACHES[choice](org)
    creds = fleet_of(cache)
    seen = {name: Seen() for name in creds}

    errors = _work(creds, seen, "run")

    assert errors == []
    identities = org.identities
    # Salesforce's view of every token each identity sent, and of each userinfo answer.
    assert token_problems(identities, seen, _owner(org)) == []
    for name, what in seen.items():
        assert len(what.userinfo) == (THREADS + TASKS) * CALLS, name
    # One login per identity, made by that identity's own user through its own app.
    by_user = org.by_user()
    assert by_user == {i.username: 1 for i in identities.values()}
    stats = org.sf.stats()["token_requests"]
    assert (stats["ok"], stats["failed"]) == (IDENTITIES, 0)
    assert stats["by_app"] == {"agents-shared": 8, "integrations": 6} | {
        f"solo-{i}": 1 for i in range(14, 20)
    }
    # Twenty distinct cache keys, each holding its own identity's token.
    keys = {name: c.cache_key for name, c in creds.items()}
    assert len(set(keys.values())) == IDENTITIES
    for name, c in creds.items():
        cached = c.cache.get(keys[name])
        assert cached is not None, name
        assert org.session_user(cached.access_token) == identities[name].user_id
        # the identity URL Salesforce returned with the token names the same user
        assert cached.id_url.rsplit("/", 1)[-1] == identities[name].user_id, name
    if choice.startswith("file"):
        on_disk = sorted(p.stem for p in org.cache_dir.glob("*.json"))
        assert on_disk == sorted(keys.values())
    # The audit trail, read back from the file: every record names its identity.
    records = list(read_trail(org.audit))
    assert records, "nothing was audited"
    assert audit_problems(identities, records, seen) == []
    for name in identities:
        mine = [r["event"] for r in records if r["profile"] == name]
        assert mine.count("token.issued") == 1, (name, mine)
        assert mine.count("assertion.minted") == 1, (name, mine)
    # What each did, from the org's side: every record was created by its own user.
    creators = _creators(org, creds[profile_name(0)])
    assert len(creators) == IDENTITIES * (THREADS + TASKS)
    for record_name, created_by in creators.items():
        assert created_by == identities[record_name.split()[0]].user_id, record_name


@pytest.mark.parametrize("choice", ["memory-shared", "file-shared"])
def test_a_revoked_session_reauthenticates_only_its_identity(
    org: Org, fleet_of: Any, choice: str
) -> None:
    creds = fleet_of(CACHES[choice](org))
    seen = {name: Seen() for name in creds}
    assert _work(creds, seen, "before") == []
    owners = {t: org.session_user(t) for what in seen.values() for t in what.tokens}
    before = {name: set(what.tokens) for name, what in seen.items()}
    trail_before = len(list(read_trail(org.audit)))
    victim = org.identities[profile_name(7)]

    assert org.sf.revoke_sessions(user=victim.username) == 1
    assert _work(creds, seen, "after") == []

    def owner(token: str) -> str | None:
        return owners[token] if token in owners else org.session_user(token)

    assert token_problems(org.identities, seen, owner) == []
    by_user = org.by_user()
    assert by_user.pop(victim.username) == 2  # its one re-login
    assert set(by_user.values()) == {1}  # nobody else logged in again
    for name, what in seen.items():
        if name == victim.profile:
            assert set(what.tokens) - before[name], "the victim kept its revoked token"
        else:
            assert set(what.tokens) == before[name], name
    records = list(read_trail(org.audit))
    assert audit_problems(org.identities, records, seen) == []
    after = records[trail_before:]
    assert {r["profile"] for r in after} == {victim.profile}
    assert [r["event"] for r in after].count("session.reauthenticated") == 1
    new_token = creds[victim.profile].token().access_token
    assert token_hash(new_token) in {r.get("token_hash") for r in after}


def test_each_identity_reads_only_its_own_records_with_audit_tail(
    org: Org, fleet_of: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    creds = fleet_of(MemoryCache())
    assert _work(creds, {name: Seen() for name in creds}, "tail", threads=1, tasks=1) == []
    import json

    for index in (0, 9, 19):
        name = profile_name(index)
        capsys.readouterr()
        code = main(["audit", "tail", "--profile", name, "--json", "-n", "50"])
        out = capsys.readouterr().out
        assert code == 0
        shown = [json.loads(line) for line in out.splitlines()]
        assert shown == list(read_trail(org.audit, profile=name))
        assert {r["profile"] for r in shown} == {name}
        assert {r["username"] for r in shown} == {org.identities[name].username}


# -- the checks can fail ---------------------------------------------------------------------
def test_the_checks_catch_a_token_used_under_another_identity(org: Org, fleet_of: Any) -> None:
    creds = fleet_of(MemoryCache())
    seen = {name: Seen() for name in creds}
    assert _work(creds, seen, "sanity", threads=1, tasks=1, calls=1) == []
    records = list(read_trail(org.audit))
    a, b = profile_name(3), profile_name(15)

    crossed = dict(seen)
    crossed[a] = dataclasses.replace(seen[a], tokens=[*seen[a].tokens, seen[b].tokens[0]])
    problems = token_problems(org.identities, crossed, _owner(org))
    assert any(p.startswith(f"{a}: sent token") for p in problems)
    assert any("sent by" in p and a in p and b in p for p in problems)

    answered = dataclasses.replace(
        seen[a], userinfo=[(seen[a].tokens[0], org.identities[b].username, "005x")]
    )
    assert any("userinfo" in p for p in token_problems(org.identities, {a: answered}, _owner(org)))

    def tampered(**changes: Any) -> list[str]:
        record = next(r for r in records if r["profile"] == a and r["event"] == "token.issued")
        return audit_problems(org.identities, [*records, {**record, **changes}], seen)

    assert any("username" in p for p in tampered(username=org.identities[b].username))
    assert any("client_id" in p for p in tampered(client_id=org.identities[b].client_id))
    assert any("key_fingerprint" in p for p in tampered(key_fingerprint="00:11"))
    assert any("names profile None" in p for p in tampered(profile=None))
    other_hash = token_hash(seen[b].tokens[0])
    assert any(f"used by ['{b}']" in p for p in tampered(token_hash=other_hash))
    unrecorded = [r for r in records if not (r["profile"] == a and "token_hash" in r)]
    assert any("never recorded" in p for p in audit_problems(org.identities, unrecorded, seen))


def test_a_deliberately_cross_wired_profile_is_caught(org: Org, fleet_of: Any) -> None:
    # agent-00's profile name and key, but agent-01's username: both users may use the
    # shared app, so Salesforce issues the token, and only the checks can tell.
    wrong = dataclasses.replace(
        get_profile(profile_name(0)), username=org.identities[profile_name(1)].username
    )
    creds = {profile_name(0): JWTBearerCredentials.from_config(wrong, cache=MemoryCache())}
    seen = {profile_name(0): Seen()}
    try:
        assert _work(creds, seen, "crossed", threads=1, tasks=1, calls=1) == []
    finally:
        creds[profile_name(0)].close()
    problems = token_problems(org.identities, seen, _owner(org))
    assert any(p.startswith("agent-00: sent token") for p in problems)
    assert any("userinfo" in p and "agent01@acme.com" in p for p in problems)
    audit = audit_problems(org.identities, list(read_trail(org.audit)), seen)
    assert any("username is 'agent01@acme.com'" in p for p in audit)


def test_an_identity_cannot_borrow_another_apps_pre_authorization(org: Org) -> None:
    from sfbearer import TokenRequestError

    # agent-00 is pre-authorized for agents-shared only (its permission set); the
    # integrations app's consumer key gets it nothing, even with that app's key.
    borrowed = dataclasses.replace(
        get_profile(profile_name(0)),
        client_id=org.identities[profile_name(8)].client_id,
        jwt_key_file=get_profile(profile_name(8)).jwt_key_file,
    )
    with (
        JWTBearerCredentials.from_config(borrowed) as creds,
        pytest.raises(TokenRequestError) as err,
    ):
        creds.token()
    assert err.value.error in ("invalid_app_access", "invalid_grant")
    assert org.by_user().get(org.identities[profile_name(0)].username) == 1  # failed, counted
    assert org.sf.stats()["token_requests"]["ok"] == 0


def test_the_configuration_file_is_plain_toml_with_twenty_profiles(org: Org) -> None:
    import stat
    import tomllib

    data = tomllib.loads(org.config.read_text())
    assert len(data["profiles"]) == IDENTITIES
    assert stat.S_IMODE(os.stat(org.config).st_mode) == 0o600
    for name, identity in org.identities.items():
        table = data["profiles"][name]
        assert (table["client_id"], table["username"]) == (identity.client_id, identity.username)
        assert table["audit"] == str(org.audit)
        assert Path(table["jwt_key_file"]).is_file()


def test_identity_variables_override_every_profile_unless_read_from_the_file(
    org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SFBEARER_USERNAME is meant for one identity (a container, a CI job); in a process
    # running many, from_profile would put it over every profile. from_config(get_profile())
    # reads the file alone.
    other = org.identities[profile_name(1)].username
    monkeypatch.setenv("SFBEARER_USERNAME", other)
    with JWTBearerCredentials.from_profile(profile_name(0)) as overridden:
        assert overridden.username == other
    with JWTBearerCredentials.from_config(get_profile(profile_name(0))) as exact:
        assert exact.username == org.identities[profile_name(0)].username
        assert org.session_user(exact.token().access_token) == org.identities[exact.profile].user_id
