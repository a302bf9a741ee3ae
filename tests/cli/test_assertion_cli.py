"""``sfbearer assertion new|decode``: files, output, the curl command, exit codes."""

from __future__ import annotations

import json
import shlex
import shutil
import stat
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qs

import jwt as pyjwt
import pytest

from sfbearer._files import atomic_write
from sfbearer.config import Profile, save_profile
from sfbearer.keys import KeyPair, private_key_pem

CID = "3MVG9" + "Q" * 40
USER = "integration@acme.com"
GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@pytest.fixture(autouse=True)
def _no_ssl_cert_file(monkeypatch: pytest.MonkeyPatch) -> None:
    # The printed curl names SSL_CERT_FILE's bundle; these tests check the command without one.
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)


@pytest.fixture
def ident(key_files: tuple[Path, Path]) -> list[str]:
    """Flags naming a complete identity."""
    return ["-i", CID, "-o", USER, "-f", str(key_files[0])]


def _verify(token: str, cert_path: Path, audience: str = "https://login.salesforce.com") -> dict:
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    return pyjwt.decode(token, cert.public_key(), algorithms=["RS256"], audience=audience)


def test_new_writes_a_0600_file_that_verifies(
    run_cli, tmp_path: Path, ident: list[str], key_files: tuple[Path, Path]
) -> None:
    out = tmp_path / "jwt.txt"
    before = int(time.time())
    result = run_cli("assertion", "new", *ident, "--out", out)
    assert result.code == 0, result
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    token = out.read_text()
    assert "\n" not in token  # curl's assertion@FILE would send a newline along
    claims = _verify(token, key_files[1])
    assert (claims["iss"], claims["sub"]) == (CID, USER)
    assert before + 180 <= claims["exp"] <= int(time.time()) + 180
    assert claims["exp"] - claims["iat"] == 180
    assert token not in result.output  # never echoed when written to a file
    assert result.stdout == ""
    expected_curl = (
        "curl -sS https://login.salesforce.com/services/oauth2/token "
        f"-d grant_type={GRANT} --data-urlencode assertion@{out}"
    )
    assert expected_curl in result.stderr
    assert "(in 180 s)" in result.stderr
    assert "expires 20" in result.stderr


def test_out_replaces_an_existing_file_atomically(
    run_cli, tmp_path: Path, ident: list[str]
) -> None:
    out = tmp_path / "jwt.txt"
    out.write_text("old")
    out.chmod(0o644)
    result = run_cli("assertion", "new", *ident, "--out", out, "--lifetime", "60")
    assert result.code == 0, result
    assert out.read_text().count(".") == 2
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["jwt.txt", "keys"]  # no temp file left


def test_new_to_stdout_without_a_newline_for_pipes(
    run_cli, ident: list[str], key_files: tuple[Path, Path], tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run_cli("assertion", "new", *ident, "-r", "sandbox", "--lifetime", "30")
    assert result.code == 0, result
    token = result.stdout
    assert token.count(".") == 2
    assert not token.endswith("\n")
    claims = _verify(token, key_files[1], audience="https://test.salesforce.com")
    assert claims["exp"] - claims["iat"] == 30
    assert "https://test.salesforce.com/services/oauth2/token" in result.stderr
    assert "--data-urlencode assertion@-" in result.stderr
    assert token not in result.stderr
    dash = run_cli("assertion", "new", *ident, "--out", "-")
    assert dash.stdout.count(".") == 2
    assert not Path("-").exists()


def test_json_output(run_cli, tmp_path: Path, ident: list[str]) -> None:
    result = run_cli("assertion", "new", *ident, "--json")
    assert result.code == 0, result
    data = json.loads(result.stdout)
    assert data["assertion"].count(".") == 2
    assert data["token_url"] == "https://login.salesforce.com/services/oauth2/token"
    assert data["expires_in"] == 180
    assert data["out"] is None
    out = tmp_path / "j.txt"
    result = run_cli("assertion", "new", *ident, "--out", out, "--json")
    data = json.loads(result.stdout)
    assert "assertion" not in data
    assert out.read_text() not in result.output
    assert data["curl"].endswith(f"assertion@{out}")


def test_instance_url_alias_and_audience(run_cli, ident: list[str], key_files) -> None:
    for flag in ("-r", "--environment", "--instance-url"):
        result = run_cli(
            "assertion", "new", *ident, flag, "https://acme.my.salesforce.com", "--json"
        )
        assert result.code == 0, result
        data = json.loads(result.stdout)
        assert data["token_url"] == "https://acme.my.salesforce.com/services/oauth2/token"
        assert data["audience"] == "https://login.salesforce.com"
    result = run_cli(
        "assertion", "new", *ident, "-r", "https://acme.my.salesforce.com",
        "--audience", "https://acme.my.salesforce.com",
    )  # fmt: skip
    _verify(result.stdout, key_files[1], audience="https://acme.my.salesforce.com")


def test_from_environment_variables(run_cli, key_pair: KeyPair, key_files) -> None:
    env = {
        "SFBEARER_CLIENT_ID": CID,
        "SFBEARER_USERNAME": USER,
        "SFBEARER_JWT_KEY": private_key_pem(key_pair.private_key).decode(),
        "SFBEARER_ENVIRONMENT": "sandbox",
    }
    result = run_cli("assertion", "new", env=env)
    assert result.code == 0, result
    _verify(result.stdout, key_files[1], audience="https://test.salesforce.com")
    # a flag beats the variable
    result = run_cli("assertion", "new", "-o", "other@acme.com", env=env)
    assert _verify(result.stdout, key_files[1], "https://test.salesforce.com")["sub"] == (
        "other@acme.com"
    )


@pytest.fixture
def saved_profile(key_files: tuple[Path, Path]) -> Profile:
    profile = Profile(
        name="x", client_id=CID, username=USER, environment="sandbox",
        jwt_key_file=str(key_files[0]),
    )  # fmt: skip
    save_profile(profile)
    save_profile(Profile(name="other", client_id=CID, username="o@acme.com",
                         jwt_key_file=str(key_files[0])))  # fmt: skip
    return profile


@pytest.mark.parametrize(
    "argv",
    [
        ["-p", "x", "assertion", "new", "--json"],
        ["assertion", "new", "-p", "x", "--json"],
        ["assertion", "-p", "x", "new", "--json"],
        ["--json", "assertion", "new", "--profile", "x"],
    ],
)
def test_profile_before_and_after_the_command(run_cli, saved_profile: Profile, argv) -> None:
    result = run_cli(*argv)
    assert result.code == 0, result
    data = json.loads(result.stdout)
    assert (data["username"], data["audience"]) == (USER, "https://test.salesforce.com")


def test_profile_from_sfbearer_profile(run_cli, saved_profile: Profile) -> None:
    result = run_cli("assertion", "new", "--json", env={"SFBEARER_PROFILE": "other"})
    assert json.loads(result.stdout)["username"] == "o@acme.com"


def test_encrypted_key_with_passphrase_env(run_cli, tmp_path: Path, key_pair: KeyPair) -> None:
    key = tmp_path / "enc.key"
    atomic_write(key, private_key_pem(key_pair.private_key, "s3cret-canary"), mode=0o600)
    argv = ["assertion", "new", "-i", CID, "-o", USER, "-f", key]
    result = run_cli(*argv, "--passphrase-env", "MY_PASS", env={"MY_PASS": "s3cret-canary"})
    assert result.code == 0, result
    result = run_cli(*argv)
    assert result.code == 78
    assert "encrypted" in result.stderr
    result = run_cli(*argv, "--passphrase-env", "MY_PASS", env={"MY_PASS": "wrong-canary"})
    assert result.code == 78
    assert "wrong-canary" not in result.output
    assert "Traceback" not in result.output


def test_sandbox_username_with_production_warns(run_cli, ident: list[str], key_files) -> None:
    flags = ["-i", CID, "-f", str(key_files[0])]
    result = run_cli("assertion", "new", *flags, "-o", "int@acme.com.uat")
    assert result.code == 0
    assert "warning: int@acme.com.uat looks like a sandbox username" in result.stderr
    result = run_cli("assertion", "new", *flags, "-o", "int@acme.com.uat", "-r", "sandbox")
    assert "warning" not in result.stderr


@pytest.mark.parametrize(
    ("extra", "code", "message"),
    [
        (["--lifetime", "0"], 64, "--lifetime"),
        (["--lifetime", "181"], 64, "--lifetime"),
        (["--no-such-flag"], 64, "No such option"),
        (["-r", "http://evil.example.com"], 78, "plain http"),
        (["-r", "https://evil.example.com"], 78, "not a Salesforce host"),
        (["-r", "nowhere"], 78, "unknown environment"),
    ],
)
def test_bad_input_exit_codes(run_cli, ident: list[str], extra, code: int, message: str) -> None:
    result = run_cli("assertion", "new", *ident, *extra)
    assert result.code == code, result
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == ""


def test_missing_identity_and_bad_keys(run_cli, tmp_path: Path, key_files) -> None:
    result = run_cli("assertion", "new", "-i", CID)
    assert result.code == 78
    assert "missing username" in result.stderr
    assert "hint:" in result.stderr
    result = run_cli("assertion", "new", "-i", CID, "-o", USER, "-f", tmp_path / "none.key")
    assert result.code == 78
    assert "not found" in result.stderr
    key_files[0].chmod(0o640)
    result = run_cli("assertion", "new", "-i", CID, "-o", USER, "-f", key_files[0])
    assert result.code == 78
    assert "chmod 600" in result.stderr


def test_out_into_a_missing_directory(run_cli, tmp_path: Path, ident: list[str]) -> None:
    result = run_cli("assertion", "new", *ident, "--out", tmp_path / "no" / "jwt.txt")
    assert result.code == 78
    assert "cannot write" in result.stderr
    assert "eyJ" not in result.output


# -- the printed curl command really works ---------------------------------------------------


class _Recorder(BaseHTTPRequestHandler):
    bodies: ClassVar[list[bytes]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        type(self).bodies.append(self.rfile.read(length))
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"error":"invalid_grant","error_description":"recorded"}')

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def token_server() -> Iterator[tuple[str, list[bytes]]]:
    bodies: ClassVar[list[bytes]] = []
    handler = type("Recorder", (_Recorder,), {"bodies": bodies})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", bodies
    finally:
        server.shutdown()
        server.server_close()


def _printed_curl(stderr: str) -> str:
    return next(line.strip() for line in stderr.splitlines() if line.strip().startswith("curl "))


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_printed_curl_command_sends_exactly_the_assertion(
    run_cli, tmp_path: Path, ident: list[str], token_server
) -> None:
    url, bodies = token_server
    out = tmp_path / "my jwt's.txt"  # the printed command must quote it
    result = run_cli("assertion", "new", *ident, "-r", url, "--out", out)
    assert result.code == 0, result
    command = _printed_curl(result.stderr)
    assert command.startswith(f"curl -sS {url}/services/oauth2/token ")
    run = subprocess.run(shlex.split(command), capture_output=True, timeout=30, check=False)
    assert b"recorded" in run.stdout
    form = parse_qs(bodies[-1].decode(), strict_parsing=True)
    assert form == {"grant_type": [GRANT], "assertion": [out.read_text()]}
    # and the pipe form, with the assertion from stdout
    result = run_cli("assertion", "new", *ident, "-r", url)
    command = _printed_curl(result.stderr)
    subprocess.run(
        shlex.split(command), input=result.stdout.encode(), capture_output=True, timeout=30,
        check=True,
    )  # fmt: skip
    assert parse_qs(bodies[-1].decode())["assertion"] == [result.stdout]


# -- decode -----------------------------------------------------------------------------------


def _mint(run_cli, ident: list[str], *extra: str) -> str:
    result = run_cli("assertion", "new", *ident, *extra)
    assert result.code == 0, result
    return result.stdout


def test_decode_and_verify(run_cli, tmp_path: Path, ident: list[str], key_files) -> None:
    path = tmp_path / "jwt.txt"
    path.write_text(_mint(run_cli, ident) + "\n")
    result = run_cli("assertion", "decode", path, "--cert", key_files[1])
    assert result.code == 0, result
    assert f"iss: {CID}" in result.stdout
    assert f"sub: {USER}" in result.stdout
    assert "alg: RS256" in result.stdout
    assert f"signature: verified with {key_files[1]}" in result.stdout
    assert "in 1" in result.stdout  # "(..., in 17x s)"
    assert result.stderr == ""
    result = run_cli("assertion", "decode", path)
    assert "not checked" in result.stdout
    assert result.code == 0


def test_decode_with_the_wrong_certificate_exits_2(
    run_cli, tmp_path: Path, ident: list[str], other_key_pair: KeyPair
) -> None:
    path = tmp_path / "jwt.txt"
    path.write_text(_mint(run_cli, ident))
    other = tmp_path / "other.crt"
    other.write_bytes(other_key_pair.certificate_info.pem())
    result = run_cli("assertion", "decode", path, "--cert", other)
    assert result.code == 2, result
    assert "DOES NOT VERIFY" in result.stdout
    assert "error: the signature does not verify" in result.stderr
    result = run_cli("assertion", "decode", path, "--cert", other, "--json")
    assert result.code == 2
    data = json.loads(result.stdout)
    assert data["verified"] is False
    assert "does not verify" in data["error"]


def test_decode_from_stdin_as_json(run_cli, ident: list[str], key_files) -> None:
    token = _mint(run_cli, ident, "--lifetime", "90")
    result = run_cli("assertion", "decode", "-", "--json", "--cert", key_files[1], input=token)
    assert result.code == 0, result
    data = json.loads(result.stdout)
    assert data["claims"]["sub"] == USER
    assert data["header"] == {"alg": "RS256", "typ": "JWT"}
    assert 80 <= data["seconds_left"] <= 90
    assert data["verified"] is True
    assert data["warnings"] == []


def test_decode_a_salesforce_cli_shaped_assertion(
    run_cli, tmp_path: Path, key_pair: KeyPair, key_files
) -> None:
    # The Salesforce CLI signs exp = Date.now() + 300 (milliseconds), aud with a trailing
    # slash, and no jti.
    claims = {
        "iss": CID,
        "sub": USER,
        "aud": "https://login.salesforce.com/",
        "exp": int(time.time() * 1000) + 300,
    }
    token = pyjwt.encode(claims, private_key_pem(key_pair.private_key), algorithm="RS256")
    path = tmp_path / "sf.jwt"
    path.write_text(token)
    result = run_cli("assertion", "decode", path, "--cert", key_files[1])
    assert result.code == 1, result
    assert "warning: exp looks like milliseconds" in result.stderr
    assert "milliseconds!" in result.stdout
    assert "signature: verified" in result.stdout
    data = json.loads(run_cli("assertion", "decode", path, "--json").stdout)
    assert any("milliseconds" in w for w in data["warnings"])


def test_decode_warnings_exit_1(run_cli, tmp_path: Path, key_pair: KeyPair) -> None:
    now = int(time.time())
    claims = {
        "iss": "not a consumer key",
        "sub": "\x1b[31mred\x1b[0m",
        "aud": "https://evil.example.com",
        "exp": now - 600,
        "iat": now - 4000,
    }
    token = pyjwt.encode(claims, private_key_pem(key_pair.private_key), algorithm="RS256")
    result = run_cli("assertion", "decode", "-", input=token)
    assert result.code == 1, result
    for expected in ("expired", "lifetime is 3400 s", "not a Salesforce login URL", "consumer key"):
        assert expected in result.stderr
    assert "\x1b" not in result.output  # claims cannot drive the terminal
    assert r"\u001b[31mred" in result.stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not a jwt", "expected 3 dot-separated parts"),
        ("a.b.c", "not base64url JSON"),
        ("", "is empty"),
    ],
)
def test_decode_bad_input_is_a_config_error(run_cli, tmp_path: Path, content, message) -> None:
    path = tmp_path / "bad.txt"
    path.write_text(content)
    result = run_cli("assertion", "decode", path)
    assert result.code == 78, result
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_decode_missing_files(run_cli, tmp_path: Path, ident: list[str]) -> None:
    result = run_cli("assertion", "decode", tmp_path / "nope.txt")
    assert result.code == 78
    assert "no such file" in result.stderr
    path = tmp_path / "jwt.txt"
    path.write_text(_mint(run_cli, ident))
    result = run_cli("assertion", "decode", path, "--cert", tmp_path / "nope.crt")
    assert result.code == 78
    assert "certificate not found" in result.stderr
    result = run_cli("assertion", "decode")
    assert result.code == 64


def test_encrypted_key_prompts_on_a_terminal(
    run_cli, tmp_path: Path, key_pair: KeyPair, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sfbearer.cli import _passphrase

    key = tmp_path / "enc.key"
    atomic_write(key, private_key_pem(key_pair.private_key, "typed-canary"), mode=0o600)
    prompts: list[str] = []
    monkeypatch.setattr(
        _passphrase, "_hidden_prompt", lambda text: prompts.append(text) or "typed-canary"
    )
    argv = ["assertion", "new", "-i", CID, "-o", USER, "-f", key]
    result = run_cli(*argv, tty=True)
    assert result.code == 0, result
    assert prompts == [f"Passphrase for {key}"]
    assert "typed-canary" not in result.output
    result = run_cli(*argv, tty=False)  # no terminal: no prompt, a clear error
    assert result.code == 78
    assert len(prompts) == 1


@pytest.mark.parametrize(
    "word", ["plain.txt", "with space.txt", "it's.txt", "$(rm -rf ~)", "a;b", "", "ü.txt", "x\ny"]
)
def test_curl_quoting_matches_shlex(word: str) -> None:
    from sfbearer.cli.assertion import _quote

    assert _quote(word) == shlex.quote(word)
    assert shlex.split(_quote(word)) == [word]
