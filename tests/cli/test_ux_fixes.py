"""Walkthrough findings: what a newcomer sees from the CLI says what it means."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli_result import RunCli
from sfbearer.emulator import Emulator

USER = "ux@acme.example"


@pytest.fixture
def org(key_files: tuple[Path, Path]) -> Iterator[tuple[Emulator, tuple[str, ...]]]:
    """A running emulator with an authorized app, and the connection flags that reach it."""
    with Emulator() as sf:
        app = sf.add_app(name="ux", certificate=key_files[1])
        sf.add_user(username=USER)
        sf.authorize(app="ux", user=USER)
        yield sf, ("-i", app.consumer_key, "-o", USER, "-f", str(key_files[0]), "-r", sf.url)


# -- 1. SELECT COUNT() -----------------------------------------------------------------------
@pytest.mark.parametrize("contacts", [0, 3])
def test_count_query_prints_the_count_in_every_format(
    run_cli: RunCli, org: tuple[Emulator, tuple[str, ...]], contacts: int
) -> None:
    sf, args = org
    for i in range(contacts):
        sf.records.create("Contact", {"LastName": f"C{i}"})
    soql = "SELECT COUNT() FROM Contact"
    as_json = run_cli("query", *args, soql, "--json")
    assert as_json.code == 0, as_json
    assert json.loads(as_json.stdout) == {"totalSize": contacts}
    table = run_cli("query", *args, soql)
    assert table.code == 0, table
    assert table.stdout.strip() == str(contacts)
    as_csv = run_cli("query", *args, soql, "--format", "csv")
    assert list(csv.DictReader(io.StringIO(as_csv.stdout))) == [{"totalSize": str(contacts)}]


def test_an_empty_ordinary_query_is_still_an_empty_list(
    run_cli: RunCli, org: tuple[Emulator, tuple[str, ...]]
) -> None:
    _, args = org
    result = run_cli("query", *args, "SELECT Id FROM Contact", "--json")
    assert result.code == 0, result
    assert json.loads(result.stdout) == []


def test_query_help_promises_what_the_count_example_prints(run_cli: RunCli) -> None:
    result = run_cli("query", "--help")
    assert '"SELECT COUNT() FROM Contact" --json' in result.stdout
    assert '{"totalSize":' in result.stdout
