"""The emulated org's object model: standard objects, typed fields, ids, describe, validation.

Everything here is pure data and pure functions; the object definitions themselves live in
:mod:`._objects` and are re-exported here. :mod:`.records` stores rows and :mod:`.soql`
queries them. Field names match case-insensitively, as in Salesforce, and every answer uses
the canonical spelling.

Example:
    >>> obj = get_sobject("account")
    >>> obj.name, obj.key_prefix, obj.field("name").name
    ('Account', '001', 'Name')
    >>> to_18("001A0000006Vm9r")
    '001A0000006Vm9rIAC'
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import UTC, datetime

from ._dates import format_datetime, parse_date, parse_datetime
from ._objects import (
    DERIVED,
    NAMED,
    SOBJECTS,
    FieldDef,
    SObjectDef,
    describe_children,
    field_label,
)
from ._objects import NUMBER_TYPES as NUMBER_TYPES
from ._objects import STRING_TYPES as STRING_TYPES
from .custom_fields import active_schema as _active

__all__ = [
    "SOBJECTS",
    "ApiErrorResponse",
    "FieldDef",
    "SObjectDef",
    "child_relationships",
    "coerce_value",
    "describe",
    "describe_global",
    "format_datetime",
    "get_sobject",
    "make_id",
    "normalize_id",
    "parse_datetime",
    "to_18",
    "validate_record",
]


class ApiErrorResponse(Exception):
    """An answer the REST layer serialises as ``[{"message", "errorCode", "fields"}]``.

    Example:
        >>> err = ApiErrorResponse(404, "NOT_FOUND", "The requested resource does not exist")
        >>> err.body()
        [{'message': 'The requested resource does not exist', 'errorCode': 'NOT_FOUND', 'fields': []}]
    """

    def __init__(
        self, status: int, error_code: str, message: str, fields: Iterable[str] = ()
    ) -> None:
        super().__init__(f"{status} {error_code}: {message}")
        self.status = status
        self.error_code = error_code
        self.message = message
        self.fields = list(fields)

    def body(self) -> list[dict[str, object]]:
        """The JSON error array Salesforce sends."""
        return [{"message": self.message, "errorCode": self.error_code, "fields": self.fields}]


def no_such_column(name: str, entity: str) -> ApiErrorResponse:
    """Salesforce's ``INVALID_FIELD`` for a field the type does not have (query, get, retrieve).

    Example:
        >>> no_such_column("Nope", "Account").message[:41]
        "No such column 'Nope' on entity 'Account'"
    """
    return ApiErrorResponse(
        400, "INVALID_FIELD",
        f"No such column '{name}' on entity '{entity}'. If you are attempting to use a custom "
        "field, be sure to append the '__c' after the custom field name. Please reference your "
        "WSDL or the describe call for the appropriate names.",
    )  # fmt: skip


# --- ids -------------------------------------------------------------------------------------

_CHECKSUM_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ID15 = re.compile(r"[0-9A-Za-z]{15}")


def to_18(id15: str) -> str:
    """Append Salesforce's case-safe 3-character checksum to a 15-character id.

    Each 5-character chunk gives one character: bit *i* is set when character *i* is an
    upper-case letter, and the 5-bit number indexes ``A..Z0..5``.
    """
    if not _ID15.fullmatch(id15):
        raise ValueError("a record id is 15 letters or digits")
    suffix = ""
    for start in (0, 5, 10):
        bits = sum(1 << i for i, ch in enumerate(id15[start : start + 5]) if "A" <= ch <= "Z")
        suffix += _CHECKSUM_ALPHABET[bits]
    return id15 + suffix


def normalize_id(value: object) -> str | None:
    """The 18-character form of a 15- or 18-character id, or None when it is not one.

    An 18-character id must carry the right checksum (compared case-insensitively, as
    Salesforce does).
    """
    if not isinstance(value, str) or len(value) not in (15, 18):
        return None
    if not _ID15.fullmatch(value[:15]):
        return None
    full = to_18(value[:15])
    if len(value) == 18 and value[15:].upper() != full[15:]:
        return None
    return full


def make_id(prefix: str, number: int) -> str:
    """The 18-character id number ``number`` of an object with key prefix ``prefix``.

    Ids look like Salesforce's: 3-character key prefix, pod ``5g`` and a reserved ``0``,
    then the counter in 9 base-62 digits.
    """
    if number < 0 or number >= 62**9:
        raise ValueError("id counter out of range")
    digits = ""
    for _ in range(9):
        number, rest = divmod(number, 62)
        digits = _BASE62[rest] + digits
    return to_18(f"{prefix}5g0{digits}")


# --- the model (defined in ._objects) ------------------------------------------------------

# Classes name the module callers import them from.
FieldDef.__module__ = __name__
SObjectDef.__module__ = __name__


def child_relationships(parent: str) -> dict[str, tuple[str, str, str]]:
    """A type's child relationships in the schema in use: lower-case name -> (name, child
    type, the child's lookup field); the standard ones (``Account.Contacts``) and those of
    the org's custom lookups (``Account.Invoices__r``).

    Example:
        >>> child_relationships("Account")["contacts"]
        ('Contacts', 'Contact', 'AccountId')
    """
    return _active().child_relationships(parent)


def get_sobject(name: str) -> SObjectDef | None:
    """The sObject type called ``name`` in any letter case, or None: a standard type, with the
    custom fields of the org whose schema is in use (see :mod:`.custom_fields`)."""
    return _active().get(name)


def describe(name: str, *, api_version: str = "68.0") -> dict[str, object] | None:
    """The ``/sobjects/{name}/describe`` result, or None for an unknown type.

    Made once per org schema and version (a schema never changes: adding a field makes a new
    one), so the result is shared: read it, do not change it.
    """
    schema = _active()
    key = (name.lower(), api_version)
    cached = schema.describe_cache.get(key)
    if cached is not None:
        return cached
    obj = schema.get(name)
    if obj is None:
        return None
    result = _global_entry(obj, api_version)
    result["fields"] = [f.describe() for f in obj.fields]
    children = describe_children(obj.name, child_relationships(obj.name))
    for entry in children:  # a required custom lookup forbids deleting its parent
        child = schema.get(str(entry["childSObject"]))
        lookup = child.field(str(entry["field"])) if child is not None else None
        entry["restrictedDelete"] = bool(lookup and lookup.custom and lookup.required)
    result["childRelationships"] = children
    result["recordTypeInfos"] = []
    schema.describe_cache[key] = result
    return result


def describe_global(*, api_version: str = "68.0") -> dict[str, object]:
    """The ``/sobjects/`` answer: encoding, batch size and one entry per type."""
    return {
        "encoding": "UTF-8",
        "maxBatchSize": 200,
        "sobjects": [_global_entry(o, api_version) for o in _active().objects()],
    }


def _global_entry(obj: SObjectDef, api_version: str) -> dict[str, object]:
    base = f"/services/data/v{api_version}/sobjects/{obj.name}"
    return {
        "name": obj.name, "label": obj.label, "labelPlural": obj.label_plural,
        "keyPrefix": obj.key_prefix, "custom": obj.custom, "createable": obj.createable,
        "updateable": obj.createable, "deletable": obj.createable, "queryable": True,
        "retrieveable": True, "searchable": True, "layoutable": True,
        "urls": {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"},
    }  # fmt: skip


# --- validation ------------------------------------------------------------------------------


def _json_error(ftype: str, value: object) -> ApiErrorResponse:
    kind = {
        "double": "double",
        "currency": "double",
        "percent": "double",
        "int": "int",
        "boolean": "boolean",
        "date": "date",
        "datetime": "datetime",
    }.get(ftype, "String")
    token = {bool: "VALUE_TRUE" if value is True else "VALUE_FALSE", int: "VALUE_NUMBER_INT",
             float: "VALUE_NUMBER_FLOAT", str: "VALUE_STRING", list: "START_ARRAY",
             dict: "START_OBJECT"}.get(type(value), "VALUE_STRING")  # fmt: skip
    # Huge integers are cut before str(): Python refuses to print more than 4,300 digits.
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        shown = "(a very large number)"
    else:
        shown = str(value)[:40] if isinstance(value, str | int | float | bool) else ""
    return ApiErrorResponse(
        400, "JSON_PARSER_ERROR",
        f"Cannot deserialize instance of {kind} from {token} value {shown} "
        "or request may be missing a required field",
    )  # fmt: skip


# One "@", something before it, a dotted domain after it, no blanks: what Salesforce's
# check comes down to for the addresses integrations send.
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")


def coerce_value(fdef: FieldDef, value: object) -> object:
    """Convert a JSON value for ``fdef`` into its stored form, or raise ApiErrorResponse.

    Stored forms: str, bool, int, float, ``YYYY-MM-DD`` and Salesforce datetime strings.
    """
    if value is None:
        return None
    t = fdef.type
    if isinstance(value, list | dict) or (isinstance(value, float) and not math.isfinite(value)):
        raise _json_error(t, value)  # 1e400 parses to inf: no JSON number means that
    if t == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise _json_error(t, value)
    if t in NUMBER_TYPES:
        if isinstance(value, bool):
            raise _json_error(t, value)
        try:
            number = float(value) if isinstance(value, str) else value
        except ValueError:
            raise _json_error(t, value) from None
        if not isinstance(number, int | float) or number != number or abs(number) > 1e18:
            raise _json_error(t, value)
        if t == "int":  # a Java int in Salesforce
            if number != int(number) or not -(2**31) <= number < 2**31:
                raise _json_error(t, value)
            return int(number)
        return float(number)
    if t in ("date", "datetime"):
        if not isinstance(value, str):
            raise _json_error(t, value)
        if t == "date":
            day = parse_date(value[:10]) if len(value) in (10, 24, 28, 29) else None
            if day is None:
                raise _json_error(t, value)
            return day.isoformat()
        moment = parse_datetime(value)
        if moment is None:
            day = parse_date(value)
            if day is None:
                raise _json_error(t, value)
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
        return format_datetime(moment)
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        raise _json_error(t, value)
    text = (
        value
        if isinstance(value, str)
        else str(value).lower()
        if isinstance(value, bool)
        else str(value)
    )
    if t == "reference":
        ref = normalize_id(text)
        if ref is None:
            raise ApiErrorResponse(
                400, "MALFORMED_ID",
                f"{field_label(fdef.name)}: id value of incorrect type: {text[:40]}", [fdef.name],
            )  # fmt: skip
        return ref
    if fdef.length and len(text) > fdef.length:
        raise ApiErrorResponse(
            400, "STRING_TOO_LONG",
            f"{field_label(fdef.name)}: data value too large: {text[:40]} (max length={fdef.length})",
            [fdef.name],
        )  # fmt: skip
    if fdef.restricted_picklist and text:
        chosen = next((v for v in fdef.picklist if v.lower() == text.lower()), None)
        if chosen is None:
            raise ApiErrorResponse(
                400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"{field_label(fdef.name)}: bad value for restricted picklist field: "
                f"{text[:80]}", [fdef.name],
            )  # fmt: skip
        text = chosen  # stored as the value set spells it
    if t == "email" and text and not _EMAIL.fullmatch(text):
        raise ApiErrorResponse(
            400, "INVALID_EMAIL_ADDRESS",
            f"{field_label(fdef.name)}: invalid email address: {text[:80]}", [fdef.name],
        )  # fmt: skip
    return text


def validate_record(obj: SObjectDef, data: object, *, creating: bool) -> dict[str, object]:
    """Check a create/update body and return it with canonical names and stored values.

    Raises:
        ApiErrorResponse: ``JSON_PARSER_ERROR`` for a body that is not an object,
            ``INVALID_FIELD`` for an unknown field, ``INVALID_FIELD_FOR_INSERT_UPDATE`` for a
            read-only one, ``REQUIRED_FIELD_MISSING`` on create, or a type error.
    """
    if not isinstance(data, dict):
        raise ApiErrorResponse(
            400, "JSON_PARSER_ERROR", "Cannot deserialize instance of sObject from a non-object"
        )
    out: dict[str, object] = {}
    readonly: list[str] = []
    for key, value in data.items():
        if key == "attributes":
            continue
        fdef = obj.field(str(key))
        if fdef is None:
            raise ApiErrorResponse(
                400, "INVALID_FIELD", f"No such column '{key}' on sobject of type {obj.name}"
            )
        writable = fdef.createable if creating else fdef.updateable
        if not writable or (fdef.name in DERIVED and obj.name not in NAMED and not obj.custom):
            readonly.append(fdef.name)
            continue
        out[fdef.name] = coerce_value(fdef, value)
    if readonly:
        raise ApiErrorResponse(
            400, "INVALID_FIELD_FOR_INSERT_UPDATE",
            f"Unable to create/update fields: {', '.join(readonly)}. Please check the security "
            "settings of this field and verify that it is read/write for your profile or "
            "permission set.", readonly,
        )  # fmt: skip
    missing = [
        f.name
        for f in obj.fields
        if f.required and (creating or f.name in out) and out.get(f.name) in (None, "")
    ]
    if missing:
        raise ApiErrorResponse(
            400, "REQUIRED_FIELD_MISSING",
            f"Required fields are missing: [{', '.join(missing)}]", missing,
        )  # fmt: skip
    return out
