"""Salesforce's date and datetime spellings: what the API writes and what it accepts.

Example:
    >>> format_datetime(parse_datetime("2026-01-02T03:04:05+01:00"))
    '2026-01-02T02:04:05.000+0000'
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone

__all__ = ["format_datetime", "parse_date", "parse_datetime"]


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
    except (ValueError, OverflowError):  # OverflowError: an offset past year 1 or 9999
        return None


def parse_date(text: str) -> date | None:
    """Parse ``YYYY-MM-DD``, or None."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text, re.ASCII):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None
