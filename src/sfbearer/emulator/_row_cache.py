"""The record store's rows kept between writes: every row of a type, read once from SQLite,
kept in step with the store's own writes, and dropped when another process writes the file.

Rows and lists are shared with callers: read-only. A write replaces one entry of a copied
list (callers may still hold the lists they were given), so a bulk job of thousands of rows
never reads or scans a whole type per row; an index answers "which live rows hold this
value" (unique fields, upserts).

Example:
    >>> import sqlite3, json
    >>> conn = sqlite3.connect(":memory:")
    >>> _ = conn.execute("CREATE TABLE sobject_records (seq INTEGER PRIMARY KEY, id TEXT, "
    ...                  "sobject TEXT, data TEXT, is_deleted INTEGER)")
    >>> _ = conn.execute("INSERT INTO sobject_records VALUES (1, '001A', 'Account', ?, 0)",
    ...                  (json.dumps({"Id": "001A", "Name": "Acme"}),))
    >>> cache = RowCache(conn)
    >>> [r["Name"] for r in cache.rows("Account", False)]
    ['Acme']
    >>> cache.kept("Account", {"Id": "001B", "Name": "ACME"}, new=True)
    >>> [r["Id"] for r in cache.rows_with("Account", "Name", "acme")]
    ['001A', '001B']
"""

from __future__ import annotations

import json
import sqlite3

from ._row_index import RowIndex, index_key

__all__ = ["RowCache"]

Row = dict[str, object]


class RowCache:
    """Rows by type (all of them, and the live ones), with positions and a value index."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._version_cursor = conn.cursor()  # one cursor for the per-read version check
        self._lists: dict[str, tuple[list[Row], list[Row]]] = {}
        self._index = RowIndex()  # live rows by a field's value
        self._where: dict[str, dict[str, tuple[int, int | None]]] = {}  # row positions
        self._version: tuple[object, int] | None = None
        self._generation = 0

    def rows(self, sobject: str, include_deleted: bool) -> list[Row]:
        """Every row of a type (or the live ones), oldest first.

        ``PRAGMA data_version`` changes when another connection commits to the file; then
        everything is read again.
        """
        version = (self._version_cursor.execute("PRAGMA data_version").fetchone()[0],
                   self._generation)  # fmt: skip
        if version != self._version:
            self._clear()
            self._version = version
        lists = self._lists.get(sobject)
        if lists is None:
            cur = self._conn.execute(
                "SELECT data, is_deleted FROM sobject_records WHERE sobject = ? ORDER BY seq",
                (sobject,),
            )
            rows = [(json.loads(r[0]), bool(r[1])) for r in cur.fetchall()]
            lists = self._lists[sobject] = ([r for r, _ in rows], [r for r, d in rows if not d])
        return lists[0] if include_deleted else lists[1]

    def _clear(self) -> None:
        self._lists.clear()
        self._index.clear()
        self._where.clear()

    def invalidate(self) -> None:
        """Forget everything: the table changed behind the store's back (a rolled-back
        savepoint, a delete that touched several types)."""
        self._generation += 1

    def rows_with(self, sobject: str, field: str, value: object) -> list[Row]:
        """The live rows of ``sobject`` whose ``field`` holds ``value`` (text in any letter
        case, numbers by value)."""
        return self._index.lookup(
            sobject, field, index_key(value), lambda: self.rows(sobject, False)
        )

    def kept(self, sobject: str, row: Row, *, new: bool) -> None:
        """One row the store just wrote (``new``: inserted, else updated and still live)."""
        lists = self._lists.get(sobject)
        if lists is None:
            return
        every, live = lists
        where = self._where.get(sobject)
        if where is None or len(where) != len(every):
            live_at = {str(r["Id"]): n for n, r in enumerate(live)}
            where = self._where[sobject] = {
                str(r["Id"]): (n, live_at.get(str(r["Id"]))) for n, r in enumerate(every)
            }
        ident = str(row["Id"])
        if new:
            where[ident] = (len(every), len(live))
            self._lists[sobject] = ([*every, row], [*live, row])
            self._index.added(sobject, row)
            return
        if ident not in where:  # lists that predate the row: read the type again
            self._lists.pop(sobject, None)
            self._where.pop(sobject, None)
            self._index.clear()
            return
        at_every, at_live = where[ident]
        old = live[at_live] if at_live is not None else None
        every, live = every.copy(), live.copy()
        every[at_every] = row
        if at_live is not None:
            live[at_live] = row
        self._lists[sobject] = (every, live)
        self._index.replaced(sobject, old, row)
