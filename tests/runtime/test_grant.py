from __future__ import annotations

import datetime as dt
import json
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sfbearer._diagnosis import DIAGNOSES, troubleshooting_markdown
from sfbearer._exceptions import TokenRequestError
from sfbearer.grant import (
    GRANT_TYPE,
    RetryPolicy,
    build_revoke_request,
    build_token_request,
    is_retryable,
    parse_retry_after,
    parse_token_error,
    parse_token_response,
)

TIMEOUT = dt.timedelta(hours=2)
SUCCESS = {
    "access_token": "00Dxx0000001gPL!AR8AQ",
    "scope": "api id",
    "instance_url": "https://acme.my.salesforce.com/",
    "id": "https://login.salesforce.com/id/00Dxx0000001gPLEAY/005xx000001SwiUAAS",
    "token_type": "Bearer",
    "issued_at": "1764542533000",
    "signature": "x",
}


def parse(status: int, payload: object, headers: dict[str, str] | None = None):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return parse_token_response(
        status, headers or {}, body, received_at=1000.0, session_timeout=TIMEOUT
    )


def test_token_request_is_a_form_post_with_only_grant_type_and_assertion() -> None:
    req = build_token_request("https://login.salesforce.com/services/oauth2/token", "h.p.s")
    assert req.method == "POST"
    assert parse_qs(req.body.decode()) == {"grant_type": [GRANT_TYPE], "assertion": ["h.p.s"]}
    assert req.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert "h.p.s" not in repr(req)


def test_revoke_request() -> None:
    req = build_revoke_request("https://login.salesforce.com/services/oauth2/revoke", "T0K")
    assert parse_qs(req.body.decode()) == {"token": ["T0K"]}
    assert "T0K" not in repr(req)


def test_success_is_parsed_with_a_local_expiry_estimate() -> None:
    tok = parse(200, SUCCESS)
    assert tok.access_token == SUCCESS["access_token"]
    assert tok.instance_url == "https://acme.my.salesforce.com"
    assert tok.org_id == "00Dxx0000001gPLEAY"
    assert tok.issued_at == 1764542533.0
    # the server's issued_at (far from 1000) does not move the estimate
    assert tok.expires_at == 1000.0 + 7200


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        (b"<html><body>Login</body></html>", "not JSON"),
        (b"", "not JSON"),
        ([1, 2], "not a JSON object"),
        ({**SUCCESS, "access_token": ""}, "no access_token"),
        ({k: v for k, v in SUCCESS.items() if k != "access_token"}, "no access_token"),
        ({**SUCCESS, "token_type": "MAC"}, "not Bearer"),
        ({k: v for k, v in SUCCESS.items() if k != "instance_url"}, "no instance_url"),
        ({k: v for k, v in SUCCESS.items() if k != "id"}, "no id"),
    ],
)
def test_a_200_that_is_not_a_token_is_invalid_response(payload: object, why: str) -> None:
    with pytest.raises(TokenRequestError) as info:
        parse(200, payload)
    assert info.value.error == "invalid_response"
    assert why in info.value.description
    assert info.value.retryable is False
    assert info.value.diagnosis


@pytest.mark.parametrize("row", DIAGNOSES, ids=lambda r: f"{r.error}:{r.description}")
def test_every_documented_error_gets_its_diagnosis(row) -> None:
    description = row.description or "something else"
    exc = parse_token_error(
        400, {}, json.dumps({"error": row.error, "error_description": description}).encode(), now=0
    )
    assert (exc.error, exc.description, exc.status) == (row.error, description, 400)
    assert exc.retryable is False
    assert exc.diagnosis == row.text()
    assert "Fix:" in exc.diagnosis


def test_user_not_approved_names_the_setup_screen() -> None:
    exc = parse_token_error(
        400,
        {},
        b'{"error":"invalid_grant","error_description":"user hasn\'t approved this consumer"}',
        now=0,
    )
    assert "Admin approved users are pre-authorized" in exc.diagnosis
    assert "Permitted Users" in exc.diagnosis


def test_unknown_code_is_permanent_with_a_generic_diagnosis() -> None:
    exc = parse_token_error(400, {}, b'{"error":"brand_new_code","error_description":"x"}', now=0)
    assert exc.error == "brand_new_code"
    assert exc.retryable is False
    assert "does not know" in exc.diagnosis


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429, 408])
def test_transient_statuses_without_oauth_body_are_retryable(status: int) -> None:
    exc = parse_token_error(status, {"Retry-After": "7"}, b"<html>busy</html>", now=0)
    assert exc.error == f"http_{status}"
    assert exc.retryable is True
    assert exc.retry_after == 7.0


def test_redirect_is_an_error_naming_the_location() -> None:
    exc = parse_token_error(302, {"Location": "https://evil.example/x"}, b"", now=0)
    assert exc.error == "redirect"
    assert exc.retryable is False
    assert "evil.example" in exc.diagnosis


@pytest.mark.parametrize(
    ("status", "error", "expected"),
    [
        (0, "", True), (408, "", True), (429, "", True), (500, "", True), (502, "", True),
        (503, "", True), (504, "", True), (400, "server_error", True),
        (400, "temporarily_unavailable", True), (400, "invalid_grant", False),
        (400, "invalid_client_id", False), (400, "invalid_app_access", False),
        (400, "app_not_found", False), (400, "invalid_request", False),
        (400, "unsupported_grant_type", False), (400, "who_knows", False), (401, "", False),
        (404, "", False), (501, "", False), (200, "", False),
    ],
)  # fmt: skip
def test_retry_predicate(status: int, error: str, expected: bool) -> None:
    assert is_retryable(status, error) is expected


def test_retry_after_seconds_date_and_cap() -> None:
    now = 1_764_540_000.0
    assert parse_retry_after("3", now=now, cap=30) == 3.0
    assert parse_retry_after("999", now=now, cap=30) == 30.0
    assert parse_retry_after("-5", now=now, cap=30) == 0.0
    when = dt.datetime.fromtimestamp(now + 12, dt.UTC)
    assert parse_retry_after(format_datetime(when, usegmt=True), now=now, cap=30) == 12.0
    assert parse_retry_after("soon", now=now, cap=30) is None
    assert parse_retry_after(None, now=now, cap=30) is None
    assert parse_retry_after("nan", now=now, cap=30) is None


@given(st.text(max_size=60))
def test_retry_after_never_crashes(value: str) -> None:
    delay = parse_retry_after(value, now=0.0, cap=30)
    assert delay is None or 0.0 <= delay <= 30.0


@given(st.integers(0, 599), st.binary(max_size=200))
def test_error_parsing_never_crashes(status: int, body: bytes) -> None:
    exc = parse_token_error(status, {}, body, now=0.0)
    assert isinstance(exc, TokenRequestError)
    assert exc.status == status


def test_backoff_is_full_jitter_within_the_cap() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=4, rng=lambda: 1.0)
    assert [policy.backoff(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert RetryPolicy(rng=lambda: 0.0).backoff(3) == 0.0


def test_invalid_grant_retry_is_opt_in_and_bounded() -> None:
    exc = parse_token_error(400, {}, b'{"error":"invalid_grant","error_description":"x"}', now=0)
    assert RetryPolicy().should_retry(exc, 1) is False
    policy = RetryPolicy(invalid_grant_retries=2)
    assert [policy.should_retry(exc, n) for n in (1, 2, 3)] == [True, True, False]
    rate = parse_token_error(
        400, {}, b'{"error":"invalid_grant","error_description":"login rate exceeded"}', now=0
    )
    assert policy.should_retry(rate, 1) is False


def test_troubleshooting_page_embeds_the_diagnosis_table() -> None:
    page = Path(__file__).parents[2] / "docs" / "troubleshooting.md"
    assert troubleshooting_markdown() in page.read_text(encoding="utf-8")


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=6)
    ),
    max_leaves=12,
)


@given(st.dictionaries(st.sampled_from([*SUCCESS, "x"]), _json, max_size=9))
def test_any_200_json_is_a_token_or_invalid_response(payload: dict[str, object]) -> None:
    error: TokenRequestError | None = None
    try:
        tok = parse(200, payload)
    except TokenRequestError as exc:
        error = exc
    if error is not None:
        assert error.error == "invalid_response"
        assert error.retryable is False
    else:
        assert isinstance(tok.access_token, str)
        assert tok.access_token.strip()
        assert tok.expires_at == 1000.0 + 7200
