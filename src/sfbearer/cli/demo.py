"""``sfbearer demo``: the whole JWT bearer story, end to end, against the embedded emulator.

Nothing on the machine is touched: without ``--keep`` every artifact lives in a temporary
directory (configuration included) that is removed at the end.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import click

from sfbearer.cli._app import App, global_options, pass_app

T = TypeVar("T")

APP_NAME = "sfbearer-demo"
USERNAME = "integration@demo.sfbearer.example"
PROFILE = "demo"


class _Story:
    """Numbered, timed steps; in ``--json`` mode a list of step records instead of prose."""

    def __init__(self, app: App, total: int) -> None:
        self.app = app
        self.total = total
        self.number = 0
        self.steps: list[dict[str, Any]] = []

    @contextlib.contextmanager
    def step(self, title: str) -> Iterator[dict[str, Any]]:
        self.number += 1
        record: dict[str, Any] = {"step": self.number, "title": title, "details": []}
        started = time.perf_counter()
        yield record
        record["ms"] = round((time.perf_counter() - started) * 1000, 1)
        self.steps.append(record)
        if not self.app.json_mode:
            self.app.out(f"[{self.number}/{self.total}] {title}  ({record['ms']:.0f} ms)")
            for line in record["details"]:
                self.app.out(f"      {line}")


def _timed(fn: Callable[[], T]) -> tuple[T, float]:
    started = time.perf_counter()
    value = fn()
    return value, (time.perf_counter() - started) * 1000


@click.command()
@click.option(
    "--keep",
    "keep",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Keep every artifact (keys, certificate, jwt.txt, profile, emulator state) in DIR.",
)
@global_options
@pass_app
def demo(app: App, keep: Path | None) -> int:
    """Tell the seed's story against the embedded emulator, one timed step at a time.

    Generate a key and certificate, register an External Client App, write a profile, mint
    jwt.txt, exchange it, call the identity URL, query and create records, reuse the cached
    token, heal a forced session expiry with one re-authentication, and show the certificate's
    fingerprint and days left — offline, in seconds.

    \b
    Examples:
      sfbearer demo                          # everything in a temporary directory, removed after
      sfbearer demo --keep ./sfbearer-demo   # keep the keys, jwt.txt, profile and emulator state
      sfbearer demo --json                   # each step's timing, machine-readable

    Exit code: 0 when every step passed, 2 when one failed, 78 when --keep cannot be used.
    """
    if keep is not None:
        try:
            if keep.exists() and any(keep.iterdir()):
                app.abort(
                    f"{keep} exists and is not empty",
                    78,
                    hint="give --keep a new or empty directory",
                )
            keep.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            app.abort(
                f"cannot use {keep} for --keep: {exc.strerror or exc}",
                78,
                hint="give --keep a new or empty directory in a place you can write to",
            )
        return _run(app, keep.resolve(), keep=True)
    with tempfile.TemporaryDirectory(prefix="sfbearer-demo-") as tmp:
        return _run(app, Path(tmp), keep=False)


def _run(app: App, workdir: Path, *, keep: bool) -> int:
    import httpx

    from sfbearer.assertion import decode_assertion, mint_assertion
    from sfbearer.audit import AuditTrail, read_trail
    from sfbearer.client import SalesforceClient
    from sfbearer.config import Profile, load_signer, save_profile
    from sfbearer.credentials import JWTBearerCredentials
    from sfbearer.emulator import Emulator
    from sfbearer.keys import generate_key_pair, load_certificate, write_key_pair

    story = _Story(app, total=11)
    config_file = workdir / "config.toml"
    state_file = workdir / "emulator.db" if keep else None
    audit_file = workdir / "audit.jsonl"
    if not app.json_mode:
        app.out(
            "sfbearer demo: the OAuth 2.0 JWT Bearer Flow, end to end, against a local Salesforce"
        )
        app.out("")

    with story.step("Generate an RSA-2048 key and a self-signed certificate") as s:
        pair = generate_key_pair(key_size=2048, common_name="sfbearer-demo", days=365)
        key_path, cert_path = write_key_pair(pair, workdir / "keys")
        info = load_certificate(cert_path)
        s["details"] += [
            f"private key  {key_path}  (mode {key_path.stat().st_mode & 0o777:04o}, never leaves this machine)",
            f"certificate  {cert_path}  (this is what Salesforce gets)",
        ]

    with contextlib.ExitStack() as stack:
        with story.step("Start the local Salesforce (emulator)") as s:
            sf = stack.enter_context(Emulator(state=state_file))
            s["details"].append(f"listening on {sf.url}  (org {sf.org_id})")

        with story.step("Register an External Client App with the certificate") as s:
            ext_app = sf.add_app(name=APP_NAME, certificate=cert_path, scopes="api,refresh_token")
            sf.add_user(username=USERNAME)
            sf.authorize(app=APP_NAME, user=USERNAME)
            s["details"] += [
                f"app {APP_NAME}: consumer key {ext_app.consumer_key}",
                "scopes api, refresh_token (least privilege); policy: admin-approved users are pre-authorized",
                f"integration user {USERNAME}, pre-authorized",
            ]

        with story.step("Write a profile") as s:
            profile = Profile(
                name=PROFILE,
                client_id=ext_app.consumer_key,
                username=USERNAME,
                environment=sf.url,
                jwt_key_file=str(key_path),
                cert_file=str(cert_path),
                audit=str(audit_file),
            )
            save_profile(profile, force=True, make_default=True, path=config_file)
            s["details"].append(f"profile {PROFILE!r} in {config_file}")
            s["details"].append(profile.env().describe())

        signer = load_signer(profile)
        with story.step("Mint jwt.txt (the assertion, valid for 3 minutes)") as s:
            env = profile.env()
            assertion = mint_assertion(
                signer, client_id=profile.client_id, username=USERNAME, audience=env.audience
            )
            jwt_path = workdir / "jwt.txt"
            fd = os.open(jwt_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(assertion + "\n")
            claims = decode_assertion(assertion, certificate=pair.certificate).claims
            s["details"] += [
                f"{jwt_path}: iss={claims['iss'][:12]}... sub={claims['sub']} aud={claims['aud']}",
                f"exp - iat = {claims['exp'] - claims['iat']} s, RS256, signature verified with the certificate",
            ]

        with story.step("Exchange jwt.txt for an access token (what curl would do)") as s:
            response = httpx.post(
                env.token_url,
                data={
                    "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                    "assertion": assertion,
                },
                timeout=10,
            )
            body = response.json()
            if response.status_code != 200:
                app.abort(f"the emulator refused the assertion: {body.get('error_description')}")
            s["details"] += [
                f"HTTP {response.status_code}: instance_url={body['instance_url']} scope={body['scope']}",
                "(the token itself is never printed; `sfbearer token --show-token` shows it on request)",
            ]

        audit = AuditTrail(audit_file)
        creds = JWTBearerCredentials.from_config(profile, signer=signer, audit=audit)
        with creds, SalesforceClient(creds) as client:
            with story.step("Get a managed token and call the identity URL") as s:
                identity = client.identity()
                s["details"] += [
                    f"signed in as {identity.get('username')} (user {identity.get('user_id')}, org {identity.get('organization_id')})",
                    f"API version {client.api_version}",
                ]

            with story.step("Query and create records") as s:
                created = client.sobject("Account").create({"Name": "Acme (created by the demo)"})
                client.sobject("Contact").create(
                    {"LastName": "Integration", "AccountId": created["id"]}
                )
                rows = list(client.query("SELECT Id, Name FROM Account ORDER BY Name LIMIT 5"))
                org = next(client.query("SELECT Name, IsSandbox FROM Organization"))
                s["details"].append(f"created Account {created['id']} and a Contact")
                s["details"].append(
                    f"Account query returned {len(rows)} row(s): "
                    + ", ".join(r["Name"] for r in rows)
                )
                s["details"].append(f"organization {org['Name']!r}, sandbox={org['IsSandbox']}")

            with story.step("Reuse the cached token") as s:
                before = sf.stats()["token_requests"]["ok"]
                _, ms = _timed(lambda: [client.limits() for _ in range(20)])
                after = sf.stats()["token_requests"]["ok"]
                s["details"].append(
                    f"20 more API calls in {ms:.0f} ms, {after - before} new token request(s)"
                )

            with story.step("Force a session expiry; heal it with one re-authentication") as s:
                before = sf.stats()["token_requests"]["ok"]
                revoked = sf.revoke_sessions()
                rows = list(client.query("SELECT Id FROM Account"))
                after = sf.stats()["token_requests"]["ok"]
                s["details"] += [
                    f"the org revoked {revoked} session(s); the next call got 401 INVALID_SESSION_ID",
                    f"sfbearer re-authenticated {after - before} time(s) and replayed the call: {len(rows)} row(s)",
                ]

        with story.step("Check the certificate") as s:
            s["details"] += [
                f"subject {info.subject}, SHA-256 {info.sha256_fingerprint}",
                f"SHA-1 {info.sha1_fingerprint} (the one Salesforce shows)",
                f"expires {info.not_after:%Y-%m-%d}, {info.days_left} days left",
            ]

        stats = sf.stats()
        port = sf.url.rsplit(":", 1)[1]

    trail = list(read_trail(audit_file))
    if app.json_mode:
        app.json(
            {
                "steps": story.steps,
                "emulator": stats,
                "audit": trail,
                "kept": str(workdir) if keep else None,
            }
        )
        return 0

    app.out("")
    app.out("Audit trail (one line per event; tokens appear only as hashes):")
    for record in trail:
        shown = ("jti", "token_hash", "error")
        fields = " ".join(f"{k}={record[k]}" for k in shown if record.get(k))
        app.out(
            f"  {record.get('ts', '')[11:23]}  {record['event']:<24} {record.get('profile', '')}  {fields}"
        )
    app.out("")
    total = stats["token_requests"]
    app.out(
        f"Done: {total['ok']} token requests (jwt.txt, the managed token, one re-authentication) "
        f"for {stats['api_calls']} API calls; {sum(st['ms'] for st in story.steps) / 1000:.1f} s in all."
    )
    if keep:
        app.out("")
        app.out(f"Everything is kept in {workdir}. To use the profile again:")
        app.out(
            f"  sfbearer emulator serve --state {shlex.quote(str(workdir / 'emulator.db'))} --port {port} &"
        )
        app.out(f"  SFBEARER_CONFIG={shlex.quote(str(config_file))} sfbearer token -p {PROFILE}")
    return 0
