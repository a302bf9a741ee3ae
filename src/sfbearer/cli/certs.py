"""``sfbearer certs status|calendar``: watch certificate expiry, make calendar reminders.

``certs status`` exit codes (for cron and monitoring systems): 0 every certificate is ok,
1 the worst is a warning (fewer than ``--warn-days`` left), 2 the worst is critical (fewer
than ``--critical-days``), expired, or could not be read; 78 there is nothing to check
(no PATH given and no profile names a certificate) or the thresholds make no sense.
"""

from __future__ import annotations

import datetime as dt
import os
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from sfbearer.cli._app import EXIT_CONFIG, EXIT_USAGE, Abort, App, global_options, pass_app

if TYPE_CHECKING:
    from sfbearer.config import Profile
    from sfbearer.lifecycle import CertificateStatus

__all__ = ["certs"]

#: A certificate to check: its label, its file, and the profile it belongs to (if any).
Target = tuple[str, Path, "Profile | None"]

_CERT_SUFFIXES = (".crt", ".pem", ".cer")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@global_options
def certs() -> None:
    """Certificate status and calendar reminders."""


def profile_certificates(app: App) -> tuple[list[Target], list[str]]:
    """(label, certificate path, profile) for every profile that names a certificate, and
    notes on those that don't. With ``--profile`` only that profile is looked at. A pending
    rotation's certificate (``next_cert_file``) is watched too, labelled ``NAME (next)``.
    """
    from sfbearer.config import get_profile, load_profiles

    profiles = [get_profile(app.profile)] if app.profile else list(load_profiles().values())
    found: list[Target] = []
    notes: list[str] = []
    for profile in profiles:
        if profile.next_cert_file:
            pending = Path(profile.next_cert_file).expanduser()
            found.append((f"{profile.name} (next)", pending, profile))
        if profile.cert_file:
            found.append((profile.name, Path(profile.cert_file).expanduser(), profile))
            continue
        guess = _certificate_beside(profile.jwt_key_file)
        if guess is not None:
            found.append((profile.name, guess, profile))
        else:
            notes.append(f"profile {profile.name!r} names no certificate (set cert_file)")
    return found, notes


def _certificate_beside(key_file: str | None) -> Path | None:
    from sfbearer.signers.uri import is_signer_uri

    if not key_file or is_signer_uri(key_file):
        return None  # a signer URI: its certificate must be named in the profile
    key = Path(key_file).expanduser()
    for candidate in (key.parent / "server.crt", *(key.with_suffix(s) for s in _CERT_SUFFIXES)):
        if candidate.is_file():
            return candidate
    return None


def gather(app: App, paths: Sequence[Path], *, example: str = "certs status") -> list[Target]:
    """Certificates to look at: every profile's (or ``--profile``'s), then the ``paths`` given.

    ``example`` is the command line the "nothing to check" hint shows (``certs calendar
    --out reminders.ics``...), so it names the command that was run.
    """
    targets, notes = profile_certificates(app)
    for note in notes:
        app.info(f"note: {note}")
    seen = {os.path.realpath(p) for _, p, _ in targets}
    for path in paths:
        if os.path.realpath(path) not in seen:
            targets.append((str(path), path, None))
            seen.add(os.path.realpath(path))
    if not targets:
        raise Abort(
            "no certificate to check",
            EXIT_CONFIG,
            hint=f"pass certificate files (sfbearer {example} server.crt) or set cert_file "
            "in a profile",
        )
    return targets


def _render(app: App, statuses: Sequence[CertificateStatus], code: int) -> None:
    from sfbearer.lifecycle import worst_state

    if app.json_mode:
        app.json(
            {
                "state": str(worst_state(statuses)),
                "exit_code": code,
                "certificates": [s.as_dict() for s in statuses],
            }
        )
        return
    for s in statuses:
        from sfbearer.certificates import days_text

        info = s.info
        app.out(f"{str(s.state).upper():<9} {s.label}")
        if info is None:
            app.out(f"{'':<9} {s.message}")
        else:
            app.out(f"{'':<9} subject:  {info.subject}")
            app.out(
                f"{'':<9} expires:  {info.not_after:%Y-%m-%d %H:%M} UTC ({days_text(s.days_left or 0)})"
            )
            app.out(f"{'':<9} SHA-256:  {info.sha256_fingerprint}")
    for s in statuses:
        if s.state != "ok":
            app.warn(f"{s.label}: {s.message}")


@certs.command("status")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--warn-days",
    type=click.IntRange(min=0),
    default=30,
    show_default=True,
    help="Warn when fewer whole days are left.",
)
@click.option(
    "--critical-days",
    type=click.IntRange(min=0),
    default=7,
    show_default=True,
    help="Critical when fewer whole days are left.",
)
@global_options
@pass_app
def status(app: App, paths: tuple[Path, ...], warn_days: int, critical_days: int) -> int:
    """Expiry of every profile's certificate and of each PATH.

    Exit code: 0 all ok, 1 a warning, 2 critical, expired or unreadable, 78 nothing to check.

    \b
    Examples:
      sfbearer certs status
      sfbearer certs status keys/server.crt --json
      sfbearer certs status --warn-days 30 --critical-days 7   # for cron / monitoring
    """
    from sfbearer.lifecycle import check_certificate, exit_code, rotation_advice

    if critical_days > warn_days:
        raise Abort(
            f"--critical-days ({critical_days}) must not exceed --warn-days ({warn_days})",
            EXIT_CONFIG,
            hint="critical is the nearer threshold: e.g. --warn-days 30 --critical-days 7",
        )
    now = dt.datetime.now(dt.UTC)
    targets = gather(app, paths)
    statuses = [
        check_certificate(
            path,
            label=label,
            now=now,
            warn_days=warn_days,
            critical_days=critical_days,
            advice=rotation_advice(
                profile.name if profile else None,
                pending=bool(profile and profile.next_cert_file),
                next_cert=profile is not None and label == f"{profile.name} (next)",
            ),
        )
        for label, path, profile in targets
    ]
    for (_, _, profile), finding in zip(targets, statuses, strict=True):
        if profile is not None and finding.state != "ok":
            _audit_warning(profile, finding)
    code = exit_code(statuses)
    _render(app, statuses, code)
    return code


def _audit_warning(profile: Profile, finding: CertificateStatus) -> None:
    """A ``certificate.warning`` record in the profile's audit trail (when it has one)."""
    trail = os.environ.get("SFBEARER_AUDIT", "").strip() or profile.audit
    if not trail:
        return
    from sfbearer.audit import AuditTrail

    info = finding.info
    AuditTrail(Path(trail).expanduser()).record(
        "certificate.warning",
        {
            "profile": profile.name,
            "client_id": profile.client_id,
            "username": profile.username,
            "state": str(finding.state),
            "certificate": finding.source,
            "days_left": finding.days_left,
            "not_after": info.not_after.isoformat() if info else None,
            "cert_sha256": info.sha256_fingerprint if info else None,
            "message": finding.message,
        },
    )


@certs.command("calendar")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="The .ics file to write (replaced atomically).",
)
@click.option(
    "--days-before",
    default="30,7",
    show_default=True,
    metavar="N[,N...]",
    help="Reminder events this many days before each expiry.",
)
@global_options
@pass_app
def calendar(app: App, paths: tuple[Path, ...], out: Path, days_before: str) -> int:
    """Write iCalendar (RFC 5545) reminders for the expiry of every certificate.

    One all-day event on each expiry day and one on each reminder day, with stable UIDs:
    importing the file again updates the events instead of adding copies.

    \b
    Examples:
      sfbearer certs calendar --out sfbearer-certs.ics
      sfbearer certs calendar keys/server.crt --out acme.ics --days-before 30,7,1
    """
    from sfbearer._exceptions import ConfigError
    from sfbearer.lifecycle import build_calendar, check_certificate, parse_days_before
    from sfbearer.lifecycle import write_calendar as write

    try:
        reminders = parse_days_before(days_before)
    except ConfigError as exc:  # a malformed option value is a usage error, not configuration
        raise Abort(str(exc), EXIT_USAGE, hint="e.g. --days-before 60,30,7") from None
    now = dt.datetime.now(dt.UTC)
    targets = gather(app, paths, example=f"certs calendar --out {shlex.quote(str(out))}")
    statuses = [check_certificate(path, label=label, now=now) for label, path, _ in targets]
    readable = [s for s in statuses if s.info is not None]
    for s in statuses:
        if s.info is None:
            app.warn(f"{s.label}: skipped: {s.message}")
    if not readable:
        raise Abort(
            "no readable certificate: nothing written",
            EXIT_CONFIG,
            hint="fix or replace the files named above; sfbearer keys show FILE says what each is",
        )
    write(out, build_calendar(readable, days_before=reminders, now=now))
    if app.json_mode:
        app.json(
            {
                "out": str(out),
                "days_before": list(reminders),
                "certificates": [s.as_dict() for s in readable],
            }
        )
    else:
        app.info(
            f"wrote {out}: {len(readable)} certificate(s), reminders "
            f"{', '.join(str(d) for d in reminders)} days before expiry"
        )
    return 0 if len(readable) == len(statuses) else 2


# `certs rotate` and `certs promote` live in their own module (key making, profile switching).
from sfbearer.cli.rotation import promote as _promote  # noqa: E402
from sfbearer.cli.rotation import rotate as _rotate  # noqa: E402

certs.add_command(_rotate)
certs.add_command(_promote)
