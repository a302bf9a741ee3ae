"""``sfbearer emulator`` admin commands: how --url/--state/--ca are checked, before any I/O."""

from __future__ import annotations

from pathlib import Path

from cli_result import RunCli


def test_faults_requires_url_even_with_a_state_file(run_cli: RunCli, tmp_path: Path) -> None:
    result = run_cli("emulator", "faults")
    assert result.code == 64
    assert "Missing option '--url'" in result.stderr
    assert run_cli("emulator", "faults", "--state", tmp_path / "org.db").code == 64


def test_url_comes_from_the_environment(run_cli: RunCli) -> None:
    result = run_cli("emulator", "faults", env={"SFBEARER_EMULATOR_URL": "http://127.0.0.1:9"})
    assert result.code == 3  # the variable was used: nothing listens on port 9
    assert "cannot reach the emulator at http://127.0.0.1:9" in result.stderr


def test_exactly_one_emulator_is_named(run_cli: RunCli, tmp_path: Path) -> None:
    for extra in ((), ("--url", "http://127.0.0.1:9", "--state", tmp_path / "org.db")):
        result = run_cli("emulator", "revoke-sessions", *extra)
        assert result.code == 64, result
        assert "name exactly one emulator" in result.stderr


def test_a_command_reports_its_own_usage_error_first(run_cli: RunCli) -> None:
    result = run_cli("emulator", "authorize", "--app", "Acme")
    assert result.code == 64
    assert "give exactly one of --sf-profile, --permission-set, --user" in result.stderr


def test_add_app_names_the_missing_emulator_before_reading_the_certificate(
    run_cli: RunCli, tmp_path: Path
) -> None:
    not_a_cert = tmp_path / "server.crt"
    not_a_cert.write_text("not a certificate")
    result = run_cli("emulator", "add-app", "--name", "Acme", "--cert", not_a_cert)
    assert result.code == 64
    assert "name exactly one emulator" in result.stderr


def test_state_file_target_reports_a_missing_file(run_cli: RunCli, tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    result = run_cli("emulator", "stats", "--state", missing)
    assert result.code == 78
    assert f"no emulator state file at {missing}" in result.stderr
    assert not missing.exists()
