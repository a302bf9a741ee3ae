"""``sfbearer profiles promote SRC --to NAME --environment ENV``: the next environment's profile.

Registered on the ``profiles`` group by :mod:`sfbearer.cli.profiles`. Exit codes: 0 saved,
78 a configuration problem (no source, the target exists without ``--force``, a bad
environment, a username that cannot be derived).
"""

from __future__ import annotations

import click

from sfbearer.cli._app import EXIT_OK, App, global_options, pass_app

__all__ = ["promote_profile_command"]


@click.command("promote")
@click.argument("source")
@click.option("--to", "to", required=True, metavar="NAME", help="The new profile's name.")
@click.option(
    "-r",
    "--environment",
    "--instance-url",
    "environment",
    required=True,
    metavar="ENV",
    help="The target: production, sandbox, or a login URL (My Domain...).",
)
@click.option(
    "-o",
    "--username",
    metavar="USER",
    default=None,
    help="The username there [default: the source's without its sandbox suffix].",
)
@click.option(
    "-i",
    "--client-id",
    metavar="ID",
    default=None,
    help="The consumer key of the target org's External Client App.",
)
@click.option(
    "--audience", metavar="URL", default=None, help="The aud claim, when not the default."
)
@click.option(
    "--share-key",
    is_flag=True,
    help="Use the source's key pair instead of generating one (not recommended for production).",
)
@click.option(
    "--key-dir",
    metavar="DIR",
    default=None,
    type=click.Path(file_okay=False),
    help="Where the new key pair goes [default: keys/NAME beside the configuration file].",
)
@click.option(
    "--days",
    type=click.IntRange(1, 3650),
    default=365,
    show_default=True,
    help="Validity of a generated certificate.",
)
@click.option(
    "--key-size",
    type=click.Choice(["2048", "3072", "4096"]),
    default="2048",
    show_default=True,
    help="RSA key size of a generated key.",
)
@click.option(
    "--force", is_flag=True, help="Replace an existing profile NAME (its keys are reused)."
)
@global_options
@pass_app
def promote_profile_command(
    app: App,
    source: str,
    to: str,
    environment: str,
    username: str | None,
    client_id: str | None,
    audience: str | None,
    share_key: bool,
    key_dir: str | None,
    days: int,
    key_size: str,
    force: bool,
) -> int:
    """Derive profile NAME for another environment from SOURCE (sandbox → production).

    The audience and token URL come from --environment; the username is SOURCE's without the
    sandbox suffix (user@acme.com.uat → user@acme.com) unless --username; a key pair of its
    own is generated unless --share-key. Prints what must be set up in that org before
    `sfbearer doctor -p NAME` passes.

    \b
    Examples:
      sfbearer profiles promote uat --to prod --environment production
      sfbearer profiles promote uat --to prod -r https://acme.my.salesforce.com -i 3MVG9...
    """
    from sfbearer.promotion import CLIENT_ID_PLACEHOLDER, promote_profile

    result = promote_profile(
        source,
        to=to,
        environment=environment,
        username=username,
        client_id=client_id,
        audience=audience,
        share_key=share_key,
        key_dir=key_dir,
        days=days,
        key_size=int(key_size),
        force=force,
    )
    if app.json_mode:
        app.json(result.as_dict())
    else:
        data = result.as_dict()
        app.out(f"profile:      {data['profile']} (from {data['source']})")
        app.out(f"environment:  {result.profile.env().describe()}")
        app.out(f"username:     {data['username']} ({data['username_note']})")
        client = (
            data["client_id"] if data["client_id_set"] else f"not set yet ({CLIENT_ID_PLACEHOLDER})"
        )
        app.out(f"client id:    {client}")
        how = (
            "generated now"
            if data["generated_key"]
            else "shared"
            if data["shared_key"]
            else "reused"
        )
        app.out(f"key:          {data['key']} ({how})")
        if data["certificate"]:
            sha1 = f" (SHA-1 {data['sha1_fingerprint']})" if data["sha1_fingerprint"] else ""
            app.out(f"certificate:  {data['certificate']}{sha1}")
        if data["carried"]:
            carried = ", ".join(f"{k}={v}" for k, v in data["carried"].items())
            app.out(f"carried over: {carried}")
        app.out()
        app.out(f"Before `sfbearer doctor -p {to}` passes, set up in that org:")
        for number, step in enumerate(result.steps, 1):
            app.out(f"  {number}. {step}")
    for warning in result.warnings:
        app.warn(warning)
    return EXIT_OK
