"""``sfbearer doctor``: check the whole chain and explain each failure."""

from __future__ import annotations

from typing import Any

import click

from sfbearer.cli._app import App, global_options, pass_app
from sfbearer.cli._checks import NAME_WIDTH, check_lines
from sfbearer.cli._options import connection_options

__all__ = ["doctor"]

_WIDTH = NAME_WIDTH


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@connection_options
@click.option(
    "--cert",
    "cert_file",
    metavar="CRT",
    default=None,
    help="The certificate uploaded to Salesforce [env: SFBEARER_CERT_FILE; default: the "
    "profile's cert_file, else server.crt beside the key].",
)
@click.option(
    "--probe-audiences",
    is_flag=True,
    default=False,
    help="Also try each candidate audience once (each try is one login attempt).",
)
@global_options
@pass_app
def doctor(app: App, probe_audiences: bool, **flags: Any) -> int:
    """Check configuration, key, certificate, environment, clock, token, identity, scopes, limits.

    Each check prints as it runs; each failure names the cause and the fix.
    Exit codes: 0 all pass, 1 warnings, 2 failures, 3 unreachable.

    \b
    Examples:
      sfbearer doctor -p prod
      sfbearer doctor -p prod --json
      sfbearer doctor -p prod --probe-audiences
    """
    from sfbearer import doctor as checks_module

    overrides = {k: v for k, v in flags.items() if v is not None and v != ()}
    passphrase, pin = _secrets_to_ask(app, overrides)
    checks = []
    for check in checks_module.run_doctor(
        app.profile, overrides=overrides, passphrase=passphrase, pin=pin
    ):
        checks.append(check)
        if not app.json_mode:
            for line in check_lines(check, width=_WIDTH):
                app.out(line)
    if probe_audiences:
        from sfbearer.config import resolve_profile

        candidates = checks_module.audience_candidates(
            resolve_profile(app.profile, overrides=overrides).env()
        )
        app.info(
            f"probing {len(candidates)} audiences: this spends {len(candidates)} login attempts"
        )
        for check in checks_module.probe_audiences(app.profile, overrides=overrides):
            counted = check if check.status != "fail" else _as_probe(check)
            checks.append(counted)
            if not app.json_mode:  # print what is counted: a refusal does not fail doctor
                for line in check_lines(counted, width=_WIDTH, hint=False):
                    app.out(line)
    code = checks_module.exit_code(checks)
    if app.json_mode:
        app.json({"checks": [c.as_dict() for c in checks], "exit_code": code})
    else:
        summary = {
            0: "all checks passed",
            1: "passed with warnings",
            2: "failed",
            3: "unreachable",
        }[code]
        app.out(f"doctor: {summary}")
    return code


def _secrets_to_ask(app: App, overrides: dict[str, Any]) -> tuple[str | None, str | None]:
    """On a terminal, the key passphrase or HSM PIN the profile needs and has no source for.

    A profile that cannot be resolved asks for nothing: the configuration check reports it.
    """
    from sfbearer._exceptions import SfBearerError
    from sfbearer.cli._passphrase import prompt_passphrase, prompt_pin
    from sfbearer.config import needs_passphrase, resolve_profile

    try:
        profile = resolve_profile(app.profile, overrides=overrides)
        if needs_passphrase(profile):
            return prompt_passphrase(profile.key_source()), None
        if profile.uses_signer_uri and profile.jwt_key_file:
            return None, prompt_pin(profile.jwt_key_file)
    except SfBearerError:
        pass
    return None, None


def _as_probe(check: Any) -> Any:
    """A refused probe is information, not a failure of the configuration."""
    from dataclasses import replace

    return replace(check, status="skip", message=f"refused: {check.message}")
