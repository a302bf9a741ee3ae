"""The emulator's speed-ups change nothing a client can see.

SOQL plans are cached per query text, a certificate's key per certificate, form fields and
JSON responses are built by hand: each is checked here against fresh data, a certificate
cutover, the clock, and the library code it replaces.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import sqlite3
import threading
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.datastructures import QueryParams
from starlette.responses import JSONResponse

from sfbearer.emulator import oauth, records, sessions, validation, wire
from sfbearer.emulator.clock import Clock
from sfbearer.emulator.db import Database
from sfbearer.emulator.records import RecordStore, SoqlError
from sfbearer.emulator.schema import make_id
from sfbearer.emulator.sessions import SessionStore
from sfbearer.emulator.soql import PlanCache, parse, prepare
from sfbearer.emulator.validation import OAuthError, split_jws
from sfbearer.keys import KeyPair

from .conftest import Org, error_of

ORG_ID = make_id("00D", 7)


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(clock: FakeClock) -> Iterator[RecordStore]:
    conn = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
    yield RecordStore(conn, threading.RLock(), clock=clock, org_id=ORG_ID)
    conn.close()


def names(result: dict[str, object]) -> list[object]:
    rows = result["records"]
    assert isinstance(rows, list)
    return [row["Name"] for row in rows]


# --- SOQL plans ------------------------------------------------------------------------------


def test_cached_query_sees_every_change_of_the_rows(
    store: RecordStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    parsed: list[str] = []
    real_parse = records.parse
    monkeypatch.setattr(records, "parse", lambda text: parsed.append(text) or real_parse(text))
    soql = "SELECT Name FROM Account WHERE Name LIKE 'A%' ORDER BY Name"
    first = store.create("Account", {"Name": "Acme"})
    assert names(store.query(soql)) == ["Acme"]
    second = store.create("Account", {"Name": "Abc"})
    store.create("Account", {"Name": "Zed"})
    assert names(store.query(soql)) == ["Abc", "Acme"]
    store.update("Account", first, {"Name": "Zzz"})
    assert names(store.query(soql)) == ["Abc"]
    store.delete("Account", second)
    assert names(store.query(soql)) == []
    assert names(store.query(soql, include_deleted=True)) == ["Abc"]
    assert parsed == [soql]  # parsed and bound once, run six times


def test_cached_relationship_path_reads_the_parent_live(store: RecordStore) -> None:
    account = store.create("Account", {"Name": "Old name"})
    store.create("Contact", {"LastName": "Lee", "AccountId": account})
    soql = "SELECT LastName, Account.Name FROM Contact"
    assert store.query(soql)["records"][0]["Account"]["Name"] == "Old name"  # type: ignore[index]
    store.update("Account", account, {"Name": "New name"})
    assert store.query(soql)["records"][0]["Account"]["Name"] == "New name"  # type: ignore[index]


def test_cached_date_literal_follows_the_clock(store: RecordStore, clock: FakeClock) -> None:
    store.create("Account", {"Name": "Today's"})
    soql = "SELECT Name FROM Account WHERE CreatedDate = TODAY"
    assert names(store.query(soql)) == ["Today's"]
    clock.now += timedelta(days=2)
    assert names(store.query(soql)) == []


def test_refused_queries_are_refused_every_time_and_never_cached(store: RecordStore) -> None:
    for soql in ("SELECT Nope FROM Account", "SELECT Name FROM Account WHERE", "SELECT"):
        messages = set()
        for _ in range(3):
            with pytest.raises(SoqlError) as info:
                store.query(soql)
            messages.add(info.value.message)
        assert len(messages) == 1
    assert len(store._plans) == 0
    store.query("SELECT Name FROM Account")
    assert len(store._plans) == 1


def test_where_errors_of_a_cached_plan_still_depend_on_the_clock() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    plan, _ = prepare(
        parse("SELECT Name FROM Account WHERE CreatedDate < NEXT_N_DAYS:5"),
        lookup=lambda s, i: None,
        now=now,
    )
    from sfbearer.emulator.soql import compile_where

    assert compile_where(plan, lookup=lambda s, i: None, now=now) is not None
    with pytest.raises(SoqlError) as info:
        compile_where(plan, lookup=lambda s, i: None, now=datetime(9999, 12, 30, tzinfo=UTC))
    assert info.value.error_code == "MALFORMED_QUERY"


def plan_of(text: str) -> Any:
    return prepare(parse(text), lookup=lambda s, i: None, now=datetime.now(UTC))[0]


def test_plan_cache_drops_the_least_recently_used() -> None:
    cache = PlanCache(size=2)
    texts = [f"SELECT Name FROM Account LIMIT {n}" for n in (1, 2, 3)]
    cache.put(texts[0], plan_of(texts[0]))
    cache.put(texts[1], plan_of(texts[1]))
    assert cache.get(texts[0]) is not None  # now the most recently used
    cache.put(texts[2], plan_of(texts[2]))
    assert len(cache) == 2
    assert cache.get(texts[1]) is None
    got = cache.get(texts[0])
    assert got is not None
    assert got.query.limit == 1


def test_plan_cache_keeps_neither_huge_texts_nor_a_plan_of_another_text() -> None:
    cache = PlanCache(max_text=40)
    long_text = "SELECT Name FROM Account WHERE Name = '" + "x" * 40 + "'"
    cache.put(long_text, plan_of(long_text))
    short = "SELECT Name FROM Account"
    cache.put(short + " ", plan_of(short))
    assert len(cache) == 0


# --- certificate keys --------------------------------------------------------------------------


def test_certificate_cutover_after_a_cached_login(
    sf_org: Org, key_pair: KeyPair, other_key_pair: KeyPair
) -> None:
    registry = sf_org.sf.ctx.registry
    sf_org.login()  # the key of the first certificate is now cached
    app = registry.get_app(sf_org.app)
    assert app is not None
    first_key = registry.certificate_key(app)
    sf_org.sf.update_app(sf_org.app, certificate=other_key_pair.certificate)
    assert error_of(sf_org.post(sf_org.mint()))[2] == "invalid assertion"
    assert sf_org.post(sf_org.mint(key=other_key_pair.private_key)).status_code == 200
    app = registry.get_app(sf_org.app)
    assert app is not None
    second_key = registry.certificate_key(app)
    assert first_key is not None
    assert second_key is not None
    assert first_key.public_key == key_pair.certificate.public_key()
    assert second_key.public_key == other_key_pair.certificate.public_key()
    sf_org.sf.update_app(sf_org.app, certificate=key_pair.certificate)  # and back
    assert sf_org.post(sf_org.mint()).status_code == 200


def test_cached_key_still_verifies_every_signature(sf_org: Org) -> None:
    good = sf_org.mint()
    assert sf_org.post(good).status_code == 200
    head, claims, signature = sf_org.mint().split(".")
    flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    assert error_of(sf_org.post(f"{head}.{claims}.{flipped}"))[2] == "invalid assertion"
    other_claims = sf_org.mint(sub="someone@else.com").split(".")[1]
    assert error_of(sf_org.post(f"{head}.{other_claims}.{signature}"))[2] == "invalid assertion"


def test_cached_validity_is_compared_with_the_clock_of_each_request(sf_org: Org) -> None:
    sf_org.login()
    app = sf_org.sf.ctx.registry.get_app(sf_org.app)
    assert app is not None
    key = sf_org.sf.ctx.registry.certificate_key(app)
    assert key is not None
    sf_org.sf.clock.advance(seconds=key.not_after - sf_org.sf.clock.now() + 60)
    assert error_of(sf_org.post(sf_org.mint()))[2] == "invalid assertion"


# --- form fields and JSON responses -----------------------------------------------------------


def reference_form(body: bytes) -> dict[str, str]:
    text = body.decode("utf-8", errors="replace")
    form: dict[str, str] = {}
    for key, value in urllib.parse.parse_qsl(text, keep_blank_values=True, max_num_fields=64):
        form.setdefault(key, value)
    return form


def outcome(parse_form: Any, body: bytes) -> object:
    try:
        return parse_form(body)
    except ValueError as exc:
        return type(exc)


FORM_TEXT = st.text(alphabet="ab=&+%2AFf3\u00e9;\x00 ", max_size=40)


@given(st.one_of(FORM_TEXT.map(str.encode), st.binary(max_size=40)))
def test_form_fields_parse_exactly_as_parse_qsl(body: bytes) -> None:
    assert outcome(wire.parse_form, body) == outcome(reference_form, body)


@pytest.mark.parametrize(
    "body",
    [b"", b"&&", b"a", b"a=1&a=2", b"=x", b"a=%zz&b=%E9", b"grant_type=urn%3Aietf%3Ax&x=+y+",
     b"&".join([b"f=1"] * 64), b"&".join([b"f=1"] * 65), b"a=" + b"%41" * 300],
)  # fmt: skip
def test_form_edge_cases_parse_exactly_as_parse_qsl(body: bytes) -> None:
    assert outcome(wire.parse_form, body) == outcome(reference_form, body)


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=10,
)


@given(JSON_VALUES, st.sampled_from([200, 201, 400, 401, 403, 404, 413, 500]))
def test_json_response_is_byte_for_byte_starlettes(content: object, status: int) -> None:
    ours = wire.JsonResponse(content, status, oauth._NO_STORE_RAW)
    theirs = JSONResponse(content, status_code=status, headers=oauth._NO_STORE)
    assert (ours.status_code, ours.body, ours.raw_headers) == (
        theirs.status_code, theirs.body, theirs.raw_headers)  # fmt: skip
    plain = JSONResponse(content, status_code=status)
    assert wire.JsonResponse(content, status).raw_headers == plain.raw_headers


_TOKEN_CHARS = st.text(st.sampled_from("0123456789ABCDEFabcdef!."), min_size=1, max_size=120)
_B64_STD = st.binary(min_size=32, max_size=32).map(lambda b: base64.b64encode(b).decode())
_URL_TEXT = st.text(min_size=1, max_size=40)  # any text: these fields are escaped


@given(
    _TOKEN_CHARS,
    _B64_STD,
    st.integers(0, 10**13).map(str),
    st.frozensets(st.sampled_from(["api", "refresh_token", "web", "full", "sfap_api"])),
    _URL_TEXT,
    _URL_TEXT,
)
def test_token_response_is_byte_for_byte_starlettes(
    access_token: str,
    signature: str,
    issued_at: str,
    scopes: frozenset[str],
    instance_url: str,
    identity_url: str,
) -> None:
    ours = wire.JsonResponse.encoded(
        oauth.token_body(access_token, signature, issued_at, scopes, instance_url, identity_url),
        200,
        oauth._NO_STORE_RAW,
    )
    content = {
        "access_token": access_token,
        "signature": signature,
        "scope": oauth._scope_text(scopes),
        "instance_url": instance_url,
        "id": identity_url,
        "token_type": "Bearer",
        "issued_at": issued_at,
    }
    theirs = JSONResponse(content, headers=oauth._NO_STORE)
    assert (ours.status_code, ours.body, ours.raw_headers) == (
        theirs.status_code, theirs.body, theirs.raw_headers)  # fmt: skip


def test_json_response_refuses_what_starlette_refuses() -> None:
    for bad in (float("nan"), {"x": float("inf")}):
        with pytest.raises(ValueError, match="not JSON compliant"):
            wire.JsonResponse(bad)
    assert json.loads(wire.JsonResponse({"é": "\u2028"}).body) == {"é": "\u2028"}


QUERY_TEXT = st.text(alphabet="qab=&+%2AFf3\u00e9 ", max_size=40)


@given(st.one_of(QUERY_TEXT.map(lambda t: t.encode("latin-1", "replace")), st.binary(max_size=40)))
def test_query_value_is_starlettes_query_params_get(raw: bytes) -> None:
    for name in ("q", "a", "a b", ""):
        assert wire.query_value(raw, name) == QueryParams(raw).get(name)


def test_query_endpoint_reads_the_last_q(sf_org: Org) -> None:
    token = sf_org.login()
    response = sf_org.api(
        "GET",
        "/services/data/v68.0/query/?q=SELECT+Nope+FROM+Account&q=SELECT+Name+FROM+Organization",
        token,
    )
    assert response.status_code == 200, response.text
    assert response.json()["totalSize"] == 1
    assert response.headers["sforce-limit-info"].startswith("api-usage=")


def test_sessions_past_the_prune_threshold_still_answer(fresh_org: Org) -> None:
    sessions = fresh_org.sf.ctx.sessions
    user = fresh_org.sf.ctx.registry.get_user_by_username(fresh_org.username)
    assert user is not None
    sessions._prune_above = 3
    tokens = [sessions.create(user.id, fresh_org.app, frozenset({"api"}), 1) for _ in range(4)]
    fresh_org.sf.clock.advance(minutes=2)  # all four idle past their timeout
    late = [sessions.create(user.id, fresh_org.app, frozenset({"api"}), 1) for _ in range(2)]
    sessions.flush()  # drops the four dead ones
    assert len(sessions._sessions) == 2
    assert sessions._prune_above == 10_000
    assert all(sessions.lookup(t) is None for t in tokens)
    assert all(sessions.lookup(t) is not None for t in late)
    assert sessions.lookup(late[0]) is sessions.lookup(late[0])  # one immutable view per session


def test_sessions_written_in_row_order_read_back_whole(tmp_path: Path) -> None:
    db = Database(tmp_path / "state.db")
    clock = Clock()
    store = SessionStore(db, clock, ORG_ID)
    scopes = [frozenset({"api"}), frozenset({"refresh_token", "api", "web"})]
    made = {
        store.create(f"005{n:015d}", f"app{n % 3}", scopes[n % 2], 30 + n): n for n in range(50)
    }
    revoked = next(iter(made))
    assert store.revoke_token(revoked)
    store.bump("token:ok", "token:ok")
    store.flush()
    again = SessionStore(db, clock, ORG_ID)
    for token, n in made.items():
        session = again.lookup(token, touch=False)
        if token == revoked:
            assert session is None
            continue
        assert session is not None
        assert (session.user_id, session.app_name, session.scopes) == (
            f"005{n:015d}", f"app{n % 3}", scopes[n % 2])  # fmt: skip
    assert again.counter("token:ok") == 2
    db.close()


def test_sessions_touched_out_of_order_are_written_back_whole(tmp_path: Path) -> None:
    db = Database(tmp_path / "state.db")
    clock = Clock()
    store = SessionStore(db, clock, ORG_ID)
    tokens = [store.create(f"005{n:015d}", "app", frozenset({"api"}), 30) for n in range(5)]
    store.flush()
    clock.advance(minutes=20)
    assert store.lookup(tokens[3]) is not None  # extends the 4th, not the others
    store.flush()
    clock.advance(minutes=15)  # 35 minutes after the start, 15 after the 4th was used
    again = SessionStore(db, clock, ORG_ID)
    assert [again.lookup(t, touch=False) is not None for t in tokens] == [
        False, False, False, True, False]  # fmt: skip
    newer = again.create("005000000000000009", "app", frozenset({"api"}), 30)
    again.flush()
    seqs = [r[0] for r in db.query("SELECT seq FROM session_rows ORDER BY seq")]
    assert seqs == [1, 2, 3, 4, 5, 6]  # the new session after the old ones, nothing overwritten
    assert SessionStore(db, clock, ORG_ID).lookup(newer, touch=False) is not None
    db.close()


def test_a_state_file_of_the_earlier_session_layout_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    db = Database(path)
    clock = Clock()
    now = clock.now()
    db.conn.executescript(
        """
        CREATE TABLE sessions (
            token_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, app_name TEXT NOT NULL,
            scopes TEXT NOT NULL, created REAL NOT NULL, last_used REAL NOT NULL,
            timeout_minutes INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);
        CREATE INDEX sessions_user ON sessions (user_id);
        """
    )
    live, revoked = f"{ORG_ID}!AQlive", f"{ORG_ID}!AQrevoked"
    for token, gone in ((live, 0), (revoked, 1)):
        digest = hashlib.sha256(token.encode()).hexdigest()
        db.execute(
            "INSERT INTO sessions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (digest, "005000000000000001", "app", "api web", now, now, 60, gone),
        )
    store = SessionStore(db, clock, ORG_ID)
    session = store.lookup(live, touch=False)
    assert session is not None
    assert session.scopes == frozenset({"api", "web"})
    assert store.lookup(revoked, touch=False) is None
    tables = {r[0] for r in db.query("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "sessions" not in tables
    assert "session_rows" in tables
    newer = store.create("005000000000000002", "app", frozenset({"api"}), 60)
    store.flush()
    db.close()
    db = Database(path)
    reopened = SessionStore(db, clock, ORG_ID)
    assert reopened.lookup(live, touch=False) is not None
    assert reopened.lookup(newer, touch=False) is not None
    db.close()


def test_two_processes_sharing_a_state_file_keep_each_others_sessions(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    clock = Clock()
    first_db, second_db = Database(path), Database(path)  # as two emulators would open it
    first = SessionStore(first_db, clock, ORG_ID)
    second = SessionStore(second_db, clock, ORG_ID)
    made = {}
    for n in range(3):  # interleaved: each takes row numbers after the other's
        for name, store in (("first", first), ("second", second)):
            made[store.create(f"005{n:015d}", name, frozenset({"api"}), 30)] = name
            store.flush()
    touched = next(iter(made))
    assert first.lookup(touched) is not None  # an update of a row written earlier
    first.flush()
    seqs = [r[0] for r in first_db.query("SELECT seq FROM session_rows ORDER BY seq")]
    assert seqs == list(range(1, 7))
    for store in (first, second, first):  # each adds its own counts to the file's
        store.bump("token:ok", "token:ok")
        store.flush()
    assert SessionStore(first_db, clock, ORG_ID).counter("token:ok") == 6
    reopened = SessionStore(first_db, clock, ORG_ID)
    for token, name in made.items():
        session = reopened.lookup(token, touch=False)
        assert session is not None
        assert session.app_name == name
    first_db.close()
    second_db.close()


def test_a_layout_migrated_by_another_process_meanwhile_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    first_db = Database(path)
    first_db.conn.executescript(
        "CREATE TABLE sessions (token_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, "
        "app_name TEXT NOT NULL, scopes TEXT NOT NULL, created REAL NOT NULL, "
        "last_used REAL NOT NULL, timeout_minutes INTEGER NOT NULL, revoked INTEGER NOT NULL);"
    )
    token = f"{ORG_ID}!AQold"
    now = Clock().now()
    first_db.execute(
        "INSERT INTO sessions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (hashlib.sha256(token.encode()).hexdigest(), "005000000000000001", "app", "api", now,
         now, 60, 0),
    )  # fmt: skip
    second_db = Database(path)
    SessionStore(first_db, Clock(), ORG_ID)  # migrates
    sessions._migrate(second_db)  # what the other process does after its own check: nothing
    again = SessionStore(second_db, Clock(), ORG_ID)
    assert again.lookup(token, touch=False) is not None
    assert second_db.query("SELECT COUNT(*) FROM session_rows")[0][0] == 1
    first_db.close()
    second_db.close()


def test_a_locked_state_file_delays_the_write_behind_without_failing_requests(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "state.db"
    db, other = Database(path), sqlite3.connect(path, isolation_level=None)
    store = SessionStore(db, Clock(), ORG_ID)
    db.conn.execute("PRAGMA busy_timeout = 20")
    other.execute("BEGIN IMMEDIATE")  # another process writing to the file
    store._last_flush = 0.0  # the write-behind is due
    token = store.create("005000000000000001", "app", frozenset({"api"}), 30)  # no exception
    assert "will retry" in caplog.text
    assert store.lookup(token, touch=False) is not None  # served from memory meanwhile
    other.execute("COMMIT")
    store.flush()  # the pending session is written now
    assert SessionStore(db, Clock(), ORG_ID).lookup(token, touch=False) is not None
    other.close()
    db.close()


# --- JWS headers ------------------------------------------------------------------------------


def _segment(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def _reference_b64decode(segment: str) -> bytes | None:
    """What the segment decoder must answer: base64url without padding, or nothing."""
    if not re.fullmatch(r"[A-Za-z0-9_-]*", segment) or len(segment) % 4 == 1:
        return None
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except ValueError:
        return None


def _decoded(segment: str) -> bytes | None:
    try:
        return validation._b64decode(segment)
    except OAuthError:
        return None


_B64_ALPHABET = st.sampled_from("AZaz09-_+/=. \n\t\x00é\u2028")
_ENCODED = st.binary(max_size=24).map(lambda b: base64.urlsafe_b64encode(b).decode().rstrip("="))
_B64_TEXT = st.text(_B64_ALPHABET, max_size=24) | _ENCODED


@given(_B64_TEXT)
def test_segments_decode_exactly_as_the_url_safe_alphabet_allows(segment: str) -> None:
    assert _decoded(segment) == _reference_b64decode(segment)


def test_segment_decoding_edge_cases() -> None:
    for segment in ["", "YQ", "YWI", "YWJj", "-_-_", "YQ==", "YQ=", "Y+Q", "Y/Q", "Y Q", "Y\nQ",
                    "Yé", "Y.Q", "Y", "YWJjZ", "\u0661\u0662"]:  # fmt: skip
        assert _decoded(segment) == _reference_b64decode(segment), segment


def _reference_json_object(segment: str) -> object:
    try:
        value = validation._DECODER.decode(base64.urlsafe_b64decode(segment + "==").decode())
    except ValueError:  # binascii.Error, UnicodeDecodeError and JSONDecodeError among them
        return None
    return value if isinstance(value, dict) else None


def _json_object_or_none(segment: str) -> object:
    try:
        return validation._json_object(segment)
    except OAuthError:
        return None


_JSON_TEXTS = st.one_of(
    JSON_VALUES.map(json.dumps),
    st.text(st.sampled_from('{}[]":,0123456789.eE+-truefalsn \t\n\r\\u\x0c\x00'), max_size=30),
    st.tuples(JSON_VALUES.map(json.dumps), st.sampled_from(["", " ", "\n", " x", "}", "\x0c"])).map(
        "".join
    ),
    st.sampled_from(['{"a":1,"a":2}', '{"a":NaN}', '{"a":Infinity}', " {} ", "\ufeff{}"]),
)


@given(st.one_of(_JSON_TEXTS.map(str.encode), st.binary(max_size=24)))
def test_json_segments_decode_exactly_as_json_decoder_does(raw: bytes) -> None:
    segment = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    assert _json_object_or_none(segment) == _reference_json_object(segment)


def test_a_decoded_header_is_still_checked_for_each_assertion() -> None:
    claims, signature = _segment({"iss": "x"}), "c2ln"
    odd_typ = _segment({"alg": "RS256", "typ": "at+jwt"})
    for _ in range(2):  # the second time, the header's JSON comes from the cache
        header, _, _ = split_jws(f"{odd_typ}.{claims}.{signature}", strict=False)
        assert header == {"alg": "RS256", "typ": "at+jwt"}
        header["alg"] = "none"  # the caller's copy only
        with pytest.raises(OAuthError):
            split_jws(f"{odd_typ}.{claims}.{signature}", strict=True)
    for bad in ({"alg": "none"}, {"alg": "RS256", "crit": ["b64"]}):
        for _ in range(2):
            with pytest.raises(OAuthError):
                split_jws(f"{_segment(bad)}.{claims}.{signature}", strict=False)
    for _ in range(2):  # malformed JSON is refused every time
        with pytest.raises(OAuthError):
            split_jws(f"e30x.{claims}.{signature}", strict=False)


def test_a_login_after_a_cached_header_needs_its_own_valid_signature(sf_org: Org) -> None:
    first = sf_org.mint()
    assert sf_org.post(first).status_code == 200
    header = first.split(".")[0]
    signature = sf_org.mint(sub="other@acme.com").split(".")[2]
    assert header == sf_org.mint().split(".")[0]  # the same header text: cached
    forged = f"{header}.{_segment(sf_org.claims())}.{signature}"
    assert error_of(sf_org.post(forged))[2] == "invalid assertion"
