"""One working integration on an emulator, for tests: an app, its user pre-authorized, a profile.

Importable from any test module (``from org_setup import integration``), as ``cli_result`` is.
"""

from __future__ import annotations

from pathlib import Path

from sfbearer.config import Profile, save_profile
from sfbearer.emulator import Emulator


def integration(
    sf: Emulator,
    *,
    app: str,
    username: str,
    cert: Path,
    key: Path | str | None = None,
    profile: str | None = None,
    scopes: str = "api,refresh_token",
) -> str:
    """Add ``app`` (certificate ``cert``) and ``username``, pre-authorize them, and save a
    profile named ``profile`` signing with ``key`` when both are given; returns the consumer key.
    """
    record = sf.add_app(name=app, certificate=cert, scopes=scopes)
    sf.add_user(username=username)
    sf.authorize(app=app, user=username)
    if profile is not None and key is not None:
        save_profile(
            Profile(
                name=profile,
                client_id=record.consumer_key,
                username=username,
                environment=sf.url,
                jwt_key_file=str(key),
                cert_file=str(cert),
            ),
            force=True,
        )
    return record.consumer_key
