"""The standard object definitions: typed fields and sObject types, written as data.

:mod:`.schema` builds ids, describe results and validation on top of these and re-exports
them. Each object's fields are spelled in a compact ``Name:type[:length|target|values]``
notation, one string per object, after the system fields every object shares.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

__all__ = [
    "DERIVED",
    "NAMED",
    "NUMBER_TYPES",
    "OBJECTS",
    "SOBJECTS",
    "STAGE_PROBABILITY",
    "STRING_TYPES",
    "FieldDef",
    "SObjectDef",
    "child_relationships",
    "complete_row",
    "custom_object_def",
    "delete_plan",
    "describe_children",
    "field_label",
    "user_fields",
]

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
    custom: bool = False  # a custom field (``Name__c``), declared per org
    external_id: bool = False  # usable to upsert and look records up by
    unique: bool = False  # no two live rows share a value (text: in any letter case)
    scale: int | None = None  # digits after the point (numbers); None: the type's default
    child_relationship: str | None = None  # a custom lookup's name on the parent: Invoices__r

    @property
    def relationship_name(self) -> str | None:
        """``Account`` for ``AccountId``, ``Parent__r`` for ``Parent__c``: the name used in
        ``Account.Name`` paths."""
        if self.type != "reference":
            return None
        if self.name.endswith("Id"):
            return self.name[:-2]
        return self.name[:-3] + "__r" if self.name.endswith("__c") else None

    @property
    def restricted_picklist(self) -> bool:
        """A custom picklist takes only its values (Salesforce's default for new ones)."""
        return self.custom and self.type == "picklist" and bool(self.picklist)

    @property
    def id_lookup(self) -> bool:
        """Whether records can be found by this field (describe's ``idLookup``)."""
        return self.name in ("Id", "Name", "Username") or self.external_id

    def describe(self) -> dict[str, object]:
        """This field's entry in a describe result."""
        scale = self.scale if self.scale is not None else 2 if self.type == "currency" else 0
        return {
            "aggregatable": self.type not in ("textarea", "boolean"), "aiPredictionField": False,
            "autoNumber": False, "byteLength": self.length * 3, "calculated": False,
            "calculatedFormula": None, "cascadeDelete": False, "caseSensitive": False,
            "compoundFieldName": None, "controllerName": None, "createable": self.createable,
            "custom": self.custom, "defaultValue": None, "defaultValueFormula": None,
            "defaultedOnCreate": not self.nillable and not self.required,
            "dependentPicklist": False, "deprecatedAndHidden": False,
            "digits": 9 if self.type == "int" else 0, "displayLocationInDecimal": False,
            "encrypted": False, "externalId": self.external_id, "extraTypeInfo": None,
            "filterable": self.type != "textarea", "filteredLookupInfo": None,
            "formulaTreatNullNumberAsZero": False,
            "groupable": self.type not in ("textarea", "double", "currency", "percent", "datetime"),
            "highScaleNumber": False, "htmlFormatted": False, "idLookup": self.id_lookup,
            "inlineHelpText": None, "label": self.label or field_label(self.name),
            "length": self.length, "mask": None, "maskType": None, "name": self.name,
            "nameField": self.name == "Name", "namePointing": False,
            "nillable": self.nillable, "permissionable": self.custom and self.nillable,
            "picklistValues": [
                {"active": True, "defaultValue": False, "label": v, "validFor": None, "value": v}
                for v in self.picklist
            ],
            "polymorphicForeignKey": False,
            "precision": 18 if self.type in ("currency", "double", "percent") else 0,
            "queryByDistance": False, "referenceTargetField": None,
            "referenceTo": list(self.reference_to), "relationshipName": self.relationship_name,
            "relationshipOrder": None, "restrictedDelete": False,
            "restrictedPicklist": self.restricted_picklist,
            "scale": scale, "searchPrefilterable": False, "soapType": _SOAP_TYPES.get(
                self.type, "xsd:string"), "sortable": self.type != "textarea",
            "type": self.type, "unique": self.unique, "updateable": self.updateable,
            "writeRequiresMasterRead": False,
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
    custom: bool = False  # a custom object (``Invoice__c``), declared per org
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


def field_label(name: str) -> str:
    """A field's default label: ``Account ID`` for ``AccountId``, ``Erp Id`` for ``Erp_Id__c``.

    Example:
        >>> field_label("AccountId"), field_label("BillingCity"), field_label("Erp_Id__c")
        ('Account ID', 'Billing City', 'Erp Id')
    """
    if name.endswith("__c"):
        return name[:-3].replace("_", " ")
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


OBJECTS = [
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
OBJECTS = [
    SObjectDef(o.name, o.label, o.label_plural, o.key_prefix,
               tuple(FieldDef(f.name, f.type, f.label, f.length, f.nillable, f.createable,
                              f.updateable, f.required, f.reference_to,
                              tuple(v.replace("\u00a0", " ") for v in f.picklist))
                     for f in o.fields), o.createable)
    for o in OBJECTS
]  # fmt: skip
STAGE_PROBABILITY = {"Prospecting": 10.0, "Qualification": 10.0, "Needs Analysis": 20.0,
                     "Proposal": 75.0, "Negotiation": 90.0, "Closed Won": 100.0,
                     "Closed Lost": 0.0}  # fmt: skip
"""An opportunity stage's default probability (Salesforce's standard sales process)."""
DERIVED = {"Name", "IsClosed", "IsWon", "CaseNumber"}  # computed by the store, never written
NAMED = {"Account", "Opportunity"}  # objects whose Name is written, not derived
SOBJECTS: Mapping[str, SObjectDef] = {o.name.lower(): o for o in OBJECTS}
"""Every sObject type, keyed by lower-case name."""


def complete_row(obj: SObjectDef, values: dict[str, object], *, seq: int) -> dict[str, object]:
    """A stored row: every field present, booleans false, and the derived fields computed.

    ``seq`` numbers a new row (a Case's ``CaseNumber`` comes from it).
    """
    row: dict[str, object] = {f.name: (False if f.type == "boolean" else None) for f in obj.fields}
    row.update(values)
    if obj.name in ("Contact", "User"):
        row["Name"] = " ".join(str(v) for v in (row["FirstName"], row["LastName"]) if v)
    if obj.name == "Opportunity":
        stage = str(row.get("StageName") or "")
        row["IsClosed"] = stage.startswith("Closed")
        row["IsWon"] = stage == "Closed Won"
        if row.get("Probability") is None:  # the stage's default, as Salesforce fills it in
            row["Probability"] = STAGE_PROBABILITY.get(stage)
    if obj.name == "Case":
        row["Status"] = row.get("Status") or "New"
        row["IsClosed"] = row["Status"] == "Closed"
        if row.get("CaseNumber") is None:
            row["CaseNumber"] = f"{1000 + seq:08d}"
    return row


def user_fields(
    username: str, first: str | None, last: str, email: str | None, active: bool,
    profile_id: str, user_type: str = "Standard",
) -> dict[str, object]:  # fmt: skip
    """A User row's fields for a user the emulator knows (the rest as Salesforce fills them).

    Example:
        >>> user_fields("kim@acme.com", None, "Kim", None, True, "00e000000000001")["Alias"]
        'Kim'
    """
    return {"Username": username, "FirstName": first, "LastName": last,
            "Email": email or username, "IsActive": active, "ProfileId": profile_id,
            "UserType": user_type, "Alias": (last or username)[:8],
            "TimeZoneSidKey": "GMT", "LocaleSidKey": "en_US", "LanguageLocaleKey": "en_US",
            "CommunityNickname": username.split("@")[0][:40]}  # fmt: skip


# What deleting a record does to the records that look it up (Salesforce's rules for the
# standard objects): an account takes its contacts and opportunities with it; a record that
# cases look up, directly or through a contact deleted with it, cannot be deleted.
_CASCADES: dict[str, tuple[tuple[str, str], ...]] = {
    "Account": (("Contact", "AccountId"), ("Opportunity", "AccountId")),
}
_BLOCKERS: dict[str, tuple[tuple[str, str], ...]] = {
    "Account": (("Case", "AccountId"),),
    "Contact": (("Case", "ContactId"),),
}


def delete_plan(
    sobject: str,
    row: Mapping[str, object],
    rows_of: Callable[[str], Iterable[Mapping[str, object]]],
) -> tuple[list[dict[str, object]], list[str]]:
    """The rows a delete removes (``row`` first, copies) and the case numbers that forbid it.

    ``rows_of(type)`` gives the live rows of a type.

    Example:
        >>> rows = {"Contact": [{"Id": "003A", "AccountId": "001A"}],
        ...         "Opportunity": [], "Case": [{"ContactId": "003A", "CaseNumber": "00001001"}]}
        >>> doomed, cases = delete_plan("Account", {"Id": "001A"}, lambda t: rows.get(t, []))
        >>> [r["Id"] for r in doomed], cases
        (['001A', '003A'], ['00001001'])
    """
    doomed: list[tuple[str, dict[str, object]]] = [(sobject, dict(row))]
    for child, lookup in _CASCADES.get(sobject, ()):
        doomed += [(child, dict(r)) for r in rows_of(child) if r.get(lookup) == row["Id"]]
    cases: set[str] = set()
    for kind in {kind for kind, _ in doomed}:
        ids = {r["Id"] for k, r in doomed if k == kind}
        for child, lookup in _BLOCKERS.get(kind, ()):
            cases.update(str(r.get("CaseNumber")) for r in rows_of(child) if r.get(lookup) in ids)
    return [r for _, r in doomed], sorted(cases)


def _child_relationships() -> dict[str, dict[str, tuple[str, str, str]]]:
    out: dict[str, dict[str, tuple[str, str, str]]] = {}
    for child in OBJECTS:
        if not child.createable:
            continue
        for fdef in child.fields:
            if fdef.type != "reference" or not fdef.createable or not fdef.reference_to:
                continue
            parent = SOBJECTS.get(fdef.reference_to[0].lower())
            if parent is not None and parent.createable:
                rel = child.label_plural
                out.setdefault(parent.name, {})[rel.lower()] = (rel, child.name, fdef.name)
    return out


_CHILD_RELATIONSHIPS = _child_relationships()


def child_relationships(parent: str) -> dict[str, tuple[str, str, str]]:
    """A type's child relationships: lower-case name -> (name, child type, child's lookup field).

    Standard relationship names are the child's plural label: ``Account.Contacts``,
    ``Account.Opportunities``, ``Account.Cases``, ``Contact.Cases``.

    Example:
        >>> child_relationships("Account")["contacts"]
        ('Contacts', 'Contact', 'AccountId')
    """
    return _CHILD_RELATIONSHIPS.get(parent, {})


def custom_object_def(name: str, label: str, plural: str, key_prefix: str) -> SObjectDef:
    """A custom object as Salesforce creates it: the system fields, a text ``Name`` (80) and
    ``OwnerId``; its custom fields are added like any object's.

    Example:
        >>> [f.name for f in custom_object_def("Invoice__c", "Invoice", "Invoices", "a00").fields][-2:]
        ['Name', 'OwnerId']
    """
    fields = _fields("Name:string:80 OwnerId:reference:User", required=["Name"])
    return SObjectDef(name, label, plural, key_prefix, fields, custom=True)


def describe_children(
    parent: str, relationships: Mapping[str, tuple[str, str, str]] | None = None
) -> list[dict[str, object]]:
    """The type's child relationships as describe lists them (by child type, then field).

    ``cascadeDelete`` is true where deleting the parent deletes the children (an account's
    contacts and opportunities). Cases forbidding the delete of their account or contact is
    a rule of those objects, not of the lookup, so ``restrictedDelete`` stays false as in
    Salesforce's describe.
    """
    found = child_relationships(parent) if relationships is None else relationships
    children = sorted(found.values(), key=lambda rel: (rel[1], rel[2]))
    return [_child_entry(parent, name, child, lookup) for name, child, lookup in children]


def _child_entry(parent: str, name: str, child: str, lookup: str) -> dict[str, object]:
    return {
        "cascadeDelete": (child, lookup) in _CASCADES.get(parent, ()),
        "childSObject": child,
        "deprecatedAndHidden": False,
        "field": lookup,
        "junctionIdListNames": [],
        "junctionReferenceTo": [],
        "relationshipName": name,
        "restrictedDelete": False,
    }
