"""``sfbearer keys new|show|check|csr|import``: RSA keys and X.509 certificates.

``keys check`` exit codes: 0 every check passed, 1 warnings only (e.g. the certificate expires
within 30 days), 2 a check failed (unsafe permissions, wrong key type or size, key and
certificate do not match, expired), 78 a file could not be opened or decrypted at all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from sfbearer.cli._app import EXIT_CONFIG, EXIT_USAGE, Abort, App, global_options, pass_app
from sfbearer.cli._describe import certificate_fields, describe_file, print_certificate
from sfbearer.cli._passphrase import (
    load_key_interactive,
    passphrase_from_env,
    passphrase_option,
    prompt_passphrase,
)

__all__ = ["keys"]

_MAX_READ = 256 * 1024
_NEXT_STEP = (
    "next: upload {cert} to your External Client App (OAuth settings > "
    '"Use digital signatures"); keep {key} private'
)


def _read(path: Path, what: str) -> bytes:
    from sfbearer._files import read_bounded

    if path.is_dir():
        raise Abort(f"{path} is a directory, not a {what}", EXIT_CONFIG)

    def refuse(message: str) -> Abort:
        missing = "not found" in message
        hint = "check the path; sfbearer keys new --out-dir DIR makes server.key and server.crt"
        return Abort(message, EXIT_CONFIG, hint=hint if missing else "")

    return read_bounded(path, _MAX_READ, refuse, what, content=f"a {what}")


def _pair_summary(app: App, key_path: Path, cert_path: Path, encrypted: bool) -> None:
    from sfbearer.keys import load_certificate
    from sfbearer.signers import public_key_fingerprint

    info = load_certificate(cert_path)
    pub = info.certificate.public_key()
    data: dict[str, Any] = {
        "key": str(key_path),
        "certificate": str(cert_path),
        "key_size": info.key_size,
        "encrypted": encrypted,
        **certificate_fields(info),
        "public_key_sha256": public_key_fingerprint(pub),  # type: ignore[arg-type]
    }
    if app.json_mode:
        app.json(data)
        return
    state = "encrypted" if encrypted else "not encrypted"
    app.out(f"private key:   {key_path} (RSA {info.key_size} bits, mode 0600, {state})")
    print_certificate(app, cert_path, info)
    app.info(_NEXT_STEP.format(cert=cert_path, key=key_path))


# `keys check` and `keys csr` take a key the same way (click makes a new Option per use).
_key_option = click.option(
    "-f",
    "--jwt-key-file",
    "key_file",
    required=True,
    metavar="PATH|URI",
    help="The private key file, or a pkcs11: / awskms: signer URI.",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@global_options
def keys() -> None:
    """Generate, show, check and import RSA keys and certificates."""


@keys.command("new")
@click.option(
    "--out-dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory for server.key and server.crt (created when missing).",
)
@click.option("--common-name", default="sfbearer", show_default=True, help="Certificate CN.")
@click.option(
    "--days", type=click.IntRange(1, 10950), default=365, show_default=True, help="Validity."
)
@click.option(
    "--key-size",
    type=click.Choice(["2048", "3072", "4096"]),
    default="2048",
    show_default=True,
    help="RSA modulus size in bits.",
)
@passphrase_option("Encrypt the key with the passphrase in this environment variable.")
@click.option(
    "--signer",
    metavar="URI",
    default=None,
    help="Keep the key in an HSM (pkcs11:...) or AWS KMS (awskms:...): only server.crt is "
    "written, signed by that key.",
)
@click.option("--force", is_flag=True, help="Replace existing server.key / server.crt.")
@global_options
@pass_app
def new(
    app: App,
    out_dir: Path,
    common_name: str,
    days: int,
    key_size: str,
    passphrase_env: str | None,
    signer: str | None,
    force: bool,
) -> None:
    """Make a new RSA key (PKCS#8, 0600) and a self-signed certificate for Salesforce.

    The key is encrypted when --passphrase-env VAR (or SFBEARER_KEY_PASSPHRASE) holds a
    passphrase. Example: sfbearer keys new --out-dir ./keys --common-name acme-integration

    With --signer URI the key is created inside the PKCS#11 token (or the existing AWS KMS
    key is used) and never leaves it; no key file is written. The HSM PIN comes from the
    URI's pin-source, or a hidden prompt. Example:
    sfbearer keys new --signer 'pkcs11:token=acme;object=jwt?module-path=...&pin-source=env:PIN'
    --out-dir ./keys
    """
    if signer is not None:
        from sfbearer.cli._signer_keys import new_signer_pair
        from sfbearer.signers.uri import is_signer_uri

        if not is_signer_uri(signer):
            raise Abort(
                f"--signer expects a pkcs11: or awskms: URI, got {signer!r}",
                EXIT_USAGE,
                hint="for a key file, leave out --signer",
            )
        if passphrase_env:
            raise Abort(
                "--passphrase-env does not apply to --signer: the key is not a file",
                EXIT_USAGE,
                hint="an HSM PIN comes from the URI's pin-source or a prompt",
            )
        new_signer_pair(
            app,
            signer,
            out_dir=out_dir,
            common_name=common_name,
            days=days,
            key_size=int(key_size),
            force=force,
        )
        return
    from sfbearer.keys import generate_key_pair, write_key_pair

    passphrase = passphrase_from_env(passphrase_env)
    key_path, cert_path = out_dir / "server.key", out_dir / "server.crt"
    if not force:
        # refuse before the (slow) key generation
        for path in (key_path, cert_path):
            if path.exists() or path.is_symlink():
                raise Abort(
                    f"{path} already exists; refusing to overwrite it",
                    EXIT_CONFIG,
                    hint="pass --force to replace it, or choose another --out-dir",
                )
    pair = generate_key_pair(key_size=int(key_size), common_name=common_name, days=days)
    key_path, cert_path = write_key_pair(pair, out_dir, passphrase=passphrase, force=force)
    _pair_summary(app, key_path, cert_path, encrypted=passphrase is not None)


@keys.command("show")
@click.argument("path", metavar="PATH|URI")
@passphrase_option()
@global_options
@pass_app
def show(app: App, path: str, passphrase_env: str | None) -> None:
    """Describe a private key, a certificate or a signer URI (never prints key material).

    Example: sfbearer keys show server.crt; sfbearer keys show 'awskms:alias/sfbearer-jwt'
    """
    from sfbearer.signers.uri import is_signer_uri

    if is_signer_uri(path):
        from sfbearer.cli._signer_keys import describe_signer

        info = describe_signer(path)
    else:
        info = describe_file(Path(path), _read(Path(path), "file"), passphrase_env)
    if app.json_mode:
        app.json(info)
        return
    unavailable = info.pop("unavailable", None)
    width = max(len(k) for k in info) + 2
    for name, value in info.items():
        shown = {True: "yes", False: "no"}.get(value, value) if isinstance(value, bool) else value
        if value is None:
            shown = "unavailable"
        app.out(f"{(name.replace('_', ' ') + ':').ljust(width)} {shown}")
    if unavailable:
        app.info(f"hint: {unavailable}")


def _default_cert(key_file: Path) -> Path:
    return key_file.parent / "server.crt"


def _check_passphrase(key_file: Path, passphrase_env: str | None) -> str | None:
    from sfbearer.keys import is_encrypted_private_key

    passphrase = passphrase_from_env(passphrase_env)
    if passphrase is None:
        from sfbearer._files import read_head

        head = read_head(key_file, _MAX_READ)
        if head and is_encrypted_private_key(head):
            passphrase = prompt_passphrase(str(key_file))
    return passphrase


@keys.command("check")
@_key_option
@click.option(
    "--cert",
    "cert_file",
    type=click.Path(path_type=Path),
    default=None,
    help="The certificate uploaded to Salesforce [default: server.crt beside the key].",
)
@passphrase_option()
@click.option(
    "--warn-days",
    type=click.IntRange(0, 3650),
    default=30,
    show_default=True,
    help="Warn when the certificate expires within this many days.",
)
@global_options
@pass_app
def check(
    app: App, key_file: str, cert_file: Path | None, passphrase_env: str | None, warn_days: int
) -> int:
    """Check a key and certificate: permissions, type and size, match, validity.

    A signer URI is checked by opening it and verifying a test signature instead of reading a
    file. Exit 0 all pass, 1 warnings only, 2 a check failed, 78 a file or signer could not be
    opened. Example: sfbearer keys check -f server.key --cert server.crt
    """
    from sfbearer.keycheck import check_key_files, check_signer, worst_exit_code
    from sfbearer.signers.uri import is_signer_uri

    if is_signer_uri(key_file):
        from sfbearer.cli._passphrase import prompt_pin
        from sfbearer.cli._signer_keys import signer_cert_or_abort

        cert = signer_cert_or_abort(key_file, cert_file)
        findings = check_signer(key_file, cert, pin=prompt_pin(key_file), warn_days=warn_days)
    else:
        cert = cert_file or _default_cert(Path(key_file))
        findings = check_key_files(
            key_file,
            cert,
            passphrase=_check_passphrase(Path(key_file), passphrase_env),
            warn_days=warn_days,
        )
    code = worst_exit_code(findings)
    if app.json_mode:
        app.json(
            {
                "key": str(key_file),
                "certificate": str(cert),
                "exit_code": code,
                "findings": [
                    {"check": f.check, "status": f.status, "message": f.message, "hint": f.hint}
                    for f in findings
                ],
            }
        )
        return code
    marks = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL", "error": "FAIL"}
    for f in findings:
        fix = f"; fix: {f.hint}" if f.hint and f.status != "ok" else ""
        app.out(f"{marks[f.status]}  {f.check}: {f.message}{fix}")
    return code


@keys.command("csr")
@_key_option
@click.option("--common-name", required=True, help="Subject CN of the request.")
@click.option("--organization", default=None, help="Subject O of the request (key files only).")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the CSR here (replaced atomically) instead of printing it.",
)
@passphrase_option()
@global_options
@pass_app
def csr(
    app: App,
    key_file: str,
    common_name: str,
    organization: str | None,
    out: Path | None,
    passphrase_env: str | None,
) -> None:
    """Make a PKCS#10 certificate signing request for a CA-signed certificate.

    The key may be a file or a key in an HSM / AWS KMS (a signer URI): the request is then
    signed inside the vault.

    \b
    Examples:
      sfbearer keys csr -f server.key --common-name acme-integration --out server.csr
      sfbearer keys csr -f 'awskms:alias/sfbearer-jwt' --common-name acme --out server.csr
    """
    from sfbearer._files import atomic_write
    from sfbearer.signers.uri import is_signer_uri

    if is_signer_uri(key_file):
        from sfbearer.cli._signer_keys import signer_csr

        pem = signer_csr(key_file, common_name, organization)
    else:
        from sfbearer.pkcs import make_csr

        key = load_key_interactive(key_file, passphrase_env)
        pem = make_csr(key, common_name=common_name, organization=organization)
    if out is None:
        app.out(pem.decode("ascii").rstrip("\n"))
        return
    try:
        atomic_write(out, pem, mode=0o644)
    except OSError as exc:
        raise Abort(f"cannot write {out}: {exc.strerror}", EXIT_CONFIG) from None
    if app.json_mode:
        app.json({"csr": str(out), "common_name": common_name, "organization": organization})
        return
    app.out(f"wrote {out}")
    shown = f"'{key_file}'" if is_signer_uri(key_file) else key_file
    app.info(
        f"next: send {out} to your CA, then check the signed certificate with: "
        f"sfbearer keys check -f {shown} --cert SIGNED.crt"
    )


@keys.command("import")
@click.argument("bundle", type=click.Path(path_type=Path))
@click.option(
    "--out-dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory for server.key and server.crt (created when missing).",
)
@passphrase_option("Read the bundle's passphrase from this environment variable.")
@click.option("--force", is_flag=True, help="Replace existing server.key / server.crt.")
@global_options
@pass_app
def import_(app: App, bundle: Path, out_dir: Path, passphrase_env: str | None, force: bool) -> None:
    """Split a PKCS#12 bundle (.p12/.pfx) into server.key (0600) and server.crt.

    Example: sfbearer keys import bundle.p12 --out-dir ./keys --passphrase-env P12_PASS
    """
    from sfbearer._exceptions import KeyFileError
    from sfbearer.keys import write_key_pair
    from sfbearer.pkcs import load_pkcs12

    data = _read(bundle, "PKCS#12 bundle")
    passphrase = passphrase_from_env(passphrase_env)
    try:
        pair = load_pkcs12(data, passphrase)
    except KeyFileError as exc:
        needs_passphrase = passphrase is None and "passphrase" in exc.message
        prompted = prompt_passphrase(str(bundle)) if needs_passphrase else None
        if prompted is None:
            raise
        pair = load_pkcs12(data, prompted)
    key_path, cert_path = write_key_pair(pair, out_dir, force=force)
    _pair_summary(app, key_path, cert_path, encrypted=False)
