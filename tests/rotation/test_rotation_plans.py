"""Both roll-over plans carried out end to end against the emulator, with callers running.

(a) cutover: the app's one certificate is replaced, then the profile is promoted at once;
    only logins between the two steps fail, and sessions already open keep working.
(b) zero downtime: a second app holds the new certificate; the profile switches to it once
    doctor passes; the old app is retired; not one API call fails in the whole run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from sfbearer._exceptions import SfBearerError, TokenRequestError
from sfbearer.client import SalesforceClient
from sfbearer.config import Profile, get_profile
from sfbearer.credentials import JWTBearerCredentials
from sfbearer.rotation import rotate

from .conftest import APP, PERMISSION_SET, Org, RunCli

_WAIT = 20.0  # seconds: an upper bound for a condition, never a sleep


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + _WAIT
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


@dataclass
class Attempt:
    started: float
    ended: float
    client_id: str
    key: str
    error: str | None


class Caller(threading.Thread):
    """A process using profile ``prod`` in a loop, re-reading the profile between calls
    (as a service reloading its configuration does).

    ``fresh_login``: every iteration logs in anew (what a new process does); otherwise one
    client is kept per (client id, key) and makes REST calls with its cached token.
    """

    def __init__(self, *, fresh_login: bool) -> None:
        super().__init__(daemon=True)
        self.fresh_login = fresh_login
        self.attempts: list[Attempt] = []
        self.stop = threading.Event()

    def run(self) -> None:
        current: tuple[str, str] | None = None
        client: SalesforceClient | None = None
        try:
            while not self.stop.is_set():
                profile = get_profile("prod")
                which = (profile.client_id, profile.jwt_key_file or "")
                started = time.monotonic()
                error = None
                try:
                    if self.fresh_login:
                        with JWTBearerCredentials.from_config(profile) as creds:
                            creds.token()
                    else:
                        if which != current or client is None:
                            if client is not None:
                                client.close()
                                client.credentials.close()
                            client = SalesforceClient(JWTBearerCredentials.from_config(profile))
                            current = which
                        list(client.query("SELECT Id, Name FROM Account LIMIT 1"))
                        client.limits()
                except TokenRequestError as exc:
                    error = f"{exc.error}: {exc.description}"
                except SfBearerError as exc:
                    error = f"{type(exc).__name__}: {exc}"
                self.attempts.append(Attempt(started, time.monotonic(), *which, error))
        finally:
            if client is not None:
                client.close()
                client.credentials.close()

    def count(self, *, since: float = 0.0, client_id: str | None = None, ok: bool = True) -> int:
        return sum(
            1
            for a in list(self.attempts)
            if a.started >= since
            and (client_id is None or a.client_id == client_id)
            and (a.error is None) == ok
        )


def test_cutover_only_logins_between_upload_and_promote_fail(
    org: Org, prod: Profile, run_cli: RunCli
) -> None:
    sf = org.sf
    plan = rotate("prod", days=30)
    # A session opened before the upload: Salesforce does not end sessions when the
    # certificate changes, so this client must keep working through the window.
    early = JWTBearerCredentials.from_config(get_profile("prod"))
    with early, SalesforceClient(early) as open_session:
        open_session.limits()
        logins = Caller(fresh_login=True)
        logins.start()
        try:
            _wait_for(lambda: logins.count() >= 3, "logins before the upload")
            uploaded = time.monotonic()
            sf.update_app(APP, certificate=plan.next.certificate)
            _wait_for(lambda: logins.count(ok=False) >= 2, "logins failing in the window")
            assert open_session.limits()["DailyApiRequests"]["Max"] > 0
            result = run_cli("certs", "promote", "-p", "prod")
            promoted = time.monotonic()
            assert result.code == 0, result
            _wait_for(lambda: logins.count(since=promoted) >= 3, "logins after promote")
        finally:
            logins.stop.set()
            logins.join(timeout=_WAIT)
        open_session.limits()

    attempts = logins.attempts
    failures = [a for a in attempts if a.error is not None]
    assert failures, "the window must show (the app held the new certificate before promote)"
    for a in failures:
        # Only the window fails: every failure overlaps [upload, promote], with the old key.
        assert a.ended >= uploaded, a
        assert a.started <= promoted, a
        assert a.key == str(org.key)
        assert (a.error or "").startswith("invalid_grant"), a
    assert all(a.error is None for a in attempts if a.ended < uploaded)
    assert all(a.error is None for a in attempts if a.started > promoted)
    assert any(a.key == plan.next.key for a in attempts if a.error is None)
    # The window is measured in seconds (here: as long as the CLI took to switch).
    assert promoted - uploaded < 10.0


def test_zero_downtime_no_call_fails(org: Org, prod: Profile, run_cli: RunCli) -> None:
    sf = org.sf
    caller = Caller(fresh_login=False)
    caller.start()
    try:
        _wait_for(lambda: caller.count() >= 5, "calls with the old app")
        plan = rotate("prod")
        new_app = sf.add_app(name="Acme_Sync_2027", certificate=plan.next.certificate)
        # Before the user is pre-authorized on the new app, --check refuses to switch.
        refused = run_cli("certs", "promote", "-p", "prod", "-i", new_app.consumer_key, "--check")
        assert refused.code == 2, refused
        assert "nothing was switched" in refused.stderr
        assert get_profile("prod").client_id == org.consumer_key
        sf.authorize(app="Acme_Sync_2027", permission_set=PERMISSION_SET)
        result = run_cli("certs", "promote", "-p", "prod", "-i", new_app.consumer_key, "--check")
        assert result.code == 0, result
        _wait_for(
            lambda: caller.count(client_id=new_app.consumer_key) >= 5, "calls with the new app"
        )
        retired = time.monotonic()
        sf.update_app(APP, installed=False)
        _wait_for(lambda: caller.count(since=retired) >= 5, "calls after the old app retired")
    finally:
        caller.stop.set()
        caller.join(timeout=_WAIT)

    assert [a for a in caller.attempts if a.error is not None] == []
    used = {a.client_id for a in caller.attempts}
    assert used == {org.consumer_key, new_app.consumer_key}
    assert all(a.client_id == new_app.consumer_key for a in caller.attempts if a.started > retired)
    saved = get_profile("prod")
    assert (saved.client_id, saved.jwt_key_file) == (new_app.consumer_key, plan.next.key)
    assert saved.previous_client_id == org.consumer_key
    assert saved.previous_jwt_key_file == str(org.key)
    assert org.key.exists()
    assert org.cert.exists()
    # The retired app really is retired: a login with the old settings now fails.
    old = get_profile("prod")
    old_creds = JWTBearerCredentials.from_config(
        Profile(
            name="old",
            client_id=org.consumer_key,
            username=old.username,
            environment=old.environment,
            jwt_key_file=str(org.key),
        )
    )
    with old_creds, pytest.raises(TokenRequestError) as refused:
        old_creds.token()
    assert refused.value.error in ("app_not_found", "invalid_app_access", "invalid_grant")
