"""The emulated org's object model: standard objects, typed fields, ids, describe, validation.

Everything here is pure data and pure functions; :mod:`.records` stores rows and :mod:`.soql`
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

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone

__all__ = [
    "SOBJECTS",
    "ApiErrorResponse",
    "FieldDef",
    "SObjectDef",
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


# --- dates -----------------------------------------------------------------------------------


def format_datetime(value: datetime) -> str:
    """Salesforce's JSON spelling of a datetime: ``2026-01-02T03:04:05.000+0000`` (UTC)."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


_DT = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?",
    re.ASCII,
)


def parse_datetime(text: str) -> datetime | None:
    """Parse an ISO-8601 datetime as Salesforce accepts it (UTC when no offset), or None."""
    m = _DT.fullmatch(text)
    if not m:
        return None
    year, month, day, hour, minute, second, frac, zone = m.groups()
    tz = UTC
    if zone and zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        minutes = int(digits[:2]) * 60 + int(digits[2:])
        if minutes >= 24 * 60:
            return None
        tz = timezone(sign * timedelta(minutes=minutes))
    try:
        return datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second),
            int((frac or "0")[:6].ljust(6, "0")), tzinfo=tz,
        ).astimezone(UTC)  # fmt: skip
    except ValueError:
        return None


def parse_date(text: str) -> date | None:
    """Parse ``YYYY-MM-DD``, or None."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text, re.ASCII):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


# --- the model -------------------------------------------------------------------------------

_SOAP_TYPES = {
    "id": "tns:ID", "reference": "tns:ID", "boolean": "xsd:boolean", "double": "xsd:double",
    "currency": "xsd:double", "percent": "xsd:double", "int": "xsd:int", "date": "xsd:date",
    "datetime": "xsd:dateTime",
}  # fmt: skip
STRING_TYPES = frozenset(
    {"string", "textarea", "picklist", "email", "phone", "url", "id", "reference"}
)
NUMBER_TYPES = frozenset({"double", "currency", "percent", "int"})


@dataclass(frozen=True)
class FieldDef:
    """One field of an sObject, as its describe shows it."""

    name: str
    type: str
    label: str = ""
    length: int = 0
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    required: bool = False  # must be given on create (Salesforce: not nillable, no default)
    reference_to: tuple[str, ...] = ()
    picklist: tuple[str, ...] = ()

    @property
    def relationship_name(self) -> str | None:
        """``Account`` for ``AccountId``: the name used in ``Account.Name`` paths."""
        if self.type == "reference" and self.name.endswith("Id"):
            return self.name[:-2]
        return None

    def describe(self) -> dict[str, object]:
        """This field's entry in a describe result."""
        return {
            "name": self.name, "label": self.label or _label(self.name), "type": self.type,
            "soapType": _SOAP_TYPES.get(self.type, "xsd:string"), "length": self.length,
            "byteLength": self.length * 3, "nillable": self.nillable,
            "createable": self.createable, "updateable": self.updateable,
            "filterable": self.type != "textarea", "sortable": self.type != "textarea",
            "defaultedOnCreate": not self.nillable and not self.required, "custom": False,
            "unique": False, "idLookup": self.name in ("Id", "Name", "Username"),
            "referenceTo": list(self.reference_to), "relationshipName": self.relationship_name,
            "picklistValues": [
                {"active": True, "defaultValue": False, "label": v, "value": v}
                for v in self.picklist
            ],
            "precision": 18 if self.type in ("currency", "double") else 0,
            "scale": 2 if self.type == "currency" else 0,
            "digits": 9 if self.type == "int" else 0,
        }  # fmt: skip


@dataclass(frozen=True)
class SObjectDef:
    """One sObject type: its name, key prefix and fields (looked up case-insensitively)."""

    name: str
    label: str
    label_plural: str
    key_prefix: str
    fields: tuple[FieldDef, ...]
    createable: bool = True
    _index: dict[str, FieldDef] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {f.name.lower(): f for f in self.fields})

    def field(self, name: str) -> FieldDef | None:
        """The field called ``name`` in any letter case, or None."""
        return self._index.get(name.lower())

    def relationship(self, name: str) -> FieldDef | None:
        """The reference field whose relationship name is ``name`` (``Account``), or None."""
        lowered = name.lower()
        for f in self.fields:
            rel = f.relationship_name
            if rel is not None and rel.lower() == lowered:
                return f
        return None


def _label(name: str) -> str:
    name = name[:-2] + " ID" if name.endswith("Id") and len(name) > 2 else name
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name)


def _fields(spec: str, *, required: Iterable[str] = ()) -> tuple[FieldDef, ...]:
    """Fields from a compact ``Name:type[:length|target|values]`` list, system fields first."""
    needed = set(required)
    out = [
        FieldDef("Id", "id", "Record ID", 18, nillable=False, createable=False, updateable=False),
        FieldDef("IsDeleted", "boolean", "Deleted", nillable=False, createable=False,
                 updateable=False),
        FieldDef("CreatedDate", "datetime", nillable=False, createable=False, updateable=False),
        FieldDef("CreatedById", "reference", "Created By ID", 18, nillable=False,
                 createable=False, updateable=False, reference_to=("User",)),
        FieldDef("LastModifiedDate", "datetime", nillable=False, createable=False,
                 updateable=False),
        FieldDef("LastModifiedById", "reference", "Last Modified By ID", 18, nillable=False,
                 createable=False, updateable=False, reference_to=("User",)),
        FieldDef("SystemModstamp", "datetime", nillable=False, createable=False,
                 updateable=False),
    ]  # fmt: skip
    for item in spec.split(" "):
        if not item:
            continue
        name, ftype, *extra = item.split(":")
        arg = extra[0] if extra else ""
        length = {"string": 255, "textarea": 32000, "email": 80, "phone": 40, "url": 255,
                  "picklist": 255, "reference": 18}.get(ftype, 0)  # fmt: skip
        if ftype in ("string", "textarea") and arg:
            length = int(arg)
        req = name in needed
        out.append(
            FieldDef(
                name, ftype, length=length, nillable=not req and ftype != "boolean",
                required=req, reference_to=(arg,) if ftype == "reference" else (),
                picklist=tuple(arg.split("|")) if ftype == "picklist" and arg else (),
            )
        )  # fmt: skip
    return tuple(out)


def _readonly(obj: SObjectDef) -> SObjectDef:
    """Setup objects cannot be changed through the emulated data API."""
    fields = tuple(
        FieldDef(f.name, f.type, f.label, f.length, f.nillable, False, False, False,
                 f.reference_to, f.picklist)
        for f in obj.fields
    )  # fmt: skip
    return SObjectDef(obj.name, obj.label, obj.label_plural, obj.key_prefix, fields, False)


_OBJECTS = [
    _readonly(SObjectDef("Organization", "Organization", "Organizations", "00D", _fields(
        "Name:string:80 InstanceName:string:5 IsSandbox:boolean TrialExpirationDate:datetime "
        "NamespacePrefix:string:15 OrganizationType:string:40 Division:string:80 "
        "Country:string:80 LanguageLocaleKey:string:40 TimeZoneSidKey:string:40 "
        "DefaultLocaleSidKey:string:40 PrimaryContact:string:80"))),
    _readonly(SObjectDef("User", "User", "Users", "005", _fields(
        "Username:string:80 Name:string:121 FirstName:string:40 LastName:string:80 "
        "Email:email Alias:string:8 IsActive:boolean ProfileId:reference:Profile "
        "UserType:string:40 TimeZoneSidKey:string:40 LocaleSidKey:string:40 "
        "LanguageLocaleKey:string:40 CommunityNickname:string:40"))),
    _readonly(SObjectDef("Profile", "Profile", "Profiles", "00e", _fields(
        "Name:string UserType:string:40 Description:string"))),
    _readonly(SObjectDef("PermissionSet", "Permission Set", "Permission Sets", "0PS", _fields(
        "Name:string:80 Label:string:80 Description:string IsOwnedByProfile:boolean "
        "ProfileId:reference:Profile"))),
    SObjectDef("Account", "Account", "Accounts", "001", _fields(
        "Name:string Type:picklist:Prospect|Customer|Partner|Other Industry:picklist "
        "BillingCity:string:40 BillingCountry:string:80 Phone:phone Website:url "
        "AnnualRevenue:currency NumberOfEmployees:int Description:textarea "
        "AccountNumber:string:40 OwnerId:reference:User", required=["Name"])),
    SObjectDef("Contact", "Contact", "Contacts", "003", _fields(
        "AccountId:reference:Account FirstName:string:40 LastName:string:80 Name:string:121 "
        "Email:email Phone:phone Title:string:128 Birthdate:date Description:textarea "
        "OwnerId:reference:User", required=["LastName"])),
    SObjectDef("Opportunity", "Opportunity", "Opportunities", "006", _fields(
        "Name:string:120 AccountId:reference:Account StageName:picklist:Prospecting|"
        "Qualification|Needs\u00a0Analysis|Proposal|Negotiation|Closed\u00a0Won|"
        "Closed\u00a0Lost CloseDate:date Amount:currency Probability:percent "
        "IsClosed:boolean IsWon:boolean Description:textarea OwnerId:reference:User",
        required=["Name", "StageName", "CloseDate"])),
    SObjectDef("Case", "Case", "Cases", "500", _fields(
        "CaseNumber:string:30 Subject:string Status:picklist:New|Working|Escalated|Closed "
        "Priority:picklist:High|Medium|Low Origin:picklist:Phone|Email|Web "
        "Description:textarea AccountId:reference:Account ContactId:reference:Contact "
        "IsClosed:boolean OwnerId:reference:User")),
]  # fmt: skip
# Picklist values with spaces are written with NBSP above so the spec splits on blanks.
_OBJECTS = [
    SObjectDef(o.name, o.label, o.label_plural, o.key_prefix,
               tuple(FieldDef(f.name, f.type, f.label, f.length, f.nillable, f.createable,
                              f.updateable, f.required, f.reference_to,
                              tuple(v.replace("\u00a0", " ") for v in f.picklist))
                     for f in o.fields), o.createable)
    for o in _OBJECTS
]  # fmt: skip
_DERIVED = {"Name", "IsClosed", "IsWon", "CaseNumber"}  # computed by the store, never written
_NAMED = {"Account", "Opportunity"}  # objects whose Name is written, not derived
SOBJECTS: Mapping[str, SObjectDef] = {o.name.lower(): o for o in _OBJECTS}
"""Every sObject type, keyed by lower-case name."""


def get_sobject(name: str) -> SObjectDef | None:
    """The sObject type called ``name`` in any letter case, or None."""
    return SOBJECTS.get(name.lower())


def describe(name: str, *, api_version: str = "68.0") -> dict[str, object] | None:
    """A minimal ``/sobjects/{name}/describe`` result, or None for an unknown type."""
    obj = get_sobject(name)
    if obj is None:
        return None
    result = _global_entry(obj, api_version)
    result["fields"] = [f.describe() for f in obj.fields]
    result["childRelationships"] = []
    result["recordTypeInfos"] = []
    return result


def describe_global(*, api_version: str = "68.0") -> dict[str, object]:
    """The ``/sobjects/`` answer: encoding, batch size and one entry per type."""
    return {
        "encoding": "UTF-8",
        "maxBatchSize": 200,
        "sobjects": [_global_entry(o, api_version) for o in _OBJECTS],
    }


def _global_entry(obj: SObjectDef, api_version: str) -> dict[str, object]:
    base = f"/services/data/v{api_version}/sobjects/{obj.name}"
    return {
        "name": obj.name, "label": obj.label, "labelPlural": obj.label_plural,
        "keyPrefix": obj.key_prefix, "custom": False, "createable": obj.createable,
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


def coerce_value(fdef: FieldDef, value: object) -> object:
    """Convert a JSON value for ``fdef`` into its stored form, or raise ApiErrorResponse.

    Stored forms: str, bool, int, float, ``YYYY-MM-DD`` and Salesforce datetime strings.
    """
    if value is None:
        return None
    t = fdef.type
    if isinstance(value, list | dict):
        raise _json_error(t, value)
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
        if t == "int":
            if number != int(number):
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
                f"{_label(fdef.name)}: id value of incorrect type: {text[:40]}", [fdef.name],
            )  # fmt: skip
        return ref
    if fdef.length and len(text) > fdef.length:
        raise ApiErrorResponse(
            400, "STRING_TOO_LONG",
            f"{_label(fdef.name)}: data value too large: {text[:40]} (max length={fdef.length})",
            [fdef.name],
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
        if not writable or (fdef.name in _DERIVED and obj.name not in _NAMED):
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
