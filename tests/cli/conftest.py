"""CLI tests use the suite's ``run_cli`` fixture (tests/conftest.py); its types, for annotations."""

from __future__ import annotations

from cli_result import CliResult, RunCli

__all__ = ["CliResult", "RunCli"]
