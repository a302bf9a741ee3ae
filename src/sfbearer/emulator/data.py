"""The bridge between the HTTP layer and the record store (:mod:`.records`, :mod:`.schema`)."""

from __future__ import annotations

import re
from typing import Any

from sfbearer.emulator.context import Context
from sfbearer.emulator.registry import UserRecord
from sfbearer.emulator.schema import ApiErrorResponse, get_sobject
from sfbearer.emulator.schema import describe as describe_sobject
from sfbearer.emulator.schema import describe_global as describe_all
from sfbearer.emulator.sessions import Session

__all__ = [
    "attach_records",
    "create",
    "delete",
    "describe",
    "describe_global",
    "get",
    "next_page",
    "query",
    "query_columns",
    "sobject_info",
    "sync_user",
    "update",
]


def attach_records(ctx: Context) -> None:
    """Open the record store on the org's database and give it every registered user."""
    from sfbearer.emulator._custom_store import CustomFieldStore
    from sfbearer.emulator.records import RecordStore

    ctx.records = RecordStore(
        ctx.db.conn,
        ctx.db.lock,
        clock=ctx.clock.utcnow,
        org_id=ctx.org_id,
        org_name=ctx.config.org_name,
        is_sandbox=ctx.config.sandbox,
    )
    ctx.custom_fields = CustomFieldStore(ctx.db)
    ctx.records.schema = ctx.custom_fields.load()
    for user in ctx.registry.list_users():
        sync_user(ctx, user)


def sync_user(ctx: Context, user: UserRecord) -> None:
    """Create or update the ``User`` record (same id) of a registered user."""
    if ctx.records is None:
        return
    local = user.username.split("@")[0]
    first, _, last = local.replace(".", " ").partition(" ")
    ctx.records.add_user_record(
        user.id,
        user.username,
        profile=user.profile,
        first_name=first.title() if last else None,
        last_name=(last or first).title() or "User",
        email=user.email,
        is_active=user.active,
    )
    for name in user.permission_sets:
        ctx.records.ensure_permission_set(name)


def _unknown_type(sobject: str) -> ApiErrorResponse:
    return ApiErrorResponse(404, "NOT_FOUND", "The requested resource does not exist")


def describe_global(version: str) -> dict[str, Any]:
    return describe_all(api_version=version)


def describe(sobject: str, version: str) -> dict[str, Any]:
    result = describe_sobject(sobject, api_version=version)
    if result is None:
        raise _unknown_type(sobject)
    return result


def sobject_info(sobject: str, version: str) -> dict[str, Any]:
    """``GET /sobjects/{type}``: basic metadata and (here, always empty) recent items."""
    obj = get_sobject(sobject)
    if obj is None:
        raise _unknown_type(sobject)
    entry = {k: v for k, v in describe(obj.name, version).items() if k != "fields"}
    entry.pop("childRelationships", None)
    entry.pop("recordTypeInfos", None)
    return {"objectDescribe": entry, "recentItems": []}


def query(
    ctx: Context, soql: str, version: str, *, all_rows: bool, options: str = ""
) -> dict[str, object]:
    """Run a query; ``options`` is the ``Sforce-Query-Options`` header (``batchSize=N``)."""
    result: dict[str, object] = ctx.records.query(
        soql, include_deleted=all_rows, batch_size=batch_size(options, ctx.config.query_batch_size),
        api_version=version,
    )  # fmt: skip
    return result


_DIGITS = re.compile(r"[0-9]{1,9}", re.ASCII)


def batch_size(options: str, default: int) -> int:
    """The page size a ``Sforce-Query-Options`` header asks for, within Salesforce's 200–2,000
    (``default`` when it asks for none or says something else).

    Example:
        >>> batch_size("batchSize=500", 2000), batch_size("batchSize=50", 2000), batch_size("", 7)
        (500, 200, 7)
        >>> batch_size("batchSize=\u00b2", 7), batch_size("batchSize=" + "9" * 5000, 7)
        (7, 7)
    """
    for option in options.split(","):
        name, _, value = option.partition("=")
        number = value.strip()
        # ASCII digits only ("²" is a digit to str.isdigit, not to int), and not thousands.
        if name.strip().lower() == "batchsize" and _DIGITS.fullmatch(number):
            return max(200, min(int(number), 2000))
    return default


def query_columns(ctx: Context, soql: str, version: str, *, all_rows: bool) -> dict[str, object]:
    """``?q=...&columns=true``: the query's column metadata instead of its rows.

    The query runs first so that a refused one answers exactly as without ``columns``.
    """
    from sfbearer.emulator.columns import column_metadata

    query(ctx, soql, version, all_rows=all_rows)
    return column_metadata(soql)


def next_page(ctx: Context, locator: str, version: str) -> dict[str, object]:
    result: dict[str, object] = ctx.records.query_more(locator)
    return result


def create(ctx: Context, sobject: str, body: dict[str, Any], session: Session) -> str:
    new_id: str = ctx.records.create(sobject, body, user_id=session.user_id)
    return new_id


def get(
    ctx: Context, sobject: str, record_id: str, fields: list[str] | None, version: str
) -> dict[str, object]:
    record: dict[str, object] = ctx.records.get(sobject, record_id, fields, api_version=version)
    return record


def update(
    ctx: Context, sobject: str, record_id: str, body: dict[str, Any], session: Session
) -> None:
    ctx.records.update(sobject, record_id, body, user_id=session.user_id)


def delete(ctx: Context, sobject: str, record_id: str, session: Session) -> None:
    ctx.records.delete(sobject, record_id, user_id=session.user_id)
