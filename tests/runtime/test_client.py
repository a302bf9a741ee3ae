from __future__ import annotations

import httpx
import pytest

from sfbearer._aclient import AsyncSalesforceClient
from sfbearer._exceptions import ApiError, ConfigError, TransportError
from sfbearer.client import SalesforceClient


@pytest.fixture
def sf(creds, fake_sf):
    with SalesforceClient(creds, transport=httpx.MockTransport(fake_sf)) as client:
        yield client


def test_version_is_discovered_once_and_newest(sf, fake_sf) -> None:
    assert sf.api_version == "68.0"
    calls = fake_sf.api_calls
    assert sf.api_version == "68.0"
    assert fake_sf.api_calls == calls


def test_pinned_version_is_not_discovered(creds, fake_sf) -> None:
    with SalesforceClient(creds, api_version="v61", transport=httpx.MockTransport(fake_sf)) as sf:
        assert sf.api_version == "61.0"
        sf.limits()
    assert fake_sf.api_calls == 1


def test_bad_pinned_version(creds) -> None:
    with pytest.raises(ConfigError):
        SalesforceClient(creds, api_version="latest")


def test_query_iterates_every_page_lazily(sf, fake_sf) -> None:
    records = sf.query("SELECT Id, Name FROM Account")
    first = next(records)
    assert first["Name"] == "Acme 0"
    calls = fake_sf.api_calls
    rest = list(records)
    assert [r["Name"] for r in rest] == [f"Acme {i}" for i in range(1, 5)]
    assert fake_sf.api_calls == calls + 2  # two more pages


def test_query_pages_carry_total_size(sf) -> None:
    pages = list(sf.query_pages("SELECT Id FROM Account"))
    assert [p["totalSize"] for p in pages] == [5, 5, 5]


def test_api_error_array_becomes_api_error(sf) -> None:
    with pytest.raises(ApiError) as info:
        list(sf.query("SELECT Bogus FROM Account"))
    assert (info.value.status, info.value.error_code) == (400, "INVALID_FIELD")
    assert "Bogus" in info.value.api_message
    assert info.value.exit_code == 2


def test_sobject_crud(sf) -> None:
    accounts = sf.sobject("Account")
    assert accounts.create({"Name": "Acme"})["id"] == "001NEW"
    assert accounts.get("001NEW")["Name"] == "Acme"
    assert accounts.update("001NEW", {"Name": "B"}) is None
    assert accounts.delete("001NEW") is None
    assert accounts.describe()["name"] == "Account"
    with pytest.raises(ApiError) as info:
        accounts.get("001MISSING")
    assert info.value.error_code == "NOT_FOUND"


@pytest.mark.parametrize("bad", ["../limits", "001?x=1", "", "a" * 30])
def test_record_ids_cannot_escape_the_path(sf, bad) -> None:
    with pytest.raises(ConfigError):
        sf.sobject("Account").get(bad)


def test_sobject_name_is_checked(sf) -> None:
    with pytest.raises(ConfigError):
        sf.sobject("Account/../../x")


def test_limits_identity_and_raw_request(sf) -> None:
    assert sf.limits()["DailyApiRequests"]["Max"] == 15000
    assert sf.identity()["organization_id"].startswith("00D")
    response = sf.request("GET", "/services/data/")
    assert response.status_code == 200


def test_network_failure_is_transport_error(creds, fake_sf) -> None:
    def flaky(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            return fake_sf(request)
        raise httpx.ReadTimeout("slow", request=request)

    with (
        SalesforceClient(creds, transport=httpx.MockTransport(flaky)) as sf,
        pytest.raises(TransportError, match="timed out") as info,
    ):
        sf.limits()
    assert info.value.exit_code == 3
    assert isinstance(info.value.__cause__, httpx.ReadTimeout)


def test_session_expiry_mid_query_is_healed(sf, fake_sf) -> None:
    records = sf.query("SELECT Id FROM Account")
    next(records)
    fake_sf.expire_all()
    assert len(list(records)) == 4
    assert fake_sf.token_posts == 2


async def test_async_client(creds, fake_sf) -> None:
    async with AsyncSalesforceClient(creds, transport=httpx.MockTransport(fake_sf)) as sf:
        assert await sf.api_version() == "68.0"
        names = [r["Name"] async for r in sf.query("SELECT Name FROM Account")]
        assert len(names) == 5
        assert (await sf.sobject("Account").create({"Name": "x"}))["id"] == "001NEW"
        assert (await sf.sobject("Account").get("001NEW"))["Name"] == "Acme"
        await sf.sobject("Account").update("001NEW", {"Name": "y"})
        await sf.sobject("Account").delete("001NEW")
        assert (await sf.sobject("Account").describe())["name"] == "Account"
        assert (await sf.limits())["DailyApiRequests"]["Remaining"] == 14998
        assert (await sf.identity())["user_id"].startswith("005")
        with pytest.raises(ApiError):
            [r async for r in sf.query("SELECT Bogus FROM Account")]
