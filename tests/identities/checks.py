"""The checks the many-identities tests make, as functions that list every problem found.

Kept apart from the tests so a test can feed them deliberately cross-wired data and see
each problem reported: a check that cannot fail proves nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sfbearer.audit import token_hash

from .conftest import Identity, Seen

#: Events that name the token an identity got (issued, refreshed, reused from the cache...).
TOKEN_EVENTS = frozenset(
    {"token.issued", "token.refreshed", "token.reused", "session.reauthenticated"}
)


def token_problems(
    identities: Mapping[str, Identity],
    seen: Mapping[str, Seen],
    owner: Callable[[str], str | None],
) -> list[str]:
    """Every token an identity sent belongs to its own user; no token is sent by two.

    ``owner`` answers, from the org's side, which user a token's session belongs to.
    """
    problems: list[str] = []
    sent_by: dict[str, set[str]] = {}
    for name, what in seen.items():
        me = identities[name]
        if not what.tokens:
            problems.append(f"{name}: sent no request at all")
        for token in set(what.tokens):
            sent_by.setdefault(token, set()).add(name)
            user_id = owner(token)
            if user_id != me.user_id:
                problems.append(f"{name}: sent token {token_hash(token)} of user {user_id}")
        for token, answered_user, answered_id in what.userinfo:
            if (answered_user, answered_id) != (me.username, me.user_id):
                problems.append(
                    f"{name}: userinfo for token {token_hash(token)} answered {answered_user}"
                )
    for token, names in sent_by.items():
        if len(names) > 1:
            problems.append(f"token {token_hash(token)} sent by {sorted(names)}")
    return problems


def audit_problems(
    identities: Mapping[str, Identity],
    records: Iterable[Mapping[str, Any]],
    seen: Mapping[str, Seen],
) -> list[str]:
    """Every record names one known identity, consistently; token hashes are its own.

    Also: every token an identity sent appears in one of its own token records.
    """
    problems: list[str] = []
    hashes = {name: {token_hash(t) for t in what.tokens} for name, what in seen.items()}
    recorded: dict[str, set[str]] = {name: set() for name in identities}
    for number, record in enumerate(records, 1):
        name = record.get("profile")
        me = identities.get(name) if isinstance(name, str) else None
        if me is None:
            problems.append(f"record {number} ({record.get('event')}) names profile {name!r}")
            continue
        expected = {
            "client_id": me.client_id,
            "username": me.username,
            "key_fingerprint": me.key_fingerprint,
        }
        for key, value in expected.items():
            if record.get(key) != value:
                problems.append(f"record {number} of {name}: {key} is {record.get(key)!r}")
        digest = record.get("token_hash")
        if digest is None:
            continue
        if record.get("event") in TOKEN_EVENTS:
            recorded[me.profile].add(str(digest))
        if name in hashes and digest not in hashes[name]:
            problems.append(f"record {number} of {name}: token {digest} is not one it used")
        others = sorted(n for n, h in hashes.items() if n != name and digest in h)
        if others:
            problems.append(f"record {number} of {name}: token {digest} was used by {others}")
    for name, used in hashes.items():
        missing = used - recorded.get(name, set())
        if missing:
            problems.append(f"{name}: tokens {sorted(missing)} used but never recorded")
    return problems
