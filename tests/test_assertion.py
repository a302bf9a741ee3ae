"""assertion: minted JWTs verify (PyJWT and openssl), claims are exact; decode and its warnings."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sfbearer import AssertionConfigError, SignerError
from sfbearer.assertion import MAX_LIFETIME, decode_assertion, mint_assertion
from sfbearer.keys import KeyPair, load_certificate
from sfbearer.signers import FileSigner

CLIENT_ID = "3MVG9" + "A" * 80
USER = "integration@acme.com"
NOW = 1_764_542_533


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _parts(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes]:
    h, c, s = token.split(".")
    pad = lambda x: x + "=" * (-len(x) % 4)  # noqa: E731
    return (
        json.loads(base64.urlsafe_b64decode(pad(h))),
        json.loads(base64.urlsafe_b64decode(pad(c))),
        base64.urlsafe_b64decode(pad(s)),
    )


def _forge(header: dict[str, Any], claims: dict[str, Any], sig: bytes = b"x") -> str:
    return ".".join(
        [_b64(json.dumps(header).encode()), _b64(json.dumps(claims).encode()), _b64(sig)]
    )


claim_text = st.text(
    alphabet=st.characters(min_codepoint=0x20, blacklist_categories=("Cs", "Cc")),
    min_size=1,
    max_size=80,
).filter(lambda s: s == s.strip())
usernames = st.builds(
    lambda local, domain: f"{local}@{domain}",
    st.text(
        alphabet=st.characters(min_codepoint=0x21, blacklist_categories=("Cs", "Cc", "Z")),
        min_size=1,
        max_size=30,
    ).filter(lambda s: "@" not in s),
    st.sampled_from(["acme.com", "acme.com.uat", "例え.jp", "müller.de"]),
)
audiences = st.sampled_from(
    [
        "https://login.salesforce.com",
        "https://test.salesforce.com",
        "https://acme.my.salesforce.com",
        "https://acme.my.site.com/partners",
        "http://127.0.0.1:8555",
    ]
)
clocks = st.one_of(st.integers(0, 4_102_444_800), st.floats(0, 4_102_444_800, allow_nan=False))


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    client_id=claim_text,
    username=usernames,
    audience=audiences,
    now=clocks,
    lifetime=st.integers(1, MAX_LIFETIME),
)
def test_minted_assertions_verify_and_claims_are_exact(
    key_pair: KeyPair, client_id: str, username: str, audience: str, now: float, lifetime: int
) -> None:
    token = mint_assertion(
        key_pair.private_key,
        client_id=client_id,
        username=username,
        audience=audience,
        lifetime=lifetime,
        now=now,
    )
    header, claims, _sig = _parts(token)
    assert header == {"alg": "RS256", "typ": "JWT"}
    verified = jwt.decode(
        token,
        key_pair.certificate.public_key(),
        algorithms=["RS256"],
        audience=audience,
        options={"verify_exp": False, "verify_iat": False},
    )
    assert verified == claims
    assert set(claims) == {"iss", "sub", "aud", "exp", "iat", "jti"}
    assert (claims["iss"], claims["sub"], claims["aud"]) == (client_id, username, audience)
    assert type(claims["exp"]) is int
    assert type(claims["iat"]) is int
    assert claims["iat"] == int(now)
    assert claims["exp"] == claims["iat"] + lifetime <= now + MAX_LIFETIME
    assert isinstance(claims["jti"], str)
    assert len(claims["jti"]) >= 16


def test_jti_is_fresh_each_time(key_pair: KeyPair) -> None:
    tokens = [
        mint_assertion(
            key_pair.private_key,
            client_id=CLIENT_ID,
            username=USER,
            audience="https://login.salesforce.com",
            now=NOW,
        )
        for _ in range(50)
    ]
    jtis = {_parts(t)[1]["jti"] for t in tokens}
    assert len(jtis) == 50
    assert len(set(tokens)) == 50


def test_default_clock_and_lifetime(key_pair: KeyPair) -> None:
    import time

    before = int(time.time())
    claims = _parts(
        mint_assertion(
            key_pair.private_key,
            client_id=CLIENT_ID,
            username=USER,
            audience="https://login.salesforce.com",
        )
    )[1]
    after = int(time.time())
    assert before <= claims["iat"] <= after
    assert claims["exp"] - claims["iat"] == MAX_LIFETIME == 180


def test_explicit_jti(key_pair: KeyPair) -> None:
    token = mint_assertion(
        key_pair.private_key, client_id=CLIENT_ID, username=USER, audience="a", now=NOW, jti="fixed"
    )
    assert _parts(token)[1]["jti"] == "fixed"


@pytest.fixture(scope="module")
def openssl_pub(tmp_path_factory: pytest.TempPathFactory, key_pair: KeyPair) -> Path:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    path = tmp_path_factory.mktemp("openssl") / "pub.pem"
    path.write_bytes(
        key_pair.certificate.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return path


def _openssl_verify(pub: Path, token: str, workdir: Path) -> subprocess.CompletedProcess[bytes]:
    signing_input, _, _ = token.rpartition(".")
    (workdir / "input.bin").write_bytes(signing_input.encode("ascii"))
    (workdir / "sig.bin").write_bytes(_parts(token)[2])
    return subprocess.run(
        [
            "openssl",
            "dgst",
            "-sha256",
            "-verify",
            str(pub),
            "-signature",
            str(workdir / "sig.bin"),
            str(workdir / "input.bin"),
        ],
        capture_output=True,
        check=False,
    )


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(client_id=claim_text, username=usernames, audience=audiences, now=clocks)
def test_openssl_verifies_minted_assertions(
    key_pair: KeyPair,
    openssl_pub: Path,
    tmp_path_factory: pytest.TempPathFactory,
    client_id: str,
    username: str,
    audience: str,
    now: float,
) -> None:
    token = mint_assertion(
        key_pair.private_key, client_id=client_id, username=username, audience=audience, now=now
    )
    work = tmp_path_factory.mktemp("verify")
    result = _openssl_verify(openssl_pub, token, work)
    assert result.returncode == 0, result.stderr
    assert b"Verified OK" in result.stdout


def test_openssl_rejects_a_tampered_assertion(
    key_pair: KeyPair, openssl_pub: Path, tmp_path: Path
) -> None:
    token = mint_assertion(
        key_pair.private_key,
        client_id=CLIENT_ID,
        username=USER,
        audience="https://login.salesforce.com",
        now=NOW,
    )
    h, _c, s = token.split(".")
    tampered_claims = _b64(json.dumps({**_parts(token)[1], "sub": "admin@acme.com"}).encode())
    result = _openssl_verify(openssl_pub, f"{h}.{tampered_claims}.{s}", tmp_path)
    assert result.returncode != 0


def test_mint_through_a_signer_without_a_key(key_pair: KeyPair) -> None:
    calls: list[bytes] = []

    class RemoteSigner:
        key_id = "remote"

        def sign(self, message: bytes) -> bytes:
            calls.append(message)
            return FileSigner(key_pair.private_key).sign(message)

        def public_key(self) -> Any:
            return key_pair.private_key.public_key()

    token = mint_assertion(
        RemoteSigner(),
        client_id=CLIENT_ID,
        username=USER,
        audience="https://login.salesforce.com",
        now=NOW,
    )
    assert calls == [token.rpartition(".")[0].encode()]
    assert decode_assertion(token, certificate=key_pair.certificate).verified


@pytest.mark.parametrize("lifetime", [0, -1, 181, 3600, True, False, 180.0, 1.5, "180", None])
def test_bad_lifetimes_are_refused(key_pair: KeyPair, lifetime: Any) -> None:
    with pytest.raises(AssertionConfigError, match="lifetime"):
        mint_assertion(
            key_pair.private_key,
            client_id=CLIENT_ID,
            username=USER,
            audience="https://login.salesforce.com",
            lifetime=lifetime,
        )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("client_id", ""),
        ("client_id", " 3MVG9x"),
        ("username", "user@acme.com\n"),
        ("username", "a\x00b@acme.com"),
        ("username", "a\x7fb@acme.com"),
        ("audience", "   "),
        ("audience", None),
        ("client_id", "x" * 1025),
    ],
)
def test_bad_claims_are_refused(key_pair: KeyPair, field: str, value: Any) -> None:
    kwargs = {
        "client_id": CLIENT_ID,
        "username": USER,
        "audience": "https://login.salesforce.com",
        field: value,
    }
    with pytest.raises(AssertionConfigError):
        mint_assertion(key_pair.private_key, **kwargs)


def test_mint_refuses_things_that_are_not_keys() -> None:
    with pytest.raises(SignerError):
        mint_assertion("server.key", client_id=CLIENT_ID, username=USER, audience="a")  # type: ignore[arg-type]


# -- decode ---------------------------------------------------------------------------------------


def _mint(key_pair: KeyPair, **kw: Any) -> str:
    args: dict[str, Any] = {
        "client_id": CLIENT_ID,
        "username": USER,
        "audience": "https://login.salesforce.com",
        "now": NOW,
    }
    args.update(kw)
    return mint_assertion(key_pair.private_key, **args)


def test_decode_a_good_assertion_has_no_warnings(key_pair: KeyPair) -> None:
    decoded = decode_assertion(_mint(key_pair), now=NOW + 10)
    assert decoded.header["alg"] == "RS256"
    assert decoded.claims["sub"] == USER
    assert decoded.warnings == ()
    assert not decoded.verified
    assert decoded.seconds_left(now=NOW + 10) == 170


def test_decode_verifies_with_the_right_certificate_in_every_form(key_pair: KeyPair) -> None:
    token = _mint(key_pair)
    info = load_certificate(key_pair.certificate.public_bytes(serialization.Encoding.PEM))
    for cert in (key_pair.certificate, info, key_pair.private_key.public_key()):
        assert decode_assertion(token, certificate=cert, now=NOW).verified


def test_decode_with_the_wrong_certificate_fails(
    key_pair: KeyPair, other_key_pair: KeyPair
) -> None:
    with pytest.raises(AssertionConfigError, match="does not verify") as info:
        decode_assertion(_mint(key_pair), certificate=other_key_pair.certificate, now=NOW)
    assert "External Client App" in info.value.hint


def test_decode_expired_assertion_still_verifies_and_warns(key_pair: KeyPair) -> None:
    decoded = decode_assertion(_mint(key_pair), certificate=key_pair.certificate, now=NOW + 1000)
    assert decoded.verified
    assert any("expired 820 s ago" in w for w in decoded.warnings)


def test_decode_alg_none_is_not_verified(key_pair: KeyPair) -> None:
    claims = _parts(_mint(key_pair))[1]
    forged = _forge({"alg": "none"}, claims, b"")
    assert any("RS256" in w for w in decode_assertion(forged, now=NOW).warnings)
    with pytest.raises(AssertionConfigError):
        decode_assertion(forged, certificate=key_pair.certificate, now=NOW)
    hs = _forge({"alg": "HS256"}, claims)
    with pytest.raises(AssertionConfigError):
        decode_assertion(hs, certificate=key_pair.certificate, now=NOW)


@pytest.mark.parametrize(
    ("claims", "warning"),
    [
        (
            {
                "iss": CLIENT_ID,
                "sub": USER,
                "aud": "https://login.salesforce.com",
                "iat": NOW,
                "exp": NOW + 300,
            },
            "lifetime is 300 s",
        ),
        (
            {
                "iss": CLIENT_ID,
                "sub": USER,
                "aud": "https://login.salesforce.com",
                "exp": (NOW + 300) * 1000,
            },
            "milliseconds",
        ),
        (
            {
                "iss": CLIENT_ID,
                "sub": USER,
                "aud": "https://evil.example.com",
                "iat": NOW,
                "exp": NOW + 60,
            },
            "not a Salesforce login URL",
        ),
        (
            {
                "iss": "my app",
                "sub": USER,
                "aud": "https://login.salesforce.com",
                "iat": NOW,
                "exp": NOW + 60,
            },
            "consumer key",
        ),
        (
            {
                "iss": CLIENT_ID,
                "sub": USER,
                "aud": ["https://login.salesforce.com"],
                "iat": NOW,
                "exp": NOW + 60,
            },
            "single string",
        ),
        (
            {"iss": CLIENT_ID, "sub": USER, "aud": "https://login.salesforce.com", "exp": "soon"},
            "not a number",
        ),
        (
            {"iss": CLIENT_ID, "aud": "https://login.salesforce.com", "exp": NOW + 60},
            "missing the sub claim",
        ),
    ],
)
def test_decode_warnings(claims: dict[str, Any], warning: str) -> None:
    decoded = decode_assertion(_forge({"alg": "RS256"}, claims), now=NOW)
    assert any(warning in w for w in decoded.warnings), decoded.warnings


def test_decode_milliseconds_seconds_left() -> None:
    decoded = decode_assertion(_forge({"alg": "RS256"}, {"exp": (NOW + 60) * 1000}), now=NOW)
    assert decoded.seconds_left(now=NOW) == 60
    assert decode_assertion(_forge({"alg": "RS256"}, {"exp": "x"}), now=NOW).seconds_left() is None


def test_decode_my_domain_and_loopback_audiences_are_fine() -> None:
    for aud in ("https://acme.my.salesforce.com", "http://127.0.0.1:8555"):
        claims = {"iss": CLIENT_ID, "sub": USER, "aud": aud, "iat": NOW, "exp": NOW + 60}
        assert decode_assertion(_forge({"alg": "RS256"}, claims), now=NOW).warnings == ()


@pytest.mark.parametrize(
    "text",
    [
        "",
        "a.b",
        "a.b.c.d",
        "!!!.e30.x",
        "e30.bm90IGpzb24.x",
        "W10.e30.x",
        "e30.W10.x",
        "_w.e30.x",
        "e30." + "A" * 20000 + ".x",
    ],
)
def test_decode_malformed(text: str) -> None:
    with pytest.raises(AssertionConfigError):
        decode_assertion(text)


def test_decode_error_messages_do_not_echo_the_token(
    key_pair: KeyPair, other_key_pair: KeyPair
) -> None:
    token = _mint(key_pair)
    with pytest.raises(AssertionConfigError) as info:
        decode_assertion(token, certificate=other_key_pair.certificate)
    assert token.split(".")[2][:20] not in str(info.value) + info.value.hint
    assert token.split(".")[1][:20] not in str(info.value) + info.value.hint
