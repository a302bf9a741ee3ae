"""Certificate states, exit codes and calendar reminders (pure; time injected)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import icalendar
import pytest

from sfbearer._exceptions import ConfigError
from sfbearer.keys import load_certificate
from sfbearer.lifecycle import (
    CertState,
    build_calendar,
    certificate_state,
    check_certificate,
    exit_code,
    parse_days_before,
    worst_state,
    write_calendar,
)

DAY = dt.timedelta(days=1)
NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
MakeCert = Callable[..., Path]


@pytest.mark.parametrize(
    ("left", "state"),
    [
        (DAY * 400, CertState.OK),
        (DAY * 30, CertState.OK),  # exactly 30 whole days: not "fewer than 30"
        (DAY * 30 - dt.timedelta(seconds=1), CertState.WARNING),
        (DAY * 7, CertState.WARNING),
        (DAY * 7 - dt.timedelta(seconds=1), CertState.CRITICAL),
        (dt.timedelta(seconds=1), CertState.CRITICAL),
        (dt.timedelta(0), CertState.EXPIRED),
        (-DAY * 3, CertState.EXPIRED),
    ],
)
def test_state_boundaries(make_cert: MakeCert, left: dt.timedelta, state: CertState) -> None:
    path = make_cert(not_after=NOW + left, now=NOW)
    info = load_certificate(path)
    assert certificate_state(info, now=NOW) is state
    assert check_certificate(path, now=NOW).state is state


def test_custom_thresholds(make_cert: MakeCert) -> None:
    info = load_certificate(make_cert(not_after=NOW + DAY * 50, now=NOW))
    assert certificate_state(info, now=NOW, warn_days=60, critical_days=10) is CertState.WARNING
    assert certificate_state(info, now=NOW, warn_days=90, critical_days=60) is CertState.CRITICAL
    assert certificate_state(info, now=NOW, warn_days=0, critical_days=0) is CertState.OK


def test_not_yet_valid_is_critical(make_cert: MakeCert) -> None:
    path = make_cert(not_before=NOW + DAY, not_after=NOW + DAY * 300, now=NOW)
    status = check_certificate(path, now=NOW)
    assert status.state is CertState.CRITICAL
    assert "not valid before" in status.message


def test_bad_thresholds_are_config_errors(make_cert: MakeCert) -> None:
    path = make_cert(now=NOW)
    with pytest.raises(ConfigError, match="must not exceed"):
        check_certificate(path, now=NOW, warn_days=5, critical_days=10)
    with pytest.raises(ConfigError, match="negative"):
        check_certificate(path, now=NOW, warn_days=-1, critical_days=-2)


def test_status_fields(make_cert: MakeCert) -> None:
    path = make_cert(not_after=NOW + DAY * 20 + dt.timedelta(hours=3), now=NOW)
    status = check_certificate(path, label="prod", now=NOW)
    info = load_certificate(path)
    assert (status.label, status.state, status.days_left) == ("prod", CertState.WARNING, 20)
    data = status.as_dict()
    assert data["sha256_fingerprint"] == info.sha256_fingerprint
    assert data["subject"] == "CN=ops-test"
    assert data["state"] == "warning"
    assert data["not_after"] == info.not_after.isoformat()
    assert "20 days left" in status.message


@pytest.mark.parametrize("content", [None, b"not a certificate", b"-----BEGIN PRIVATE KEY-----\n"])
def test_unreadable_certificate_is_an_error_finding(tmp_path: Path, content: bytes | None) -> None:
    path = tmp_path / "bad.crt"
    if content is not None:
        path.write_bytes(content)
    status = check_certificate(path, now=NOW)
    assert status.state is CertState.ERROR
    assert status.info is None
    assert status.days_left is None
    assert status.message
    assert status.as_dict()["sha256_fingerprint"] is None


def test_exit_codes_follow_the_worst_state(make_cert: MakeCert, tmp_path: Path) -> None:
    ok = check_certificate(make_cert("a.crt", not_after=NOW + DAY * 100, now=NOW), now=NOW)
    warn = check_certificate(make_cert("b.crt", not_after=NOW + DAY * 10, now=NOW), now=NOW)
    crit = check_certificate(make_cert("c.crt", not_after=NOW + DAY * 2, now=NOW), now=NOW)
    gone = check_certificate(make_cert("d.crt", not_after=NOW - DAY, now=NOW), now=NOW)
    err = check_certificate(tmp_path / "missing.crt", now=NOW)
    assert exit_code([]) == 0
    assert exit_code([ok]) == 0
    assert exit_code([ok, warn]) == 1
    assert exit_code([ok, warn, crit]) == 2
    assert exit_code([gone]) == 2
    assert exit_code([ok, err]) == 2
    assert worst_state([ok, gone, warn]) is CertState.EXPIRED


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("30,7", (30, 7)),
        ("7, 30 ,7", (30, 7)),
        ("0", (0,)),
        ("90,60,30,14,7,1", (90, 60, 30, 14, 7, 1)),
    ],
)
def test_parse_days_before(text: str, days: tuple[int, ...]) -> None:
    assert parse_days_before(text) == days


@pytest.mark.parametrize("text", ["", ",", "thirty", "-7", "7.5", "99999"])
def test_parse_days_before_rejects(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_days_before(text)


def _events(data: bytes) -> list[icalendar.Event]:
    cal = icalendar.Calendar.from_ical(data)
    assert cal["VERSION"] == "2.0"
    assert "PRODID" in cal
    return list(cal.walk("VEVENT"))


def test_calendar_has_expiry_and_reminder_events(make_cert: MakeCert) -> None:
    expiry = dt.datetime(2027, 3, 15, 18, 30, tzinfo=dt.UTC)
    status = check_certificate(make_cert(not_after=expiry, now=NOW), label="prod", now=NOW)
    events = _events(build_calendar([status], days_before=(30, 7), now=NOW))
    starts = sorted(e.decoded("DTSTART") for e in events)
    assert starts == [dt.date(2027, 2, 13), dt.date(2027, 3, 8), dt.date(2027, 3, 15)]
    for event in events:
        assert event.decoded("DTEND") - event.decoded("DTSTART") == DAY  # all-day
        assert "prod" in str(event["SUMMARY"])
        assert status.info is not None
        assert status.info.sha256_fingerprint in str(event["DESCRIPTION"])
        alarms = list(event.walk("VALARM"))
        assert len(alarms) == 1
        assert alarms[0]["ACTION"] == "DISPLAY"
    uids = [str(e["UID"]) for e in events]
    assert len(set(uids)) == 3


def test_calendar_uids_are_stable_across_runs(make_cert: MakeCert) -> None:
    path = make_cert(not_after=NOW + DAY * 200, now=NOW)
    first = _events(build_calendar([check_certificate(path, now=NOW)], now=NOW))
    later = NOW + DAY * 3
    second = _events(build_calendar([check_certificate(path, now=later)], now=later))
    assert sorted(str(e["UID"]) for e in first) == sorted(str(e["UID"]) for e in second)


def test_calendar_skips_past_reminders_errors_and_duplicates(
    make_cert: MakeCert, tmp_path: Path
) -> None:
    path = make_cert(not_after=NOW + DAY * 10, now=NOW)
    soon = check_certificate(path, now=NOW)
    again = check_certificate(path, label="same file again", now=NOW)
    missing = check_certificate(tmp_path / "missing.crt", now=NOW)
    events = _events(build_calendar([soon, again, missing], days_before=(30, 7, 0), now=NOW))
    starts = sorted(e.decoded("DTSTART") for e in events)
    # the 30-day reminder is already past; 0 adds nothing beyond the expiry event
    assert starts == [(NOW + DAY * 3).date(), (NOW + DAY * 10).date()]


def test_calendar_keeps_the_expiry_event_of_an_expired_certificate(make_cert: MakeCert) -> None:
    path = make_cert(not_after=NOW - DAY * 2, now=NOW)
    events = _events(build_calendar([check_certificate(path, now=NOW)], now=NOW))
    assert [e.decoded("DTSTART") for e in events] == [(NOW - DAY * 2).date()]


def test_write_calendar_is_atomic_and_replaces(tmp_path: Path, make_cert: MakeCert) -> None:
    out = tmp_path / "reminders.ics"
    out.write_bytes(b"old")
    data = build_calendar([check_certificate(make_cert(now=NOW), now=NOW)], now=NOW)
    write_calendar(out, data)
    assert out.read_bytes() == data
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    with pytest.raises(ConfigError, match="cannot write"):
        write_calendar(tmp_path / "no" / "such" / "dir.ics", data)
