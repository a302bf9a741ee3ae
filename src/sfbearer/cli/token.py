"""``sfbearer token [--show-token]`` and ``sfbearer token revoke``."""

from __future__ import annotations

from typing import Any

import click

from sfbearer.cli._app import EXIT_CONFIG, EXIT_OK, Abort, App, global_options, pass_app
from sfbearer.cli._options import connection_options

__all__ = ["token"]


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@connection_options
@click.option(
    "--show-token",
    is_flag=True,
    default=False,
    help="Also print the access token itself (a secret: it grants API access until it expires).",
)
@global_options
@pass_app
def token(app: App, show_token: bool, **flags: Any) -> int:
    """Get an access token and show its details (the token itself only with --show-token).

    Shows the instance URL, org id, user id, scope, when Salesforce issued it and the
    estimated expiry (the session timeout counted from when it was received).

    \b
    Examples:
      sfbearer -p prod token
      sfbearer -p prod token --json
      sfbearer -p prod token --show-token
      sfbearer -p prod token revoke
    """
    ctx = click.get_current_context()
    ctx.meta["sfbearer.token.flags"] = flags
    if ctx.invoked_subcommand is not None:
        return EXIT_OK
    from sfbearer.audit import token_hash
    from sfbearer.cli._runtime import credentials_from_flags, utc

    with credentials_from_flags(app, **flags) as creds:
        tok = creds.token()
        details: dict[str, Any] = {
            "instance_url": tok.instance_url,
            "org_id": tok.org_id,
            "user_id": tok.user_id,
            "username": creds.username,
            "scope": tok.scope,
            "issued_at": utc(tok.issued_at),
            "received_at": utc(tok.received_at),
            "expires_at_estimate": utc(tok.expires_at),
            "session_timeout_minutes": int(creds.session_timeout.total_seconds() // 60),
            "token_hash": token_hash(tok.access_token),
            "id_url": tok.id_url,
        }
        if show_token:
            details["access_token"] = tok.access_token
    if app.json_mode:
        app.json(details)
        return EXIT_OK
    width = max(len(k) for k in details)
    for key, value in details.items():
        app.out(f"{key.replace('_', ' '):<{width}}  {'' if value is None else value}")
    return EXIT_OK


@token.command("revoke")
@connection_options
@global_options
@pass_app
def revoke(app: App, **flags: Any) -> int:
    """Log the current session out at Salesforce (POST /services/oauth2/revoke).

    It needs a shared cache (file:, redis://): the cached session is revoked and removed.
    With the default in-memory cache a new process never holds a session, so there is
    nothing it could revoke: that is a configuration error (exit 78).

    \b
    Examples:
      sfbearer token revoke -p acme
    """
    from sfbearer.cache.memory import MemoryCache
    from sfbearer.cli._runtime import credentials_from_flags

    parent = click.get_current_context().meta.get("sfbearer.token.flags", {})
    merged = {**parent, **{k: v for k, v in flags.items() if v not in (None, ())}}
    with credentials_from_flags(app, **merged) as creds:
        if isinstance(creds.cache, MemoryCache):
            # Each CLI run starts with an empty memory cache: the sessions earlier runs
            # opened are out of reach, and "nothing to revoke" would read as "logged out".
            raise Abort(
                "the profile's token cache is 'memory': a new process holds no session, "
                "so there is none to revoke",
                EXIT_CONFIG,
                hint="configure a shared cache (sfbearer init NAME ... --cache file:PATH or "
                "--cache redis://HOST, or SFBEARER_CACHE) so that runs share the session",
            )
        revoked = creds.revoke()
    if app.json_mode:
        app.json({"revoked": revoked})
    else:
        app.info("session revoked" if revoked else "no cached session to revoke")
    return EXIT_OK
