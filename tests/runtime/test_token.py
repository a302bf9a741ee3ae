from __future__ import annotations

import datetime as dt

import pytest

from sfbearer.token import DEFAULT_REFRESH_MARGIN, Token, TokenState

ID_URL = "https://login.salesforce.com/id/00Dxx0000001gPLEAY/005xx000001SwiUAAS"


def make(received: float = 1000.0, timeout: float = 7200.0) -> Token:
    return Token(
        access_token="00Dxx!SECRET",
        instance_url="https://acme.my.salesforce.com",
        id_url=ID_URL,
        received_at=received,
        expires_at=received + timeout,
        scope="api refresh_token",
        issued_at=1.0,
    )


def test_ids_come_from_the_identity_url() -> None:
    tok = make()
    assert (tok.org_id, tok.user_id) == ("00Dxx0000001gPLEAY", "005xx000001SwiUAAS")
    assert tok.scopes == {"api", "refresh_token"}


def test_ids_are_empty_for_an_unexpected_identity_url() -> None:
    tok = Token("t", "https://a.my.salesforce.com", "https://x/whatever", 0.0, 1.0)
    assert (tok.org_id, tok.user_id) == ("", "")


@pytest.mark.parametrize(
    ("elapsed", "state"),
    [
        (0, TokenState.FRESH),
        (7200 - 301, TokenState.FRESH),
        (7200 - 300, TokenState.STALE),
        (7200 - 11, TokenState.STALE),
        (7200 - 10, TokenState.EXPIRED),
        (9999, TokenState.EXPIRED),
    ],
)
def test_state_at_the_margins(elapsed: float, state: TokenState) -> None:
    assert dt.timedelta(minutes=5) == DEFAULT_REFRESH_MARGIN
    assert make().state(1000.0 + elapsed) is state


def test_custom_margin() -> None:
    assert make().state(1000.0 + 7200 - 1000, dt.timedelta(minutes=20)) is TokenState.STALE


def test_repr_and_str_hide_the_token() -> None:
    tok = make()
    assert "SECRET" not in repr(tok)
    assert "SECRET" not in str(tok)
    assert tok.fingerprint in repr(tok)


def test_dict_round_trip() -> None:
    tok = make()
    assert Token.from_dict(tok.to_dict()) == tok


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"access_token": "x"},
        {**make().to_dict(), "access_token": ""},
        {**make().to_dict(), "expires_at": "soon"},
        {**make().to_dict(), "received_at": None},
    ],
)
def test_from_dict_rejects_corrupt_records(data: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="not a token record"):
        Token.from_dict(data)


def test_new_estimate_measures_from_local_receipt() -> None:
    tok = make().with_new_estimate(5000.0, dt.timedelta(hours=1))
    assert (tok.received_at, tok.expires_at) == (5000.0, 8600.0)
