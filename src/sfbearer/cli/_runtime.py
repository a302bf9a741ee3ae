"""What the runtime commands share: credentials from the flags, and a little formatting."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sfbearer.cli._app import App
    from sfbearer.credentials import JWTBearerCredentials

__all__ = ["credentials_from_flags", "utc"]


def credentials_from_flags(app: App, **flags: Any) -> JWTBearerCredentials:
    """Credentials for the profile the flags, SFBEARER_* variables and ``--profile`` select."""
    from sfbearer.cli._options import profile_from_flags, sandbox_mismatch, signer_for
    from sfbearer.credentials import JWTBearerCredentials

    profile = profile_from_flags(app, **flags)
    mismatch = sandbox_mismatch(profile.username, profile.env())
    if mismatch:
        app.warn(mismatch)
    return JWTBearerCredentials.from_config(profile, signer=signer_for(app, profile))


def utc(seconds: float | None) -> str | None:
    """Unix seconds as ``2026-12-01T10:00:00Z`` (None stays None)."""
    if seconds is None:
        return None
    try:
        return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return None
