"""An outage (5xx) exits 3, "unknown"; a refusal exits 2 — so a monitor can tell them apart."""

from __future__ import annotations

from pathlib import Path

import pytest

from org_setup import integration
from sfbearer import ApiError, TokenRequestError
from sfbearer.emulator import Emulator

USER = "outage@acme.example"


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (TokenRequestError("server_error", "", status=503, retryable=True, diagnosis=""), 3),
        (
            TokenRequestError(
                "temporarily_unavailable", "busy", status=400, retryable=True, diagnosis=""
            ),
            3,
        ),
        (TokenRequestError("invalid_grant", "x", status=400, retryable=False, diagnosis=""), 2),
        (ApiError(503, "SERVER_UNAVAILABLE", "down"), 3),
        (ApiError(400, "MALFORMED_QUERY", "bad"), 2),
    ],
)
def test_exit_codes(error: Exception, expected: int) -> None:
    assert error.exit_code == expected  # type: ignore[attr-defined]


def test_cli_query_during_an_api_outage_exits_3(
    run_cli, key_files: tuple[Path, Path], tmp_path: Path
) -> None:
    with Emulator() as sf:
        client_id = integration(sf, app="outage", username=USER, cert=key_files[1])
        args = ("-i", client_id, "-o", USER, "-f", key_files[0], "-r", sf.url)
        assert run_cli("query", *args, "SELECT Id FROM Account").code == 0
        sf.faults.update(error_rate=1.0, error_status=503, scope="api")
        down = run_cli("query", *args, "SELECT Id FROM Account")
        assert down.code == 3, down
        assert "503" in down.stderr
        sf.faults.reset()
        bad = run_cli("query", *args, "SELECT Nope FROM Account")
        assert bad.code == 2, bad
