"""The record store: CRUD, soft delete, queries, cursors, persistence and locking."""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sfbearer.emulator.records import AUTOMATED_USER_ID, ApiErrorResponse, RecordStore, SoqlError
from sfbearer.emulator.schema import make_id

ORG_ID = make_id("00D", 42)


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def conn() -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
    yield connection
    connection.close()


@pytest.fixture
def store(conn: sqlite3.Connection, clock: FakeClock) -> RecordStore:
    return RecordStore(conn, threading.RLock(), clock=clock, org_id=ORG_ID, org_name="Acme Corp",
                       is_sandbox=True, instance_name="CS42")  # fmt: skip


def api_error(fn: object, *args: object, **kw: object) -> ApiErrorResponse:
    with pytest.raises(ApiErrorResponse) as info:
        fn(*args, **kw)  # type: ignore[operator]
    return info.value


def test_organization_row_answers_the_cli_query(store: RecordStore) -> None:
    result = store.query("SELECT Name, InstanceName, IsSandbox, TrialExpirationDate, "
                         "NamespacePrefix, OrganizationType FROM Organization")  # fmt: skip
    assert result["totalSize"] == 1
    assert result["done"] is True
    (org,) = result["records"]  # type: ignore[misc]
    assert org == {
        "attributes": {"type": "Organization", "url": f"/services/data/v68.0/sobjects/Organization/{ORG_ID}"},
        "Name": "Acme Corp", "InstanceName": "CS42", "IsSandbox": True,
        "TrialExpirationDate": None, "NamespacePrefix": None, "OrganizationType": "Developer Edition",
    }  # fmt: skip
    assert store.get("Organization", ORG_ID[:15])["Id"] == ORG_ID


def test_create_get_update_delete(store: RecordStore, clock: FakeClock) -> None:
    user = make_id("005", 1001)
    store.add_user_record(user, "int@acme.example", profile="Integration", last_name="Bot")
    new_id = store.create("account", {"name": "Acme", "AnnualRevenue": 10}, user_id=user)
    assert re.fullmatch(r"001[0-9A-Za-z]{15}", new_id)
    record = store.get("Account", new_id)
    assert record["attributes"] == {
        "type": "Account",
        "url": f"/services/data/v68.0/sobjects/Account/{new_id}",
    }
    assert record["Name"] == "Acme"
    assert record["AnnualRevenue"] == 10.0
    assert record["CreatedById"] == user
    assert record["OwnerId"] == user
    assert record["CreatedDate"] == "2026-12-01T12:00:00.000+0000"
    assert record["IsDeleted"] is False
    assert store.get("Account", new_id, ["name", "Id"], api_version="58.0") == {
        "attributes": {"type": "Account", "url": f"/services/data/v58.0/sobjects/Account/{new_id}"},
        "Name": "Acme",
        "Id": new_id,
    }
    clock.advance(minutes=5)
    store.update("Account", new_id[:15], {"Phone": "555"})
    record = store.get("Account", new_id)
    assert record["Phone"] == "555"
    assert record["Name"] == "Acme"
    assert record["LastModifiedDate"] == "2026-12-01T12:05:00.000+0000"
    assert record["CreatedDate"] == "2026-12-01T12:00:00.000+0000"
    store.delete("Account", new_id)
    err = api_error(store.get, "Account", new_id)
    assert (err.status, err.error_code) == (404, "ENTITY_IS_DELETED")
    assert (
        api_error(store.update, "Account", new_id, {"Phone": "1"}).error_code == "ENTITY_IS_DELETED"
    )
    assert api_error(store.delete, "Account", new_id).status == 404
    assert store.query("SELECT Id FROM Account")["totalSize"] == 0
    everything = store.query("SELECT Id, IsDeleted FROM Account", include_deleted=True)
    assert everything["records"][0]["IsDeleted"] is True  # type: ignore[index]


def test_errors(store: RecordStore) -> None:
    account = store.create("Account", {"Name": "A"})
    err = api_error(store.get, "Account", "xyz")
    assert (err.status, err.error_code) == (400, "MALFORMED_ID")
    err = api_error(store.get, "Account", make_id("001", 999))
    assert (err.status, err.error_code, err.message) == (
        404,
        "NOT_FOUND",
        "The requested resource does not exist",
    )
    assert api_error(store.get, "Contact", account).error_code == "NOT_FOUND"  # wrong type
    assert api_error(store.get, "Widget__c", account).status == 404
    assert api_error(store.get, "Account", account, ["Bogus"]).error_code == "INVALID_FIELD"
    assert api_error(store.create, "Widget__c", {}).status == 404
    assert api_error(store.create, "Account", {"Bogus": 1}).error_code == "INVALID_FIELD"
    assert (
        api_error(store.create, "Organization", {"Name": "x"}).error_code
        == "INVALID_TYPE_FOR_OPERATION"
    )
    assert (
        api_error(store.delete, "Organization", ORG_ID).error_code == "INVALID_TYPE_FOR_OPERATION"
    )
    assert (
        api_error(store.update, "Account", account, {"Name": None}).error_code
        == "REQUIRED_FIELD_MISSING"
    )
    with pytest.raises(SoqlError) as info:
        store.query("SELECT Id FROM Nothing")
    assert info.value.error_code == "INVALID_TYPE"
    assert info.value.status == 400
    with pytest.raises(ValueError, match="005"):
        store.add_user_record(account, "x@y.z")


def test_derived_fields(store: RecordStore) -> None:
    contact = store.create("Contact", {"FirstName": "Ada", "LastName": "Lovelace"})
    assert store.get("Contact", contact)["Name"] == "Ada Lovelace"
    opp = store.create(
        "Opportunity", {"Name": "Deal", "StageName": "Prospecting", "CloseDate": "2027-01-31"}
    )
    assert store.get("Opportunity", opp)["IsClosed"] is False
    store.update("Opportunity", opp, {"StageName": "Closed Won"})
    assert store.get("Opportunity", opp, ["IsClosed", "IsWon"]) | {"attributes": None} == {
        "attributes": None, "IsClosed": True, "IsWon": True}  # fmt: skip
    case = store.get("Case", store.create("Case", {"Subject": "Broken"}))
    assert case["Status"] == "New"
    assert re.fullmatch(r"\d{8}", str(case["CaseNumber"]))
    assert api_error(store.create, "Contact", {"LastName": "x", "Name": "y"}).error_code == (
        "INVALID_FIELD_FOR_INSERT_UPDATE")  # fmt: skip


def test_relationships_users_and_profiles(store: RecordStore) -> None:
    user = make_id("005", 1001)
    store.add_user_record(user, "ada@acme.example", profile="Integration User",
                          first_name="Ada", last_name="Lovelace")  # fmt: skip
    store.add_user_record(user, "ada@acme.example", profile="Integration User",
                          first_name="Ada", last_name="Lovelace", is_active=False)  # fmt: skip
    result = store.query("SELECT Username, Name, IsActive, Profile.Name FROM User "
                         "WHERE Username = 'ADA@acme.example'")  # fmt: skip
    assert result["records"][0] | {"attributes": None} == {  # type: ignore[index]
        "attributes": None, "Username": "ada@acme.example", "Name": "Ada Lovelace", "IsActive": False,
        "Profile": {"attributes": {"type": "Profile", "url": result["records"][0]["Profile"]["attributes"]["url"]},  # type: ignore[index]
                    "Name": "Integration User"}}  # fmt: skip
    assert store.ensure_profile("integration user") == store.ensure_profile("Integration User")
    ps = store.ensure_permission_set("JWT Access")
    assert ps.startswith("0PS")
    assert store.ensure_permission_set("JWT Access") == ps
    assert (
        store.query("SELECT COUNT() FROM PermissionSet WHERE Name = 'JWT Access'")["totalSize"] == 1
    )
    account = store.create("Account", {"Name": "Acme"})
    store.create("Contact", {"LastName": "A", "AccountId": account})
    store.create("Contact", {"LastName": "B"})
    rows = store.query("SELECT LastName, Account.Name FROM Contact ORDER BY LastName")["records"]
    assert [r["Account"] and r["Account"]["Name"] for r in rows] == ["Acme", None]  # type: ignore[index]
    store.delete("Account", account)  # its contact goes with it; queryAll still sees both
    rows = store.query("SELECT Account.Name FROM Contact WHERE LastName = 'A'")["records"]
    assert rows == []
    rows = store.query(
        "SELECT Account.Name FROM Contact WHERE LastName = 'A'", include_deleted=True
    )["records"]
    assert rows[0]["Account"]["Name"] == "Acme"  # type: ignore[index]
    assert (
        store.query("SELECT Id FROM User WHERE Id = '" + AUTOMATED_USER_ID + "'")["totalSize"] == 1
    )


def test_paging_through_next_records_url(store: RecordStore, clock: FakeClock) -> None:
    for n in range(7):
        store.create("Account", {"Name": f"A{n}"})
    page = store.query("SELECT Name FROM Account ORDER BY Name", batch_size=3, api_version="61.0")
    assert page["totalSize"] == 7
    assert page["done"] is False
    url = str(page["nextRecordsUrl"])
    match = re.fullmatch(r"/services/data/v61\.0/query/(01g[0-9A-Za-z]{15}-3)", url)
    assert match, url
    seen = [r["Name"] for r in page["records"]]  # type: ignore[attr-defined]
    while not page["done"]:
        page = store.query_more(str(page["nextRecordsUrl"]).rsplit("/", 1)[1])
        assert page["totalSize"] == 7
        seen += [r["Name"] for r in page["records"]]  # type: ignore[attr-defined]
    assert seen == [f"A{n}" for n in range(7)]
    assert "nextRecordsUrl" not in page
    for bad in (
        "nonsense",
        match.group(1).replace("-3", "-99"),
        match.group(1).replace("-3", "-x"),
        "",
    ):
        err = api_error(store.query_more, bad)
        assert (err.status, err.error_code) == (400, "INVALID_QUERY_LOCATOR")
    # an idle cursor expires after 15 minutes of the store's clock
    page = store.query("SELECT Name FROM Account", batch_size=2)
    locator = str(page["nextRecordsUrl"]).rsplit("/", 1)[1]
    clock.advance(minutes=16)
    assert api_error(store.query_more, locator).error_code == "INVALID_QUERY_LOCATOR"
    # COUNT() never pages
    assert store.query("SELECT COUNT() FROM Account", batch_size=2) == {
        "totalSize": 7,
        "done": True,
        "records": [],
    }


def test_cursors_are_bounded(conn: sqlite3.Connection, clock: FakeClock) -> None:
    store = RecordStore(conn, threading.RLock(), clock=clock, org_id=ORG_ID, max_cursors=2)
    for n in range(3):
        store.create("Account", {"Name": f"A{n}"})
    locators = [str(store.query("SELECT Id FROM Account", batch_size=1)["nextRecordsUrl"]).rsplit("/", 1)[1]
                for _ in range(3)]  # fmt: skip
    assert api_error(store.query_more, locators[0]).error_code == "INVALID_QUERY_LOCATOR"
    assert store.query_more(locators[2])["records"]


def test_state_survives_a_new_store_on_the_same_file(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "state.db"
    first = sqlite3.connect(path, isolation_level=None)
    store = RecordStore(first, threading.RLock(), clock=clock, org_id=ORG_ID)
    kept = store.create("Account", {"Name": "Kept"})
    first.close()
    second = sqlite3.connect(path, isolation_level=None)
    again = RecordStore(second, threading.RLock(), clock=clock, org_id=ORG_ID, org_name="Renamed")
    assert again.get("Account", kept)["Name"] == "Kept"
    assert again.create("Account", {"Name": "New"}) != kept
    assert again.query("SELECT Name FROM Organization")["records"][0]["Name"] == "Renamed"  # type: ignore[index]
    assert again.query("SELECT COUNT() FROM Profile WHERE Name = 'Standard User'")["totalSize"] == 1
    second.close()


def test_user_input_is_data_not_sql(store: RecordStore) -> None:
    nasty = "x'); DROP TABLE sobject_records; --"
    new_id = store.create("Account", {"Name": nasty})
    assert store.get("Account", new_id)["Name"] == nasty
    escaped = nasty.replace("'", "\\'")
    assert store.query(f"SELECT Id FROM Account WHERE Name = '{escaped}'")["totalSize"] == 1


def test_concurrent_writers_get_distinct_ids(conn: sqlite3.Connection, clock: FakeClock) -> None:
    store = RecordStore(conn, threading.RLock(), clock=clock, org_id=ORG_ID)
    ids: list[str] = []
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(25):
                ids.append(store.create("Account", {"Name": f"T{n}-{i}"}))
                store.query("SELECT COUNT() FROM Account")
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(set(ids)) == 100
    assert store.query("SELECT COUNT() FROM Account")["totalSize"] == 100


def test_today_follows_the_store_clock(store: RecordStore, clock: FakeClock) -> None:
    store.create("Account", {"Name": "Old"})
    assert store.query("SELECT COUNT() FROM Account WHERE CreatedDate = TODAY")["totalSize"] == 1
    clock.advance(days=2)
    assert store.query("SELECT COUNT() FROM Account WHERE CreatedDate = TODAY")["totalSize"] == 0
    assert (
        store.query("SELECT COUNT() FROM Account WHERE CreatedDate = LAST_N_DAYS:3")["totalSize"]
        == 1
    )


def test_cached_rows_see_writes_from_another_connection(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "shared.db"
    one = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    two = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    server = RecordStore(one, threading.RLock(), clock=clock, org_id=ORG_ID)
    cli = RecordStore(two, threading.RLock(), clock=clock, org_id=ORG_ID)
    assert server.query("SELECT COUNT() FROM Account")["totalSize"] == 0  # fills the cache
    made = cli.create("Account", {"Name": "From elsewhere"})
    assert server.query("SELECT Name FROM Account")["records"][0]["Name"] == "From elsewhere"  # type: ignore[index]
    cli.update("Account", made, {"Name": "Renamed"})
    assert server.query("SELECT Name FROM Account")["records"][0]["Name"] == "Renamed"  # type: ignore[index]
    cli.delete("Account", made)
    assert server.query("SELECT COUNT() FROM Account")["totalSize"] == 0
    one.close()
    two.close()


def test_random_ids_and_locators_only_raise_api_errors(store: RecordStore) -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    real = store.create("Account", {"Name": "Real"})

    @settings(max_examples=200, deadline=None)
    @given(
        st.sampled_from(["Account", "account", "Contact", "Organization", "Nope", ""]),
        st.one_of(st.text(max_size=20), st.just(real), st.just(real[:15]), st.just(real.lower())),
    )
    def check(sobject: str, record_id: str) -> None:
        for call in (
            lambda: store.get(sobject, record_id, ["Name"]),
            lambda: store.update(sobject, record_id, {"Phone": "1"}),
            lambda: store.query_more(record_id),
        ):
            status = 200
            try:
                call()
            except ApiErrorResponse as exc:
                status = exc.status
            assert status in (200, 400, 404)

    check()


def test_invalidate_drops_rows_kept_from_before_a_change_behind_the_stores_back(
    store: RecordStore, conn: sqlite3.Connection
) -> None:
    store.create("Account", {"Name": "Kept"})
    assert [r["Name"] for r in store.query("SELECT Name FROM Account")["records"]] == ["Kept"]  # type: ignore[attr-defined,index]
    conn.execute("SAVEPOINT s")
    store.create("Account", {"Name": "Undone"})
    assert store.query("SELECT COUNT() FROM Account")["totalSize"] == 2
    conn.execute("ROLLBACK TO s")
    conn.execute("RELEASE s")
    # The store still holds the rows it read after its own last write...
    assert store.query("SELECT COUNT() FROM Account")["totalSize"] == 2
    store.invalidate()  # ...until told the table changed
    assert [r["Name"] for r in store.query("SELECT Name FROM Account")["records"]] == ["Kept"]  # type: ignore[attr-defined,index]


def test_opportunity_probability_follows_the_stage_unless_given(store: RecordStore) -> None:
    def probability(record_id: str) -> object:
        return store.get("Opportunity", record_id)["Probability"]

    base = {"Name": "Deal", "CloseDate": "2027-01-31"}
    plain = store.create("Opportunity", {**base, "StageName": "Needs Analysis"})
    assert probability(plain) == 20.0
    store.update("Opportunity", plain, {"StageName": "Negotiation"})
    assert probability(plain) == 90.0
    store.update("Opportunity", plain, {"Probability": 55})
    assert probability(plain) == 55.0
    store.update("Opportunity", plain, {"Amount": 10})  # no new stage: kept
    assert probability(plain) == 55.0
    store.update("Opportunity", plain, {"StageName": "Closed Won", "Probability": 95})
    assert probability(plain) == 95.0
    given = store.create("Opportunity", {**base, "StageName": "Prospecting", "Probability": 33})
    assert probability(given) == 33.0
    lost = store.create("Opportunity", {**base, "StageName": "Closed Lost"})
    assert probability(lost) == 0.0
