"""``sfbearer app manifest|checklist``: the External Client App as metadata, or as manual steps."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from sfbearer.cli._app import App, global_options, pass_app

if TYPE_CHECKING:
    from sfbearer.keys import CertificateInfo

__all__ = ["app"]

_DEFAULT_OUT_DIR = "force-app/main/default"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@global_options
def app() -> None:
    """External Client App metadata and setup checklist."""


def _who(sf_profile: str | None, permission_set: str | None) -> None:
    if sf_profile and permission_set:
        raise click.UsageError("--sf-profile and --permission-set are mutually exclusive")


def _scopes(text: str) -> tuple[str, ...]:
    from sfbearer.manifest import parse_scopes

    return parse_scopes(text)


def _certificate(path: Path) -> CertificateInfo:
    from sfbearer.keys import load_certificate

    return load_certificate(path)


def _common(func: Any) -> Any:
    options = [
        click.option(
            "--scopes",
            default="Api,RefreshToken",
            show_default=True,
            help="OAuth scopes (metadata tokens, comma-separated); least privilege is the default.",
        ),
        click.option(
            "--sf-profile",
            metavar="PROFILE",
            default=None,
            help="Salesforce profile whose users are pre-authorized.",
        ),
        click.option(
            "--permission-set",
            metavar="NAME",
            default=None,
            help="Permission set whose users are pre-authorized (preferred).",
        ),
        click.option(
            "--session-timeout",
            type=click.Choice(["15", "30", "60", "120", "240", "480", "720", "1440"]),
            default=None,
            help="Session timeout in minutes (default: the org's).",
        ),
        click.option("--contact-email", metavar="EMAIL", default=None, help="The app's contact."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@app.command("manifest")
@click.option("--name", required=True, help="The External Client App's API name (e.g. Acme_Sync).")
@click.option(
    "--cert",
    "cert",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="The certificate (server.crt) whose key signs the assertions.",
)
@_common
@click.option(
    "--out-dir",
    default=_DEFAULT_OUT_DIR,
    show_default=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="The package directory to write into.",
)
@click.option("--force", is_flag=True, help="Replace existing files.")
@global_options
@pass_app
def manifest(
    app: App,
    name: str,
    cert: Path,
    scopes: str,
    sf_profile: str | None,
    permission_set: str | None,
    session_timeout: str | None,
    contact_email: str | None,
    out_dir: Path,
    force: bool,
) -> int:
    """Write the External Client App's metadata and package.xml, ready for sf project deploy.

    The global OAuth settings file (extlClntAppGlobalOauthSets/) holds the certificate and,
    once retrieved, the consumer key: do not commit it. An existing package.xml is merged:
    its members stay and this app's are added, so a second app (a zero-downtime certificate
    rotation) can go into the same directory. An app's own files are replaced only with
    --force.

    \b
    Examples:
      sfbearer app manifest --name Acme_Sync --cert keys/server.crt --permission-set Acme_Int
      sfbearer app manifest --name Acme_Sync_2 --cert new/server.crt --permission-set Acme_Int
      sfbearer app manifest --name Acme_Sync --cert new/server.crt --permission-set Acme_Int --force

    Exit code: 0, or 1 when the planned setup has warnings (scopes beyond least privilege,
    nobody pre-authorized, a certificate near or past expiry); the files are written either way.
    """
    from sfbearer.checklist import checklist_warnings
    from sfbearer.manifest import GLOBAL_OAUTH_DIR, AppSpec, build_metadata, write_metadata

    _who(sf_profile, permission_set)
    chosen = _scopes(scopes)
    info = _certificate(cert)
    spec = AppSpec(
        name=name,
        certificate_pem=info.pem().decode(),
        scopes=chosen,
        sf_profile=sf_profile,
        permission_set=permission_set,
        session_timeout=int(session_timeout) if session_timeout else None,
        contact_email=contact_email,
    )
    warnings = checklist_warnings(chosen, sf_profile=sf_profile, permission_set=permission_set)
    if info.days_left < 0:
        warnings.append(f"the certificate expired on {info.not_after:%Y-%m-%d}: make a new one")
    elif info.days_left < 30:
        warnings.append(f"the certificate expires {info.not_after:%Y-%m-%d} ({info.days_text()})")
    package_xml = out_dir / "package.xml"
    outcome: list[str] = []
    written = write_metadata(out_dir, build_metadata(spec), force=force,
                             on_package_xml=outcome.append)  # fmt: skip
    merged = outcome == ["merged"]
    code = 1 if warnings else 0
    secret_dir = out_dir / GLOBAL_OAUTH_DIR
    gitignore = f"{secret_dir.as_posix()}/"
    deploy = f"sf project deploy start --manifest {(out_dir / 'package.xml').as_posix()}"
    if app.json_mode:
        app.json(
            {
                "name": name,
                "files": [str(p) for p in written],
                "scopes": list(chosen),
                "preauthorized": spec.preauthorized,
                "certificate_sha256": info.sha256_fingerprint,
                "do_not_commit": str(secret_dir),
                "gitignore_line": gitignore,
                "deploy": deploy,
                "package_xml": outcome[0] if outcome else "written",
                "warnings": warnings,
                "exit_code": code,
            }
        )
    else:
        for path in written:
            app.out(str(path))
        app.info(f"scopes: {', '.join(chosen)}; pre-authorized: {spec.preauthorized}")
    if merged:
        app.info(f"{package_xml}: {name} added; the members already listed are kept")
    elif outcome == ["replaced"]:
        app.warn(f"{package_xml} could not be merged and was replaced (--force): "
                 "members it listed are gone from it")  # fmt: skip
    for warning in warnings:
        app.warn(warning)
    app.warn(
        f"do not commit {secret_dir}/ (global OAuth settings: consumer key and secret live "
        f"there); add this line to .gitignore: {gitignore}"
    )
    app.info(f"deploy: {deploy}")
    app.info("then copy the consumer key (sfbearer app checklist shows where)")
    return code


@app.command("checklist")
@click.option(
    "--cert",
    "cert",
    default=None,
    type=click.Path(path_type=Path, dir_okay=False),
    help="The certificate to upload (its fingerprints are shown).",
)
@click.option("--name", default="My_Integration", show_default=True, help="The app's API name.")
@_common
@global_options
@pass_app
def checklist_command(
    app: App,
    cert: Path | None,
    name: str,
    scopes: str,
    sf_profile: str | None,
    permission_set: str | None,
    session_timeout: str | None,
    contact_email: str | None,
) -> int:
    """Print the manual setup steps in Salesforce Setup, with the exact values to paste.

    With --profile, the steps use that profile's username, client id, key, environment and
    certificate (its fingerprints, unless --cert names another).

    \b
    Examples:
      sfbearer app checklist --cert server.crt --name Acme_Sync --permission-set Acme_Int
      sfbearer app checklist -p acme --permission-set Acme_Int

    Exit code: 0, or 1 when the planned setup has warnings (scopes beyond least privilege,
    nobody pre-authorized).
    """
    from sfbearer.checklist import Identity, checklist, checklist_warnings

    _who(sf_profile, permission_set)
    chosen = _scopes(scopes)
    identity: Identity | None = None
    cert_file = str(cert) if cert is not None else None
    missing_cert: str | None = None
    if app.profile:
        from sfbearer.config import get_profile

        profile = get_profile(app.profile)
        identity = Identity(
            profile=profile.name,
            username=profile.username,
            environment=profile.environment,
            client_id=profile.client_id or None,
            key_file=profile.jwt_key_file,
        )
        profile_cert = profile.certificate_path()
        if cert is None and profile_cert is not None:
            cert_file = str(profile_cert)
            if profile_cert.is_file():
                cert = profile_cert
            else:  # still to be made: the steps name the file, a warning says so
                missing_cert = (
                    f"profile {profile.name}'s certificate {profile_cert} does not exist yet "
                    "(sfbearer keys new makes one)"
                )
    info = _certificate(cert) if cert is not None else None
    steps = checklist(
        name=name,
        certificate=info,
        certificate_file=cert_file,
        scopes=chosen,
        sf_profile=sf_profile,
        permission_set=permission_set,
        session_timeout=int(session_timeout) if session_timeout else None,
        contact_email=contact_email,
        identity=identity,
    )
    warnings = checklist_warnings(chosen, sf_profile=sf_profile, permission_set=permission_set)
    if missing_cert:
        warnings.append(missing_cert)
    code = 1 if warnings else 0
    if app.json_mode:
        app.json({"steps": [s.as_dict() for s in steps], "warnings": warnings, "exit_code": code})
    else:
        for number, step in enumerate(steps, 1):
            app.out(f"{number}. {step.title}")
            for action in step.actions:
                app.out(f"   - {action}")
            width = max((len(k) for k in step.values), default=0) + 1
            for label, value in step.values.items():
                app.out(f"     {(label + ':').ljust(width)} {value}")
            app.out()
    for warning in warnings:
        app.warn(warning)
    return code
