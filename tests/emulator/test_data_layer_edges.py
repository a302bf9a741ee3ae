"""Hostile or edge-of-range input to the data layer ends in its typed errors, never another."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sfbearer.emulator import schema
from sfbearer.emulator.metadata import MetadataError, read_app_metadata
from sfbearer.emulator.records import ApiErrorResponse, RecordStore
from sfbearer.emulator.soql import SoqlError, parse

NOW = datetime(2026, 12, 1, tzinfo=UTC)
NS = "http://soap.sforce.com/2006/04/metadata"


@pytest.mark.parametrize("digits", [10, 5000])
def test_a_date_literal_with_a_huge_n_is_a_malformed_query(digits: int) -> None:
    with pytest.raises(SoqlError) as info:
        parse("SELECT Id FROM Account WHERE CreatedDate = LAST_N_DAYS:" + "9" * digits)
    assert info.value.error_code == "MALFORMED_QUERY"
    assert parse("SELECT Id FROM Account WHERE CreatedDate = LAST_N_DAYS:999999999").where


@pytest.mark.parametrize(
    "text", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "0001-01-01T00:30:00+0100"]
)
def test_datetimes_beyond_the_calendar_are_refused_not_raised(text: str) -> None:
    assert schema.parse_datetime(text) is None
    with pytest.raises(SoqlError) as info:
        parse(f"SELECT Id FROM Account WHERE CreatedDate > {text}")
    assert info.value.error_code == "MALFORMED_QUERY"
    field = schema.SOBJECTS["organization"].field("TrialExpirationDate")
    assert field is not None
    with pytest.raises(ApiErrorResponse) as refused:
        schema.coerce_value(field, text)
    assert refused.value.error_code == "JSON_PARSER_ERROR"
    assert schema.parse_datetime("0001-01-01T01:00:00+01:00") == datetime(1, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("tail", ["²", "٣", "1" * 5000, "0x2", " 2", "-1"])
def test_query_locators_with_odd_numbers_are_invalid(tail: str) -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        store = RecordStore(
            conn, threading.RLock(), clock=lambda: NOW, org_id=schema.make_id("00D", 1)
        )
        for n in range(4):
            store.create("Account", {"Name": f"A{n}"})
        first = store.query("SELECT Id FROM Account", batch_size=1)
        ident = str(first["nextRecordsUrl"]).rsplit("/", 1)[1].partition("-")[0]
        with pytest.raises(ApiErrorResponse) as info:
            store.query_more(f"{ident}-{tail}")
        assert info.value.error_code == "INVALID_QUERY_LOCATOR"
        assert store.query_more(f"{ident}-3")["done"] is True  # the cursor still works
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("codec", "declared"),
    [("utf-16", "UTF-16"), ("utf-16-be", "UTF-16BE"), ("utf-16-le", "UTF-16LE")],
)
def test_a_dtd_is_refused_in_any_encoding(tmp_path: Path, codec: str, declared: str) -> None:
    doc = (
        f'<?xml version="1.0" encoding="{declared}"?>\n'
        '<!DOCTYPE x [<!ENTITY a "EXPANDED">]>\n'
        f'<ExternalClientApplication xmlns="{NS}"><label>&a;</label></ExternalClientApplication>'
    )
    path = tmp_path / "externalClientApps" / "App.eca-meta.xml"
    path.parent.mkdir()
    path.write_bytes(doc.encode(codec))
    with pytest.raises(MetadataError, match="DOCTYPE and ENTITY declarations are not allowed"):
        read_app_metadata(tmp_path)


def test_a_utf16_file_without_a_dtd_is_still_read(tmp_path: Path) -> None:
    doc = (
        '<?xml version="1.0" encoding="UTF-16"?>\n'
        f'<ExternalClientApplication xmlns="{NS}"><label>Orders</label></ExternalClientApplication>'
    )
    path = tmp_path / "externalClientApps" / "App.eca-meta.xml"
    path.parent.mkdir()
    path.write_bytes(doc.encode("utf-16"))
    (app,) = read_app_metadata(tmp_path)
    assert app.label == "Orders"


def test_an_unreadable_folder_is_a_metadata_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Permissions do not bind every user (root reads anything), so the refusal is simulated
    # where the operating system would raise it.
    (tmp_path / "externalClientApps").mkdir()
    real_iterdir = Path.iterdir

    def iterdir(self: Path) -> Iterator[Path]:
        if self.name == "externalClientApps":
            raise PermissionError(13, "Permission denied")
        return real_iterdir(self)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    with pytest.raises(
        MetadataError, match=r"externalClientApps: cannot be read \(Permission denied\)"
    ):
        read_app_metadata(tmp_path)
