"""The org's External Client Apps and users, kept in SQLite.

An app holds exactly one certificate, as in Salesforce: setting a new one replaces the old
(a cutover). Pre-authorization is by profile or permission set; authorizing a single user
gives that user a permission set assigned to the app.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from typing import Any

from cryptography import x509

from sfbearer.emulator._registry_records import (
    AppRecord,
    CertificateKey,
    RegistryError,
    UserRecord,
    app_from_row,
    new_consumer_key,
    user_from_row,
)
from sfbearer.emulator.config import ADMIN_APPROVED, parse_policy, parse_scopes
from sfbearer.emulator.db import Database
from sfbearer.emulator.schema import make_id

__all__ = [
    "AppRecord", "CertificateKey", "Registry", "RegistryError", "UserRecord", "new_consumer_key",
]  # fmt: skip

DEFAULT_PROFILE = "Integration User"
_USERNAME = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
_VERSION_CHECK_INTERVAL = 0.01  # seconds between two looks at the file's data_version

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS apps (
    name TEXT PRIMARY KEY, consumer_key TEXT NOT NULL UNIQUE, certificate TEXT NOT NULL,
    scopes TEXT NOT NULL, policy TEXT NOT NULL, session_timeout INTEGER NOT NULL,
    installed INTEGER NOT NULL, profiles TEXT NOT NULL, permission_sets TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY, username TEXT NOT NULL UNIQUE COLLATE NOCASE, profile TEXT NOT NULL,
    permission_sets TEXT NOT NULL, active INTEGER NOT NULL, email TEXT NOT NULL);
"""


class Registry:
    """Apps and users of the emulated org.

    Lookups by consumer key are cached in memory (the token endpoint does one per request).
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self._lock = threading.RLock()
        self._certs: dict[str, x509.Certificate] = {}
        self._keys: dict[str, CertificateKey] = {}
        with db.lock:
            db.conn.executescript(_SCHEMA)
        self.org_id = self._meta("org_id") or self._set_meta(
            "org_id", make_id("00D", secrets.randbelow(62**6))
        )
        self.org_secret = self._meta("org_secret") or self._set_meta(
            "org_secret", secrets.token_hex(32)
        )
        self._apps_by_key: dict[str, AppRecord] | None = None
        self._users_by_name: dict[str, UserRecord] = {}
        # Another process may change apps and users in the same file (``sfbearer emulator
        # add-app --state`` next to a running ``serve``): SQLite's data_version moves when
        # another connection commits, and the caches are then dropped. The PRAGMA costs a
        # few microseconds and a token request makes several lookups: it runs at most once
        # per _VERSION_CHECK_INTERVAL, so another process's change is seen within 10 ms.
        self._version_cursor = db.conn.cursor()
        self._data_version = self._read_data_version()
        self._version_checked = time.monotonic()

    def _read_data_version(self) -> int:
        with self._db.lock:
            return int(self._version_cursor.execute("PRAGMA data_version").fetchone()[0])

    def _drop_caches_if_changed(self) -> None:
        """Forget cached apps and users when another connection wrote to the file."""
        now = time.monotonic()
        if now - self._version_checked < _VERSION_CHECK_INTERVAL:
            return
        self._version_checked = now
        version = self._read_data_version()
        if version != self._data_version:
            with self._lock:
                self._data_version = version
                self._apps_by_key = None
                self._users_by_name.clear()

    # -- meta -------------------------------------------------------------------------------
    def _meta(self, key: str) -> str | None:
        rows = self._db.query("SELECT value FROM meta WHERE key = ?", (key,))
        return str(rows[0]["value"]) if rows else None

    def _set_meta(self, key: str, value: str) -> str:
        self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
        return value

    # -- apps -------------------------------------------------------------------------------
    def add_app(
        self,
        *,
        name: str,
        certificate_pem: str,
        consumer_key: str | None = None,
        scopes: str = "api,refresh_token",
        policy: str = ADMIN_APPROVED,
        session_timeout: int = 120,
        installed: bool = True,
        profiles: tuple[str, ...] = (),
        permission_sets: tuple[str, ...] = (),
    ) -> AppRecord:
        """Create an app, or update the one of the same name in place.

        Updating keeps what clients and admins already rely on: the consumer key (unless
        another is given) and the pre-authorized profiles and permission sets (those given
        are added). The certificate (a cutover), scopes, policy, session timeout and
        installed flag are replaced. :meth:`app_exists` tells the two cases apart beforehand.
        """
        with self._db.lock:
            existing = self.get_app(name)
            if existing is not None:
                consumer_key = consumer_key or existing.consumer_key
                profiles = tuple(dict.fromkeys((*existing.profiles, *profiles)))
                permission_sets = tuple(
                    dict.fromkeys((*existing.permission_sets, *permission_sets))
                )
            return self._write_app(
                name=name, certificate_pem=certificate_pem, consumer_key=consumer_key,
                scopes=scopes, policy=policy, session_timeout=session_timeout,
                installed=installed, profiles=profiles, permission_sets=permission_sets,
            )  # fmt: skip

    def app_exists(self, name: str) -> bool:
        return self.get_app(name) is not None

    def _write_app(
        self,
        *,
        name: str,
        certificate_pem: str,
        consumer_key: str | None,
        scopes: str,
        policy: str,
        session_timeout: int,
        installed: bool,
        profiles: tuple[str, ...],
        permission_sets: tuple[str, ...],
    ) -> AppRecord:
        """Store the app exactly as given (a new consumer key when none is)."""
        if not name or len(name) > 80:
            raise RegistryError("an app name is 1 to 80 characters")
        if session_timeout < 1 or session_timeout > 1440:
            raise RegistryError("the session timeout is 1 to 1440 minutes")
        try:
            scope_set = parse_scopes(scopes)
            policy = parse_policy(policy)
        except ValueError as exc:
            raise RegistryError(str(exc)) from None
        key = consumer_key or new_consumer_key()
        if not key.strip() or len(key) > 255 or key != key.strip():
            raise RegistryError("a consumer key is 1 to 255 characters without spaces")
        with self._db.lock:
            clash = self._db.query(
                "SELECT name FROM apps WHERE consumer_key = ? AND name != ?", (key, name)
            )
            if clash:
                raise RegistryError(f"consumer key already used by app {clash[0]['name']!r}")
            self._db.execute(
                "INSERT OR REPLACE INTO apps VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    name, key, certificate_pem, ",".join(sorted(scope_set)), policy,
                    session_timeout, int(installed), json.dumps(list(profiles)),
                    json.dumps(list(permission_sets)),
                ),
            )  # fmt: skip
            self._invalidate()
        app = self.get_app(name)
        assert app is not None
        return app

    def update_app(self, name: str, **changes: Any) -> AppRecord:
        """Change some fields of an app (same names as :meth:`add_app`); lists are replaced."""
        app = self.get_app(name)
        if app is None:
            raise RegistryError(f"no app named {name!r}")
        current: dict[str, Any] = {
            "certificate_pem": app.certificate_pem,
            "consumer_key": app.consumer_key,
            "scopes": ",".join(sorted(app.scopes)),
            "policy": app.policy,
            "session_timeout": app.session_timeout,
            "installed": app.installed,
            "profiles": app.profiles,
            "permission_sets": app.permission_sets,
        }
        current.update(changes)
        return self._write_app(name=name, **current)

    def get_app(self, name: str) -> AppRecord | None:
        rows = self._db.query("SELECT * FROM apps WHERE name = ?", (name,))
        return app_from_row(rows[0]) if rows else None

    def app_by_consumer_key(self, consumer_key: str) -> AppRecord | None:
        """The app whose consumer key is exactly ``consumer_key`` (case and spaces matter)."""
        self._drop_caches_if_changed()
        apps = self._apps_by_key
        if apps is None:
            # Refilled under the database lock (taken before ours, as everywhere): a write
            # cannot slip between the read and the refill and leave a stale map behind.
            with self._db.lock:
                apps = {a.consumer_key: a for a in self.list_apps()}
                with self._lock:
                    self._apps_by_key = apps
        return apps.get(consumer_key)

    def certificate(self, app: AppRecord) -> x509.Certificate | None:
        """The app's parsed certificate (cached), or None when it cannot be parsed."""
        with self._lock:
            cert = self._certs.get(app.certificate_pem)
            if cert is None:
                try:
                    cert = x509.load_pem_x509_certificate(app.certificate_pem.encode())
                except ValueError:
                    return None
                self._certs[app.certificate_pem] = cert
            return cert

    def certificate_key(self, app: AppRecord) -> CertificateKey | None:
        """The public key and validity of the app's certificate, or None when it cannot be parsed.

        Kept per certificate text, so a new certificate (a cutover) is read afresh.
        """
        with self._lock:
            key = self._keys.get(app.certificate_pem)
            if key is None:
                cert = self.certificate(app)
                if cert is None:
                    return None
                key = CertificateKey(
                    cert.public_key(),
                    cert.not_valid_before_utc.timestamp(),
                    cert.not_valid_after_utc.timestamp(),
                )
                self._keys[app.certificate_pem] = key
            return key

    def list_apps(self) -> list[AppRecord]:
        return [app_from_row(r) for r in self._db.query("SELECT * FROM apps ORDER BY name")]

    def _invalidate(self) -> None:
        with self._lock:
            self._apps_by_key = None

    # -- users ------------------------------------------------------------------------------
    def add_user(
        self,
        *,
        username: str,
        profile: str = DEFAULT_PROFILE,
        permission_sets: tuple[str, ...] = (),
        active: bool = True,
        email: str | None = None,
    ) -> UserRecord:
        """Create a user, or update the one with that username (its id is kept)."""
        if not username or len(username) > 80 or username != username.strip():
            raise RegistryError("a username is 1 to 80 characters without surrounding spaces")
        if not _USERNAME.fullmatch(username):
            raise RegistryError(
                f"username {username!r}: Salesforce usernames have the form of an email address "
                "(int@acme.com), though no mail goes to it"
            )
        if not profile:
            raise RegistryError("a user needs a profile")
        with self._db.lock:
            existing = self.get_user_by_username(username)
            if existing is not None:
                user_id = existing.id
            else:
                count = int(self._meta("user_seq") or "0") + 1
                self._set_meta("user_seq", str(count))
                user_id = make_id("005", 1000 + count)
            self._db.execute(
                "INSERT OR REPLACE INTO users VALUES (?, ?, ?, ?, ?, ?)",
                (
                    user_id, username, profile, json.dumps(list(dict.fromkeys(permission_sets))),
                    int(active), email or username,
                ),
            )  # fmt: skip
            with self._lock:  # after the write, under the database lock: no stale refill
                self._users_by_name.clear()
        user = self.get_user(user_id)
        assert user is not None
        return user

    def update_user(self, username: str, **changes: Any) -> UserRecord:
        user = self.get_user_by_username(username)
        if user is None:
            raise RegistryError(f"no user named {username!r}")
        current: dict[str, Any] = {
            "profile": user.profile,
            "permission_sets": user.permission_sets,
            "active": user.active,
            "email": user.email,
        }
        current.update(changes)
        return self.add_user(username=user.username, **current)

    def get_user(self, user_id: str) -> UserRecord | None:
        rows = self._db.query("SELECT * FROM users WHERE id = ?", (user_id,))
        return user_from_row(rows[0]) if rows else None

    def get_user_by_username(self, username: str) -> UserRecord | None:
        """The user called ``username`` (letter case ignored, as by Salesforce). Cached."""
        self._drop_caches_if_changed()
        with self._lock:
            cached = self._users_by_name.get(username)
        if cached is not None:
            return cached
        rows = self._db.query("SELECT * FROM users WHERE username = ?", (username,))
        if not rows:
            return None
        user = user_from_row(rows[0])
        with self._lock:
            if len(self._users_by_name) > 10_000:
                self._users_by_name.clear()
            self._users_by_name[username] = user
        return user

    def list_users(self) -> list[UserRecord]:
        return [user_from_row(r) for r in self._db.query("SELECT * FROM users ORDER BY username")]

    # -- pre-authorization ------------------------------------------------------------------
    def authorize(
        self,
        app: str,
        *,
        profile: str | None = None,
        permission_set: str | None = None,
        user: str | None = None,
    ) -> AppRecord:
        """Pre-authorize a profile, a permission set, or one user (through a permission set)."""
        if sum(x is not None for x in (profile, permission_set, user)) != 1:
            raise RegistryError("authorize exactly one of: a profile, a permission set, a user")
        record = self.get_app(app)
        if record is None:
            raise RegistryError(f"no app named {app!r}")
        if user is not None:
            target = self.get_user_by_username(user)
            if target is None:
                raise RegistryError(f"no user named {user!r}")
            permission_set = f"{app} JWT Access"
            if permission_set not in target.permission_sets:
                self.update_user(
                    target.username, permission_sets=(*target.permission_sets, permission_set)
                )
        if profile is not None and profile not in record.profiles:
            return self.update_app(app, profiles=(*record.profiles, profile))
        if permission_set is not None and permission_set not in record.permission_sets:
            return self.update_app(app, permission_sets=(*record.permission_sets, permission_set))
        return record

    @staticmethod
    def is_preauthorized(app: AppRecord, user: UserRecord) -> bool:
        """Whether the user's profile or one of its permission sets is assigned to the app."""
        if user.profile in app.profiles:
            return True
        return any(p in app.permission_sets for p in user.permission_sets)
