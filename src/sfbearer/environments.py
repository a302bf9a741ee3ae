"""Where to POST the assertion, and what goes in its ``aud``: two separate values.

Example:
    >>> from sfbearer import Environment
    >>> env = Environment.parse("https://acme--uat.sandbox.my.salesforce.com")
    >>> env.token_url
    'https://acme--uat.sandbox.my.salesforce.com/services/oauth2/token'
    >>> env.audience
    'https://test.salesforce.com'
    >>> Environment.parse("http://127.0.0.1:8555").audience
    'http://127.0.0.1:8555'

Host rules (RELIABILITY.md promise 3): https on Salesforce hosts, plain http only on loopback
hosts (the emulator), any other host only when explicitly allow-listed.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

from sfbearer._exceptions import EnvironmentConfigError

__all__ = [
    "LOGIN_URL",
    "SALESFORCE_HOST_SUFFIXES",
    "TEST_URL",
    "Environment",
    "check_url",
    "is_loopback_host",
    "is_salesforce_host",
    "looks_like_sandbox_username",
]

LOGIN_URL = "https://login.salesforce.com"
TEST_URL = "https://test.salesforce.com"
TOKEN_PATH = "/services/oauth2/token"
SALESFORCE_HOST_SUFFIXES = (
    ".salesforce.com",
    ".force.com",
    ".salesforce.mil",
    ".cloudforce.com",
    ".salesforce-sites.com",
    ".my.site.com",
)
_MY_DOMAIN_SUFFIXES = (".my.salesforce.com", ".my.salesforce.mil")
_SANDBOX_MY_DOMAIN_SUFFIXES = (".sandbox.my.salesforce.com", ".sandbox.my.salesforce.mil")
_LIGHTNING_SUFFIX = ".lightning.force.com"
_HOSTNAME_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9.])?$")
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain"})
_SANDBOX_MARKERS = (
    "uat",
    "qa",
    "dev",
    "test",
    "stage",
    "staging",
    "sandbox",
    "sit",
    "full",
    "partial",
    "preprod",
)


def is_loopback_host(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``."""
    h = host.strip("[]").lower()
    if h in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False


def is_salesforce_host(host: str) -> bool:
    """True for hosts under a Salesforce-owned domain (``*.salesforce.com``, ``*.force.com``...)."""
    h = host.lower().rstrip(".")
    return any(h.endswith(suffix) for suffix in SALESFORCE_HOST_SUFFIXES)


def check_url(url: str, *, allow_hosts: Iterable[str] = (), what: str = "URL") -> str:
    """Validate ``url`` against the host rules and return it normalised (no trailing slash).

    Raises:
        EnvironmentConfigError: not http(s), plain http off loopback, credentials or a query in
            the URL, or a host that is neither Salesforce's, loopback nor allow-listed.
    """
    if not isinstance(url, str) or not url.strip():
        raise EnvironmentConfigError(f"the {what} is empty")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise EnvironmentConfigError(f"the {what} {url!r} is not a valid URL") from None
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    if scheme not in ("https", "http") or not host:
        raise EnvironmentConfigError(
            f"the {what} {url!r} must be an https:// URL",
            hint="e.g. https://login.salesforce.com, https://acme.my.salesforce.com",
        )
    if not _HOSTNAME_RE.match(host) and ":" not in host:
        # percent-escapes, '%', '\\' or other odd bytes in a host name are never legitimate and
        # could make the suffix check and the HTTP client disagree about the host
        raise EnvironmentConfigError(f"the {what} {url!r} has an invalid host name")
    if parts.username or parts.password:
        raise EnvironmentConfigError(f"the {what} must not contain credentials")
    if parts.query or parts.fragment:
        raise EnvironmentConfigError(f"the {what} must not contain a query or fragment")
    loopback = is_loopback_host(host)
    allowed = {h.lower() for h in allow_hosts}
    if scheme == "http" and not loopback:
        raise EnvironmentConfigError(
            f"the {what} {url!r} uses plain http; only loopback hosts (the emulator) may",
            hint="use https://",
        )
    if not (loopback or is_salesforce_host(host) or host.lower() in allowed):
        raise EnvironmentConfigError(
            f"{host} is not a Salesforce host; refusing to send credentials there",
            hint=f"if this host is really yours, allow it explicitly: --allow-host {host}",
        )
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    path = parts.path.rstrip("/")
    return f"{scheme}://{netloc}{path}"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@dataclass(frozen=True, slots=True)
class Environment:
    """A Salesforce login environment: the token URL and the audience, kept apart.

    Attributes:
        kind: ``production``, ``sandbox``, ``my-domain``, ``site`` or ``custom``.
        base_url: where the login host lives (scheme + host [+ site path]).
        audience: the ``aud`` claim.
        allow_hosts: extra hosts the user explicitly trusts.
    """

    kind: str
    base_url: str
    audience: str
    allow_hosts: tuple[str, ...] = field(default=())

    @property
    def token_url(self) -> str:
        return self.base_url + TOKEN_PATH

    @property
    def revoke_url(self) -> str:
        return self.base_url + "/services/oauth2/revoke"

    @property
    def is_sandbox(self) -> bool:
        return self.audience == TEST_URL

    @property
    def is_loopback(self) -> bool:
        return is_loopback_host(urlsplit(self.base_url).hostname or "")

    @classmethod
    def production(cls) -> Environment:
        """``https://login.salesforce.com`` for both the POST and ``aud``."""
        return cls("production", LOGIN_URL, LOGIN_URL)

    @classmethod
    def sandbox(cls) -> Environment:
        """``https://test.salesforce.com`` for both the POST and ``aud``."""
        return cls("sandbox", TEST_URL, TEST_URL)

    @classmethod
    def my_domain(cls, name: str, *, sandbox: bool = False) -> Environment:
        """A My Domain by name (``acme`` → ``https://acme.my.salesforce.com``).

        ``sandbox=True`` expects the sandbox form ``acme--uat``.
        """
        if not name or any(c in name for c in "/:.@ ") or len(name) > 80:
            raise EnvironmentConfigError(f"{name!r} is not a My Domain name (e.g. 'acme')")
        host = f"{name}.sandbox.my.salesforce.com" if sandbox else f"{name}.my.salesforce.com"
        return cls.parse(f"https://{host}")

    @classmethod
    def site(cls, url: str, *, allow_hosts: Iterable[str] = ()) -> Environment:
        """An Experience Cloud site: POST to the site, ``aud`` is the site URL."""
        base = check_url(url, allow_hosts=allow_hosts, what="site URL")
        return cls("site", base, base, tuple(allow_hosts))

    @classmethod
    def custom(
        cls, *, token_url: str, audience: str, allow_hosts: Iterable[str] = ()
    ) -> Environment:
        """Any token URL and audience (both checked against the host rules)."""
        allow = tuple(allow_hosts)
        checked = check_url(token_url, allow_hosts=allow, what="token URL")
        base = checked.removesuffix(TOKEN_PATH)
        aud = audience.strip()
        if not aud:
            raise EnvironmentConfigError("the audience is empty")
        return cls("custom", base, aud, allow)

    @classmethod
    def parse(
        cls,
        value: str,
        *,
        audience: str | None = None,
        allow_hosts: Iterable[str] = (),
    ) -> Environment:
        """Turn ``production``, ``sandbox`` or a URL into an :class:`Environment`.

        Audience rules: production and ``*.my.salesforce.com`` → login.salesforce.com;
        sandbox and ``*.sandbox.my.salesforce.com`` → test.salesforce.com; a site or loopback
        URL → that URL. ``audience`` always overrides.
        """
        allow = tuple(allow_hosts)
        text = (value or "").strip()
        lowered = text.lower()
        if lowered in ("production", "prod", "login"):
            env = cls.production()
        elif lowered in ("sandbox", "test"):
            env = cls.sandbox()
        else:
            if "://" not in text and text and "/" not in text:
                looks_like_host = "." in text and " " not in text
                raise EnvironmentConfigError(
                    f"unknown environment {text!r}",
                    hint=f"did you mean https://{text}?"
                    if looks_like_host
                    else "use production, sandbox or a URL such as https://acme.my.salesforce.com",
                )
            base = check_url(text, allow_hosts=allow, what="environment URL")
            base = base.removesuffix(TOKEN_PATH)
            host = (urlsplit(base).hostname or "").lower()
            path = urlsplit(base).path
            if host in ("login.salesforce.com",) and not path:
                env = cls("production", base, LOGIN_URL, allow)
            elif host in ("test.salesforce.com",) and not path:
                env = cls("sandbox", base, TEST_URL, allow)
            elif host.endswith(_LIGHTNING_SUFFIX):
                # a Lightning Experience URL pasted from the browser: it serves no OAuth
                my_domain = host.removesuffix(_LIGHTNING_SUFFIX)
                raise EnvironmentConfigError(
                    f"{host} is a Lightning Experience host, not a login host",
                    hint=f"use the My Domain URL, e.g. https://{my_domain}.my.salesforce.com",
                )
            elif host.endswith(_SANDBOX_MY_DOMAIN_SUFFIXES) and not path:
                env = cls("my-domain", _origin(base), TEST_URL, allow)
            elif host.endswith(_MY_DOMAIN_SUFFIXES) and not path:
                # GovCloud (.mil) too: POST to the My Domain, aud stays login/test
                env = cls("my-domain", _origin(base), LOGIN_URL, allow)
            elif is_loopback_host(host):
                env = cls("custom", base, base, allow)
            elif is_salesforce_host(host) or path:
                env = cls("site", base, base, allow)
            else:
                env = cls("custom", base, base, allow)
        if audience is not None and audience.strip():
            env = replace(env, audience=audience.strip())
        return env

    def check_api_url(self, url: str) -> str:
        """Check an ``instance_url`` / identity URL before a token is sent there."""
        return check_url(url, allow_hosts=self.allow_hosts, what="API URL")

    def describe(self) -> str:
        """One line for people: where the POST goes and what ``aud`` is."""
        return f"{self.kind}: POST {self.token_url} (aud {self.audience})"


def looks_like_sandbox_username(username: str) -> bool:
    """True for ``user@acme.com.uat``-style usernames (a sandbox suffix after the domain)."""
    if "@" not in username:
        return False
    domain = username.rsplit("@", 1)[1].lower()
    labels = domain.split(".")
    if len(labels) < 3:
        return False
    last = labels[-1]
    common_tlds = {"com", "org", "net", "io", "co", "edu", "gov", "uk", "de", "fr", "ai", "dev"}
    return last not in common_tlds and (
        last in _SANDBOX_MARKERS or any(last.startswith(m) for m in _SANDBOX_MARKERS)
    )
