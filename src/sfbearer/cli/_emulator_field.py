"""``sfbearer emulator add-object`` and ``add-field``: a custom object or field on a running
emulator (``--url``) or in a stopped one's state file (``--state``), like ``add-user``.

Exit codes: 0 ok, 3 the emulator cannot be reached, 64 usage, 78 a definition it refused.
"""

from __future__ import annotations

from typing import Any

import click

from sfbearer.cli._app import EXIT_CONFIG, Abort, App, global_options, pass_app
from sfbearer.cli._emulator_target import Target, render, with_target

__all__ = ["add_field", "add_object"]

_TYPES = ("string|text|textarea|email|phone|url|picklist|checkbox|number|currency|percent|"
          "date|datetime|lookup")  # fmt: skip
_OBJECT_HINT = (
    "a custom object's name ends in __c (Invoice__c); see: sfbearer emulator add-object --help"
)
_FIELD_HINT = (
    "a custom field is Name__c on Account, Contact, Opportunity, Case or a custom object; "
    "see: sfbearer emulator add-field --help"
)


@click.command("add-field")
@click.option("--object", "sobject", required=True, metavar="OBJECT", help="Account, Contact...")
@click.option(
    "--name", required=True, metavar="NAME__c", help="API name, ending in __c (External_Id__c)."
)
@click.option(
    "--type", "type_", default="string", show_default=True, metavar="TYPE", help=_TYPES + "."
)
@click.option("--label", default=None, help="Label (default: from the name).")
@click.option("--length", type=click.IntRange(1), default=None, help="Text length.")
@click.option("--values", default=None, metavar="A,B,C", help="Picklist values, comma-separated.")
@click.option(
    "--reference-to", default=None, metavar="OBJECT", help="The object a lookup points to."
)
@click.option(
    "--relationship-name", default=None, metavar="NAME", help="A lookup's relationship name."
)
@click.option("--external-id", is_flag=True, help="An external id (upsert, find records by it).")
@click.option("--unique", is_flag=True, help="Values must be unique.")
@click.option("--required", is_flag=True, help="Every record needs a value.")
@click.option("--scale", type=click.IntRange(0), default=None, help="Decimal places (numbers).")
@with_target
@global_options
@pass_app
def add_field(
    app: App, sobject: str, name: str, type_: str, label: str | None, length: int | None,
    values: str | None, reference_to: str | None, relationship_name: str | None,
    external_id: bool, unique: bool, required: bool, scale: int | None, target: Target,
) -> None:  # fmt: skip
    """Add a custom field to an object of the emulated org; prints OBJECT.NAME.

    The field is kept in the state file and seen by describe, SOQL and saves. Adding a
    field that exists with the same definition changes nothing; another definition under
    that name is refused.

    \b
    Examples:
      sfbearer emulator add-field --object Account --name External_Id__c --external-id \\
          --unique --length 40 --url http://127.0.0.1:8443
      sfbearer emulator add-field --object Contact --name Tier__c --type picklist \\
          --values Gold,Silver,Bronze --state org.db
      sfbearer emulator add-field --object Case --name Parent_Account__c --type lookup \\
          --reference-to Account --url $URL --json
    """
    from sfbearer.emulator import ops

    body: dict[str, Any] = {"object": sobject, "name": name, "type": type_}
    options: dict[str, Any] = {"label": label, "length": length, "reference_to": reference_to,
                               "relationship_name": relationship_name, "scale": scale}  # fmt: skip
    body.update({key: value for key, value in options.items() if value is not None})
    if values is not None:
        picks = [v.strip() for v in values.split(",") if v.strip()]
        if not picks:
            raise Abort("--values lists no value", EXIT_CONFIG, hint="e.g. --values Gold,Silver")
        body["values"] = picks
    for flag, on in (("external_id", external_id), ("unique", unique), ("required", required)):
        if on:
            body[flag] = True
    result = target.run("fields", body, ops.add_field, hint=_FIELD_HINT)
    render(app, result, f"{result['object']}.{result['name']}")


@click.command("add-object")
@click.option(
    "--name", required=True, metavar="NAME__c", help="API name, ending in __c (Invoice__c)."
)
@click.option("--label", default=None, help="Label (default: from the name).")
@click.option("--plural", default=None, help="Plural label (default: the label and an s).")
@with_target
@global_options
@pass_app
def add_object(app: App, name: str, label: str | None, plural: str | None, target: Target) -> None:
    """Add a custom object to the emulated org; prints its name and key prefix.

    It has a required Name and an OwnerId; add its fields with add-field (a lookup field
    gives it a parent). Adding it again changes nothing.

    \b
    Examples:
      sfbearer emulator add-object --name Invoice__c --label Invoice --url http://127.0.0.1:8443
      sfbearer emulator add-field --object Invoice__c --name Account__c --type lookup \\
          --reference-to Account --relationship-name Invoices --url http://127.0.0.1:8443
      sfbearer emulator add-object --name Shipment__c --state org.db --json
    """
    from sfbearer.emulator import ops

    body: dict[str, Any] = {"name": name}
    body.update({k: v for k, v in (("label", label), ("plural", plural)) if v is not None})
    result = target.run("objects", body, ops.add_object, hint=_OBJECT_HINT)
    render(app, result, f"{result['name']} ({result['key_prefix']})")
