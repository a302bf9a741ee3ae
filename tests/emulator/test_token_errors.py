"""Every error row of SALESFORCE.md §3, produced by setting up its cause, in both profiles."""

from __future__ import annotations

import datetime as dt

import pytest

from sfbearer.keys import KeyPair, make_self_signed_certificate

from .conftest import USERNAME, Org, error_of


def test_success_body_has_salesforce_shape(org: Org) -> None:
    response = org.post(org.mint())
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {
        "access_token",
        "signature",
        "scope",
        "instance_url",
        "id",
        "token_type",
        "issued_at",
    }
    assert body["access_token"].startswith(org.sf.org_id + "!")
    assert body["instance_url"] == org.sf.url
    user = org.sf.ctx.registry.get_user_by_username(org.username)
    assert user is not None
    assert body["id"] == f"{org.sf.url}/id/{org.sf.org_id}/{user.id}"
    assert body["token_type"] == "Bearer"
    assert set(body["scope"].split()) == {"api", "refresh_token"}
    assert body["issued_at"].isdigit()
    assert len(body["issued_at"]) == 13
    assert "refresh_token" not in body
    assert "expires_in" not in body


def test_unknown_consumer_key(org: Org) -> None:
    assert error_of(org.post(org.mint(iss="3MVG9unknownunknownunknown"))) == (
        400, "invalid_client_id", "client identifier invalid")  # fmt: skip


def test_bad_signature(org: Org, other_key_pair: KeyPair) -> None:
    assert error_of(org.post(org.mint(key=other_key_pair.private_key))) == (
        400, "invalid_grant", "invalid assertion")  # fmt: skip


def test_certificate_of_another_key(org: Org, other_key_pair: KeyPair) -> None:
    org.sf.update_app(org.app, certificate=other_key_pair.certificate)  # a cutover
    assert error_of(org.post(org.mint()))[2] == "invalid assertion"


def test_malformed_jwt(org: Org) -> None:
    assert error_of(org.post("not-a-jwt")) == (400, "invalid_grant", "invalid assertion")


def test_wrong_audience_test_vs_login(org: Org) -> None:
    assert error_of(org.post(org.mint(aud="https://test.salesforce.com"))) == (
        400, "invalid_grant", "audience is invalid")  # fmt: skip


def test_sandbox_org_accepts_test_audience(key_pair: KeyPair) -> None:
    from sfbearer.emulator import Emulator

    from .conftest import make_org

    with Emulator(sandbox=True) as sf:
        for o in make_org(sf, key_pair):
            assert o.post(o.mint(aud="https://test.salesforce.com")).status_code == 200
            assert (
                error_of(o.post(o.mint(aud="https://login.salesforce.com")))[2]
                == "audience is invalid"
            )


def test_own_url_is_an_audience(org: Org) -> None:
    assert org.post(org.mint(aud=org.sf.url)).status_code == 200
    assert org.post(org.mint(aud=org.sf.url + "/")).status_code == 200
    assert error_of(org.post(org.mint(aud=org.sf.url + "/x")))[2] == "audience is invalid"


def test_expired(org: Org) -> None:
    now = int(org.sf.clock.now())
    assert error_of(org.post(org.mint(exp=now - 600, iat=now - 700))) == (
        400, "invalid_grant", "expired authorization code")  # fmt: skip


def test_user_not_preauthorized_admin_approved(org: Org) -> None:
    other = "other-" + org.username
    org.sf.add_user(username=other, profile="Standard User")
    assert error_of(org.post(org.mint(sub=other))) == (
        400, "invalid_app_access", "user is not admin approved to access this app")  # fmt: skip


def test_user_not_approved_self_authorized(org: Org) -> None:
    org.sf.update_app(org.app, policy="self-authorized")
    other = "other-" + org.username
    org.sf.add_user(username=other, profile="Standard User")
    assert error_of(org.post(org.mint(sub=other))) == (
        400, "invalid_grant", "user hasn't approved this consumer")  # fmt: skip


def test_unknown_user(org: Org) -> None:
    status, error, _ = error_of(org.post(org.mint(sub="nobody@acme.com")))
    assert (status, error) == (400, "invalid_grant")


@pytest.mark.parametrize("claim", ["iss", "sub", "aud", "jti", "prn"])
def test_a_lone_surrogate_in_a_claim_is_refused_cleanly(org: Org, claim: str) -> None:
    # What json.dumps sends for a broken string: "\udd0b". No user, app or audience has it.
    response = org.post(org.mint(**{claim: "a\udd0bb@acme.com"}))
    assert response.status_code in (200, 400), response.text
    assert response.status_code == 200 or error_of(response)[1] in (
        "invalid_grant", "invalid_client_id")  # fmt: skip
    assert org.post(org.mint()).status_code == 200  # the connection and the org carry on


def test_authorize_by_permission_set_and_by_user(org: Org) -> None:
    ps, one, perm = "ps-" + org.username, "one-" + org.username, "JWT " + org.app
    org.sf.add_user(username=ps, profile="Standard User", permission_sets=(perm,))
    org.sf.add_user(username=one, profile="Standard User")
    assert org.post(org.mint(sub=ps)).status_code == 400
    assert org.post(org.mint(sub=one)).status_code == 400
    org.sf.authorize(app=org.app, permission_set=perm)
    org.sf.authorize(app=org.app, user=one)
    assert org.post(org.mint(sub=ps)).status_code == 200
    assert org.post(org.mint(sub=one)).status_code == 200


def test_app_without_refresh_token_scope(org: Org) -> None:
    org.sf.update_app(org.app, scopes="api")
    assert error_of(org.post(org.mint())) == (
        400, "invalid_request",
        "refresh_token scope is required and the connected app should be installed and preauthorized.",
    )  # fmt: skip


def test_inactive_user(org: Org) -> None:
    org.sf.update_user(org.username, active=False)
    assert error_of(org.post(org.mint())) == (400, "invalid_grant", "authentication failure")


def test_app_not_installed(org: Org) -> None:
    org.sf.update_app(org.app, installed=False)
    assert error_of(org.post(org.mint())) == (
        400, "app_not_found", "External client app is not installed in this org")  # fmt: skip


def test_login_rate_limit(org: Org) -> None:
    from dataclasses import replace

    org.sf.ctx.config = replace(org.sf.ctx.config, login_rate_limit=3)
    for _ in range(3):
        assert org.post(org.mint()).status_code == 200
    assert error_of(org.post(org.mint())) == (400, "invalid_grant", "login rate exceeded")
    org.sf.clock.advance(minutes=61)  # the rolling hour has passed
    assert org.post(org.mint()).status_code == 200


def test_login_rate_exhausted_by_fault(org: Org) -> None:
    org.sf.faults.update(login_rate_exhausted=True)
    assert error_of(org.post(org.mint()))[2] == "login rate exceeded"


def test_ip_restricted_by_fault(org: Org) -> None:
    org.sf.faults.update(ip_restricted=True)
    assert error_of(org.post(org.mint())) == (
        400, "invalid_grant", "IP restricted or invalid login hours")  # fmt: skip


def test_expired_certificate_rejected_by_default(org: Org, key_pair: KeyPair) -> None:
    old = make_self_signed_certificate(
        key_pair.private_key, days=1, now=dt.datetime.now(dt.UTC) - dt.timedelta(days=10)
    )
    org.sf.update_app(org.app, certificate=old)
    assert error_of(org.post(org.mint()))[2] == "invalid assertion"


def test_expired_certificate_accepted_when_configured(key_pair: KeyPair) -> None:
    from sfbearer.emulator import Emulator, EmulatorConfig

    from .conftest import make_org

    old = make_self_signed_certificate(
        key_pair.private_key, days=1, now=dt.datetime.now(dt.UTC) - dt.timedelta(days=10)
    )
    with Emulator(config=EmulatorConfig(expired_certificate="accept")) as sf:
        for o in make_org(sf, key_pair):
            sf.update_app(o.app, certificate=old)
            assert o.post(o.mint()).status_code == 200


def test_check_order_iss_before_signature_before_audience(
    org: Org, other_key_pair: KeyPair
) -> None:
    bad_everything = org.mint(key=other_key_pair.private_key, iss="3MVG9nope", aud="x", exp=1)
    assert error_of(org.post(bad_everything))[1] == "invalid_client_id"
    bad_sig_aud = org.mint(key=other_key_pair.private_key, aud="x", exp=1)
    assert error_of(org.post(bad_sig_aud))[2] == "invalid assertion"
    bad_aud_exp = org.mint(aud="x", exp=1)
    assert error_of(org.post(bad_aud_exp))[2] == "audience is invalid"


def test_counters(fresh_org: Org) -> None:
    org = fresh_org
    org.post(org.mint())
    org.post(org.mint(aud="nope"))
    org.post(org.mint(sub="nobody@acme.com"))
    org.post(org.mint(iss="3MVG9nobody-nobody-nobody"))
    stats = org.sf.stats()["token_requests"]
    assert (stats["ok"], stats["failed"]) == (1, 3)
    assert stats["by_app"] == {"ci": 3}
    assert stats["by_user"] == {USERNAME: 1}
    assert org.sf.stats()["active_sessions"] == 1
