"""Custom fields: declared per emulated org, kept in its state file, seen everywhere a field is.

An org's sObject types are the standard ones (:mod:`._objects`) plus the custom fields added
to them (``External_Id__c`` on Account, say). :class:`OrgSchema` holds them; the schema in use
is a context variable, set by the REST layer for each request and by the record store for
each call, so describe, SOQL, saves and upserts all see the same fields without passing the
schema through every function.

Example:
    >>> schema = OrgSchema().with_field(custom_field("Account", "External_Id__c",
    ...     "string", length=40, external_id=True, unique=True))
    >>> with schema_in_use(schema):
    ...     get_sobject("account").field("external_id__c").external_id
    True
    >>> get_sobject("Account").field("External_Id__c") is None  # outside: standard fields only
    True
"""

from __future__ import annotations

import contextvars
import json
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, replace
from typing import Any, TypeVar

from ._objects import OBJECTS, SOBJECTS, FieldDef, SObjectDef
from .db import Database

__all__ = [
    "FIELD_TYPES",
    "CustomFieldStore",
    "OrgSchema",
    "custom_field",
    "get_sobject",
    "schema_in_use",
    "uses_schema",
]

# Type name (ours and the metadata API's) -> (describe type, default length).
FIELD_TYPES: dict[str, tuple[str, int]] = {
    "string": ("string", 255), "text": ("string", 255), "textarea": ("textarea", 32768),
    "longtextarea": ("textarea", 32768), "email": ("email", 80), "phone": ("phone", 40),
    "url": ("url", 255), "picklist": ("picklist", 255), "boolean": ("boolean", 0),
    "checkbox": ("boolean", 0), "double": ("double", 0), "number": ("double", 0),
    "currency": ("currency", 0), "percent": ("percent", 0), "date": ("date", 0),
    "datetime": ("datetime", 0), "reference": ("reference", 18), "lookup": ("reference", 18),
}  # fmt: skip
_KEYS = ("string", "email", "double")  # the types an external id or a unique field may have
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*__c", re.ASCII)


def _refused(message: str) -> Exception:
    from .registry import RegistryError  # the registry imports the schema, which imports us

    return RegistryError(message)


def custom_field(
    sobject: str,
    name: str,
    type: str = "string",
    *,
    label: str | None = None,
    length: int | None = None,
    values: Iterable[str] = (),
    reference_to: str | None = None,
    external_id: bool = False,
    unique: bool = False,
    required: bool = False,
    scale: int | None = None,
) -> tuple[str, FieldDef]:
    """A custom field for ``sobject``, checked as Salesforce checks a new field's definition.

    Returns:
        The object's canonical name and the field.

    Raises:
        RegistryError: an unknown or read-only object, a name that is not ``Xxx__c`` (at most
            40 characters before ``__c``), an unknown type, or options that do not fit it.
    """
    obj = SOBJECTS.get(sobject.lower())
    if obj is None or not obj.createable:
        writable = ", ".join(o.name for o in OBJECTS if o.createable)
        raise _refused(f"custom fields can be added to {writable}, not {sobject!r}")
    if not _NAME.fullmatch(name) or len(name) > 43:
        raise _refused(
            f"custom field name {name!r}: letters, digits and single underscores, starting with "
            "a letter, at most 40 characters, ending in __c (e.g. External_Id__c)"
        )
    kind = FIELD_TYPES.get(type.lower().replace("_", ""))
    if kind is None:
        raise _refused(f"field type {type!r}: one of {', '.join(sorted(FIELD_TYPES))}")
    ftype, default_length = kind
    if ftype in ("string", "textarea") and length is not None:
        top = 255 if ftype == "string" else 131072
        if not 1 <= length <= top:
            raise _refused(f"length of a {type} field: 1 to {top}")
    picks = tuple(values)
    if (ftype == "picklist") != bool(picks):
        raise _refused("a picklist field needs values, and only a picklist takes them")
    target = SOBJECTS.get((reference_to or "").lower())
    if (ftype == "reference") != (reference_to is not None) or (reference_to and target is None):
        raise _refused("a lookup field needs reference_to (an object), and only it takes one")
    if (external_id or unique) and ftype not in _KEYS:
        raise _refused("an external id or unique field is text, email or a number")
    if scale is not None and (
        ftype not in ("double", "currency", "percent") or not 0 <= scale <= 17
    ):
        raise _refused("scale (0 to 17) is for number, currency and percent fields")
    fdef = FieldDef(
        name, ftype, label or "", length if length is not None else default_length,
        nillable=not required and ftype != "boolean", required=required,
        reference_to=(target.name,) if target else (), picklist=picks, custom=True,
        external_id=external_id, unique=unique, scale=scale,
    )  # fmt: skip
    if obj.field(name) is not None:
        raise _refused(f"{obj.name} already has a field called {obj.field(name).name}")  # type: ignore[union-attr]
    return obj.name, fdef


class OrgSchema:
    """An org's sObject types: the standard ones with its custom fields added. Immutable."""

    def __init__(self, custom: Iterable[tuple[str, FieldDef]] = ()) -> None:
        self.custom: tuple[tuple[str, FieldDef], ...] = tuple(custom)
        self._types = dict(SOBJECTS)
        for sobject in {name for name, _ in self.custom}:
            base = SOBJECTS[sobject.lower()]
            extra = tuple(f for name, f in self.custom if name == sobject)
            self._types[sobject.lower()] = replace(base, fields=base.fields + extra)

    def get(self, name: str) -> SObjectDef | None:
        """The type called ``name`` in any letter case, or None."""
        return self._types.get(name.lower())

    def objects(self) -> list[SObjectDef]:
        """Every type, in the standard order."""
        return [self._types[o.name.lower()] for o in OBJECTS]

    def with_field(self, field: tuple[str, FieldDef]) -> OrgSchema:
        """This schema with one more custom field (see :func:`custom_field`).

        Raises:
            RegistryError: the object already has a field of that name.
        """
        sobject, fdef = field
        known = self.get(sobject)
        existing = known.field(fdef.name) if known is not None else None
        if existing is not None:
            raise _refused(f"{sobject} already has a field called {existing.name}")
        return OrgSchema((*self.custom, field))


STANDARD = OrgSchema()
_ACTIVE: contextvars.ContextVar[OrgSchema] = contextvars.ContextVar(
    "sfbearer_emulator_schema", default=STANDARD
)


def get_sobject(name: str) -> SObjectDef | None:
    """The sObject type called ``name`` in the schema in use, or None."""
    return _ACTIVE.get().get(name)


def active_schema() -> OrgSchema:
    """The schema in use (the standard one outside any org)."""
    return _ACTIVE.get()


@contextmanager
def schema_in_use(schema: OrgSchema) -> Iterator[None]:
    """Make ``schema`` the one :func:`get_sobject` answers from, for the ``with`` block."""
    token = _ACTIVE.set(schema)
    try:
        yield
    finally:
        _ACTIVE.reset(token)


_F = TypeVar("_F", bound=Callable[..., Any])


def uses_schema(method: _F) -> _F:
    """Run a method of an object with a ``schema`` attribute with that schema in use."""

    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        schema = self.schema
        if _ACTIVE.get() is schema:
            return method(self, *args, **kwargs)
        token = _ACTIVE.set(schema)
        try:
            return method(self, *args, **kwargs)
        finally:
            _ACTIVE.reset(token)

    wrapper.__name__, wrapper.__doc__ = method.__name__, method.__doc__
    wrapper.__qualname__ = method.__qualname__
    return wrapper  # type: ignore[return-value]


_TABLE = """
CREATE TABLE IF NOT EXISTS custom_fields (
    seq INTEGER PRIMARY KEY, sobject TEXT NOT NULL, name TEXT NOT NULL COLLATE NOCASE,
    spec TEXT NOT NULL, UNIQUE (sobject, name));
"""


class CustomFieldStore:
    """The custom fields of an org's state file, in the order they were added."""

    def __init__(self, db: Database) -> None:
        self._db = db
        with db.lock:
            db.conn.executescript(_TABLE)

    def load(self) -> OrgSchema:
        """The schema the file describes."""
        with self._db.lock:
            rows = self._db.conn.execute(
                "SELECT sobject, spec FROM custom_fields ORDER BY seq"
            ).fetchall()
        fields = []
        for sobject, spec in rows:
            values = json.loads(spec)
            values["reference_to"] = tuple(values.get("reference_to") or ())
            values["picklist"] = tuple(values.get("picklist") or ())
            fields.append((str(sobject), FieldDef(**values)))
        return OrgSchema(fields)

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
                raise _refused(f"{sobject} already has a field called {fdef.name}") from None
        return grown
