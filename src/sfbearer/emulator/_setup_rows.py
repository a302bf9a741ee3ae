"""The setup rows of an org's record store: Profiles, PermissionSets and Users by name.

:class:`SetupRows` is mixed into :class:`.records.RecordStore`, whose lock, rows and upsert
it uses; the registry keeps these rows in step with the apps and users it knows.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable

from ._objects import user_fields
from .schema import make_id, normalize_id

__all__ = ["SetupRows"]


class SetupRows:
    """Profile, PermissionSet and User rows created or found by name."""

    _conn: sqlite3.Connection
    _lock: threading.RLock
    _rows: Callable[[str, bool], list[dict[str, object]]]
    _upsert: Callable[[str, str, dict[str, object]], None]

    def _named_id(self, sobject: str, prefix: str, name: str, extra: dict[str, object]) -> str:
        with self._lock:
            for row in self._rows(sobject, False):
                if str(row.get("Name") or "").lower() == name.lower():
                    return str(row["Id"])
            seq = int(self._conn.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM sobject_records")
                      .fetchone()[0])  # fmt: skip
            record_id = make_id(prefix, 500_000 + seq)  # apart from data rows' numbers
            self._upsert(sobject, record_id, {"Name": name, **extra})
            return record_id

    def ensure_profile(self, name: str) -> str:
        """The id of the Profile called ``name``, creating it when missing."""
        return self._named_id("Profile", "00e", name, {"UserType": "Standard"})

    def ensure_permission_set(self, name: str) -> str:
        """The id of the PermissionSet called ``name``, creating it when missing."""
        return self._named_id("PermissionSet", "0PS", name, {"Label": name,
                                                             "IsOwnedByProfile": False})  # fmt: skip

    def add_user_record(
        self,
        user_id: str,
        username: str,
        *,
        profile: str = "Standard User",
        first_name: str | None = None,
        last_name: str | None = None,
        email: str | None = None,
        is_active: bool = True,
    ) -> None:
        """Create or update the User row of a user the emulator knows (same id as its registry).

        Raises:
            ValueError: ``user_id`` is not a User id.
        """
        full = normalize_id(user_id)
        if full is None or not full.startswith("005"):
            raise ValueError("a User id starts with 005 and has 15 or 18 characters")
        with self._lock:
            last = last_name or username.split("@")[0][:80] or "User"
            fields = user_fields(username, first_name, last, email, is_active,
                                       self.ensure_profile(profile))  # fmt: skip
            self._upsert("User", full, fields)
