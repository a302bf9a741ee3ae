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
import difflib
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, TypeVar

from ._objects import (
    OBJECTS,
    SOBJECTS,
    FieldDef,
    SObjectDef,
    child_relationships,
    custom_object_def,
)

__all__ = [
    "FIELD_TYPES",
    "OrgSchema",
    "custom_field",
    "custom_object",
    "enter_schema",
    "get_sobject",
    "leave_schema",
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
_KEYS = ("string", "email", "double")
_DOCUMENTED_TYPES = ("text", "textarea", "email", "phone", "url", "picklist", "checkbox",
                     "number", "currency", "percent", "date", "datetime", "lookup")  # fmt: skip  # the types an external id or a unique field may have
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
    relationship_name: str | None = None,
    schema: OrgSchema | None = None,
) -> tuple[str, FieldDef]:
    """A custom field for ``sobject``, checked as Salesforce checks a new field's definition.

    ``relationship_name`` names a lookup's children on the parent (``Invoices`` gives
    ``Account.Invoices__r``); by default the object's plural label. ``schema``: the org's
    (for its custom objects), the standard one by default.

    Returns:
        The object's canonical name and the field.

    Raises:
        RegistryError: an unknown or read-only object, a name that is not ``Xxx__c`` (at most
            40 characters before ``__c``), an unknown type, or options that do not fit it.
    """
    _check_types(
        text={"object": sobject, "name": name, "type": type},
        optional_text={"label": label, "reference_to": reference_to,
                       "relationship_name": relationship_name},
        numbers={"length": length, "scale": scale},
        flags={"external_id": external_id, "unique": unique, "required": required},
    )  # fmt: skip
    if not isinstance(values, list | tuple) or not all(isinstance(v, str) for v in values):
        raise _refused("values: a list of texts is expected (the picklist's values)")
    schema = schema or STANDARD
    obj = schema.get(sobject)
    if obj is None or not obj.createable:
        writable = ", ".join(o.name for o in schema.objects() if o.createable)
        raise _refused(f"custom fields can be added to {writable}, not {sobject!r}")
    if not _NAME.fullmatch(name) or len(name) > 43:
        raise _refused(
            f"custom field name {name!r}: letters, digits and single underscores, starting with "
            "a letter, at most 40 characters, ending in __c (e.g. External_Id__c)"
        )
    kind = FIELD_TYPES.get(type.lower().replace("_", ""))
    if kind is None:
        raise _refused(f"field type {type!r}: one of {', '.join(_DOCUMENTED_TYPES)}")
    ftype, default_length = kind
    if ftype in ("string", "textarea") and length is not None:
        top = 255 if ftype == "string" else 131072
        if not 1 <= length <= top:
            raise _refused(f"length of a {type} field: 1 to {top}")
    picks = tuple(values)
    if (ftype == "picklist") != bool(picks):
        raise _refused(
            "a picklist field needs values (--values a,b,c), and only a picklist takes them"
        )
    if (ftype == "reference") != (reference_to is not None):
        raise _refused(
            "a lookup field needs the object it points to (reference_to, --reference-to), and "
            "only a lookup takes one"
        )
    target = schema.get(reference_to or "")
    if reference_to is not None and target is None:
        names = [o.name for o in schema.objects()]
        near = difflib.get_close_matches(reference_to, names, n=1, cutoff=0.6)
        also = f" (did you mean {near[0]}?)" if near else ""
        raise _refused(f"a lookup cannot point to {reference_to!r}: no such object{also}")
    if target is not None and not (target.createable or target.name == "User"):
        raise _refused(
            f"a lookup can point to User or an object records are written to, not {target.name}"
        )
    child = None
    if target is not None:
        base = relationship_name or re.sub(r"[^A-Za-z0-9]", "", obj.label_plural)
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,39}", base) or "__" in base:
            raise _refused(f"relationship name {base!r}: letters, digits and underscores")
        child = base + "__r"
        taken = schema.child_relationships(target.name).get(child.lower())
        if taken is not None and (taken[1], taken[2].lower()) != (obj.name, name.lower()):
            raise _refused(
                f"{target.name} already has a child relationship called {child}: give this "
                "lookup another relationship name (relationship_name, --relationship-name)"
            )
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
        external_id=external_id, unique=unique, scale=scale, child_relationship=child,
    )  # fmt: skip
    return obj.name, fdef  # a field of that name already there: see OrgSchema.with_field


def _check_types(
    *,
    text: dict[str, object],
    optional_text: dict[str, object] | None = None,
    numbers: dict[str, object] | None = None,
    flags: dict[str, object] | None = None,
) -> None:
    """Refuse options of the wrong JSON type (the admin API takes them from any client)."""
    for key, value in text.items():
        if not isinstance(value, str):
            raise _refused(f"{key}: a text is expected")
    for key, value in (optional_text or {}).items():
        if value is not None and not isinstance(value, str):
            raise _refused(f"{key}: a text is expected")
    for key, value in (numbers or {}).items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise _refused(f"{key}: a whole number is expected")
    for key, value in (flags or {}).items():
        if not isinstance(value, bool):
            raise _refused(f"{key}: true or false is expected")


def custom_object(
    schema: OrgSchema, name: str, label: str | None = None, plural: str | None = None
) -> SObjectDef:
    """A custom object for ``schema``'s org (its key prefix the first free one of ``a00``,
    ``a01``...), checked as Salesforce checks a new object's definition.

    Raises:
        RegistryError: a name that is not ``Xxx__c`` or that the org already has.
    """
    _check_types(text={"name": name}, optional_text={"label": label, "plural": plural})
    if not _NAME.fullmatch(name) or len(name) > 43:
        raise _refused(
            f"custom object name {name!r}: letters, digits and single underscores, starting "
            "with a letter, at most 40 characters, ending in __c (e.g. Invoice__c)"
        )
    if schema.get(name) is not None:
        raise _refused(f"the org already has an object called {schema.get(name).name}")  # type: ignore[union-attr]
    label = label or name[:-3].replace("_", " ")
    plural = plural or (label + "s")
    used = {o.key_prefix for o in schema.objects_custom}
    prefix = next((p for p in _PREFIXES if p not in used), None)
    if prefix is None:
        raise _refused(f"the emulated org holds at most {len(_PREFIXES)} custom objects")
    return custom_object_def(name, label, plural, prefix)


_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# Key prefixes of custom objects, in the order they are given: a00, a01, ... a0z, a10, ...
_PREFIXES = tuple("a" + first + second for first in _BASE62 for second in _BASE62)


class OrgSchema:
    """An org's sObject types: the standard ones and its custom objects, with its custom fields
    added. Immutable: adding makes a new schema."""

    def __init__(
        self, custom: Iterable[tuple[str, FieldDef]] = (), objects: Iterable[SObjectDef] = ()
    ) -> None:
        self.custom: tuple[tuple[str, FieldDef], ...] = tuple(custom)
        self.objects_custom: tuple[SObjectDef, ...] = tuple(objects)
        self._types = dict(SOBJECTS)
        self._types.update((o.name.lower(), o) for o in self.objects_custom)
        for sobject in {name.lower() for name, _ in self.custom}:
            base = self._types[sobject]
            extra = tuple(f for name, f in self.custom if name.lower() == sobject)
            self._types[sobject] = replace(base, fields=base.fields + extra)
        self._by_prefix = {o.key_prefix: o for o in self._types.values()}
        # Describe results by (type, version), made on first use (see .schema.describe).
        self.describe_cache: dict[tuple[str, str], dict[str, object]] = {}
        self._children: dict[str, dict[str, tuple[str, str, str]]] = {}
        for name, fdef in self.custom:
            if fdef.child_relationship and fdef.reference_to:
                parent = self._types[fdef.reference_to[0].lower()].name
                rel = fdef.child_relationship
                self._children.setdefault(parent, {})[rel.lower()] = (rel, name, fdef.name)

    def get(self, name: str) -> SObjectDef | None:
        """The type called ``name`` in any letter case, or None."""
        return self._types.get(name.lower())

    def by_prefix(self, prefix: str) -> SObjectDef | None:
        """The type whose ids start with ``prefix`` (three characters), or None."""
        return self._by_prefix.get(prefix)

    def objects(self) -> list[SObjectDef]:
        """Every type: the standard ones in their order, then the custom objects."""
        names = [o.name.lower() for o in OBJECTS] + [o.name.lower() for o in self.objects_custom]
        return [self._types[n] for n in names]

    def child_relationships(self, parent: str) -> dict[str, tuple[str, str, str]]:
        """Lower-case relationship name -> (name, child type, lookup field): the standard ones
        and those of the custom lookups pointing to ``parent``."""
        standard = child_relationships(parent)
        extra = self._children.get(parent)
        return {**standard, **extra} if extra else standard

    def lookups_to(self, parent: str) -> list[tuple[str, str]]:
        """(child type, field) of the custom lookups pointing to ``parent``."""
        return [(name, f.name) for name, f in self.custom
                if f.reference_to and f.reference_to[0].lower() == parent.lower()]  # fmt: skip

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
        return OrgSchema((*self.custom, field), self.objects_custom)

    def with_object(self, obj: SObjectDef) -> OrgSchema:
        """This schema with one more custom object (see :func:`custom_object`)."""
        if self.get(obj.name) is not None:
            raise _refused(f"the org already has an object called {obj.name}")
        return OrgSchema(self.custom, (*self.objects_custom, obj))


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


def enter_schema(schema: OrgSchema) -> contextvars.Token[OrgSchema]:
    """Make ``schema`` the one in use until :func:`leave_schema` (cheaper than the ``with``
    form, for the per-request path)."""
    return _ACTIVE.set(schema)


def leave_schema(token: contextvars.Token[OrgSchema]) -> None:
    """Undo :func:`enter_schema`."""
    _ACTIVE.reset(token)


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
