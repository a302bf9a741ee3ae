"""``sfbearer audit tail``: read the audit trail (and follow it).

The trail is found in this order: ``--path``, ``SFBEARER_AUDIT``, the profile's ``audit``
setting (``--profile``, else the default profile). ``--profile`` also keeps only that
profile's records.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import click

from sfbearer.cli._app import EXIT_CONFIG, Abort, App, global_options, pass_app

__all__ = ["audit"]

_POLL_SECONDS = 0.5
_FIRST = ("ts", "event", "profile", "client_id", "username")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@global_options
def audit() -> None:
    """Read the audit trail."""


def trail_path(app: App, path: Path | None) -> Path:
    """Where the trail is: ``--path``, ``SFBEARER_AUDIT``, then the profile's ``audit``."""
    if path is not None:
        return path
    env = os.environ.get("SFBEARER_AUDIT", "").strip()
    if env:
        return Path(env).expanduser()
    from sfbearer._exceptions import ProfileError
    from sfbearer.config import get_profile

    try:
        profile = get_profile(app.profile)
    except ProfileError as exc:
        if app.profile:
            raise
        raise Abort(
            f"no audit trail configured ({exc})",
            EXIT_CONFIG,
            hint="pass --path FILE, set SFBEARER_AUDIT, or set audit = PATH in a profile",
        ) from None
    if not profile.audit:
        raise Abort(
            f"profile {profile.name!r} has no audit trail",
            EXIT_CONFIG,
            hint="set audit = PATH in the profile, or pass --path FILE",
        )
    return Path(profile.audit).expanduser()


def format_record(record: Mapping[str, Any]) -> str:
    """One line for a person: time, event, identity, then the other fields as key=value."""
    head = [str(record.get(k, "-")) for k in ("ts", "event", "profile")]
    rest = [
        f"{k}={v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)}"
        for k, v in record.items()
        if k not in ("ts", "event", "profile")
    ]
    return "  ".join([*head, " ".join(rest)]).rstrip()


def _emit(app: App, record: Mapping[str, Any], as_json: bool) -> None:
    if as_json:
        app.out(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
    else:
        app.out(format_record(record))


@audit.command("tail")
@click.option(
    "--path",
    "path",
    default=None,
    type=click.Path(path_type=Path, dir_okay=False),
    help="The trail file [env: SFBEARER_AUDIT; default: the profile's audit setting].",
)
@click.option(
    "-n",
    "--lines",
    "count",
    type=click.IntRange(min=0),
    default=20,
    show_default=True,
    help="How many of the latest records to show first.",
)
@click.option("-f", "--follow", is_flag=True, help="Keep printing new records (Ctrl-C stops).")
@global_options
@pass_app
def tail(app: App, path: Path | None, count: int, follow: bool) -> int:
    """Show the latest records of the audit trail (JSON lines with --json).

    Rotated files (audit.jsonl.1, ...) are read too; with --follow, rotation is followed.

    \b
    Examples:
      sfbearer audit tail -p acme -n 50
      sfbearer audit tail -p acme --follow
      sfbearer audit tail --path /var/log/sfbearer/audit.jsonl --json
    """
    from sfbearer.audit import follow_trail, read_latest

    file = trail_path(app, path)
    if not file.exists() and not follow:
        raise Abort(
            f"audit trail not found: {file}",
            EXIT_CONFIG,
            hint="it is created by the first token request of a profile with audit set",
        )
    profile = app.profile
    if file.is_dir():
        raise Abort(f"{file} is a directory, not an audit trail", EXIT_CONFIG)
    latest, position = read_latest(file, profile, count=count)
    for record in latest:
        _emit(app, record, app.json_mode)
    if not follow:
        return 0
    try:
        # from where reading stopped: nothing written meanwhile is missed or shown twice
        new = follow_trail(file, profile, poll=_POLL_SECONDS, sleep=_sleep(), start=position)
        for record in new:
            _emit(app, record, app.json_mode)
    except KeyboardInterrupt:
        return 0  # Ctrl-C is how --follow ends: not an error
    return 0  # pragma: no cover - follow_trail never returns


def _sleep() -> Callable[[float], None]:
    import time

    return time.sleep
