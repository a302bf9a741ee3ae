"""Certificate lifecycle: how close each certificate is to expiry, and calendar reminders.

An External Client App holds one certificate; when it expires every token request fails
with ``invalid_grant``. :func:`check_certificate` classifies a certificate as ``ok``,
``warning`` (fewer than ``warn_days`` left), ``critical`` (fewer than ``critical_days``),
``expired`` or ``error`` (unreadable), and :func:`exit_code` turns a set of findings into
the monitoring-friendly exit code (0 ok, 1 warning, 2 critical / expired / error).
:func:`build_calendar` makes RFC 5545 reminders for the expiry dates.

Example:
    >>> import datetime as dt
    >>> status = check_certificate("server.crt", now=dt.datetime(2026, 12, 1, tzinfo=dt.UTC))  # doctest: +SKIP
    >>> status.state, status.days_left  # doctest: +SKIP
    ('warning', 21)
"""

from __future__ import annotations

import datetime as dt
import enum
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sfbearer._exceptions import CertificateError, ConfigError
from sfbearer._files import atomic_write
from sfbearer.keys import CertificateInfo, load_certificate

__all__ = [
    "DEFAULT_CRITICAL_DAYS",
    "DEFAULT_REMINDER_DAYS",
    "DEFAULT_WARN_DAYS",
    "CertState",
    "CertificateStatus",
    "build_calendar",
    "certificate_state",
    "check_certificate",
    "exit_code",
    "parse_days_before",
    "rotation_advice",
    "worst_state",
    "write_calendar",
]

DEFAULT_WARN_DAYS = 30
DEFAULT_CRITICAL_DAYS = 7
DEFAULT_REMINDER_DAYS = (30, 7)
_UID_DOMAIN = "sfbearer.invalid"  # RFC 5545 UIDs want a domain; .invalid can never collide


class CertState(enum.StrEnum):
    """How a certificate stands, mildest first."""

    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"
    EXPIRED = "expired"
    ERROR = "error"


_EXIT_CODES = {
    CertState.OK: 0,
    CertState.WARNING: 1,
    CertState.CRITICAL: 2,
    CertState.EXPIRED: 2,
    CertState.ERROR: 2,
}
_SEVERITY = {state: rank for rank, state in enumerate(CertState)}


@dataclass(frozen=True, slots=True)
class CertificateStatus:
    """One certificate's finding.

    Attributes:
        source: the file the certificate was read from.
        label: who it belongs to (a profile name), or the path when given directly.
        state: ok / warning / critical / expired / error.
        message: a sentence for a person (why the state, or why it could not be read).
        info: the certificate, or ``None`` when it could not be read.
        days_left: whole days until expiry (negative once expired), ``None`` on error.
    """

    source: str
    label: str
    state: CertState
    message: str
    info: CertificateInfo | None = None
    days_left: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready view (no certificate bytes)."""
        info = self.info
        return {
            "label": self.label,
            "source": self.source,
            "state": str(self.state),
            "message": self.message,
            "subject": info.subject if info else None,
            "serial": format(info.serial, "X") if info else None,
            "sha256_fingerprint": info.sha256_fingerprint if info else None,
            "sha1_fingerprint": info.sha1_fingerprint if info else None,
            "not_before": info.not_before.isoformat() if info else None,
            "not_after": info.not_after.isoformat() if info else None,
            "days_left": self.days_left,
        }


def _check_thresholds(warn_days: int, critical_days: int) -> None:
    if critical_days < 0 or warn_days < 0:
        raise ConfigError("--warn-days and --critical-days must not be negative")
    if critical_days > warn_days:
        raise ConfigError(
            f"--critical-days ({critical_days}) must not exceed --warn-days ({warn_days})"
        )


def certificate_state(
    info: CertificateInfo,
    *,
    now: dt.datetime,
    warn_days: int = DEFAULT_WARN_DAYS,
    critical_days: int = DEFAULT_CRITICAL_DAYS,
) -> CertState:
    """Classify ``info`` at ``now``: expired past ``not_after``, critical with fewer than
    ``critical_days`` whole days left, warning with fewer than ``warn_days``, else ok.

    A certificate not yet valid (``not_before`` in the future) counts as critical: Salesforce
    would refuse it today.

    Example:
        >>> certificate_state(info, now=now, warn_days=30, critical_days=7)  # doctest: +SKIP
        <CertState.WARNING: 'warning'>
    """
    _check_thresholds(warn_days, critical_days)
    if now >= info.not_after:
        return CertState.EXPIRED
    if now < info.not_before:
        return CertState.CRITICAL
    days = info.days_left_at(now)
    if days < critical_days:
        return CertState.CRITICAL
    if days < warn_days:
        return CertState.WARNING
    return CertState.OK


def rotation_advice(
    profile: str | None = None, *, pending: bool = False, next_cert: bool = False
) -> str:
    """What to do about a certificate that nears expiry, for a person.

    Args:
        profile: the sfbearer profile the certificate belongs to (None: a loose file).
        pending: the profile already has a pending pair (``certs rotate`` would be refused).
        next_cert: the certificate is that pending pair's own.

    Example:
        >>> rotation_advice("prod")
        'rotate it (sfbearer certs rotate -p prod)'
        >>> rotation_advice("prod", pending=True)
        'a new pair is pending: upload its certificate, then sfbearer certs promote -p prod'
    """
    if profile is None:
        return "rotate it (sfbearer keys new, then upload the new server.crt)"
    if next_cert:
        return (
            "the pending certificate itself nears expiry: make another "
            f"(sfbearer certs rotate -p {profile} --replace-pending)"
        )
    if pending:
        return (
            "a new pair is pending: upload its certificate, then "
            f"sfbearer certs promote -p {profile}"
        )
    return f"rotate it (sfbearer certs rotate -p {profile})"


def _message(
    state: CertState, info: CertificateInfo, days: int, now: dt.datetime, advice: str
) -> str:
    expiry = info.not_after.strftime("%Y-%m-%d %H:%M UTC")
    if state is CertState.EXPIRED:
        return f"expired on {expiry}; every token request fails until a new certificate is uploaded"
    if now < info.not_before:
        return f"not valid before {info.not_before.strftime('%Y-%m-%d %H:%M UTC')}"
    unit = "day" if days == 1 else "days"
    if state is CertState.OK:
        return f"valid until {expiry} ({days} {unit} left)"
    return f"expires on {expiry} ({days} {unit} left): {advice}"


def check_certificate(
    source: str | os.PathLike[str],
    *,
    label: str | None = None,
    now: dt.datetime | None = None,
    warn_days: int = DEFAULT_WARN_DAYS,
    critical_days: int = DEFAULT_CRITICAL_DAYS,
    advice: str | None = None,
) -> CertificateStatus:
    """Read the certificate at ``source`` and classify it; an unreadable one is state ``error``.

    Args:
        source: the certificate file (PEM or DER).
        label: the name shown for it (default: the path).
        now: the moment to judge at (UTC; default: now).
        warn_days: fewer whole days left than this is a warning.
        critical_days: fewer whole days left than this is critical.
        advice: what a warning or critical message tells the reader to do (default: the
            advice for a loose file; see :func:`rotation_advice`).

    Raises:
        ConfigError: thresholds that make no sense (negative, or critical above warn).
    """
    _check_thresholds(warn_days, critical_days)
    at = now or dt.datetime.now(dt.UTC)
    path = os.fspath(source)
    shown = label or path
    try:
        info = load_certificate(path)
    except CertificateError as exc:
        return CertificateStatus(path, shown, CertState.ERROR, str(exc))
    state = certificate_state(info, now=at, warn_days=warn_days, critical_days=critical_days)
    days = info.days_left_at(at)
    message = _message(state, info, days, at, advice or rotation_advice())
    return CertificateStatus(path, shown, state, message, info, days)


def worst_state(statuses: Iterable[CertificateStatus]) -> CertState:
    """The most severe state among ``statuses`` (``ok`` when there are none)."""
    return max((s.state for s in statuses), key=_SEVERITY.__getitem__, default=CertState.OK)


def exit_code(statuses: Iterable[CertificateStatus]) -> int:
    """0 when all are ok, 1 when the worst is a warning, 2 for critical, expired or error."""
    return _EXIT_CODES[worst_state(statuses)]


def parse_days_before(text: str) -> tuple[int, ...]:
    """Parse ``"30,7"`` into ``(30, 7)`` (sorted, largest first, duplicates removed).

    Raises:
        ConfigError: not a comma-separated list of whole days between 0 and 3650.
    """
    days: set[int] = set()
    for part in text.split(","):
        item = part.strip()
        if not item:
            continue
        if not item.isdigit() or int(item) > 3650:
            raise ConfigError(
                f"--days-before takes whole days from 0 to 3650, comma-separated; got {item!r}"
            )
        days.add(int(item))
    if not days:
        raise ConfigError("--days-before needs at least one number of days, e.g. 30,7")
    return tuple(sorted(days, reverse=True))


def _uid(info: CertificateInfo, kind: str) -> str:
    # Stable across runs: the same certificate and reminder always map to the same UID, so a
    # calendar that re-imports the file updates the event instead of duplicating it.
    fingerprint = info.sha256_fingerprint.replace(":", "").lower()[:32]
    return f"cert-{fingerprint}-{kind}@{_UID_DOMAIN}"


def _event(
    info: CertificateInfo, label: str, *, day: dt.date, kind: str, summary: str, stamp: dt.datetime
) -> Any:
    import icalendar

    event = icalendar.Event()
    event.add("uid", _uid(info, kind))
    event.add("dtstamp", stamp)
    event.add("dtstart", day)
    event.add("dtend", day + dt.timedelta(days=1))
    event.add("summary", summary)
    event.add(
        "description",
        "\n".join(
            [
                f"Certificate: {label}",
                f"Subject: {info.subject}",
                f"SHA-256: {info.sha256_fingerprint}",
                f"Expires: {info.not_after.isoformat()}",
                "Rotate it before then: sfbearer certs rotate --profile NAME "
                "(see docs/operations.md).",
            ]
        ),
    )
    event.add("categories", ["sfbearer", "certificate"])
    event.add("transp", "TRANSPARENT")
    alarm = icalendar.Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", summary)
    alarm.add("trigger", dt.timedelta(hours=9))  # 09:00 on the day, in the reader's time zone
    event.add_component(alarm)
    return event


def build_calendar(
    statuses: Sequence[CertificateStatus],
    *,
    days_before: Sequence[int] = DEFAULT_REMINDER_DAYS,
    now: dt.datetime | None = None,
) -> bytes:
    """An RFC 5545 calendar with one all-day event per reminder day and one on each expiry day.

    One event per reminder (rather than one event with several alarms) because many
    calendar services drop alarms from imported files; a dated event is always seen. Each
    event still carries a display alarm for the clients that honour it. Reminder days already
    past are left out; the expiry event is always there. Certificates that could not be
    read (state ``error``) are skipped. UIDs are stable, so re-importing updates events.

    Example:
        >>> ics = build_calendar([check_certificate("server.crt")], days_before=(30, 7))  # doctest: +SKIP
        >>> ics.startswith(b"BEGIN:VCALENDAR")  # doctest: +SKIP
        True
    """
    import icalendar

    stamp = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
    today = stamp.date()
    cal = icalendar.Calendar()
    cal.add("prodid", "-//sfbearer//certificate reminders//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", "sfbearer certificate expiry")
    seen: set[str] = set()
    for status in statuses:
        info = status.info
        if info is None or info.sha256_fingerprint in seen:
            continue
        seen.add(info.sha256_fingerprint)
        expiry_day = info.not_after.astimezone(dt.UTC).date()
        cal.add_component(
            _event(
                info,
                status.label,
                day=expiry_day,
                kind="expiry",
                summary=f"Certificate expires today: {status.label} ({info.subject})",
                stamp=stamp,
            )
        )
        for days in days_before:
            if days == 0:
                continue  # the expiry event covers the day itself
            day = expiry_day - dt.timedelta(days=days)
            if day < today:
                continue
            cal.add_component(
                _event(
                    info,
                    status.label,
                    day=day,
                    kind=f"{days}d",
                    summary=f"Certificate expires in {days} days: {status.label} ({info.subject})",
                    stamp=stamp,
                )
            )
    data: bytes = cal.to_ical()
    return data


def write_calendar(path: str | os.PathLike[str], data: bytes) -> None:
    """Write a calendar atomically (temp file + rename; 0644, it holds no secret).

    Raises:
        ConfigError: the file cannot be written (missing directory, permissions).
    """
    try:
        atomic_write(path, data, mode=0o644)
    except OSError as exc:
        raise ConfigError(
            f"cannot write {os.fspath(path)}: {exc.strerror or exc}",
            hint="check that the directory exists and is writable",
        ) from None
