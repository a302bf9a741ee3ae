"""Where an org's custom objects and fields are kept: two tables of its state file.

Example:
    >>> from sfbearer.emulator.db import Database
    >>> from sfbearer.emulator.custom_fields import custom_field
    >>> db = Database()
    >>> store = CustomFieldStore(db)
    >>> schema = store.add(store.load(), custom_field("Account", "Code__c", "text"))
    >>> [f.name for _, f in store.load().custom]
    ['Code__c']
    >>> db.close()
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict

from ._objects import FieldDef, SObjectDef, custom_object_def
from .custom_fields import OrgSchema
from .db import Database
from .registry import RegistryError

__all__ = ["CustomFieldStore"]

_TABLE = """
CREATE TABLE IF NOT EXISTS custom_fields (
    seq INTEGER PRIMARY KEY, sobject TEXT NOT NULL, name TEXT NOT NULL COLLATE NOCASE,
    spec TEXT NOT NULL, UNIQUE (sobject, name));
CREATE TABLE IF NOT EXISTS custom_objects (
    seq INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE COLLATE NOCASE, label TEXT NOT NULL,
    plural TEXT NOT NULL, key_prefix TEXT NOT NULL UNIQUE);
"""


class CustomFieldStore:
    """The custom objects and fields of an org's state file, in the order they were added."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._version: object = None  # the file's data_version when last looked at
        self._looked = 0.0
        with db.lock:
            db.conn.executescript(_TABLE)

    def load(self) -> OrgSchema:
        """The schema the file describes."""
        with self._db.lock:
            self._version = self._db.conn.execute("PRAGMA data_version").fetchone()[0]
            rows = self._db.conn.execute(
                "SELECT sobject, spec FROM custom_fields ORDER BY seq"
            ).fetchall()
            kinds = self._db.conn.execute(
                "SELECT name, label, plural, key_prefix FROM custom_objects ORDER BY seq"
            ).fetchall()
        objects = [custom_object_def(str(n), str(lb), str(pl), str(px)) for n, lb, pl, px in kinds]
        fields = []
        for sobject, spec in rows:
            values = json.loads(spec)
            values["reference_to"] = tuple(values.get("reference_to") or ())
            values["picklist"] = tuple(values.get("picklist") or ())
            fields.append((str(sobject), FieldDef(**values)))
        return OrgSchema(fields, objects)

    def refreshed(self, current: OrgSchema) -> OrgSchema:
        """The file's schema when another process has changed it since (looked at, at most
        every 10 ms: a running emulator sees ``add-field --state``), else ``current``."""
        now = time.monotonic()
        if now - self._looked < 0.01:
            return current
        self._looked = now
        with self._db.lock:
            version = self._db.conn.execute("PRAGMA data_version").fetchone()[0]
        if version == self._version:
            return current
        loaded = self.load()
        if (loaded.custom, loaded.objects_custom) == (current.custom, current.objects_custom):
            return current
        return loaded

    def add_object(self, schema: OrgSchema, obj: SObjectDef) -> OrgSchema:
        """Record custom object ``obj`` and return ``schema`` with it.

        Raises:
            RegistryError: the org already has an object of that name.
        """
        grown = schema.with_object(obj)
        with self._db.lock:
            try:
                self._db.conn.execute(
                    "INSERT INTO custom_objects (name, label, plural, key_prefix) "
                    "VALUES (?, ?, ?, ?)",
                    (obj.name, obj.label, obj.label_plural, obj.key_prefix),
                )
            except Exception as exc:  # sqlite3.IntegrityError: added meanwhile by another process
                if "UNIQUE" not in str(exc):
                    raise
                if "key_prefix" in str(exc):  # another process added an object meanwhile
                    raise RegistryError(
                        f"key prefix {obj.key_prefix} was just taken by an object another "
                        f"process added to the state file: add {obj.name} again"
                    ) from None
                raise RegistryError(f"the org already has an object called {obj.name}") from None
        return grown

    def add(self, schema: OrgSchema, field: tuple[str, FieldDef]) -> OrgSchema:
        """Record ``field`` and return ``schema`` with it.

        Raises:
            RegistryError: the object already has a field of that name.
        """
        grown = schema.with_field(field)
        sobject, fdef = field
        with self._db.lock:
            try:
                self._db.conn.execute(
                    "INSERT INTO custom_fields (sobject, name, spec) VALUES (?, ?, ?)",
                    (sobject, fdef.name, json.dumps(asdict(fdef))),
                )
            except Exception as exc:  # sqlite3.IntegrityError: added meanwhile by another process
                if "UNIQUE" not in str(exc):
                    raise
                raise RegistryError(f"{sobject} already has a field called {fdef.name}") from None
        return grown
