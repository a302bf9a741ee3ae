"""The replication resources (``/sobjects/{type}/deleted/`` and ``/updated/``) over loopback,
with the emulator's clock stopped so every minute boundary is exact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from sfbearer.emulator import Emulator
from sfbearer.keys import KeyPair

from .conftest import Org, simple_salesforce_over_tls

V = "/services/data/v68.0"


def iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def sf_time(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


class Timeline:
    """A created, then changed; B created, then deleted; five minutes apart."""

    def __init__(self, org: Org) -> None:
        # Half past a minute a little ahead (never before the test certificate's start).
        self.t0 = datetime.now(UTC).replace(second=30, microsecond=0) + timedelta(minutes=2)
        org.sf.clock.freeze(at=self.t0.timestamp())
        self.org, self.token = org, org.login()
        self.a = self.create("A")
        self.b = self.create("B")
        org.sf.clock.advance(minutes=5)
        assert org.api("PATCH", f"{V}/sobjects/Account/{self.a}", self.token,
                       json={"Name": "A2"}).status_code == 204  # fmt: skip
        assert org.api("DELETE", f"{V}/sobjects/Account/{self.b}", self.token).status_code == 204
        org.sf.clock.advance(minutes=5)

    def create(self, name: str) -> str:
        response = self.org.api("POST", f"{V}/sobjects/Account", self.token, json={"Name": name})
        record_id: str = response.json()["id"]
        return record_id

    def get(
        self, kind: str, start: datetime, end: datetime, sobject: str = "Account"
    ) -> httpx.Response:
        params = {"start": iso(start), "end": iso(end)}
        return self.org.api("GET", f"{V}/sobjects/{sobject}/{kind}/", self.token, params=params)


@pytest.fixture
def timeline(sf_org: Org) -> Timeline:
    return Timeline(sf_org)


def test_deleted_lists_what_was_deleted_in_the_window(timeline: Timeline) -> None:
    t0 = timeline.t0
    body = timeline.get("deleted", t0 - timedelta(minutes=1), t0 + timedelta(minutes=10)).json()
    mine = [r for r in body["deletedRecords"] if r["id"] in (timeline.a, timeline.b)]
    assert mine == [{"id": timeline.b, "deletedDate": sf_time(t0 + timedelta(minutes=5))}]
    now_minute = (t0 + timedelta(minutes=10)).replace(second=0)
    assert body["latestDateCovered"] == sf_time(now_minute)
    assert body["earliestDateAvailable"] == sf_time(now_minute - timedelta(days=15))
    # Before the delete (seconds ignored: 10:05:30 is read as 10:05:00, which is excluded).
    early = timeline.get("deleted", t0 - timedelta(minutes=1), t0 + timedelta(minutes=5))
    assert timeline.b not in [r["id"] for r in early.json()["deletedRecords"]]


def test_updated_lists_live_records_changed_in_the_window(timeline: Timeline) -> None:
    t0 = timeline.t0
    body = timeline.get("updated", t0 - timedelta(minutes=1), t0 + timedelta(hours=2)).json()
    assert timeline.a in body["ids"]
    assert timeline.b not in body["ids"]  # deleted: in /deleted/ instead
    # A window reaching past now is covered up to now.
    assert body["latestDateCovered"] == sf_time((t0 + timedelta(minutes=10)).replace(second=0))
    later = timeline.get("updated", t0 + timedelta(minutes=6), t0 + timedelta(minutes=10))
    assert timeline.a not in later.json()["ids"]


@pytest.mark.parametrize(
    ("kind", "params", "status", "code"),
    [
        ("deleted", {"end": "2026-12-01T10:00:00Z"}, 400, "MISSING_ARGUMENT"),
        ("updated", {"start": "yesterday", "end": "2026-12-01T10:00:00Z"}, 400,
         "INVALID_REPLICATION_DATE"),
        ("deleted", {"start": "2026-12-01T10:00:00Z", "end": "2026-12-01T10:01:59Z"}, 400,
         "INVALID_REPLICATION_DATE"),  # a minute once the seconds are dropped
        ("deleted", {"start": "2026-12-01T10:00:00Z", "end": "2026-12-01T09:00:00Z"}, 400,
         "INVALID_REPLICATION_DATE"),
    ],
)  # fmt: skip
def test_refused_windows(
    sf_org: Org, kind: str, params: dict[str, str], status: int, code: str
) -> None:
    sf_org.sf.clock.freeze(at=datetime(2026, 12, 1, 12, tzinfo=UTC).timestamp())
    response = sf_org.api("GET", f"{V}/sobjects/Account/{kind}/", sf_org.login(), params=params)
    assert response.status_code == status
    assert response.json()[0]["errorCode"] == code


def test_how_far_back_each_resource_reaches(sf_org: Org) -> None:
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    sf_org.sf.clock.freeze(at=now.timestamp())
    token = sf_org.login()

    def status(kind: str, days: int) -> int:
        params = {"start": iso(now - timedelta(days=days)), "end": iso(now)}
        return sf_org.api("GET", f"{V}/sobjects/Contact/{kind}", token, params=params).status_code

    assert (status("deleted", 15), status("deleted", 16)) == (200, 400)
    assert (status("updated", 30), status("updated", 31)) == (200, 400)


def test_other_methods_and_types(sf_org: Org) -> None:
    token = sf_org.login()
    for path in ("deleted", "updated", "describe"):
        response = sf_org.api("PATCH", f"{V}/sobjects/Account/{path}", token, json={})
        assert response.status_code == 405
        assert response.json()[0]["errorCode"] == "METHOD_NOT_ALLOWED"
    params = {"start": "2026-12-01T10:00:00Z", "end": "2026-12-01T11:00:00Z"}
    assert sf_org.api("GET", f"{V}/sobjects/Nope/deleted", token, params=params).status_code == 404


def test_simple_salesforce_replication_calls(
    key_pair: KeyPair, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (
        Emulator(tls=True) as emulator,
        simple_salesforce_over_tls(key_pair, monkeypatch, emulator) as (_, sf),
    ):
        start = datetime.now(UTC) - timedelta(minutes=5)
        keep = sf.Contact.create({"LastName": "Keep"})["id"]
        drop = sf.Contact.create({"LastName": "Drop"})["id"]
        sf.Contact.delete(drop)
        # Covered only up to the current minute, as in Salesforce: come back two minutes on.
        assert keep not in sf.Contact.updated(start, start + timedelta(minutes=5))["ids"]
        emulator.clock.advance(minutes=2)
        end = datetime.now(UTC) + timedelta(minutes=5)
        assert keep in sf.Contact.updated(start, end)["ids"]
        deleted = sf.Contact.deleted(start, end)["deletedRecords"]
        assert [r["id"] for r in deleted] == [drop]
