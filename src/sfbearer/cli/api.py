"""``sfbearer request METHOD PATH`` and ``sfbearer query SOQL``: the REST API from a shell."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator
from typing import Any

import click

from sfbearer.cli._app import EXIT_OK, EXIT_USAGE, Abort, App, global_options, pass_app
from sfbearer.cli._options import connection_options

__all__ = ["query", "request"]

_METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE", "HEAD")
_MAX_DATA = 50 * 1024 * 1024
# ``SELECT COUNT() FROM ...`` answers with ``totalSize`` and no records (unlike COUNT(Id),
# which returns an aggregate record), so the count is the whole answer.
_COUNT_QUERY = re.compile(r"\s*SELECT\s+COUNT\s*\(\s*\)\s", re.IGNORECASE)


def _read_data(data: str) -> bytes:
    """``--data``: inline JSON, ``@FILE`` or ``@-`` (stdin); checked to be JSON."""
    if data.startswith("@"):
        source = data[1:]
        try:
            if source == "-":
                raw = (
                    sys.stdin.buffer.read(_MAX_DATA + 1)
                    if hasattr(sys.stdin, "buffer")
                    else (sys.stdin.read(_MAX_DATA + 1).encode())
                )
            else:
                with open(source, "rb") as handle:
                    raw = handle.read(_MAX_DATA + 1)
        except OSError as exc:
            raise Abort(
                f"cannot read {source}: {exc.strerror or exc}",
                EXIT_USAGE,
                hint="--data @FILE names a readable JSON file (@- reads stdin); or pass the "
                "JSON itself",
            ) from None
    else:
        raw = data.encode()
    if len(raw) > _MAX_DATA:
        raise Abort(
            "--data is larger than 50 MB",
            EXIT_USAGE,
            hint="send large data sets with the Bulk API, not one REST request",
        )
    try:
        json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Abort(
            f"--data is not valid JSON ({type(exc).__name__})",
            EXIT_USAGE,
            hint="pass a JSON object, or @FILE holding one",
        ) from None
    return raw


@click.command()
@click.argument("method", metavar="METHOD")
@click.argument("path", metavar="PATH")
@click.option("-d", "--data", metavar="JSON|@FILE", help="JSON request body, @FILE or @- (stdin).")
@connection_options
@global_options
@pass_app
def request(app: App, method: str, path: str, data: str | None, **flags: Any) -> int:
    """Make an authenticated REST API request and print the JSON body (like curl).

    PATH is absolute (/services/data/v68.0/limits/) or relative to the newest REST version
    (sobjects/Account/describe). An expired session is renewed and the request replayed once.

    \b
    Examples:
      sfbearer -p prod request GET /services/data/
      sfbearer -p prod request GET sobjects/Account/describe
      sfbearer -p prod request POST sobjects/Account/ --data '{"Name": "Acme"}'
      sfbearer -p prod request PATCH sobjects/Account/001xx... --data @account.json
    """
    from sfbearer.cli._runtime import credentials_from_flags
    from sfbearer.client import SalesforceClient

    verb = method.upper()
    if verb not in _METHODS:
        raise Abort(f"unknown method {method!r}", EXIT_USAGE, hint=f"one of {', '.join(_METHODS)}")
    body = _read_data(data) if data is not None else None
    with credentials_from_flags(app, **flags) as creds, SalesforceClient(creds) as sf:
        response = sf.request(verb, path, data=body)
    app.debug(f"HTTP {response.status_code} {response.reason_phrase}")
    if not response.content:
        app.info(f"HTTP {response.status_code} {response.reason_phrase}")
        return EXIT_OK
    try:
        payload = response.json()
    except ValueError:
        app.out(response.text)
    else:
        app.json(payload)
    return EXIT_OK


def _flatten(record: dict[str, Any], prefix: str = "", *, nested: bool = False) -> dict[str, Any]:
    """``{"Owner": {"Name": "x"}}`` → ``{"Owner.Name": "x"}``, without ``attributes``.

    A subquery's result (``{"totalSize", "done", "records"}``) becomes the list of its
    records, each flattened the same way: a list itself when ``nested`` (JSON output), its
    compact JSON text otherwise (a table cell, a CSV field), as any other list is.

    Example:
        >>> _flatten({"attributes": {}, "Name": "Acme", "Owner": {"Name": "Kim"},
        ...           "Contacts": {"totalSize": 1, "done": True,
        ...                        "records": [{"attributes": {}, "LastName": "Lee"}]}})
        {'Name': 'Acme', 'Owner.Name': 'Kim', 'Contacts': '[{"LastName":"Lee"}]'}
    """
    flat: dict[str, Any] = {}
    for key, value in record.items():
        if key == "attributes":
            continue
        name = f"{prefix}{key}"
        if isinstance(value, dict) and isinstance(value.get("records"), list):
            value = [_flatten(r, nested=nested) for r in value["records"] if isinstance(r, dict)]
        elif isinstance(value, dict):
            flat.update(_flatten(value, f"{name}.", nested=nested))
            continue
        if isinstance(value, dict | list) and not nested:
            value = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
        flat[name] = value
    return flat


def _complete_subqueries(record: dict[str, Any], fetch: Callable[[str], Any]) -> dict[str, Any]:
    """Fetch the remaining pages of each subquery Salesforce did not finish (``done`` false,
    a ``nextRecordsUrl``), so every child record is printed.

    Example:
        >>> pages = {"/next": {"done": True, "records": [{"LastName": "Kim"}]}}
        >>> record = {"Contacts": {"done": False, "nextRecordsUrl": "/next",
        ...                        "records": [{"LastName": "Lee"}]}}
        >>> _complete_subqueries(record, pages.__getitem__)["Contacts"]["records"]
        [{'LastName': 'Lee'}, {'LastName': 'Kim'}]
    """
    for value in record.values():
        if not isinstance(value, dict) or not isinstance(value.get("records"), list):
            continue
        page = value
        while not page.get("done", True) and page.get("nextRecordsUrl"):
            page = fetch(str(page["nextRecordsUrl"]))
            value["records"].extend(page.get("records", []))
        value["done"] = True
        value.pop("nextRecordsUrl", None)
    return record


def _records(
    app: App, pages: Iterator[dict[str, Any]], stats: dict[str, int]
) -> Iterator[dict[str, Any]]:
    seen = 0
    for page in pages:
        records = page.get("records", [])
        seen += len(records)
        total = page.get("totalSize", seen)
        stats["total"], stats["seen"] = int(total), seen
        if not (page.get("done", True) and seen == len(records)):
            app.info(f"fetched {seen} of {total} records")
        yield from records


@click.command()
@click.argument("soql", metavar="SOQL")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv"]),
    default=None,
    help="Output format (default: table; --json is --format json).",
)
@click.option(
    "--all", "include_deleted", is_flag=True, help="Include deleted and archived records."
)
@connection_options
@global_options
@pass_app
def query(app: App, soql: str, fmt: str | None, include_deleted: bool, **flags: Any) -> int:
    """Run a SOQL query and print every record (all pages, streamed as they arrive).

    A ``SELECT COUNT()`` query has no records, only a size: every format prints that number
    (``--json``: ``{"totalSize": N}``; csv: a ``totalSize`` column).

    \b
    Examples:
      sfbearer -p prod query "SELECT Id, Name FROM Account"
      sfbearer -p prod query "SELECT Id, Owner.Name FROM Account" --format csv > accounts.csv
      sfbearer -p prod query "SELECT COUNT() FROM Contact" --json    # {"totalSize": 42}
    """
    from sfbearer.cli._runtime import credentials_from_flags
    from sfbearer.client import SalesforceClient

    fmt = fmt or ("json" if app.json_mode else "table")
    with credentials_from_flags(app, **flags) as creds, SalesforceClient(creds) as sf:
        pages = sf.query_pages(soql, include_deleted=include_deleted)
        stats = {"total": 0, "seen": 0}
        nested = fmt == "json"
        records = (
            _flatten(_complete_subqueries(r, sf.get_json), nested=nested)
            for r in _records(app, pages, stats)
        )
        if _COUNT_QUERY.match(soql):
            _print_count(app, fmt, records, stats)
        elif fmt == "json":
            _print_json(app, records)
        elif fmt == "csv":
            _print_csv(app, records, soql)
        else:
            rows = list(records)
            columns = list(dict.fromkeys(k for r in rows for k in r))
            app.table(columns, ([r.get(c) for c in columns] for r in rows))
            app.info(f"{len(rows)} record{'s' if len(rows) != 1 else ''}")
    return EXIT_OK


def _print_count(
    app: App, fmt: str, records: Iterator[dict[str, Any]], stats: dict[str, int]
) -> None:
    """``SELECT COUNT()``: the answer is ``totalSize`` (0 included), in the chosen format."""
    for _ in records:  # drains the pages; a COUNT() query has none to print
        pass
    total = stats["total"]
    if fmt == "json":
        app.out(json.dumps({"totalSize": total}))
    elif fmt == "csv":
        app.out(f"totalSize\n{total}")
    else:
        app.out(str(total))


def _print_json(app: App, records: Iterator[dict[str, Any]]) -> None:
    # One record per line inside a JSON array, written as pages arrive.
    first = True
    for record in records:
        app.out(("[" if first else ",") + json.dumps(record, ensure_ascii=False, default=str))
        first = False
    app.out("[]" if first else "]")


def select_columns(soql: str) -> list[str]:
    """The columns a query's records would have, read from its SELECT list (for the CSV
    header of an empty result): dotted paths as written, a subquery by its relationship, an
    aggregate by its alias or ``exprN``. Empty when the list cannot be read (``FIELDS(ALL)``).

    Example:
        >>> select_columns("SELECT Id, Owner.Name, (SELECT Id FROM Contacts), COUNT(Id) n, "
        ...                "MAX(Amount) FROM Account")
        ['Id', 'Owner.Name', 'Contacts', 'n', 'expr0']
    """
    match = re.match(r"\s*SELECT\s+", soql, re.IGNORECASE)
    if match is None:
        return []
    rest = soql[match.end() :]
    depth, items, current = 0, [], ""
    for index, char in enumerate(rest):
        # the first top-level FROM ends the list; a subquery's FROM is inside parentheses
        if depth == 0 and re.match(r"\s+FROM\s", rest[index:], re.IGNORECASE):
            break
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            items.append(current.strip())
            current = ""
        else:
            current += char
    else:
        return []  # no FROM
    items.append(current.strip())
    columns: list[str] = []
    expr = 0
    for item in items:
        if not item:
            return []
        sub = re.match(r"\(\s*SELECT\s.*?\sFROM\s+(\w+)", item, re.IGNORECASE | re.DOTALL)
        if sub:
            columns.append(sub.group(1))
        elif "(" in item:
            if re.match(r"FIELDS\s*\(", item, re.IGNORECASE):
                return []
            alias = re.search(r"\)\s+(\w+)\s*$", item)
            if alias:
                columns.append(alias.group(1))
            else:
                columns.append(f"expr{expr}")
                expr += 1
        elif re.fullmatch(r"[\w.]+", item):
            columns.append(item)
        else:
            return []  # TYPEOF and the like: the records say what the columns are
    return columns


def _print_csv(app: App, records: Iterator[dict[str, Any]], soql: str = "") -> None:
    import csv
    import io

    writer: Any = None
    buffer = io.StringIO()
    for record in records:
        if writer is None:
            writer = csv.DictWriter(
                buffer, fieldnames=list(record), extrasaction="ignore", lineterminator="\n"
            )
            writer.writeheader()
        writer.writerow(record)
        app.out(buffer.getvalue().removesuffix("\n"))
        buffer.seek(0)
        buffer.truncate()
    if writer is None:  # no records: the header alone, so the file still says what it holds
        columns = select_columns(soql)
        if columns:
            csv.writer(buffer, lineterminator="\n").writerow(columns)
            app.out(buffer.getvalue().removesuffix("\n"))
