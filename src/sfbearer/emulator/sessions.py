"""Sessions (access tokens), counters, the login-rate window and the ``jti`` replay cache.

Access tokens are stored as SHA-256 hashes only; a session expires after its app's timeout
of inactivity (every use extends it) or when revoked. Counters persist with the org.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from sfbearer.emulator.clock import Clock
from sfbearer.emulator.db import Database

__all__ = ["JtiCache", "LoginWindow", "Session", "SessionStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, app_name TEXT NOT NULL,
    scopes TEXT NOT NULL, created REAL NOT NULL, last_used REAL NOT NULL,
    timeout_minutes INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions (user_id);
CREATE TABLE IF NOT EXISTS counters (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Session:
    """A live session, as the API layer needs it."""

    user_id: str
    app_name: str
    scopes: frozenset[str]
    created: float


class SessionStore:
    """Creates, finds, extends and revokes sessions; keeps the counters."""

    def __init__(self, db: Database, clock: Clock, org_id: str) -> None:
        self._db = db
        self._clock = clock
        self._org_id = org_id
        # The token of each (user, app) live session, kept only in memory: needed by the
        # "re-login returns the same session" option, never written to disk.
        self._live: dict[tuple[str, str], str] = {}
        with db.lock:
            db.conn.executescript(_SCHEMA)

    def create(self, user_id: str, app_name: str, scopes: frozenset[str], timeout: int) -> str:
        """A new session; returns its access token (``{orgId}!{opaque}``)."""
        opaque = base64.urlsafe_b64encode(secrets.token_bytes(72)).decode().rstrip("=")
        token = f"{self._org_id}!AQ{opaque.replace('-', '.').replace('_', '')}"
        now = self._clock.now()
        self._db.execute(
            "INSERT INTO sessions VALUES (?, ?, ?, ?, ?, ?, ?, 0)",
            (_hash(token), user_id, app_name, " ".join(sorted(scopes)), now, now, timeout),
        )
        self._live[(user_id, app_name)] = token
        return token

    def live_token(self, user_id: str, app_name: str) -> str | None:
        """The token of the user's live session with the app, if this process made one."""
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
        with self._db.lock:
            rows = self._db.query(
                "SELECT * FROM sessions WHERE token_hash = ? AND revoked = 0", (_hash(token),)
            )
            if not rows:
                return None
            row = rows[0]
            if now - row["last_used"] > row["timeout_minutes"] * 60:
                return None
            if touch:
                self._db.execute(
                    "UPDATE sessions SET last_used = ? WHERE token_hash = ?",
                    (max(now, row["last_used"]), row["token_hash"]),
                )
        return Session(
            row["user_id"], row["app_name"], frozenset(row["scopes"].split()), row["created"]
        )

    def revoke_token(self, token: str) -> bool:
        """Revoke one session; False when the token is unknown or already dead."""
        if self.lookup(token, touch=False) is None:
            return False
        self._db.execute("UPDATE sessions SET revoked = 1 WHERE token_hash = ?", (_hash(token),))
        return True

    def revoke(self, user_id: str | None = None) -> int:
        """Revoke every session (of one user when given); returns how many were live."""
        live = self.active_count(user_id)
        if user_id is None:
            self._db.execute("UPDATE sessions SET revoked = 1")
            self._live.clear()
        else:
            self._db.execute("UPDATE sessions SET revoked = 1 WHERE user_id = ?", (user_id,))
            for key in [k for k in self._live if k[0] == user_id]:
                del self._live[key]
        return live

    def active_count(self, user_id: str | None = None) -> int:
        now = self._clock.now()
        sql = "SELECT COUNT(*) AS n FROM sessions WHERE revoked = 0 AND ? - last_used <= timeout_minutes * 60"
        params: tuple[object, ...] = (now,)
        if user_id is not None:
            sql += " AND user_id = ?"
            params = (now, user_id)
        return int(self._db.query(sql, params)[0]["n"])

    # -- counters ---------------------------------------------------------------------------
    def bump(self, *keys: str) -> None:
        """Add one to each counter named."""
        with self._db.lock:
            for key in keys:
                self._db.execute(
                    "INSERT INTO counters VALUES (?, 1) "
                    "ON CONFLICT(key) DO UPDATE SET value = value + 1",
                    (key,),
                )

    def counter(self, key: str) -> int:
        rows = self._db.query("SELECT value FROM counters WHERE key = ?", (key,))
        return int(rows[0]["value"]) if rows else 0

    def counters(self, prefix: str) -> dict[str, int]:
        rows = self._db.query(
            "SELECT key, value FROM counters WHERE substr(key, 1, ?) = ?", (len(prefix), prefix)
        )
        return {r["key"][len(prefix) :]: int(r["value"]) for r in rows}

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


class LoginWindow:
    """Successful logins per user over a rolling hour (in memory)."""

    def __init__(self, clock: Clock, window: float = 3600.0) -> None:
        self._clock = clock
        self._window = window
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _trim(self, user_id: str) -> deque[float]:
        events = self._events.setdefault(user_id, deque())
        horizon = self._clock.now() - self._window
        while events and events[0] <= horizon:
            events.popleft()
        return events

    def exceeded(self, user_id: str, limit: int) -> bool:
        with self._lock:
            return len(self._trim(user_id)) >= limit

    def record(self, user_id: str) -> None:
        with self._lock:
            self._trim(user_id).append(self._clock.now())

    def count(self, user_id: str) -> int:
        with self._lock:
            return len(self._trim(user_id))


class JtiCache:
    """Seen ``jti`` values until their assertion expires; when full it refuses, never evicts early."""

    def __init__(self, clock: Clock, capacity: int) -> None:
        self._clock = clock
        self._capacity = capacity
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()
        self._last_purge = time.monotonic()

    def add(self, jti: str, until: float) -> str:
        """Record ``jti`` as used until ``until``; returns ``ok``, ``replay`` or ``full``."""
        now = self._clock.now()
        with self._lock:
            seen = self._seen.get(jti)
            if seen is not None and seen >= now:
                return "replay"
            if len(self._seen) >= self._capacity:
                self._seen = {k: v for k, v in self._seen.items() if v >= now}
                if len(self._seen) >= self._capacity:
                    return "full"
            self._seen[jti] = until
            return "ok"

    def __len__(self) -> int:
        return len(self._seen)
