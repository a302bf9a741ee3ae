"""Query cursors: the pages of a query result beyond the first, behind query locators.

A query whose result is larger than its batch size keeps the rest in a cursor; the
``nextRecordsUrl`` of each page names the cursor and the next offset
(``/query/01g...-2000``). Cursors expire when unused for a while and the least recently
used one is closed when too many are open, as in Salesforce.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from .schema import ApiErrorResponse, make_id

__all__ = ["QueryCursors"]


@dataclass
class _Cursor:
    records: list[dict[str, object]]
    batch_size: int
    api_version: str
    touched: datetime


class QueryCursors:
    """The open cursors of one record store.

    Not locked: the store calls every method under its own lock.

    Args:
        clock: the emulator's clock, returning an aware UTC datetime.
        ttl: how long an unused cursor lives (Salesforce: 15 minutes).
        max_cursors: open cursors kept; the least recently used one is closed beyond it.
    """

    def __init__(self, clock: Callable[[], datetime], *, ttl: timedelta, max_cursors: int) -> None:
        self._clock = clock
        self._ttl = ttl
        self._max_cursors = max_cursors
        self._cursors: OrderedDict[str, _Cursor] = OrderedDict()

    def open(
        self, records: list[dict[str, object]], batch_size: int, api_version: str
    ) -> dict[str, object]:
        """Keep ``records`` in a new cursor and return its first page."""
        cursor = _Cursor(records, batch_size, api_version, self._clock())
        self._expire()
        while len(self._cursors) >= self._max_cursors:
            self._cursors.popitem(last=False)  # Salesforce also closes the oldest cursor
        ident = make_id("01g", secrets.randbelow(62**9))
        self._cursors[ident] = cursor
        return self._page(ident, 0)

    def next_page(self, locator: str) -> dict[str, object]:
        """The page a locator (the last part of ``nextRecordsUrl``) names.

        Raises:
            ApiErrorResponse: 400 ``INVALID_QUERY_LOCATOR`` for an unknown or expired cursor.
        """
        ident, _, start = locator.partition("-")
        self._expire()
        cursor = self._cursors.get(ident)
        # A few ASCII digits only: str.isdigit() also accepts characters int() refuses
        # ("²"), and int() refuses thousands of digits.
        valid = start.isascii() and start.isdigit() and len(start) <= 9
        if cursor is None or not valid or not 0 < int(start) < len(cursor.records):
            raise ApiErrorResponse(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return self._page(ident, int(start))

    def _expire(self) -> None:
        cutoff = self._clock() - self._ttl
        for ident in [i for i, c in self._cursors.items() if c.touched < cutoff]:
            del self._cursors[ident]

    def _page(self, ident: str, start: int) -> dict[str, object]:
        cursor = self._cursors[ident]
        cursor.touched = self._clock()
        self._cursors.move_to_end(ident)
        end = start + cursor.batch_size
        page: dict[str, object] = {
            "totalSize": len(cursor.records),
            "done": end >= len(cursor.records),
        }
        if end < len(cursor.records):
            page["nextRecordsUrl"] = f"/services/data/v{cursor.api_version}/query/{ident}-{end}"
        else:
            del self._cursors[ident]
        page["records"] = cursor.records[start:end]
        return page
