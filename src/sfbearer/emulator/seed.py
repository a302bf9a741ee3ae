"""Seed files: apps, users, authorizations, custom fields and records to load at start (TOML or JSON).

Example (TOML)::

    [[apps]]
    name = "ci"
    certificate = "keys/server.crt"      # a path (relative to this file) or PEM text
    consumer_key = "3MVG9local.ci"        # optional: generated when absent
    scopes = "api,refresh_token"
    policy = "admin-approved"
    session_timeout = 120

    [[users]]
    username = "int@acme.com"
    profile = "Integration User"

    [[authorizations]]
    app = "ci"
    profile = "Integration User"

    [[objects]]                           # a custom object (kept in the state file)
    name = "Invoice__c"
    label = "Invoice"

    [[fields]]                            # a custom field (kept in the state file)
    object = "Account"
    name = "External_Id__c"
    type = "string"                       # text, email, number, checkbox, date, lookup...
    length = 40
    external_id = true                    # upsert and look records up by it
    unique = true

    [[records.Account]]
    Name = "Acme"
    External_Id__c = "ACME-1"
"""

from __future__ import annotations

import difflib
import json
import tomllib
from pathlib import Path
from typing import Any

from sfbearer.emulator import ops
from sfbearer.emulator.context import Context
from sfbearer.emulator.registry import RegistryError

__all__ = ["SeedError", "apply_seed", "load_seed"]

_APP_KEYS = {"name", "certificate", "scopes", "policy", "session_timeout", "consumer_key",
             "installed", "profiles", "permission_sets"}  # fmt: skip
_USER_KEYS = {"username", "profile", "permission_sets", "active", "email"}
_AUTH_KEYS = {"app", "profile", "permission_set", "user"}
_OBJECT_KEYS = {"name", "label", "plural"}
_FIELD_KEYS = {"object", "name", "type", "label", "length", "values", "reference_to",
               "relationship_name", "external_id", "unique", "required", "scale"}  # fmt: skip


class SeedError(ValueError):
    """A seed file that cannot be read or applied (``hint``: what to do about it)."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint or "the seed format: the 'Seed files' section of docs/emulator.md"


def _unknown(what: str, unknown: set[str], allowed: set[str]) -> SeedError:
    """An unknown key, with the closest allowed one as a suggestion when there is one."""
    names = sorted(unknown)
    near = [m for n in names for m in difflib.get_close_matches(n, sorted(allowed), 1, 0.6)]
    hint = (
        f"did you mean {', '.join(repr(m) for m in near)}?"
        if near
        else f"allowed: {', '.join(sorted(allowed))}"
    )
    return SeedError(f"unknown {what}: {', '.join(names)}", hint)


def load_seed(path: str | Path) -> dict[str, Any]:
    """Read a TOML (``.toml``) or JSON seed file."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise SeedError(f"cannot read seed file {p}: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode()) if p.suffix.lower() == ".toml" else json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise SeedError(
            f"seed file {p} is not valid {'TOML' if p.suffix.lower() == '.toml' else 'JSON'}: {exc}"
        ) from None
    if not isinstance(data, dict):
        raise SeedError(f"seed file {p} must hold a table/object at the top")
    return data


def _entries(data: dict[str, Any], key: str, allowed: set[str]) -> list[dict[str, Any]]:
    items = data.get(key, [])
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise SeedError(f"'{key}' must be a list of tables")
    for item in items:
        unknown = set(item) - allowed
        if unknown:
            raise _unknown(f"key(s) in '{key}'", unknown, allowed)
    return items


def apply_seed(
    ctx: Context, data: dict[str, Any], *, base_dir: Path | None = None, records: bool = True
) -> None:
    """Create the apps, users, authorizations, custom objects and fields, and records a seed
    describes.

    The records are created in a new state file (``records=True``) and never again, all or
    none (see :func:`_create_records`); the rest is applied at every start, which changes
    nothing already there.
    """
    sections = {"apps", "users", "authorizations", "objects", "fields", "records"}
    unknown = set(data) - sections
    if unknown:
        raise _unknown("seed section(s)", unknown, sections)
    try:
        for app in _entries(data, "apps", _APP_KEYS):
            cert = app.get("certificate")
            if isinstance(cert, str) and "-----BEGIN" not in cert and base_dir is not None:
                app = {**app, "certificate": str(base_dir / cert)}
            ops.add_app(ctx, **app)
        for user in _entries(data, "users", _USER_KEYS):
            ops.add_user(ctx, **user)
        for auth in _entries(data, "authorizations", _AUTH_KEYS):
            ops.authorize(ctx, **auth)
        for kind in _entries(data, "objects", _OBJECT_KEYS):
            ops.add_object(ctx, **kind)
        for custom in _entries(data, "fields", _FIELD_KEYS):
            ops.add_field(ctx, **custom)
    except (RegistryError, TypeError) as exc:
        raise SeedError(f"seed: {exc}") from None
    rows_by_type = data.get("records", {})
    if not isinstance(rows_by_type, dict):
        raise SeedError("'records' must map sObject names to lists of records")
    for sobject, rows in rows_by_type.items():
        if not isinstance(rows, list):
            raise SeedError(f"records.{sobject} must be a list")
    _create_records(ctx, rows_by_type, fresh=records)


_MARK = "seed_records"  # in the state file's meta table: "pending" until they all exist


def _create_records(ctx: Context, rows_by_type: dict[str, list[Any]], *, fresh: bool) -> None:
    """Create a seed's records once per state file, all or none.

    A new file is marked "pending" first; the records go in under one savepoint and the mark
    becomes "done" with them. A start that fails on a record leaves none of them and the mark
    "pending", so the next start (with the seed fixed) creates them all.
    """
    from sfbearer.emulator.schema import ApiErrorResponse

    conn = ctx.db.conn
    with ctx.db.lock:
        found = conn.execute("SELECT value FROM meta WHERE key = ?", (_MARK,)).fetchone()
        if not (fresh or (found is not None and found[0] == "pending")):
            return
        conn.execute("INSERT OR REPLACE INTO meta VALUES (?, 'pending')", (_MARK,))
        conn.execute("SAVEPOINT seed_records")
        try:
            for sobject, rows in rows_by_type.items():
                for row in rows:
                    try:
                        ctx.records.create(sobject, row)
                    except ApiErrorResponse as exc:
                        raise SeedError(f"seed record for {sobject}: {exc.message}") from None
        except BaseException:
            conn.execute("ROLLBACK TO seed_records")
            conn.execute("RELEASE seed_records")
            ctx.records.invalidate()
            raise
        conn.execute("UPDATE meta SET value = 'done' WHERE key = ?", (_MARK,))
        conn.execute("RELEASE seed_records")
