"""Certificate rotation: make the next key and certificate, then switch a profile to them.

An External Client App holds ONE certificate, so replacing it is a cutover. Rotation is
therefore two steps with the Salesforce change in between:

1. :func:`rotate` makes the next key pair *beside* the current one (dated file names, or a
   new object in the same PKCS#11 token, or a KMS key the user names) without touching the
   current pair, and records it in the profile as ``next_jwt_key_file`` / ``next_cert_file``.
   The returned :class:`RotationPlan` spells out both ways to roll over.
2. :func:`promote_pending` switches the profile to the pending pair (and, for the
   zero-downtime plan, to the second app's consumer key). The replaced pair is recorded as
   ``previous_*``; no file is ever deleted or renamed.

Example:
    >>> plan = rotate("prod", days=365)  # doctest: +SKIP
    >>> print(plan.next.certificate)  # doctest: +SKIP
    /etc/sfbearer/prod/server-20261201.crt
    >>> promote_pending("prod")  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sfbearer._exceptions import CertificateError, ProfileError
from sfbearer._rotation_keys import (
    PendingPair,
    current_key_size,
    make_file_pair,
    make_signer_pair,
    next_names,
    passphrase_for_new_key,
    target_directory,
)
from sfbearer._rotation_plan import cutover_steps, zero_downtime_steps

if TYPE_CHECKING:
    from sfbearer.config import Profile
    from sfbearer.doctor import Check

__all__ = [
    "PendingPair",
    "Promotion",
    "RotationPlan",
    "check_pending",
    "next_names",
    "pending_pair",
    "promote_pending",
    "rotate",
]


@dataclass(frozen=True, slots=True)
class RotationPlan:
    """What :func:`rotate` made, and the two ways to roll over to it.

    Attributes:
        profile: the profile as saved (with ``next_*`` set).
        current_key: where the key in use comes from (never the key itself).
        current_certificate: the certificate in use, when known.
        next: the pending pair.
        cutover: the steps of plan (a): replace the app's certificate, promote at once.
        zero_downtime: the steps of plan (b): a second app, promote, retire the old app.
        replaced_pending: a pending pair this rotation replaced (its files are kept).
    """

    profile: Profile
    current_key: str
    current_certificate: Path | None
    next: PendingPair
    cutover: tuple[str, ...]
    zero_downtime: tuple[str, ...]
    replaced_pending: tuple[str, str] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "profile": self.profile.name,
            "current": {
                "key": self.current_key,
                "certificate": str(self.current_certificate) if self.current_certificate else None,
                "client_id": self.profile.client_id,
            },
            "next": self.next.as_dict(),
            "plans": {"cutover": list(self.cutover), "zero_downtime": list(self.zero_downtime)},
            "replaced_pending": list(self.replaced_pending) if self.replaced_pending else None,
        }


@dataclass(frozen=True, slots=True)
class Promotion:
    """What :func:`promote_pending` switched.

    Attributes:
        profile: the profile as saved.
        previous_key: the key it used before (kept, recorded as ``previous_jwt_key_file``).
        previous_certificate: that key's certificate.
        previous_client_id: the consumer key before, when ``client_id`` changed it.
    """

    profile: Profile
    previous_key: str | None
    previous_certificate: str | None
    previous_client_id: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "profile": self.profile.name,
            "key": self.profile.jwt_key_file,
            "certificate": self.profile.cert_file,
            "client_id": self.profile.client_id,
            "previous_key": self.previous_key,
            "previous_certificate": self.previous_certificate,
            "previous_client_id": self.previous_client_id,
        }


def pending_pair(profile: Profile) -> PendingPair | None:
    """The profile's pending pair (from ``next_*``), or None when nothing is pending."""
    if not profile.next_jwt_key_file:
        return None
    from sfbearer.keys import load_certificate

    cert = Path(profile.next_cert_file or "").expanduser()
    info = None
    if profile.next_cert_file:
        try:
            info = load_certificate(cert)
        except CertificateError:
            info = None
    return PendingPair(key=profile.next_jwt_key_file, certificate=cert, info=info)


def rotate(
    name: str | None = None,
    *,
    days: int = 365,
    key_size: int | None = None,
    signer_uri: str | None = None,
    out_dir: str | os.PathLike[str] | None = None,
    passphrase: str | None = None,
    replace_pending: bool = False,
    now: dt.datetime | None = None,
    path: str | os.PathLike[str] | None = None,
) -> RotationPlan:
    """Make the next key and certificate of profile ``name`` and record them as pending.

    The current pair is not touched. File keys get dated names beside the current key
    (``server.key`` → ``server-20261201.key`` + ``.crt``, created 0600 / 0644, never
    overwriting); a ``pkcs11:`` key gets a new object in the same token; a KMS key must be
    created by the user and named with ``signer_uri``.

    Args:
        name: the profile (None: the default one).
        days: the new certificate's validity.
        key_size: RSA bits (default: the current certificate's key size, else 2048).
        signer_uri: make (PKCS#11) or use (KMS, or an existing PKCS#11 object) this key.
        out_dir: where the new files go (default: beside the current ones).
        passphrase: the current key's passphrase, when no source in the profile gives it.
        replace_pending: make a new pair even when one is pending (the old pending files
            are kept on disk).
        now: the current time (injectable; names and validity start from it).
        path: the configuration file (default: the usual one).

    Raises:
        ProfileError: no such profile, or a pair is already pending.
        KeyFileError, SignerError, CertificateError: the new pair cannot be made.
    """
    from sfbearer.config import get_profile, save_profile

    profile = get_profile(name, path=path)
    at = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    replaced: tuple[str, str] | None = None
    if profile.next_jwt_key_file:
        if not replace_pending:
            raise ProfileError(
                f"profile {profile.name!r} already has a pending key: {profile.next_jwt_key_file}",
                hint=f"switch to it (sfbearer certs promote -p {profile.name}), or make "
                "another one with --replace-pending",
            )
        replaced = (profile.next_jwt_key_file, profile.next_cert_file or "")
    size = key_size or current_key_size(profile)
    use_signer = bool(signer_uri) or profile.uses_signer_uri
    directory = target_directory(profile, out_dir, use_signer)
    if use_signer:
        pair = make_signer_pair(
            profile, directory, signer_uri=signer_uri, days=days, key_size=size, now=at
        )
    else:
        secret = passphrase_for_new_key(profile, passphrase)
        pair = make_file_pair(
            profile, directory, days=days, key_size=size, passphrase=secret, now=at
        )
    saved = replace(profile, next_jwt_key_file=pair.key, next_cert_file=str(pair.certificate))
    save_profile(saved, force=True, path=path)
    return RotationPlan(
        profile=saved,
        current_key=profile.key_source(),
        current_certificate=profile.certificate_path(),
        next=pair,
        cutover=cutover_steps(saved, pair),
        zero_downtime=zero_downtime_steps(saved, pair),
        replaced_pending=replaced,
    )


def promote_pending(
    name: str | None = None,
    *,
    client_id: str | None = None,
    path: str | os.PathLike[str] | None = None,
) -> Promotion:
    """Switch profile ``name`` to its pending pair (and to ``client_id`` when given).

    The replaced key, certificate and (when it changes) consumer key are recorded as
    ``previous_*``; their files are kept.

    Raises:
        ProfileError: no such profile, nothing pending, or the pending files are gone.
    """
    from sfbearer.config import get_profile, save_profile

    profile = get_profile(name, path=path)
    pair = pending_pair(profile)
    if pair is None:
        raise ProfileError(
            f"profile {profile.name!r} has no pending key to promote",
            hint=f"make one first: sfbearer certs rotate -p {profile.name}",
        )
    if not pair.key.startswith(("pkcs11:", "awskms:")) and not Path(pair.key).expanduser().exists():
        raise ProfileError(
            f"the pending key {pair.key} does not exist any more",
            hint=f"make a new pair: sfbearer certs rotate -p {profile.name} --replace-pending",
        )
    if pair.info is None:
        raise ProfileError(
            f"the pending certificate {pair.certificate} cannot be read",
            hint=f"make a new pair: sfbearer certs rotate -p {profile.name} --replace-pending",
        )
    new_client = client_id.strip() if client_id else None
    if client_id is not None and not new_client:
        raise ProfileError("the new client id is empty", hint="give the new app's consumer key")
    previous_cert = profile.certificate_path()
    changed_client = new_client is not None and new_client != profile.client_id
    saved = replace(
        profile,
        jwt_key_file=pair.key,
        jwt_key_env=None,
        cert_file=str(pair.certificate),
        client_id=new_client or profile.client_id,
        next_jwt_key_file=None,
        next_cert_file=None,
        previous_jwt_key_file=profile.jwt_key_file,
        previous_cert_file=str(previous_cert) if previous_cert else None,
        previous_client_id=profile.client_id if changed_client else None,
    )
    save_profile(saved, force=True, path=path)
    return Promotion(
        profile=saved,
        previous_key=profile.key_source(),
        previous_certificate=str(previous_cert) if previous_cert else None,
        previous_client_id=profile.client_id if changed_client else None,
    )


def check_pending(
    name: str | None = None, *, client_id: str | None = None, http: Any = None
) -> Iterator[Check]:
    """Run ``doctor`` with the pending pair (and ``client_id``) in place of the current ones.

    Nothing is saved: this is what ``sfbearer certs promote --check`` runs before switching.

    Raises:
        ProfileError: no such profile, or nothing pending.
    """
    from sfbearer.config import get_profile
    from sfbearer.doctor import run_doctor

    profile = get_profile(name)
    pair = pending_pair(profile)
    if pair is None:
        raise ProfileError(
            f"profile {profile.name!r} has no pending key to check",
            hint=f"make one first: sfbearer certs rotate -p {profile.name}",
        )
    overrides: Mapping[str, object] = {
        "jwt_key_file": pair.key,
        "cert_file": str(pair.certificate),
        "client_id": client_id,
        # A key given as an override drops the profile's passphrase source (it belonged to
        # the other key); the next key was made with the same passphrase, so keep it.
        "passphrase_env": profile.passphrase_env,
        "passphrase_file": profile.passphrase_file,
    }
    return run_doctor(profile.name, overrides=overrides, http=http)
