"""Sessions (access tokens) and counters.

Access tokens are stored as SHA-256 hashes only (in memory and on disk); a session expires
after its app's timeout of inactivity (every use extends it) or when revoked. Sessions and
counters persist with the org.
"""

from __future__ import annotations

import binascii
import functools
import hashlib
import logging
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from typing import Any

from sfbearer.emulator.clock import Clock
from sfbearer.emulator.db import Database

__all__ = ["Session", "SessionStore"]

# Rows are keyed by a sequence number, not by the token's hash: new sessions land at the end of
# the table instead of on a random index page each, so the write-behind appends rather than
# rewrites pages all over the file. Sessions are found in memory (read once at start), so no
# index on the hash is needed. ``sessions`` is the layout of earlier versions (migrated on open).
_SCHEMA = """
CREATE TABLE IF NOT EXISTS session_rows (
    seq INTEGER PRIMARY KEY, token_hash TEXT NOT NULL, user_id TEXT NOT NULL,
    app_name TEXT NOT NULL, scopes TEXT NOT NULL, created REAL NOT NULL,
    last_used REAL NOT NULL, timeout_minutes INTEGER NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS counters (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""
_MIGRATE = """
INSERT INTO session_rows (token_hash, user_id, app_name, scopes, created, last_used,
                          timeout_minutes, revoked)
    SELECT token_hash, user_id, app_name, scopes, created, last_used, timeout_minutes, revoked
    FROM sessions WHERE revoked = 0 ORDER BY created, token_hash
"""
_OLD_LAYOUT = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sessions'"


_OPAQUE = bytes.maketrans(b"+", b".")
_log = logging.getLogger("sfbearer.emulator")
_SHORT_WAIT = 0.2  # seconds the write-behind waits for a file another process holds
_DEFAULT_WAIT_MS = 10_000  # the connection's own wait (Database opens it with timeout=10)


@functools.lru_cache(maxsize=64)
def _scope_text(scopes: frozenset[str]) -> str:
    return " ".join(sorted(scopes))  # the few apps' scope sets, joined once each


def _migrate(db: Database) -> None:
    """Move an earlier version's ``sessions`` table into ``session_rows`` (live rows only).

    Under the file's write lock, checked again there: another process opening the same file
    may have migrated it meanwhile.
    """
    conn = db.conn
    conn.execute("BEGIN IMMEDIATE")
    try:
        if conn.execute(_OLD_LAYOUT).fetchone() is not None:
            conn.execute(_MIGRATE)
            conn.execute("DROP TABLE sessions")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Session:
    """A live session, as the API layer needs it."""

    user_id: str
    app_name: str
    scopes: frozenset[str]
    created: float


@dataclass
class _Row:
    seq: int  # the row's key on disk; 0 until first written
    user_id: str
    app_name: str
    scopes: frozenset[str]
    created: float
    last_used: float
    timeout_minutes: int
    revoked: bool = False
    view: Session | None = None  # the immutable part, built once

    def alive(self, now: float) -> bool:
        return not self.revoked and now - self.last_used <= self.timeout_minutes * 60

    def session(self) -> Session:
        if self.view is None:
            self.view = Session(self.user_id, self.app_name, self.scopes, self.created)
        return self.view


class SessionStore:
    """Creates, finds, extends and revokes sessions; keeps the counters.

    Sessions and counters live in memory and are written behind to SQLite (at most a second
    late, and on :meth:`flush`): a commit per request would cost more than the request. While
    a server runs, :meth:`start_write_behind` writes them every second even when no request
    comes (an idle emulator's file is then current, and ``stats --state`` reads it).
    """

    def __init__(self, db: Database, clock: Clock, org_id: str) -> None:
        self._db = db
        self._clock = clock
        self._org_id = org_id
        self._lock = threading.RLock()
        # The token of each (user, app) live session, kept only in memory: needed by the
        # "re-login returns the same session" option, never written to disk.
        self._live: dict[tuple[str, str], str] = {}
        self._dirty_sessions: set[str] = set()
        # Counter increments not yet written: added to the file's values, never written over
        # them, so emulators sharing a state file do not lose each other's counts.
        self._pending: dict[str, int] = {}
        self._last_flush = time.monotonic()
        self._writer: threading.Thread | None = None
        self._writer_stop = threading.Event()
        self._prune_above = 10_000  # sessions kept before dead ones are dropped
        with db.lock:
            db.conn.executescript(_SCHEMA)
            if db.conn.execute(_OLD_LAYOUT).fetchone() is not None:
                _migrate(db)
            counters = db.conn.execute("SELECT key, value FROM counters").fetchall()
            sessions = db.conn.execute(
                "SELECT * FROM session_rows WHERE revoked = 0 ORDER BY seq"
            ).fetchall()
        self._counters: dict[str, int] = {r["key"]: int(r["value"]) for r in counters}
        self._sessions: dict[str, _Row] = {
            r["token_hash"]: _Row(
                r["seq"],
                r["user_id"],
                r["app_name"],
                frozenset(r["scopes"].split()),
                r["created"],
                r["last_used"],
                r["timeout_minutes"],
            )
            for r in sessions
        }

    def create(
        self,
        user_id: str,
        app_name: str,
        scopes: frozenset[str],
        timeout: int,
        now: float | None = None,
    ) -> str:
        """A new session (begun at ``now``, the clock's time by default); returns its access
        token (``{orgId}!{opaque}``)."""
        # 72 random bytes as base64 (96 characters, no padding), "+" shown as "." and "/"
        # dropped: Salesforce's token alphabet, in one pass.
        opaque = binascii.b2a_base64(os.urandom(72), newline=False).translate(_OPAQUE, b"/")
        token = f"{self._org_id}!AQ{opaque.decode('ascii')}"
        if now is None:
            now = self._clock.now()
        key = hashlib.sha256(token.encode("ascii")).hexdigest()
        with self._lock:  # its row number is given when it is first written
            self._sessions[key] = _Row(0, user_id, app_name, scopes, now, now, timeout)
            self._dirty_sessions.add(key)
            self._live[(user_id, app_name)] = token
        self._maybe_flush()
        return token

    def live_token(self, user_id: str, app_name: str) -> str | None:
        """The token of the user's live session with the app, if this process made one."""
        with self._lock:
            token = self._live.get((user_id, app_name))
            if token is not None and self.lookup(token, touch=False) is None:
                self._live.pop((user_id, app_name), None)
                return None
            return token

    def lookup(self, token: str, *, touch: bool = True) -> Session | None:
        """The live session of ``token`` (extending it when ``touch``), else None."""
        if not token or len(token) > 1024:
            return None
        now = self._clock.now()
        key = _hash(token)
        with self._lock:
            row = self._sessions.get(key)
            if row is None or not row.alive(now):
                return None
            if touch and now > row.last_used:
                row.last_used = now  # use extends the session
                self._dirty_sessions.add(key)
        if touch:
            self._maybe_flush()
        return row.session()

    def revoke_token(self, token: str) -> bool:
        """Revoke one session; False when the token is unknown or already dead."""
        key = _hash(token) if token and len(token) <= 1024 else ""
        with self._lock:
            row = self._sessions.get(key)
            if row is None or not row.alive(self._clock.now()):
                return False
            row.revoked = True
            self._dirty_sessions.add(key)
        self.flush()
        return True

    def revoke(self, user_id: str | None = None) -> int:
        """Revoke every session (of one user when given); returns how many were live."""
        now = self._clock.now()
        count = 0
        with self._lock:
            for key, row in self._sessions.items():
                if row.revoked or (user_id is not None and row.user_id != user_id):
                    continue
                count += row.alive(now)
                row.revoked = True
                self._dirty_sessions.add(key)
            for pair in [k for k in self._live if user_id is None or k[0] == user_id]:
                del self._live[pair]
        self.flush()
        return count

    def active_count(self, user_id: str | None = None) -> int:
        now = self._clock.now()
        with self._lock:
            return sum(
                1
                for r in self._sessions.values()
                if r.alive(now) and (user_id is None or r.user_id == user_id)
            )

    def _maybe_flush(self) -> None:
        if time.monotonic() - self._last_flush >= 1.0:
            try:
                self.flush(wait=_SHORT_WAIT)
            except sqlite3.Error as exc:
                # The request that happened to trigger the write-behind is not failed for it:
                # the changes stay pending and the next flush writes them.
                _log.warning("sessions not written to the state file yet (%s); will retry", exc)

    def start_write_behind(self, interval: float = 1.0) -> None:
        """Write pending sessions and counters every ``interval`` seconds from a daemon thread,
        until :meth:`stop_write_behind`. Idempotent."""
        with self._lock:
            if self._writer is not None:
                return
            self._writer_stop.clear()
            self._writer = threading.Thread(
                target=self._write_behind, args=(interval,), name="sfbearer-emulator-flush",
                daemon=True,
            )  # fmt: skip
            self._writer.start()

    def stop_write_behind(self) -> None:
        """Stop the thread of :meth:`start_write_behind` (pending changes stay pending:
        :meth:`flush` writes them)."""
        with self._lock:
            writer, self._writer = self._writer, None
        if writer is not None:
            self._writer_stop.set()
            writer.join(10)

    def _write_behind(self, interval: float) -> None:
        while not self._writer_stop.wait(interval):
            with self._lock:
                idle = not self._dirty_sessions and not self._pending
            if idle:
                continue
            try:
                self.flush(wait=_SHORT_WAIT)
            except sqlite3.Error as exc:  # the file is busy or gone: try again next time
                _log.warning("sessions not written to the state file yet (%s); will retry", exc)

    def flush(self, *, wait: float = 10.0) -> None:
        """Write changed sessions and counters to the database; forget dead sessions.

        ``wait``: how long to wait for another process's lock on the file before giving up
        (``sqlite3.OperationalError``; the changes stay pending). The write-behind waits only
        briefly, so a file another program holds never stalls requests behind it.
        """
        with self._lock:
            sessions = [(k, self._sessions[k]) for k in self._dirty_sessions]
            counters = list(self._pending.items())
            self._dirty_sessions.clear()
            self._pending = {}
            self._last_flush = time.monotonic()
            if len(self._sessions) > self._prune_above:  # dead ones answer like unknown ones
                now = self._clock.now()
                self._sessions = {k: r for k, r in self._sessions.items() if r.alive(now)}
                # Next time only after as many more: live sessions are not rescanned each flush.
                self._prune_above = max(10_000, 2 * len(self._sessions))
        if not sessions and not counters:
            return
        with self._db.lock:
            conn = self._db.conn
            # The file's write lock first: new rows are numbered from the file itself, so
            # another process adding sessions to the same file never takes the same numbers.
            fresh: list[_Row] = []
            try:
                conn.execute(f"PRAGMA busy_timeout = {max(0, int(wait * 1000))}")
                conn.execute("BEGIN IMMEDIATE")
                fresh = [r for _, r in sessions if r.seq == 0]
                if fresh:
                    top = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM session_rows")
                    first = int(top.fetchone()[0]) + 1
                    for number, row in enumerate(fresh, start=first):
                        row.seq = number
                # In row order: neighbouring rows share pages, so fewer pages are written.
                sessions.sort(key=lambda kr: kr[1].seq)
                conn.executemany(
                    "INSERT OR REPLACE INTO session_rows VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        (
                            r.seq,
                            k,
                            r.user_id,
                            r.app_name,
                            _scope_text(r.scopes),
                            r.created,
                            r.last_used,
                            r.timeout_minutes,
                            int(r.revoked),
                        )
                        for k, r in sessions
                    ],
                )
                conn.executemany(
                    "INSERT INTO counters VALUES (?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET value = value + excluded.value",
                    counters,
                )
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                for row in fresh:
                    row.seq = 0
                with self._lock:  # written next time instead
                    self._dirty_sessions.update(k for k, _ in sessions)
                    for key, delta in counters:
                        self._pending[key] = self._pending.get(key, 0) + delta
                raise
            finally:
                conn.execute(f"PRAGMA busy_timeout = {_DEFAULT_WAIT_MS}")

    def pending(self) -> tuple[int, int]:
        """How many changed sessions and counters wait to be written."""
        with self._lock:
            return len(self._dirty_sessions), len(self._pending)

    # -- counters ---------------------------------------------------------------------------
    def bump(self, *keys: str) -> None:
        """Add one to each counter named."""
        with self._lock:
            for key in keys:
                self._counters[key] = self._counters.get(key, 0) + 1
                self._pending[key] = self._pending.get(key, 0) + 1
        self._maybe_flush()

    def counter(self, key: str) -> int:
        with self._lock:
            return self._counters.get(key, 0)

    def counters(self, prefix: str) -> dict[str, int]:
        with self._lock:
            return {k[len(prefix) :]: v for k, v in self._counters.items() if k.startswith(prefix)}

    def stats(self) -> dict[str, Any]:
        """The counters in the documented shape."""
        return {
            "token_requests": {
                "ok": self.counter("token:ok"),
                "failed": self.counter("token:failed"),
                "by_user": self.counters("token:user:"),
                "by_app": self.counters("token:app:"),
            },
            "api_calls": self.counter("api:calls"),
            "active_sessions": self.active_count(),
        }
