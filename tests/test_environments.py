"""environments: token URL and audience rules, host rules, sandbox-looking usernames."""

from __future__ import annotations

import pytest

from sfbearer import EnvironmentConfigError
from sfbearer.environments import (
    LOGIN_URL,
    TEST_URL,
    Environment,
    check_url,
    is_loopback_host,
    is_salesforce_host,
    looks_like_sandbox_username,
)


@pytest.mark.parametrize(
    ("value", "kind", "token_url", "audience"),
    [
        ("production", "production", f"{LOGIN_URL}/services/oauth2/token", LOGIN_URL),
        ("PROD", "production", f"{LOGIN_URL}/services/oauth2/token", LOGIN_URL),
        ("sandbox", "sandbox", f"{TEST_URL}/services/oauth2/token", TEST_URL),
        (
            "https://login.salesforce.com",
            "production",
            f"{LOGIN_URL}/services/oauth2/token",
            LOGIN_URL,
        ),
        ("https://test.salesforce.com/", "sandbox", f"{TEST_URL}/services/oauth2/token", TEST_URL),
        (
            "https://acme.my.salesforce.com",
            "my-domain",
            "https://acme.my.salesforce.com/services/oauth2/token",
            LOGIN_URL,
        ),
        (
            "https://ACME.my.salesforce.com/services/oauth2/token",
            "my-domain",
            "https://acme.my.salesforce.com/services/oauth2/token",
            LOGIN_URL,
        ),
        (
            "https://acme--uat.sandbox.my.salesforce.com",
            "my-domain",
            "https://acme--uat.sandbox.my.salesforce.com/services/oauth2/token",
            TEST_URL,
        ),
        (
            "https://acme.my.site.com/partners",
            "site",
            "https://acme.my.site.com/partners/services/oauth2/token",
            "https://acme.my.site.com/partners",
        ),
        (
            "https://acme.force.com/customers/",
            "site",
            "https://acme.force.com/customers/services/oauth2/token",
            "https://acme.force.com/customers",
        ),
        (
            "http://127.0.0.1:8555",
            "custom",
            "http://127.0.0.1:8555/services/oauth2/token",
            "http://127.0.0.1:8555",
        ),
        (
            "http://localhost:8555/",
            "custom",
            "http://localhost:8555/services/oauth2/token",
            "http://localhost:8555",
        ),
        (
            "http://[::1]:8555",
            "custom",
            "http://[::1]:8555/services/oauth2/token",
            "http://[::1]:8555",
        ),
    ],
)
def test_parse_audience_rules(value: str, kind: str, token_url: str, audience: str) -> None:
    env = Environment.parse(value)
    assert (env.kind, env.token_url, env.audience) == (kind, token_url, audience)


def test_token_url_and_audience_are_separate() -> None:
    env = Environment.parse("https://acme.my.salesforce.com")
    assert env.token_url.startswith("https://acme.my.salesforce.com")
    assert env.audience == LOGIN_URL


@pytest.mark.parametrize(
    "value",
    ["production", "sandbox", "https://acme.my.salesforce.com", "http://127.0.0.1:8555"],
)
def test_audience_override_always_wins(value: str) -> None:
    env = Environment.parse(value, audience=" https://acme.my.salesforce.com ")
    assert env.audience == "https://acme.my.salesforce.com"
    assert env.token_url == Environment.parse(value).token_url


def test_blank_audience_override_is_ignored() -> None:
    assert Environment.parse("sandbox", audience="  ").audience == TEST_URL


def test_constructors() -> None:
    assert Environment.production().audience == LOGIN_URL
    assert Environment.sandbox().is_sandbox
    assert not Environment.production().is_sandbox
    md = Environment.my_domain("acme")
    assert md.token_url == "https://acme.my.salesforce.com/services/oauth2/token"
    assert md.audience == LOGIN_URL
    sb = Environment.my_domain("acme--uat", sandbox=True)
    assert sb.base_url == "https://acme--uat.sandbox.my.salesforce.com"
    assert sb.audience == TEST_URL
    site = Environment.site("https://acme.my.site.com/partners")
    assert site.audience == site.base_url == "https://acme.my.site.com/partners"
    custom = Environment.custom(
        token_url="https://auth.example.org/services/oauth2/token",
        audience=LOGIN_URL,
        allow_hosts=["auth.example.org"],
    )
    assert custom.base_url == "https://auth.example.org"
    assert custom.audience == LOGIN_URL
    assert Environment.parse("http://127.0.0.1:9").is_loopback
    assert "POST" in Environment.production().describe()


@pytest.mark.parametrize("name", ["", "a.b", "acme/x", "acme:1", "a@b", "a b", "x" * 81])
def test_my_domain_bad_names(name: str) -> None:
    with pytest.raises(EnvironmentConfigError):
        Environment.my_domain(name)


def test_custom_empty_audience() -> None:
    with pytest.raises(EnvironmentConfigError, match="audience is empty"):
        Environment.custom(token_url=f"{LOGIN_URL}/services/oauth2/token", audience=" ")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://login.salesforce.com", "plain http"),
        ("http://acme.my.salesforce.com", "plain http"),
        ("http://10.0.0.1:8555", "plain http"),
        ("https://example.com", "not a Salesforce host"),
        ("https://login.salesforce.com.evil.com", "not a Salesforce host"),
        ("https://evilsalesforce.com", "not a Salesforce host"),
        ("https://salesforce.com.evil.com/services/oauth2/token", "not a Salesforce host"),
        ("https://login.salesforce.com@evil.com", "credentials"),
        ("https://user:pw@login.salesforce.com", "credentials"),
        ("https://login.salesforce.com/?next=evil", "query"),
        ("https://login.salesforce.com/#frag", "query or fragment"),
        ("https://evil.com%2f.salesforce.com", "invalid host"),
        ("ftp://login.salesforce.com", "https://"),
        ("login.salesforce.com", "unknown environment"),
        ("https://", "https://"),
        ("https://login.salesforce.com:notaport", "not a valid URL"),
        ("", "unknown environment|empty"),
        ("staging", "unknown environment"),
    ],
)
def test_host_rules_refuse(url: str, message: str) -> None:
    with pytest.raises(EnvironmentConfigError, match=message):
        Environment.parse(url)


def test_allow_host_admits_a_named_https_host_only() -> None:
    env = Environment.parse("https://sso.example.org", allow_hosts=["SSO.example.org"])
    assert env.token_url == "https://sso.example.org/services/oauth2/token"
    assert env.allow_hosts == ("SSO.example.org",)
    with pytest.raises(EnvironmentConfigError, match="plain http"):
        Environment.parse("http://sso.example.org", allow_hosts=["sso.example.org"])
    with pytest.raises(EnvironmentConfigError, match="not a Salesforce host") as info:
        Environment.parse("https://other.example.org", allow_hosts=["sso.example.org"])
    assert info.value.hint.endswith("--allow-host other.example.org")


def test_check_api_url_uses_the_same_rules() -> None:
    env = Environment.parse("https://acme.my.salesforce.com")
    assert env.check_api_url("https://acme.my.salesforce.com/") == "https://acme.my.salesforce.com"
    with pytest.raises(EnvironmentConfigError):
        env.check_api_url("https://attacker.example")
    with pytest.raises(EnvironmentConfigError):
        env.check_api_url("http://acme.my.salesforce.com")


def test_check_url_normalises() -> None:
    assert check_url("HTTPS://Login.Salesforce.com/") == "https://login.salesforce.com"
    assert check_url("http://[::1]:8555/x/") == "http://[::1]:8555/x"
    with pytest.raises(EnvironmentConfigError, match="empty"):
        check_url("   ")


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("LOCALHOST", True),
        ("localhost.evil.com", False),
        ("10.0.0.1", False),
        ("0.0.0.0", False),
        ("::ffff:8.8.8.8", False),
    ],
)
def test_is_loopback_host(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


@pytest.mark.parametrize(
    ("host", "ok"),
    [
        ("login.salesforce.com", True),
        ("acme.my.salesforce.com.", True),
        ("acme.lightning.force.com", True),
        ("acme.my.salesforce.mil", True),
        ("acme.my.site.com", True),
        ("acme.cloudforce.com", True),
        ("acme.salesforce-sites.com", True),
        ("salesforce.com.evil.com", False),
        ("evilsalesforce.com", False),
        ("site.com", False),
        ("my.site.com.evil.net", False),
    ],
)
def test_is_salesforce_host(host: str, ok: bool) -> None:
    assert is_salesforce_host(host) is ok


@pytest.mark.parametrize(
    ("username", "sandboxy"),
    [
        ("user@acme.com.uat", True),
        ("user@acme.com.qa", True),
        ("user@acme.com.dev2", True),
        ("user@acme.com.fullcopy", True),
        ("user@acme.com.staging", True),
        ("user@acme.com", False),
        ("user@mail.acme.com", False),
        ("user@acme.co.uk", False),
        ("user@acme.dev", False),
        ("user@acme.io", False),
        ("integration", False),
    ],
)
def test_looks_like_sandbox_username(username: str, sandboxy: bool) -> None:
    assert looks_like_sandbox_username(username) is sandboxy


@pytest.mark.parametrize(
    ("url", "audience"),
    [
        ("https://acme.my.salesforce.mil", LOGIN_URL),
        ("https://acme--uat.sandbox.my.salesforce.mil", TEST_URL),
    ],
)
def test_govcloud_my_domain_posts_there_with_login_or_test_audience(
    url: str, audience: str
) -> None:
    env = Environment.parse(url)
    assert env.kind == "my-domain"
    assert env.token_url == f"{url}/services/oauth2/token"
    assert env.audience == audience


@pytest.mark.parametrize(
    ("url", "suggested"),
    [
        ("https://acme.lightning.force.com", "https://acme.my.salesforce.com"),
        (
            "https://acme--uat.sandbox.lightning.force.com/lightning/page/home",
            "https://acme--uat.sandbox.my.salesforce.com",
        ),
    ],
)
def test_lightning_urls_are_refused_with_the_my_domain_to_use(url: str, suggested: str) -> None:
    with pytest.raises(EnvironmentConfigError, match="Lightning Experience") as info:
        Environment.parse(url)
    assert suggested in info.value.hint


def test_a_bare_host_suggests_https() -> None:
    with pytest.raises(EnvironmentConfigError, match="unknown environment") as info:
        Environment.parse("acme.my.salesforce.com")
    assert info.value.hint == "did you mean https://acme.my.salesforce.com?"
    with pytest.raises(EnvironmentConfigError) as other:
        Environment.parse("staging")
    assert "production, sandbox" in other.value.hint
