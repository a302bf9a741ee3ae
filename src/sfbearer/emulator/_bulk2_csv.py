r"""CSV as Bulk API 2.0 reads and writes it: uploads, ingest results and query results.

Uploads are read with the standard :mod:`csv` module in the job's column delimiter; the first
line ending must be the job's (``LF`` or ``CRLF``), as Salesforce checks. Result files quote
what Salesforce quotes: the ``sf__`` columns of ingest results and every value of a query
result.

Example:
    >>> header, rows = parse_upload(b"Name,Phone\nAcme,\n", ",", "LF")
    >>> header, rows
    (['Name', 'Phone'], [['Acme', '']])
    >>> render_rows(["Id", "Name"], [["001", "A,b"]], ",", "LF", quote_all=True)
    b'"Id","Name"\n"001","A,b"\n'
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

__all__ = [
    "DELIMITERS",
    "LINE_ENDINGS",
    "CsvError",
    "parse_upload",
    "quoted",
    "render_line",
    "render_rows",
]

DELIMITERS = {"COMMA": ",", "TAB": "\t", "PIPE": "|", "SEMICOLON": ";", "CARET": "^",
              "BACKQUOTE": "`"}  # fmt: skip
"""The ``columnDelimiter`` values and the character each names."""
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
"""The ``lineEnding`` values and the characters each names."""
MAX_FIELD = 131072
"""The longest value one CSV field may hold (Salesforce: a long text area's 131,072)."""


class CsvError(ValueError):
    """Uploaded data the job cannot be processed with: the job fails with this message."""


def _check_line_ending(text: str, line_ending: str) -> None:
    first = text.find("\n")
    if first < 0:
        return
    crlf = first > 0 and text[first - 1] == "\r"
    if crlf != (line_ending == "CRLF"):
        raise CsvError(
            "ClientInputError : LineEnding is invalid on user data. Current LineEnding "
            f"setting is {line_ending}"
        )


def parse_upload(
    data: bytes, delimiter: str, line_ending: str
) -> tuple[list[str], list[list[str]]]:
    """The header and the rows of one upload.

    Raises:
        CsvError: not UTF-8, no header, a wrong line ending, a malformed quote, a field too
            long, or a row whose number of values differs from the header's.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CsvError("InvalidBatch : The data is not valid UTF-8") from None
    _check_line_ending(text, line_ending)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:  # the csv module's default field limit is MAX_FIELD
        rows = [row for row in reader if row != []]
    except csv.Error as exc:
        raise CsvError(f"InvalidBatch : Failed to parse CSV: {exc}"[:300]) from None
    if not rows or not any(name.strip() for name in rows[0]):
        raise CsvError("InvalidBatch : The CSV has no header row")
    header = [name.strip() for name in rows[0]]
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise CsvError(
                f"InvalidBatch : Row {number} has {len(row)} values; the header has {len(header)}"
            )
    return header, rows[1:]


def quoted(value: str) -> str:
    """``value`` in double quotes, inner quotes doubled.

    Example:
        >>> quoted("a,b") == '"a,b"'
        True
    """
    return '"' + value.replace('"', '""') + '"'


def render_line(
    values: Sequence[str], delimiter: str, line_ending: str, *, quote_all: bool = False
) -> str:
    """One CSV line, quoted only where needed (as a value was uploaded, so it reads back), or
    every value quoted (``quote_all``)."""
    out = io.StringIO()
    csv.writer(
        out, delimiter=delimiter, lineterminator=LINE_ENDINGS[line_ending],
        quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL,
    ).writerow(values)  # fmt: skip
    return out.getvalue()


def render_rows(
    header: Sequence[str], rows: Iterable[Sequence[str]], delimiter: str, line_ending: str,
    *, quote_all: bool = False,
) -> bytes:  # fmt: skip
    """A whole CSV file: ``quote_all`` quotes every value (query results)."""
    out = io.StringIO()
    writer = csv.writer(
        out, delimiter=delimiter, lineterminator=LINE_ENDINGS[line_ending],
        quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL,
    )  # fmt: skip
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8", "replace")
