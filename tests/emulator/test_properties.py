"""Property-based: random and mutated assertions, headers, claims, forms and SOQL never get a 5xx."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sfbearer.emulator import Emulator
from sfbearer.keys import KeyPair

from .conftest import Org, b64, make_org

SETTINGS = settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
CLAIM_NAMES = ["iss", "sub", "aud", "exp", "iat", "nbf", "jti", "prn"]


@pytest.fixture(scope="module", params=["salesforce", "strict"])
def prop_org(request: pytest.FixtureRequest, key_pair: KeyPair) -> Iterator[Org]:
    with Emulator(validation=request.param) as sf:
        yield from make_org(sf, key_pair)


def sign(key_pair: KeyPair, header: Any, claims: Any) -> str:
    """A real RS256 signature over any header/claims (so checks past the signature run)."""
    signing_input = f"{b64(json.dumps(header))}.{b64(json.dumps(claims))}"
    signature = key_pair.private_key.sign(
        signing_input.encode(), padding.PKCS1v15(), hashes.SHA256()
    )
    return f"{signing_input}.{b64(signature)}"


def check_token_response(response: httpx.Response, assertion: str = "") -> None:
    assert response.status_code < 500, response.text
    assert response.headers.get("cache-control") == "no-store"
    if response.status_code != 200:
        body = response.json()
        assert set(body) == {"error", "error_description"}
        if len(assertion) > 20:
            assert assertion not in response.text


mutation = st.tuples(
    st.sampled_from(["flip", "delete", "insert", "truncate", "dup_dot", "swap"]),
    st.integers(0, 2000),
    st.text(max_size=20),
)


@SETTINGS
@given(mutations=st.lists(mutation, min_size=1, max_size=4))
def test_mutated_assertions(prop_org: Org, mutations: list[tuple[str, int, str]]) -> None:
    token = prop_org.mint()
    for kind, pos, text in mutations:
        i = pos % (len(token) + 1)
        if kind == "flip" and token:
            i = min(i, len(token) - 1)
            token = token[:i] + chr((ord(token[i]) + 1) % 0x7F or 65) + token[i + 1 :]
        elif kind == "delete":
            token = token[:i] + token[i + 5 :]
        elif kind == "insert":
            token = token[:i] + text + token[i:]
        elif kind == "truncate":
            token = token[:i]
        elif kind == "dup_dot":
            token = token[:i] + "." + token[i:]
        else:
            parts = token.split(".")
            token = ".".join(reversed(parts))
    check_token_response(prop_org.post(token), token)


@SETTINGS
@given(
    claims=st.dictionaries(st.sampled_from(CLAIM_NAMES), json_values, max_size=8),
    keep=st.sets(st.sampled_from(CLAIM_NAMES)),
)
def test_signed_random_claims(prop_org: Org, claims: dict[str, Any], keep: set[str]) -> None:
    base = {k: v for k, v in prop_org.claims().items() if k in keep}
    token = sign(prop_org.key_pair, {"alg": "RS256"}, {**base, **claims})
    check_token_response(prop_org.post(token), token)


@SETTINGS
@given(
    header=st.dictionaries(
        st.sampled_from(["alg", "typ", "kid", "crit", "jku", "x5c", "zip", "b64", "cty"]),
        json_values,
        max_size=5,
    )
)
def test_signed_random_headers(prop_org: Org, header: dict[str, Any]) -> None:
    token = sign(prop_org.key_pair, header, prop_org.claims())
    check_token_response(prop_org.post(token), token)


@SETTINGS
@given(
    body=st.binary(max_size=300) | st.text(max_size=300).map(str.encode),
    content_type=st.sampled_from(
        [
            "application/x-www-form-urlencoded",
            "application/json",
            "text/plain",
            "",
            "multipart/form-data; boundary=x",
            "application/x-www-form-urlencoded; charset=latin-1",
        ]
    ),
)
def test_random_forms(prop_org: Org, body: bytes, content_type: str) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    check_token_response(
        prop_org.client.post("/services/oauth2/token", content=body, headers=headers)
    )


@SETTINGS
@given(
    form=st.dictionaries(
        st.sampled_from(["grant_type", "assertion", "client_id", "x"]),
        st.text(max_size=60),
        max_size=4,
    )
)
def test_random_form_fields(prop_org: Org, form: dict[str, str]) -> None:
    check_token_response(prop_org.client.post("/services/oauth2/token", data=form))


SOQL_ERRORS = {"MALFORMED_QUERY", "INVALID_FIELD", "INVALID_TYPE", "NUMBER_OUTSIDE_VALID_RANGE"}
SOQL_WORDS = ["SELECT", "Id", "Name", ",", "FROM", "Account", "Contact", "User", "WHERE", "=", "!=", "<", "LIKE",
              "IN", "(", ")", "'x'", "'%a%'", "NULL", "TRUE", "AND", "OR", "NOT", "ORDER", "BY", "DESC", "LIMIT",
              "OFFSET", "5", "2001", "COUNT()", "TODAY", "LAST_N_DAYS:3", "2020-01-01", "Account.Name", "\\'", "'"]  # fmt: skip


@SETTINGS
@given(
    query=st.lists(st.sampled_from(SOQL_WORDS), max_size=14).map(" ".join)
    | st.text(max_size=80)
    | st.lists(st.sampled_from(SOQL_WORDS), max_size=6).map(
        lambda w: "SELECT Id FROM Account WHERE " + " ".join(w)
    )
)
def test_random_soql(prop_org: Org, query: str) -> None:
    token = getattr(prop_org, "_token", None) or prop_org.login()
    object.__setattr__(prop_org, "_token", token)
    response = prop_org.api("GET", "/services/data/v68.0/query/", token, params={"q": query})
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        assert response.json()[0]["errorCode"] in SOQL_ERRORS


@SETTINGS
@given(
    path=st.text(
        alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="?#%"),
        max_size=40,
    ),
    method=st.sampled_from(["GET", "POST", "PATCH", "DELETE"]),
)
def test_random_api_paths(prop_org: Org, path: str, method: str) -> None:
    token = getattr(prop_org, "_token", None) or prop_org.login()
    object.__setattr__(prop_org, "_token", token)
    response = prop_org.api(method, "/services/data/v68.0/" + path, token, content=b"{}")
    assert response.status_code < 500, response.text


# Any text, lone surrogates included (``json.dumps`` sends them as ``\ud800`` escapes).
any_text = st.text(alphabet=st.characters(exclude_categories=[]), max_size=12)
json_bodies = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**20), 10**20) | any_text,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(any_text, children, max_size=4)
    ),
    max_leaves=10,
)
WRITE_PATHS = [
    ("POST", "sobjects/Account"),
    ("POST", "sobjects/Contact"),
    ("POST", "composite/sobjects"),
    ("PATCH", "composite/sobjects"),
    ("POST", "composite"),
    ("POST", "composite/tree/Account"),
]


@SETTINGS
@given(
    target=st.sampled_from(WRITE_PATHS),
    body=json_bodies | st.fixed_dictionaries({"records": st.lists(json_bodies, max_size=3)}),
)
def test_random_json_bodies(prop_org: Org, target: tuple[str, str], body: Any) -> None:
    token = getattr(prop_org, "_token", None) or prop_org.login()
    object.__setattr__(prop_org, "_token", token)
    method, path = target
    response = prop_org.api(
        method, "/services/data/v68.0/" + path, token, content=json.dumps(body).encode("ascii"),
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    assert response.status_code < 500, response.text
    json.loads(response.content.decode("utf-8"))
