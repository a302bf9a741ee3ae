"""The words of a roll-over plan: the steps of each option, with the exact values to use.

Kept apart from :mod:`sfbearer.rotation` (which makes keys and edits profiles): these are
pure functions of the profile and the pending pair, so the text can be tested on its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sfbearer.config import Profile
    from sfbearer.rotation import PendingPair

__all__ = ["cutover_steps", "zero_downtime_steps"]


def _fingerprint(pair: PendingPair) -> str:
    return f" (SHA-1 {pair.info.sha1_fingerprint})" if pair.info else ""


def cutover_steps(profile: Profile, pair: PendingPair) -> tuple[str, ...]:
    """Plan (a): replace the one certificate of the app, then promote at once."""
    p = profile.name
    return (
        f"In Salesforce Setup > External Client App Manager > the app of consumer key "
        f"{profile.client_id[:12]}... > Edit Settings > OAuth Settings, replace the "
        f"certificate with {pair.certificate}{_fingerprint(pair)} and save "
        "(or deploy the app's metadata again: sfbearer app manifest --name APP --force --cert "
        f"{pair.certificate} ..., then sf project deploy start).",
        f"At once: sfbearer certs promote -p {p}",
        "Between the save and the promotion, new logins with the old key fail with "
        "invalid_grant (sessions already open keep working until they expire): script "
        "the two steps so the window is seconds long, and restart or reload every process "
        f"that read profile {p!r}.",
        f"Check: sfbearer doctor -p {p}",
    )


def zero_downtime_steps(profile: Profile, pair: PendingPair) -> tuple[str, ...]:
    """Plan (b): a second app with the new certificate, switch once doctor passes, retire."""
    p = profile.name
    return (
        f"Create a second External Client App with the certificate {pair.certificate}"
        f"{_fingerprint(pair)}, the same OAuth scopes and the policy 'Admin approved users "
        f"are pre-authorized' (sfbearer app manifest --name NEW_APP --cert {pair.certificate} "
        "..., then sf project deploy start; or by hand: sfbearer app checklist --cert "
        f"{pair.certificate}).",
        f"Pre-authorize {profile.username} on it: assign the same profile or permission set "
        "as on the current app.",
        "Copy the new app's consumer key, then switch once doctor passes with it: "
        f"sfbearer certs promote -p {p} --client-id NEW_CONSUMER_KEY --check",
        f"Restart or reload every process that read profile {p!r}; both apps work meanwhile, "
        f"so no call fails. Watch sfbearer audit tail -p {p} until no token is issued with "
        f"the old consumer key {profile.client_id[:12]}...",
        "Retire the old app (disable its OAuth policies or uninstall it); the old key stays "
        "on disk, recorded as previous_jwt_key_file, until you delete it.",
    )
