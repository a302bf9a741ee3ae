"""The two validation profiles: what ``salesforce`` accepts (like Salesforce) and ``strict`` refuses."""

from __future__ import annotations

import pytest

from sfbearer.emulator import Emulator, EmulatorConfig
from sfbearer.keys import KeyPair

from .conftest import Org, error_of, make_org

INVALID = (400, "invalid_grant", "invalid assertion")


def _cli_shaped(org: Org) -> str:
    """Signed the way the Salesforce CLI signs: exp in ms, aud = instance URL + '/', no jti/iat."""
    now_ms = int(org.sf.clock.now() * 1000)
    return org.mint(exp=now_ms + 300, aud=org.sf.url + "/", jti=..., iat=...)


def test_salesforce_cli_assertion_accepted_by_salesforce_profile(sf_org: Org) -> None:
    assert sf_org.post(_cli_shaped(sf_org)).status_code == 200


def test_salesforce_cli_assertion_refused_by_strict(strict_org: Org) -> None:
    assert error_of(strict_org.post(_cli_shaped(strict_org))) == INVALID


def test_numeric_string_exp(org: Org) -> None:
    response = org.post(org.mint(exp=str(int(org.sf.clock.now()) + 120)))
    if org.strict:
        assert error_of(response) == INVALID
    else:
        assert response.status_code == 200


def test_exp_equal_to_now_is_within_skew(org: Org) -> None:
    now = int(org.sf.clock.now())
    assert org.post(org.mint(exp=now, iat=now - 1)).status_code == 200


def test_prn_as_legacy_subject(org: Org) -> None:
    response = org.post(org.mint(sub=..., prn=org.username))
    if org.strict:
        assert error_of(response)[1] == "invalid_grant"
    else:
        assert response.status_code == 200


def test_audience_list(org: Org) -> None:
    response = org.post(org.mint(aud=["https://example.com", "https://login.salesforce.com"]))
    if org.strict:
        assert error_of(response) == (400, "invalid_grant", "audience is invalid")
    else:
        assert response.status_code == 200


def test_typ_other_than_jwt(org: Org) -> None:
    response = org.post(org.mint(headers={"typ": "JOSE"}))
    assert (response.status_code == 200) is not org.strict


def test_far_future_exp(org: Org) -> None:
    response = org.post(org.mint(exp=int(org.sf.clock.now()) + 86400, iat=...))
    assert (response.status_code == 200) is not org.strict


@pytest.mark.parametrize(
    "claims",
    [
        {"iat": ...},
        {"jti": ...},
        {"jti": ""},
        {"jti": 42},
        {"iat": "now"},
        {"exp_delta": 181, "iat_delta": 0},
        {"exp_delta": 0, "iat_delta": 0},
        {"exp_delta": 100, "iat_delta": 200},
        {"iat_delta": 400, "exp_delta": 500},
        {"nbf_delta": 600},
        {"nbf": "soon"},
        {"exp_float": True},
    ],
)
def test_strict_claim_rules(strict_org: Org, claims: dict[str, object]) -> None:
    now = int(strict_org.sf.clock.now())
    overrides: dict[str, object] = {}
    if "exp_delta" in claims or "iat_delta" in claims:
        overrides["iat"] = now + int(claims.get("iat_delta", 0))  # type: ignore[call-overload]
        overrides["exp"] = now + int(claims.get("exp_delta", 120))  # type: ignore[call-overload]
    if "nbf_delta" in claims:
        overrides["nbf"] = now + int(claims["nbf_delta"])  # type: ignore[call-overload]
    if claims.get("exp_float"):
        overrides["exp"] = now + 100.5
    overrides.update({k: v for k, v in claims.items() if k in ("iat", "jti", "nbf")})
    assert error_of(strict_org.post(strict_org.mint(**overrides))) == INVALID


def test_strict_nbf_in_the_past_is_fine(strict_org: Org) -> None:
    assert (
        strict_org.post(strict_org.mint(nbf=int(strict_org.sf.clock.now()) - 5)).status_code == 200
    )


def test_strict_jti_replay(strict_org: Org) -> None:
    token = strict_org.mint(jti="once")
    assert strict_org.post(token).status_code == 200
    assert error_of(strict_org.post(token)) == INVALID
    assert error_of(strict_org.post(strict_org.mint(jti="once"))) == INVALID


def test_salesforce_profile_allows_reused_assertion(sf_org: Org) -> None:
    token = sf_org.mint(jti="again")
    assert sf_org.post(token).status_code == 200
    assert sf_org.post(token).status_code == 200


def test_strict_replay_cache_full_rejects_and_frees_after_expiry(key_pair: KeyPair) -> None:
    with Emulator(validation="strict", config=EmulatorConfig(jti_capacity=2)) as sf:
        for org in make_org(sf, key_pair):
            assert org.post(org.mint()).status_code == 200
            assert org.post(org.mint()).status_code == 200
            assert error_of(org.post(org.mint())) == INVALID  # full: refuse, never evict early
            sf.clock.advance(minutes=7)  # the remembered assertions have expired
            assert org.post(org.mint()).status_code == 200


def test_extra_audiences(key_pair: KeyPair) -> None:
    config = EmulatorConfig(extra_audiences=("https://acme.my.salesforce.com",))
    with Emulator(config=config) as sf:
        for org in make_org(sf, key_pair):
            assert org.post(org.mint(aud="https://acme.my.salesforce.com")).status_code == 200
            assert org.post(org.mint(aud="https://acme.my.salesforce.com/")).status_code == 200


def test_clock_skew_is_configurable(key_pair: KeyPair) -> None:
    with Emulator(config=EmulatorConfig(clock_skew=0)) as sf:
        for org in make_org(sf, key_pair):
            now = int(sf.clock.now())
            assert error_of(org.post(org.mint(exp=now - 2)))[2] == "expired authorization code"
