"""Live rows by the value of one field, for the checks that look a value up on every write:
a unique field's duplicates, an upsert's matches. Kept in step with each written row, so a
bulk job of thousands of rows never scans the whole type per row.

Example:
    >>> index = RowIndex()
    >>> rows = [{"Id": "001A", "Ext__c": "ab-1"}, {"Id": "001B", "Ext__c": 3}]
    >>> [r["Id"] for r in index.lookup("Account", "Ext__c", index_key("AB-1"), lambda: rows)]
    ['001A']
    >>> index.added("Account", {"Id": "001C", "Ext__c": 3.0})
    >>> [r["Id"] for r in index.lookup("Account", "Ext__c", index_key(3), lambda: rows)]
    ['001B', '001C']
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

__all__ = ["RowIndex", "index_key"]

Row = dict[str, object]


def index_key(value: object) -> object | None:
    """How a value is looked up: text in any letter case, numbers by value (3 is 3.0); None
    and empty text match nothing."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value.lower()
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float):
        return float(value)
    return value


class RowIndex:
    """Per (type, field): key -> the live rows holding it. Callers hold the store's lock."""

    def __init__(self) -> None:
        self._maps: dict[tuple[str, str], dict[object, list[Row]]] = {}

    def clear(self) -> None:
        """Forget everything (the rows were read again, or changed behind the store's back)."""
        self._maps.clear()

    def lookup(
        self, sobject: str, field: str, key: object, live: Callable[[], Sequence[Row]]
    ) -> list[Row]:
        """The live rows of ``sobject`` whose ``field`` has ``key``; ``live()`` gives the type's
        live rows (and is called first, so a stale index has been cleared by then)."""
        rows = live()
        found = self._maps.get((sobject, field))
        if found is None:
            found = {}
            for row in rows:
                at = index_key(row.get(field))
                if at is not None:
                    found.setdefault(at, []).append(row)
            self._maps[(sobject, field)] = found
        return list(found.get(key, ())) if key is not None else []

    def added(self, sobject: str, row: Row) -> None:
        """A new live row."""
        for (kind, field), found in self._maps.items():
            at = index_key(row.get(field)) if kind == sobject else None
            if at is not None:
                found.setdefault(at, []).append(row)

    def replaced(self, sobject: str, old: Row | None, new: Row) -> None:
        """A live row written again (``old``: as it was, when known)."""
        for (kind, field), found in self._maps.items():
            if kind != sobject:
                continue
            if old is not None and (at := index_key(old.get(field))) is not None:
                kept = [r for r in found.get(at, ()) if r["Id"] != new["Id"]]
                found[at] = kept
            at = index_key(new.get(field))
            if at is not None:
                found.setdefault(at, []).append(new)
