"""``sfbearer certs rotate|promote``: make the next key pair, then switch a profile to it.

Registered on the ``certs`` group by :mod:`sfbearer.cli.certs`. Exit codes: 0 done, 2 the
``--check`` doctor run failed (nothing switched), 3 it could not reach Salesforce, 78 a
configuration problem (no such profile, nothing pending, a pair already pending, a key or
signer that cannot be made).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from sfbearer.cli._app import EXIT_CONFIG, EXIT_OK, Abort, App, global_options, pass_app

if TYPE_CHECKING:
    from sfbearer.config import Profile
    from sfbearer.rotation import RotationPlan

__all__ = ["promote", "rotate"]


def _passphrase_if_needed(profile: Profile) -> str | None:
    """Prompt (on a terminal) for an encrypted current key with no passphrase source."""
    from sfbearer.config import needs_passphrase

    if profile.uses_signer_uri or not needs_passphrase(profile):
        return None
    from sfbearer.cli._passphrase import prompt_passphrase

    return prompt_passphrase(profile.key_source())


def _render_plan(app: App, plan: RotationPlan) -> None:
    nxt = plan.next
    info = nxt.info
    app.out(f"profile:           {plan.profile.name}")
    app.out(f"current key:       {plan.current_key}")
    if plan.current_certificate is not None:
        app.out(f"current cert:      {plan.current_certificate}")
    made = "created" if nxt.created_key else "existing key, certified"
    app.out(f"next key:          {nxt.key} ({made})")
    app.out(f"next certificate:  {nxt.certificate}")
    if info is not None:
        app.out(f"  subject:         {info.subject}")
        app.out(f"  expires:         {info.not_after:%Y-%m-%d %H:%M} UTC")
        app.out(f"  SHA-1:           {info.sha1_fingerprint}")
    app.out()
    app.out("Roll over with ONE of these plans (the current key keeps working until then):")
    app.out()
    app.out("(a) cutover: the app holds one certificate; a window of seconds")
    for number, step in enumerate(plan.cutover, 1):
        app.out(f"    {number}. {step}")
    app.out()
    app.out("(b) zero downtime: a second External Client App, then retire the old one")
    for number, step in enumerate(plan.zero_downtime, 1):
        app.out(f"    {number}. {step}")


@click.command("rotate")
@click.option(
    "--days",
    type=click.IntRange(1, 3650),
    default=365,
    show_default=True,
    help="Validity of the new certificate.",
)
@click.option(
    "--key-size",
    type=click.Choice(["2048", "3072", "4096"]),
    default=None,
    help="RSA key size [default: the current key's].",
)
@click.option(
    "--signer",
    "signer_uri",
    metavar="URI",
    default=None,
    help="The new key in a vault: a pkcs11: URI (created when missing) or an awskms: key "
    "you created.",
)
@click.option(
    "--out-dir",
    metavar="DIR",
    default=None,
    type=click.Path(file_okay=False),
    help="Where the new files go [default: beside the current ones].",
)
@click.option(
    "--replace-pending",
    is_flag=True,
    help="Make a new pair even though one is pending (its files are kept).",
)
@global_options
@pass_app
def rotate(
    app: App,
    days: int,
    key_size: str | None,
    signer_uri: str | None,
    out_dir: str | None,
    replace_pending: bool,
) -> int:
    """Make the next key and certificate of a profile, and print the roll-over plan.

    The current pair is not touched. The new one gets dated names beside it
    (server-YYYYMMDD.key / .crt), or a new object in the same PKCS#11 token; KMS keys
    are created with AWS's tools and given with --signer. The profile records the pending
    pair (next_jwt_key_file, next_cert_file) until `sfbearer certs promote`.

    \b
    Examples:
      sfbearer certs rotate -p prod
      sfbearer certs rotate -p prod --days 730 --key-size 3072 --json
      sfbearer certs rotate -p hsm --signer 'pkcs11:token=acme;object=jwt-2027?...'
    """
    from sfbearer.config import get_profile
    from sfbearer.rotation import rotate as make_next

    profile = get_profile(app.profile)
    passphrase = None if signer_uri else _passphrase_if_needed(profile)
    plan = make_next(
        profile.name,
        days=days,
        key_size=int(key_size) if key_size else None,
        signer_uri=signer_uri,
        out_dir=out_dir,
        passphrase=passphrase,
        replace_pending=replace_pending,
    )
    if plan.replaced_pending:
        app.warn(
            "replaced the pending pair in the profile; its files are kept: "
            + ", ".join(p for p in plan.replaced_pending if p)
        )
    if app.json_mode:
        app.json(plan.as_dict())
    else:
        _render_plan(app, plan)
    return EXIT_OK


@click.command("promote")
@click.option(
    "-i",
    "--client-id",
    metavar="NEW_CONSUMER_KEY",
    default=None,
    help="Also switch to this consumer key (the second app of the zero-downtime plan).",
)
@click.option(
    "--check",
    is_flag=True,
    help="Run doctor with the new settings first; switch only if it passes.",
)
@global_options
@pass_app
def promote(app: App, client_id: str | None, check: bool) -> int:
    """Switch a profile to its pending key pair (made by `sfbearer certs rotate`).

    The replaced key, certificate and consumer key are kept and recorded in the profile as
    previous_jwt_key_file, previous_cert_file and previous_client_id; no file is deleted.

    \b
    Examples:
      sfbearer certs promote -p prod                          # cutover: right after the upload
      sfbearer certs promote -p prod -i 3MVG9NEW... --check   # zero downtime: the second app
    """
    from sfbearer.config import get_profile
    from sfbearer.rotation import check_pending, pending_pair, promote_pending

    profile = get_profile(app.profile)
    if pending_pair(profile) is None:
        raise Abort(
            f"profile {profile.name!r} has no pending key to promote",
            EXIT_CONFIG,
            hint=f"make one first: sfbearer certs rotate -p {profile.name}",
        )
    checks = []
    if check:
        from sfbearer.cli._checks import check_lines
        from sfbearer.doctor import exit_code

        for finding in check_pending(profile.name, client_id=client_id):
            checks.append(finding)
            if not app.json_mode:
                for line in check_lines(finding):
                    app.info(line)
        code = exit_code(checks)
        if code >= 2:
            if app.json_mode:
                app.json({"promoted": False, "checks": [c.as_dict() for c in checks]})
            raise Abort(
                "doctor did not pass with the new settings: nothing was switched",
                code,
                hint="fix what it names (is the new certificate uploaded, the user "
                "pre-authorized on that app?), then run this again",
            )
    result = promote_pending(profile.name, client_id=client_id)
    if app.json_mode:
        app.json({"promoted": True, **result.as_dict(), "checks": [c.as_dict() for c in checks]})
        return EXIT_OK
    saved = result.profile
    app.out(f"profile {saved.name!r} now uses:")
    app.out(f"  key:          {saved.key_source()}")
    app.out(f"  certificate:  {saved.cert_file}")
    app.out(f"  client id:    {saved.client_id}")
    app.info(f"kept (not deleted): {result.previous_key}, {result.previous_certificate}")
    if result.previous_client_id:
        app.info(
            f"retire the old app (consumer key {result.previous_client_id[:12]}...) once no "
            f"process uses it: sfbearer audit tail -p {saved.name}"
        )
    app.info("restart or reload every process that read this profile")
    if not check:
        app.info(f"check: sfbearer doctor -p {saved.name}")
    return EXIT_OK
