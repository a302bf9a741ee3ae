"""``sfbearer assertion new|decode``: mint a JWT bearer assertion, or take one apart.

``assertion new`` is timed as a whole process against a ten-line PyJWT script, so this module
imports only click at import time, and the command loads only what minting needs (no rich,
no httpx, no PyJWT, no TOML unless a profile file is read).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from sfbearer.cli._app import (
    EXIT_CONFIG,
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_WARNING,
    Abort,
    App,
    global_options,
    pass_app,
)
from sfbearer.cli._options import connection_options, profile_from_flags, sandbox_mismatch

__all__ = ["assertion"]

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
_MAX_INPUT_BYTES = 64 * 1024


def curl_command(token_url: str, source: str, *, ca_bundle: str | None = None) -> str:
    """The curl command that exchanges the assertion in ``source`` (a file, or ``-``: stdin).

    ``--data-urlencode name@file`` sends the file's bytes URL-encoded, newlines included,
    which is why ``assertion new`` writes no trailing newline to a file or a pipe. With a
    ``ca_bundle`` (an emulator's local CA, a corporate proxy's) curl gets ``--cacert``: it
    does not read sfbearer's settings.

    Example:
        >>> curl_command("https://127.0.0.1:8443/services/oauth2/token", "-", ca_bundle="ca.pem")
        'curl -sS --cacert ca.pem https://127.0.0.1:8443/services/oauth2/token -d grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer --data-urlencode assertion@-'
    """
    cacert = f"--cacert {_quote(ca_bundle)} " if ca_bundle else ""
    return (
        f"curl -sS {cacert}{_quote(token_url)} -d grant_type={GRANT_TYPE} "
        f"--data-urlencode {_quote('assertion@' + source)}"
    )


def _ca_bundle(configured: str | None) -> str | None:
    """The CA bundle sfbearer trusts for https (the profile's ``ca_bundle``,
    SFBEARER_CA_BUNDLE, or SSL_CERT_FILE, which Python reads and curl does not), for the
    printed curl; None for the system store, which curl finds by itself."""
    import os

    if configured:
        return os.path.expanduser(configured)
    return os.environ.get("SSL_CERT_FILE") or None


_SHELL_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./-_")


def _quote(word: str) -> str:
    """``shlex.quote`` without importing shlex (its import-time regex costs the start-up)."""
    if word and all(c in _SHELL_SAFE for c in word):
        return word
    return "'" + word.replace("'", "'\"'\"'") + "'"


def _utc(seconds: float) -> str | None:
    import datetime as dt

    try:
        moment = dt.datetime.fromtimestamp(seconds, dt.UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@global_options
def assertion() -> None:
    """Mint or decode a JWT bearer assertion.

    An assertion is a short-lived (at most 180 s) RS256-signed JWT that Salesforce's token
    endpoint exchanges for an access token.
    """


@assertion.command("new")
@connection_options
@click.option(
    "--lifetime",
    type=click.IntRange(1, 180),
    default=180,
    show_default=True,
    metavar="S",
    help="Seconds until the assertion expires.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="FILE",
    help="Write the assertion to FILE (mode 0600, replaced atomically); - is stdout.",
)
@global_options
@pass_app
def new(app: App, lifetime: int, out: Path | None, **flags: Any) -> int:
    """Mint an assertion from flags, SFBEARER_* variables or a profile.

    The assertion goes to stdout (no trailing newline unless stdout is a terminal) or to
    --out FILE. When it expires, and the exact curl command that exchanges it for a token,
    go to stderr.

    \b
    Examples:
      sfbearer assertion new -i 3MVG9... -o int@acme.com -f server.key --out jwt.txt
      sfbearer -p prod assertion new | curl -sS ... --data-urlencode assertion@-
    """
    import time

    from sfbearer.assertion import mint_assertion
    from sfbearer.cli._options import signer_for

    if out is not None and str(out) == "-":
        out = None
    profile = profile_from_flags(app, **flags)
    env = profile.env()
    mismatch = sandbox_mismatch(profile.username, env)
    if mismatch:
        app.warn(mismatch)
    signer = signer_for(app, profile)
    now = time.time()
    jwt = mint_assertion(
        signer,
        client_id=profile.client_id,
        username=profile.username,
        audience=env.audience,
        lifetime=lifetime,
        now=now,
    )
    expires = int(now) + lifetime
    if out is not None:
        from sfbearer._files import atomic_write

        try:
            atomic_write(out, jwt.encode("ascii"), mode=0o600)
        except OSError as exc:
            raise Abort(
                f"cannot write {out}: {exc.strerror or exc}",
                EXIT_CONFIG,
                hint="choose a writable --out path",
            ) from None
    curl = curl_command(
        env.token_url, str(out) if out is not None else "-", ca_bundle=_ca_bundle(profile.ca_bundle)
    )
    if app.json_mode:
        report: dict[str, Any] = {
            "out": str(out) if out is not None else None,
            "token_url": env.token_url,
            "audience": env.audience,
            "client_id": profile.client_id,
            "username": profile.username,
            "key_id": signer.key_id,
            "issued_at": _utc(now),
            "expires_at": _utc(expires),
            "expires_in": lifetime,
            "curl": curl,
        }
        if out is None:
            report["assertion"] = jwt
        app.json(report)
        return EXIT_OK
    if out is None:
        # A file or a pipe gets the bare JWT: curl's assertion@FILE would send a newline too.
        app.out(jwt, nl=_stdout_is_tty())
    else:
        app.info(f"wrote the assertion to {out} (mode 0600)")
    app.info(f"expires {_utc(expires)} (in {lifetime} s); aud {env.audience}")
    if out is None:
        app.info(f"exchange it for a token by piping it into:\n  {curl}")
    else:
        app.info(f"exchange it for a token:\n  {curl}")
    return EXIT_OK


def _stdout_is_tty() -> bool:
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def _read_source(source: str) -> str:
    from sfbearer._exceptions import AssertionConfigError

    try:
        if source == "-":
            data = sys.stdin.read(_MAX_INPUT_BYTES + 1)
        else:
            from sfbearer._files import read_bounded

            if not os.path.lexists(source):
                raise FileNotFoundError(source)
            raw = read_bounded(
                source, _MAX_INPUT_BYTES, AssertionConfigError, "file", content="an assertion"
            )
            data = raw.decode("utf-8")
    except FileNotFoundError:
        raise AssertionConfigError(
            f"no such file: {source}",
            hint="pass the file holding the assertion, or - to read it from stdin "
            "(sfbearer assertion new --out jwt.txt writes one)",
        ) from None
    except OSError as exc:
        raise AssertionConfigError(f"cannot read {source}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise AssertionConfigError(f"{source} is not text: not an assertion") from None
    if len(data) > _MAX_INPUT_BYTES:
        raise AssertionConfigError(f"{source} is too large to be an assertion")
    if not data.strip():
        raise AssertionConfigError(f"{source} is empty", hint="mint one: sfbearer assertion new")
    return data


def _show(value: object) -> str:
    """A claim for the terminal: plain when printable, JSON-escaped otherwise (no escapes)."""
    import json

    if isinstance(value, str) and value.isprintable():
        return value
    return json.dumps(value, ensure_ascii=False)


def _exp_note(claims: Any, now: float) -> str:
    exp = claims.get("exp")
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        return ""
    millis = exp > 10**11
    seconds = exp / 1000 if millis else exp
    when = _utc(seconds) or "out of range"
    left = int(seconds - now)
    state = f"in {left} s" if left >= 0 else f"expired {-left} s ago"
    return f"  ({'milliseconds! ' if millis else ''}{when}, {state})"


@assertion.command("decode")
@click.argument("source", metavar="FILE|-")
@click.option(
    "--cert",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    metavar="CRT",
    help="Also verify the RS256 signature with this certificate.",
)
@global_options
@pass_app
def decode(app: App, source: str, cert: Path | None) -> int:
    """Show an assertion's header, claims, seconds left and warnings (FILE, or - for stdin).

    The signature is checked only with --cert. Exit 0 when all is well, 1 when there are
    warnings (expired, lifetime over 3 minutes, exp in milliseconds, aud not a Salesforce
    login URL, iss not shaped like a consumer key), 2 when the signature does not verify,
    78 when the input is not a JWT or the certificate cannot be read.

    \b
    Examples:
      sfbearer assertion decode jwt.txt
      sfbearer assertion decode jwt.txt --cert keys/server.crt   # verify the signature too
      sfbearer assertion new -p acme | sfbearer assertion decode -
    """
    import time

    from sfbearer._exceptions import AssertionConfigError
    from sfbearer.assertion import decode_assertion

    text = _read_source(source)
    now = time.time()
    decoded = decode_assertion(text, now=now)
    failure: AssertionConfigError | None = None
    if cert is not None:
        from sfbearer.keys import load_certificate

        info = load_certificate(cert)
        try:
            decoded = decode_assertion(text, certificate=info, now=now)
        except AssertionConfigError as exc:
            failure = exc
    seconds_left = decoded.seconds_left(now)
    if app.json_mode:
        app.json(
            {
                "header": dict(decoded.header),
                "claims": dict(decoded.claims),
                "seconds_left": None if seconds_left is None else int(seconds_left),
                "verified": None if cert is None else failure is None,
                "certificate": None if cert is None else str(cert),
                "warnings": list(decoded.warnings),
                "error": None if failure is None else failure.message,
            }
        )
    else:
        app.out("header")
        for key, value in decoded.header.items():
            app.out(f"  {_show(key)}: {_show(value)}")
        app.out("claims")
        for key, value in decoded.claims.items():
            note = _exp_note(decoded.claims, now) if key == "exp" else ""
            app.out(f"  {_show(key)}: {_show(value)}{note}")
        if cert is None:
            app.out("signature: not checked (pass --cert CRT to verify it)")
        elif failure is None:
            app.out(f"signature: verified with {cert}")
        else:
            app.out(f"signature: DOES NOT VERIFY with {cert}")
    for warning in decoded.warnings:
        app.warn(warning)
    if failure is not None:
        raise Abort(failure.message, EXIT_FAILURE, hint=failure.hint)
    return EXIT_WARNING if decoded.warnings else EXIT_OK
