"""The emulated org's data: sObject rows in SQLite, CRUD and SOQL queries.

Rows are stored as JSON (canonical field names, values already checked by
:func:`.schema.validate_record`), one SQLite row per record. Every public method runs under
the lock the store is given, so one store may serve many request threads. All SQL takes its
values as parameters. Results too large for one page wait in :mod:`._cursors`.

Example:
    >>> import sqlite3, threading, datetime as dt
    >>> store = RecordStore(sqlite3.connect(":memory:"), threading.RLock(),
    ...                     clock=lambda: dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    ...                     org_id="00D5g0000000001AAA")
    >>> account_id = store.create("Account", {"Name": "Acme"})
    >>> store.query("SELECT Name FROM Account")["records"][0]["Name"]
    'Acme'
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta

from ._cursors import QueryCursors
from ._integrity import check_references, check_unique, lookup_orphans
from ._objects import complete_row, delete_plan, user_fields
from ._row_cache import RowCache
from ._setup_rows import SetupRows
from .custom_fields import STANDARD, OrgSchema, uses_schema
from .schema import (
    ApiErrorResponse,
    SObjectDef,
    format_datetime,
    get_sobject,
    make_id,
    no_such_column,
    normalize_id,
    validate_record,
)
from .soql import PlanCache, Row, SoqlError, compile_where, parse, prepare, run

__all__ = ["AUTOMATED_USER_ID", "ApiErrorResponse", "RecordStore", "SoqlError"]

AUTOMATED_USER_ID = make_id("005", 0)
"""The user that owns rows created without a user (the org's ``Automated Process``)."""
STANDARD_PROFILES = ("System Administrator", "Standard User", "Minimum Access - Salesforce")
MAX_BATCH_SIZE = 2000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sobject_records (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    sobject TEXT NOT NULL,
    data TEXT NOT NULL,
    is_deleted INTEGER NOT NULL DEFAULT 0,
    created_date TEXT NOT NULL,
    last_modified_date TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sobject_records_by_type ON sobject_records (sobject, is_deleted);
"""
_NOT_FOUND = "The requested resource does not exist"


def _not_found() -> ApiErrorResponse:
    return ApiErrorResponse(404, "NOT_FOUND", _NOT_FOUND)


class RecordStore(SetupRows):
    """sObject records of one emulated org.

    Args:
        conn: the SQLite connection (shared; the store creates its own tables).
        lock: the lock that serialises every use of ``conn``.
        clock: the emulator's clock, returning an aware UTC datetime.
        org_id: the Organization's 18-character id (``00D...``).
        org_name, is_sandbox, instance_name: the Organization row's fields.
        cursor_ttl: how long an unused query cursor lives (Salesforce: 15 minutes).
        max_cursors: open cursors kept; the least recently used one is closed beyond it.
    """

    def __init__(
        self,
        conn: sqlite3.Connection,
        lock: threading.RLock,
        *,
        clock: Callable[[], datetime],
        org_id: str,
        org_name: str = "Emulated Org",
        is_sandbox: bool = False,
        instance_name: str = "EMU1",
        organization_type: str = "Developer Edition",
        cursor_ttl: timedelta = timedelta(minutes=15),
        max_cursors: int = 256,
    ) -> None:
        self._conn = conn
        self._lock = lock
        self._clock = clock
        self._cursors = QueryCursors(clock, ttl=cursor_ttl, max_cursors=max_cursors)
        self._cache = RowCache(conn)
        self._plans = PlanCache()
        self._schema = STANDARD
        self.org_id = org_id
        with lock:
            conn.executescript(_SCHEMA)
            org = {"Name": org_name, "InstanceName": instance_name, "IsSandbox": is_sandbox,
                   "OrganizationType": organization_type, "NamespacePrefix": None,
                   "TrialExpirationDate": None, "LanguageLocaleKey": "en_US",
                   "TimeZoneSidKey": "GMT", "DefaultLocaleSidKey": "en_US"}  # fmt: skip
            self._upsert("Organization", org_id, org)
            self._upsert("User", AUTOMATED_USER_ID, user_fields(
                "autoproc@" + org_id.lower() + ".emulator", "Automated", "Process", None,
                True, self.ensure_profile("System Administrator"), "AutomatedProcess"))  # fmt: skip
            for name in STANDARD_PROFILES:
                self.ensure_profile(name)

    # --- low level ---------------------------------------------------------------------------

    def _row(self, record_id: str) -> tuple[str, dict[str, object], bool] | None:
        found = self._conn.execute(
            "SELECT sobject, data, is_deleted FROM sobject_records WHERE id = ?", (record_id,)
        ).fetchone()
        if found is None:
            return None
        return str(found[0]), json.loads(found[1]), bool(found[2])

    def _stored(self, record_id: str) -> tuple[str, bool] | None:
        found = self._row(record_id)
        return (found[0], found[2]) if found else None

    def _rows(self, sobject: str, include_deleted: bool) -> list[dict[str, object]]:
        return self._cache.rows(sobject, include_deleted)

    @uses_schema
    def rows(self, sobject: str, *, include_deleted: bool) -> list[dict[str, object]]:
        """Every stored row of a type (canonical name), oldest first; read-only."""
        with self._lock:
            return self._rows(sobject, include_deleted)

    @property
    def schema(self) -> OrgSchema:
        """The org's sObject types (standard, with its custom fields); every method uses it."""
        return self._schema

    @schema.setter
    def schema(self, schema: OrgSchema) -> None:
        with self._lock:
            self._schema = schema
            self._plans = PlanCache()  # a plan may list every field (FIELDS(ALL))

    def invalidate(self) -> None:
        """Forget the rows kept between writes: for changes made to the table behind the
        store's back (a rolled-back savepoint)."""
        self._cache.invalidate()

    def _keep(self, sobject: str, row: dict[str, object], *, new: bool) -> None:
        self._cache.kept(sobject, row, new=new)

    @uses_schema
    def rows_with(self, sobject: str, field: str, value: object) -> list[dict[str, object]]:
        """The live rows of ``sobject`` whose ``field`` holds ``value`` (text in any letter
        case, numbers by value), from an index kept in step with every write."""
        with self._lock:
            return self._cache.rows_with(sobject, field, value)

    def _insert(self, obj: SObjectDef, values: dict[str, object], user_id: str) -> str:
        now = format_datetime(self._clock())
        for _ in range(5):  # another process sharing the file may take the same number
            seq = int(self._conn.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM sobject_records")
                      .fetchone()[0])  # fmt: skip
            record_id = make_id(obj.key_prefix, seq)
            row = complete_row(obj, values, seq=seq)
            row.update(Id=record_id, IsDeleted=False, CreatedDate=now, CreatedById=user_id,
                       LastModifiedDate=now, LastModifiedById=user_id, SystemModstamp=now)  # fmt: skip
            try:
                self._conn.execute(
                    "INSERT INTO sobject_records (seq, id, sobject, data, is_deleted, "
                    "created_date, last_modified_date) VALUES (?, ?, ?, ?, 0, ?, ?)",
                    (seq, record_id, obj.name, json.dumps(row), now, now),
                )
            except sqlite3.IntegrityError:
                continue
            self._keep(obj.name, row, new=True)
            return record_id
        raise ApiErrorResponse(500, "UNKNOWN_EXCEPTION", "could not allocate a record id")

    def _upsert(self, sobject: str, record_id: str, values: dict[str, object]) -> None:
        """Create or overwrite a setup row under a known id (Organization, User, Profile...)."""
        obj = get_sobject(sobject)
        assert obj is not None
        found = self._row(record_id)
        now = format_datetime(self._clock())
        fresh: dict[str, object] = {"CreatedDate": now, "CreatedById": AUTOMATED_USER_ID}
        row = found[1] if found else fresh
        row.update(values)
        row = complete_row(obj, row, seq=0)
        row.update(Id=record_id, IsDeleted=False, LastModifiedDate=now,
                   LastModifiedById=AUTOMATED_USER_ID, SystemModstamp=now)  # fmt: skip
        self._conn.execute(
            "INSERT INTO sobject_records (id, sobject, data, is_deleted, created_date, "
            "last_modified_date) VALUES (?, ?, ?, 0, ?, ?) ON CONFLICT (id) DO UPDATE SET "
            "data = excluded.data, is_deleted = 0, last_modified_date = excluded.last_modified_date",
            (record_id, obj.name, json.dumps(row), now, now),
        )
        self.invalidate()

    def _resolve(self, sobject: str, record_id: str) -> tuple[SObjectDef, str, dict[str, object]]:
        obj = get_sobject(sobject)
        if obj is None:
            raise _not_found()
        full = normalize_id(record_id)
        if full is None:
            raise ApiErrorResponse(
                400, "MALFORMED_ID", f"{obj.label} ID: id value of incorrect type: {record_id[:40]}"
            )
        found = self._row(full)
        if found is None or found[0] != obj.name:
            raise _not_found()
        if found[2]:
            raise ApiErrorResponse(404, "ENTITY_IS_DELETED", "entity is deleted")
        return obj, full, found[1]

    @staticmethod
    def _writable(sobject: str, verb: str) -> SObjectDef:
        obj = get_sobject(sobject)
        if obj is None:
            raise _not_found()
        if not obj.createable:
            raise ApiErrorResponse(
                400, "INVALID_TYPE_FOR_OPERATION", f"entity type cannot be {verb}: {obj.name}"
            )
        return obj

    # --- CRUD --------------------------------------------------------------------------------

    @uses_schema
    def create(self, sobject: str, data: object, *, user_id: str = AUTOMATED_USER_ID) -> str:
        """Insert a record and return its 18-character id.

        Raises:
            ApiErrorResponse: 404 for an unknown type; 400 for a read-only type or bad data.
        """
        with self._lock:
            obj = self._writable(sobject, "inserted")
            values = validate_record(obj, data, creating=True)
            check_references(obj, values, self._stored)
            check_unique(obj, values, lambda f, v: self.rows_with(obj.name, f, v))
            if obj.field("OwnerId") is not None and values.get("OwnerId") is None:
                values["OwnerId"] = user_id
            return self._insert(obj, values, user_id)

    @uses_schema
    def get(
        self, sobject: str, record_id: str, fields: Sequence[str] | None = None, *,
        api_version: str = "68.0",
    ) -> dict[str, object]:  # fmt: skip
        """One record with its ``attributes``; all fields, or those of ``fields`` in order.

        Raises:
            ApiErrorResponse: 404 ``NOT_FOUND``, 400 ``MALFORMED_ID`` or ``INVALID_FIELD``.
        """
        with self._lock:
            obj, full, row = self._resolve(sobject, record_id)
        names = [f.name for f in obj.fields]
        if fields is not None:
            names = []
            for name in fields:
                fdef = obj.field(name.strip())
                if fdef is None:
                    raise no_such_column(name.strip(), obj.name)
                names.append(fdef.name)
        url = f"/services/data/v{api_version}/sobjects/{obj.name}/{full}"
        out: dict[str, object] = {"attributes": {"type": obj.name, "url": url}}
        out.update((name, row.get(name)) for name in names)
        return out

    @uses_schema
    def update(
        self, sobject: str, record_id: str, data: object, *, user_id: str = AUTOMATED_USER_ID
    ) -> None:
        """Change some fields of a record (PATCH: answered with 204).

        Raises:
            ApiErrorResponse: as :meth:`create`, and 404 for a missing or deleted record.
        """
        with self._lock:
            obj = self._writable(sobject, "updated")
            obj, full, row = self._resolve(obj.name, record_id)
            values = validate_record(obj, data, creating=False)
            check_references(obj, values, self._stored)
            check_unique(obj, values, lambda f, v: self.rows_with(obj.name, f, v), full)
            if obj.name == "Opportunity" and "StageName" in values:
                values.setdefault("Probability", None)  # a new stage brings its own
            row.update(values)
            now = format_datetime(self._clock())
            row.update(LastModifiedDate=now, LastModifiedById=user_id, SystemModstamp=now)
            row = complete_row(obj, row, seq=0)
            self._conn.execute(
                "UPDATE sobject_records SET data = ?, last_modified_date = ? WHERE id = ?",
                (json.dumps(row), now, full),
            )
            self._keep(obj.name, row, new=False)

    @uses_schema
    def delete(self, sobject: str, record_id: str, *, user_id: str = AUTOMATED_USER_ID) -> None:
        """Soft-delete a record: gone from ``query``, still seen by ``queryAll``.

        An account's contacts and opportunities are deleted with it; an account or contact
        that cases look up is refused (400 ``DELETE_FAILED``), so is a record a required
        custom lookup names; other custom lookups to a deleted record are cleared — as
        Salesforce does.
        """
        with self._lock:
            obj = self._writable(sobject, "deleted")
            obj, _, row = self._resolve(obj.name, record_id)
            doomed, cases = delete_plan(obj.name, row, lambda kind: self._rows(kind, False))
            gone = {str(v["Id"]) for v in doomed}
            cleared, holding = lookup_orphans(self._schema, gone, lambda k: self._rows(k, False))
            if cases or holding is not None:
                kind, names = ("cases", cases) if cases or holding is None else holding
                raise ApiErrorResponse(400, "DELETE_FAILED", f"Your attempt to delete "
                    f"{row.get('Name')} could not be completed because it is associated with "
                    f"the following {kind}.: {', '.join(names)}\n")  # fmt: skip
            now = format_datetime(self._clock())
            for victim in doomed:
                victim.update(IsDeleted=True, LastModifiedDate=now, LastModifiedById=user_id,
                              SystemModstamp=now)  # fmt: skip
            self._conn.executemany(
                "UPDATE sobject_records SET data = ?, is_deleted = 1, last_modified_date = ? "
                "WHERE id = ?",
                [(json.dumps(victim), now, victim["Id"]) for victim in doomed],
            )
            for orphan in cleared:
                orphan.update(LastModifiedDate=now, LastModifiedById=user_id, SystemModstamp=now)
            self._conn.executemany(
                "UPDATE sobject_records SET data = ?, last_modified_date = ? WHERE id = ?",
                [(json.dumps(orphan), now, orphan["Id"]) for orphan in cleared],
            )
            self.invalidate()

    # --- queries -----------------------------------------------------------------------------

    @uses_schema
    def query(
        self, soql: str, *, include_deleted: bool = False, batch_size: int = MAX_BATCH_SIZE,
        api_version: str = "68.0",
    ) -> dict[str, object]:  # fmt: skip
        """Run SOQL and return the first page in Salesforce's JSON shape.

        Raises:
            SoqlError: the query is refused (400 with Salesforce's error code).
        """
        batch_size = max(1, min(batch_size, MAX_BATCH_SIZE))
        # A known text skips parsing and binding; a new one is parsed outside the lock.
        plan = self._plans.get(soql) if isinstance(soql, str) else None
        parsed = parse(soql) if plan is None else plan.query
        with self._lock:
            cache: dict[str, Row | None] = {}

            def lookup(sobject: str, record_id: str) -> Row | None:
                if record_id not in cache:
                    found = self._row(record_id)
                    keep = found is not None and found[0] == sobject
                    keep = keep and (include_deleted or not found[2])  # type: ignore[index]
                    cache[record_id] = found[1] if keep and found else None
                return cache[record_id]

            def rows_for(sobject: str) -> Iterable[Row]:
                return self._rows(sobject, include_deleted)

            if plan is None:
                plan, predicate = prepare(parsed, lookup=lookup, now=self._clock())
                self._plans.put(soql, plan)
            else:  # the clock is read only for a WHERE clause (its date literals)
                where = plan.query.where is not None
                predicate = compile_where(plan, lookup=lookup, now=self._clock()) if where else None
            now = self._clock() if plan.children else None  # subqueries' date literals
            total, records = run(plan, predicate, rows_for, lookup=lookup, api_version=api_version,
                                 now=now)  # fmt: skip
            if len(records) <= batch_size or plan.aggregate is not None:  # never paged
                return {"totalSize": total, "done": True, "records": records}
            return self._cursors.open(records, batch_size, api_version)

    @uses_schema
    def query_more(self, locator: str) -> dict[str, object]:
        """The next page of a query: ``locator`` is the last part of ``nextRecordsUrl``.

        Raises:
            ApiErrorResponse: 400 ``INVALID_QUERY_LOCATOR`` for an unknown or expired cursor.
        """
        with self._lock:
            return self._cursors.next_page(locator)
