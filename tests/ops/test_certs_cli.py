"""``sfbearer certs status|calendar``: exit codes for cron and monitoring, .ics output."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import icalendar
import pytest

from sfbearer.config import Profile, save_profile
from sfbearer.keys import load_certificate

MakeCert = Callable[..., Path]
RunCli = Callable[..., Any]


@pytest.mark.parametrize(
    ("days_left", "code", "state"),
    [(200, 0, "ok"), (20, 1, "warning"), (3, 2, "critical"), (-1, 2, "expired")],
)
def test_status_exit_codes(
    run_cli: RunCli, make_cert: MakeCert, days_left: int, code: int, state: str
) -> None:
    cert = make_cert(days_left=days_left)
    result = run_cli("certs", "status", cert)
    assert result.code == code, result
    assert state.upper() in result.stdout
    assert load_certificate(cert).sha256_fingerprint in result.stdout
    assert "CN=ops-test" in result.stdout
    if code:
        assert "warning:" in result.stderr


def test_status_json(run_cli: RunCli, make_cert: MakeCert) -> None:
    ok = make_cert("ok.crt", days_left=100)
    warn = make_cert("warn.crt", days_left=15)
    result = run_cli("certs", "status", "--json", ok, warn)
    assert result.code == 1
    data = json.loads(result.stdout)
    assert data["state"] == "warning"
    assert data["exit_code"] == 1
    by_file = {c["source"]: c for c in data["certificates"]}
    assert by_file[str(ok)]["state"] == "ok"
    assert by_file[str(warn)]["state"] == "warning"
    assert by_file[str(warn)]["days_left"] == 14  # 15 days minus the moments the test took
    assert by_file[str(ok)]["sha256_fingerprint"] == load_certificate(ok).sha256_fingerprint


def test_thresholds_are_options(run_cli: RunCli, make_cert: MakeCert) -> None:
    cert = make_cert(days_left=45)
    assert run_cli("certs", "status", cert).code == 0
    assert run_cli("certs", "status", "--warn-days", "60", cert).code == 1
    assert run_cli("certs", "status", "--warn-days", "90", "--critical-days", "60", cert).code == 2


def test_unreadable_certificate_is_a_failure(
    run_cli: RunCli, make_cert: MakeCert, tmp_path: Path
) -> None:
    junk = tmp_path / "junk.crt"
    junk.write_text("hello")
    result = run_cli("certs", "status", make_cert(days_left=200), junk, tmp_path / "none.crt")
    assert result.code == 2
    assert result.stdout.count("ERROR") == 2
    assert "Traceback" not in result.stderr


def test_nothing_to_check_is_a_config_error(run_cli: RunCli) -> None:
    result = run_cli("certs", "status")
    assert result.code == 78
    assert "no certificate to check" in result.stderr
    assert "hint:" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("--warn-days", "5", "--critical-days", "10"),
        ("--warn-days", "-3"),
        ("--warn-days", "soon"),
    ],
)
def test_bad_thresholds(run_cli: RunCli, make_cert: MakeCert, args: tuple[str, ...]) -> None:
    result = run_cli("certs", "status", *args, make_cert())
    assert result.code in (64, 78)
    assert "Traceback" not in result.stderr


def test_status_over_profiles(run_cli: RunCli, make_cert: MakeCert, tmp_path: Path) -> None:
    prod = make_cert("prod.crt", days_left=300)
    uat = make_cert("uat.crt", days_left=5)
    save_profile(
        Profile(name="prod", client_id="3MVGa", username="int@acme.com", cert_file=str(prod))
    )
    save_profile(
        Profile(name="uat", client_id="3MVGb", username="int@acme.com.uat", cert_file=str(uat))
    )
    save_profile(Profile(name="nocert", client_id="3MVGc", username="x@acme.com"))
    result = run_cli("certs", "status", "--json")
    assert result.code == 2
    labels = {c["label"]: c["state"] for c in json.loads(result.stdout)["certificates"]}
    assert labels == {"prod": "ok", "uat": "critical"}
    assert "nocert" in result.stderr  # told, not failed
    only_prod = run_cli("certs", "status", "--profile", "prod")
    assert only_prod.code == 0
    assert "prod" in only_prod.stdout
    assert "uat" not in only_prod.stdout
    # a path given too is added; the profile's own file is not listed twice
    extra = make_cert("extra.crt", days_left=20)
    both = run_cli("certs", "status", "--json", "-p", "prod", prod, extra)
    assert [c["label"] for c in json.loads(both.stdout)["certificates"]] == ["prod", str(extra)]
    assert both.code == 1


def test_status_finds_the_certificate_beside_the_key(
    run_cli: RunCli, key_files: tuple[Path, Path]
) -> None:
    key, _cert = key_files
    save_profile(Profile(name="k", client_id="3MVG", username="a@b.com", jwt_key_file=str(key)))
    result = run_cli("certs", "status", "--json")
    assert result.code == 0
    assert json.loads(result.stdout)["certificates"][0]["label"] == "k"


def test_status_watches_a_pending_rotation_certificate(
    run_cli: RunCli, make_cert: MakeCert
) -> None:
    current = make_cert("current.crt", days_left=10)
    pending = make_cert("next.crt", days_left=-1)  # a broken pending pair must not hide
    save_profile(
        Profile(
            name="prod",
            client_id="3MVGa",
            username="int@acme.com",
            cert_file=str(current),
            next_cert_file=str(pending),
        )
    )
    result = run_cli("certs", "status", "--json")
    states = {c["label"]: c["state"] for c in json.loads(result.stdout)["certificates"]}
    assert states == {"prod (next)": "expired", "prod": "warning"}
    assert result.code == 2


def test_a_signer_profile_without_cert_file_is_noted(run_cli: RunCli) -> None:
    uri = "pkcs11:token=acme;object=jwt?module-path=/usr/lib/softhsm/libsofthsm2.so"
    save_profile(Profile(name="hsm", client_id="3MVG", username="a@b.com", jwt_key_file=uri))
    result = run_cli("certs", "status")
    assert result.code == 78
    assert "profile 'hsm' names no certificate" in result.stderr


def test_unknown_profile_is_a_config_error(run_cli: RunCli) -> None:
    result = run_cli("certs", "status", "--profile", "ghost")
    assert result.code == 78
    assert "ghost" in result.stderr


def test_calendar_writes_ics(run_cli: RunCli, make_cert: MakeCert, tmp_path: Path) -> None:
    cert = make_cert(days_left=100)
    out = tmp_path / "reminders.ics"
    result = run_cli("certs", "calendar", cert, "--out", out, "--days-before", "60,14")
    assert result.code == 0, result
    cal = icalendar.Calendar.from_ical(out.read_bytes())
    expiry = load_certificate(cert).not_after.date()
    starts = sorted(e.decoded("DTSTART") for e in cal.walk("VEVENT"))
    assert starts == [
        expiry - dt.timedelta(days=60),
        expiry - dt.timedelta(days=14),
        expiry,
    ]
    first_uids = sorted(str(e["UID"]) for e in cal.walk("VEVENT"))
    assert run_cli("certs", "calendar", cert, "--out", out, "--days-before", "60,14").code == 0
    again = icalendar.Calendar.from_ical(out.read_bytes())
    assert sorted(str(e["UID"]) for e in again.walk("VEVENT")) == first_uids


def test_calendar_json_and_skipped(run_cli: RunCli, make_cert: MakeCert, tmp_path: Path) -> None:
    out = tmp_path / "r.ics"
    result = run_cli(
        "certs", "calendar", "--json", make_cert(days_left=50), tmp_path / "gone.crt", "--out", out
    )
    assert result.code == 2  # written, but one certificate could not be read
    assert json.loads(result.stdout)["days_before"] == [30, 7]
    assert "gone.crt" in result.stderr
    assert out.exists()


def test_calendar_bad_input(run_cli: RunCli, make_cert: MakeCert, tmp_path: Path) -> None:
    cert = make_cert()
    bad_days = run_cli("certs", "calendar", cert, "--out", tmp_path / "x.ics", "--days-before", "x")
    assert bad_days.code == 64  # a malformed option value is a usage error
    assert "--days-before" in bad_days.stderr
    no_out = run_cli("certs", "calendar", cert)
    assert no_out.code == 64
    nothing = run_cli("certs", "calendar", tmp_path / "gone.crt", "--out", tmp_path / "y.ics")
    assert nothing.code == 78
    assert not (tmp_path / "y.ics").exists()
    bad_dir = run_cli("certs", "calendar", cert, "--out", tmp_path / "no" / "dir" / "z.ics")
    assert bad_dir.code == 78
    assert "cannot write" in bad_dir.stderr


def test_status_records_certificate_warnings_in_the_profiles_trail(
    run_cli: RunCli, make_cert: MakeCert, tmp_path: Path
) -> None:
    from sfbearer.audit import read_trail

    trail = tmp_path / "audit.jsonl"
    soon = make_cert("soon.crt", days_left=10)
    fine = make_cert("fine.crt", days_left=300)
    save_profile(
        Profile(
            name="uat",
            client_id="3MVGu",
            username="u@acme.com",
            cert_file=str(soon),
            audit=str(trail),
        )
    )
    save_profile(
        Profile(
            name="prod",
            client_id="3MVGp",
            username="p@acme.com",
            cert_file=str(fine),
            audit=str(trail),
        )
    )
    assert run_cli("certs", "status").code == 1
    (record,) = list(read_trail(trail))
    assert record["event"] == "certificate.warning"
    assert record["profile"] == "uat"
    assert record["client_id"] == "3MVGu"
    assert record["username"] == "u@acme.com"
    assert record["state"] == "warning"
    assert record["days_left"] == 9
    assert record["cert_sha256"] == load_certificate(soon).sha256_fingerprint


def test_days_read_naturally(run_cli: RunCli, make_cert: MakeCert) -> None:
    from sfbearer.certificates import days_text

    assert [days_text(d) for d in (2, 1, 0, -1, -2, -3)] == [
        "2 days left",
        "1 day left",
        "0 days left",
        "expired today",
        "expired 1 day ago",
        "expired 2 days ago",
    ]
    # 2.5 days after expiry: whole days since then, not a negative "days left"
    expired = make_cert("old.crt", days_left=-2.5)
    result = run_cli("certs", "status", expired)
    assert "(expired 2 days ago)" in result.stdout
    assert "-3 days left" not in result.stdout
