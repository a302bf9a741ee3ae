"""The emulator's SQLite database: one connection shared by every part, behind one lock.

A file given by the user keeps the org across restarts; without one a private temporary
file is used and removed on close. The file is created 0600 (it holds certificates and
session hashes).
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import threading
from pathlib import Path

from sfbearer._exceptions import ConfigError

__all__ = ["Database", "StateFileError"]

_STATE_HINT = (
    "give --state a new file name (it is created), or a file an earlier "
    "'sfbearer emulator serve --state' wrote"
)


# Tables only the emulator makes (this version's and earlier versions').
_OWN_TABLES = frozenset(
    {
        "meta",
        "apps",
        "users",
        "sessions",
        "session_rows",
        "counters",
        "sobject_records",
        "custom_fields",
        "custom_objects",
    }
)


def _create_hint(path: Path, exc: OSError) -> str:
    folder = path.parent
    if isinstance(exc, FileNotFoundError) or not folder.is_dir():
        return f"the folder {folder} does not exist: create it (mkdir -p {folder}) or pick another path"
    if isinstance(exc, PermissionError):
        return f"the folder {folder} is not writable by you: pick another path"
    return "give --state a path in a writable folder"


class StateFileError(ConfigError):
    """The emulator's state file cannot be used (not SQLite, another program's, unreadable)."""


class Database:
    """A SQLite connection usable from any thread, serialised by :attr:`lock`.

    Args:
        path: the database file; None for a temporary one removed by :meth:`close`.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self._temp_dir: tempfile.TemporaryDirectory[str] | None = None
        if path is None:
            self._temp_dir = tempfile.TemporaryDirectory(prefix="sfbearer-emulator-")
            path = Path(self._temp_dir.name) / "state.db"
        self.path = Path(path)
        if not self.path.exists():
            # Create it 0600 from the start: no window where others could read it.
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600)
            except OSError as exc:
                raise StateFileError(
                    f"cannot create the emulator state file {self.path}: {exc.strerror}",
                    hint=_create_hint(self.path, exc),
                ) from None
            os.close(fd)
        self.lock = threading.RLock()
        try:
            self.conn = sqlite3.connect(
                str(self.path), check_same_thread=False, isolation_level=None, timeout=10
            )
        except sqlite3.Error as exc:
            raise StateFileError(
                f"cannot open the emulator state file {self.path}: {exc}"
            ) from None
        try:
            self._check_is_state_file()
        except sqlite3.Error as exc:  # not SQLite at all, or unreadable
            self.conn.close()
            raise StateFileError(
                f"{self.path} is not an emulator state file ({exc})", hint=_STATE_HINT
            ) from None
        except StateFileError:
            self.conn.close()
            raise
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        # Records and their indexes are written all over the file: a page cache that holds
        # them (64 MiB at most, used as the file grows) and checkpoints every ~40 MB of WAL
        # rather than every 4 MB keep the rewrites (and the checkpoint's fsyncs) down.
        # Durability is unchanged (synchronous=NORMAL).
        self.conn.execute("PRAGMA cache_size=-65536")
        self.conn.execute("PRAGMA wal_autocheckpoint=10000")
        self.conn.execute("PRAGMA foreign_keys=ON")

    def _check_is_state_file(self) -> None:
        """Refuse a SQLite database of something else: its tables are not the emulator's."""
        tables = {
            r[0]
            for r in self.conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'"
            )
        }
        # Every state file has "meta"; a file with only some of the emulator's tables is one
        # an emulator part made alone (the sessions store in tests, an interrupted first start).
        if "meta" not in tables and not tables <= _OWN_TABLES:
            raise StateFileError(
                f"{self.path} is a SQLite database of something else; it was left as it is",
                hint=_STATE_HINT,
            )

    def execute(
        self, sql: str, params: tuple[object, ...] | dict[str, object] = ()
    ) -> sqlite3.Cursor:
        """Run one statement (autocommit) under the lock."""
        with self.lock:
            return self.conn.execute(sql, params)

    def query(self, sql: str, params: tuple[object, ...] = ()) -> list[sqlite3.Row]:
        """Run a SELECT under the lock and fetch every row."""
        with self.lock:
            return self.conn.execute(sql, params).fetchall()

    def close(self) -> None:
        """Close the connection (and remove the temporary database, if any)."""
        with self.lock:
            self.conn.close()
        if self._temp_dir is not None:
            self._temp_dir.cleanup()
            self._temp_dir = None
