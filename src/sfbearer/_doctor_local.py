"""``doctor``'s local checks: the profile's key, signer, certificate and environment.

Nothing here talks to the network; :mod:`sfbearer.doctor` runs these first, then the
checks that need the login host.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from sfbearer._exceptions import ConfigError, SfBearerError
from sfbearer.config import Profile, load_signer
from sfbearer.environments import (
    LOGIN_URL,
    TEST_URL,
    Environment,
    is_loopback_host,
    looks_like_sandbox_username,
)
from sfbearer.signers import Signer

__all__ = ["Check", "Status", "environment_checks", "key_checks", "signer_checks"]

Status = Literal["ok", "warn", "fail", "unreachable", "skip"]
_CERT_WARN_DAYS = 30


@dataclass(frozen=True, slots=True)
class Check:
    """One finding of ``doctor``.

    Attributes:
        name: what was checked (``configuration``, ``key``, ``certificate``, ``environment``,
            ``clock``, ``token``, ``identity``, ``scopes``, ``limits``...).
        status: ``ok``, ``warn``, ``fail``, ``unreachable`` or ``skip``.
        message: one line for a person (never a secret).
        hint: the cause and the fix, when something is wrong.
        data: machine-readable details for ``--json``.
    """

    name: str
    status: Status
    message: str
    hint: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "check": self.name,
            "status": self.status,
            "message": self.message,
            "hint": self.hint,
            **({"data": dict(self.data)} if self.data else {}),
        }


def key_checks(
    profile: Profile, now: dt.datetime, *, passphrase: str | None = None
) -> Iterator[Check]:
    """Key file permissions, type and size; certificate validity and match (via keycheck)."""
    from sfbearer.keycheck import check_key_files

    cert_path = profile.certificate_path()
    if profile.jwt_key_file and not profile.uses_signer_uri and cert_path is not None:
        passphrase = passphrase or _passphrase(profile)
        names = {"permissions": "key file", "key": "key", "certificate": "certificate"}
        for finding in check_key_files(
            profile.jwt_key_file, cert_path, passphrase=passphrase, now=now
        ):
            status: Status = {"ok": "ok", "warn": "warn"}.get(finding.status, "fail")  # type: ignore[assignment]
            yield Check(
                names.get(finding.check, f"certificate {finding.check}"),
                status,
                finding.message,
                # keycheck is generic; here the profile is known, so its advice can name it
                finding.hint.replace("-p PROFILE", f"-p {profile.name}")
                if profile.name
                else finding.hint,
            )


def _passphrase(profile: Profile) -> str | None:
    from sfbearer._key_source import _passphrase as resolve

    try:
        return resolve(profile, None)
    except ConfigError:
        return None


def signer_checks(
    profile: Profile,
    now: dt.datetime,
    *,
    passphrase: str | None = None,
    pin: str | None = None,
) -> Iterator[Check | Signer]:
    """Load the signer and prove it answers; check the certificate against its public key."""
    from sfbearer.keys import key_matches_certificate, load_certificate, verify_rs256

    try:
        signer = load_signer(profile, passphrase=passphrase, pin=pin)
    except SfBearerError as exc:
        yield Check("signer", "fail", str(exc), exc.hint)
        return
    probe = b"sfbearer doctor probe"
    try:
        ok = verify_rs256(signer.public_key(), probe, signer.sign(probe))
    except SfBearerError as exc:
        yield Check("signer", "fail", f"the signer did not sign: {exc}", exc.hint)
        return
    if not ok:
        yield Check(
            "signer", "fail", "the signer's signature does not verify with its own public key"
        )
        return
    yield Check("signer", "ok", f"{profile.key_source()} signs RS256 (key {signer.key_id[:23]}...)")
    cert_path = profile.certificate_path()
    if profile.uses_signer_uri or profile.jwt_key_env:
        if cert_path is None:
            yield Check(
                "certificate",
                "warn",
                "no certificate configured; cannot check it",
                "set cert_file in the profile",
            )
        else:
            try:
                info = load_certificate(cert_path)
            except SfBearerError as exc:
                yield Check("certificate", "fail", str(exc), exc.hint)
            else:
                days = info.days_left_at(now)
                if not key_matches_certificate(signer.public_key(), info.certificate):
                    yield Check(
                        "certificate match",
                        "fail",
                        f"{cert_path} does not belong to the key",
                        "upload the certificate made for this key (sfbearer keys new / certs rotate)",
                    )
                elif days < 0:
                    yield Check(
                        "certificate validity",
                        "fail",
                        f"{cert_path} expired {-days} days ago",
                        "rotate: sfbearer certs rotate",
                    )
                else:
                    status: Status = "warn" if days < _CERT_WARN_DAYS else "ok"
                    yield Check("certificate validity", status, f"{info.subject}: {days} days left")
    yield signer


def environment_checks(profile: Profile, env: Environment) -> Iterator[Check]:
    notes: list[str] = []
    status: Status = "ok"
    hint = ""
    if looks_like_sandbox_username(profile.username) and env.audience == LOGIN_URL:
        status, hint = (
            "warn",
            "a sandbox username (…@acme.com.uat) logs in with --environment sandbox or the sandbox My Domain",
        )
        notes.append(f"{profile.username} looks like a sandbox username but aud is {LOGIN_URL}")
    host = env.base_url.split("://", 1)[1].split("/", 1)[0].split(":")[0].lower()
    if host.endswith(".sandbox.my.salesforce.com") and env.audience not in (TEST_URL, env.base_url):
        status, hint = "warn", f"a sandbox My Domain expects aud {TEST_URL} (or the My Domain URL)"
        notes.append(f"aud {env.audience} for a sandbox My Domain")
    if host == "test.salesforce.com" and env.audience == LOGIN_URL:
        status, hint = (
            "warn",
            "POST and aud disagree: use test.salesforce.com for both in a sandbox",
        )
        notes.append("POST to test.salesforce.com with a production aud")
    if env.base_url.startswith("http://") and not is_loopback_host(host):
        status, hint = "fail", "use https://"
        notes.append("plain http outside loopback")
    message = env.describe() + (": " + "; ".join(notes) if notes else "")
    yield Check(
        "environment", status, message, hint, {"token_url": env.token_url, "audience": env.audience}
    )
