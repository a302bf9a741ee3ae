"""Rotation of a key that lives in an HSM (SoftHSM), end to end against the emulator.

SoftHSM reads its configuration once per process, so everything that touches the token runs
in child processes with their own ``SOFTHSM2_CONF`` (the in-process HSM tests keep theirs).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest

from sfbearer.config import Profile, get_profile, save_profile
from sfbearer.emulator import Emulator

MODULES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
)
PIN = "2468-user"

_MAKE_CURRENT_KEY = """
import sys
from cryptography.hazmat.primitives import serialization
from sfbearer.signers.pkcs11 import generate_pkcs11_key
from sfbearer.signers.x509 import build_self_signed_certificate
signer = generate_pkcs11_key(sys.argv[1], 2048)
cert = build_self_signed_certificate(signer, common_name="acme-hsm", days=30)
open(sys.argv[2], "wb").write(cert.public_bytes(serialization.Encoding.PEM))
"""


@pytest.fixture
def hsm_env(tmp_path: Path) -> dict[str, str]:
    util = shutil.which("softhsm2-util")
    module = next((m for m in MODULES if os.path.isfile(m)), None)
    if util is None or module is None:
        if os.environ.get("SFBEARER_REQUIRE_SERVICES") == "1":
            pytest.fail("SoftHSM is not available (SFBEARER_REQUIRE_SERVICES=1)")
        pytest.skip("SoftHSM is not available (install softhsm2)")
    pytest.importorskip("pkcs11")
    (tmp_path / "tokens").mkdir()
    conf = tmp_path / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {tmp_path / 'tokens'}\nobjectstore.backend = file\n"
        "log.level = ERROR\n"
    )
    env = {**os.environ, "SOFTHSM2_CONF": str(conf), "ACME_PIN": PIN}
    subprocess.run(
        [util, "--init-token", "--free", "--label", "acme", "--pin", PIN, "--so-pin", "1357"],
        check=True,
        capture_output=True,
        env=env,
    )
    env["HSM_MODULE"] = os.path.realpath(module)
    return env


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_hsm_key_rotates_inside_the_token_and_the_new_key_logs_in(
    hsm_env: dict[str, str], tmp_path: Path
) -> None:
    module = quote(hsm_env["HSM_MODULE"], safe="/")
    uri = f"pkcs11:token=acme;object=jwt?module-path={module}&pin-source=env:ACME_PIN"
    current_cert = tmp_path / "certs" / "jwt.crt"
    current_cert.parent.mkdir()
    made = _run(hsm_env, "-c", _MAKE_CURRENT_KEY, uri, str(current_cert))
    assert made.returncode == 0, made.stderr

    with Emulator() as sf:
        app = sf.add_app(name="Acme_Hsm", certificate=current_cert)
        sf.add_user(username="int@acme.com")
        sf.authorize(app="Acme_Hsm", user="int@acme.com")
        save_profile(
            Profile(
                name="hsm",
                client_id=app.consumer_key,
                username="int@acme.com",
                environment=sf.url,
                jwt_key_file=uri,
                cert_file=str(current_cert),
            )
        )
        rotated = _run(hsm_env, "-m", "sfbearer", "certs", "rotate", "-p", "hsm", "--json")
        assert rotated.returncode == 0, rotated.stderr
        plan = json.loads(rotated.stdout)
        next_key = plan["next"]["key"]
        assert next_key.startswith("pkcs11:token=acme;object=jwt-")
        assert "pin-source=env:ACME_PIN" in next_key
        assert plan["next"]["created_key"] is True
        assert Path(plan["next"]["certificate"]).parent == current_cert.parent
        assert "BEGIN" not in rotated.stdout + rotated.stderr

        # A second rotation the same day gets its own object; the first is not reused.
        again = _run(
            hsm_env, "-m", "sfbearer", "certs", "rotate", "-p", "hsm", "--replace-pending",
            "--json",
        )  # fmt: skip
        assert again.returncode == 0, again.stderr
        plan = json.loads(again.stdout)
        assert plan["next"]["key"] == next_key.replace("?", "-2?", 1)  # object=jwt-DATE-2
        assert (
            plan["next"]["sha1_fingerprint"]
            != json.loads(rotated.stdout)["next"]["sha1_fingerprint"]
        )
        next_key = plan["next"]["key"]

        # Plan (a) with the HSM key: upload, promote (doctor first), token.
        sf.update_app("Acme_Hsm", certificate=Path(plan["next"]["certificate"]))
        promoted = _run(
            hsm_env, "-m", "sfbearer", "certs", "promote", "-p", "hsm", "--check", "--json"
        )
        assert promoted.returncode == 0, promoted.stderr
        assert json.loads(promoted.stdout)["key"] == next_key
        token = _run(hsm_env, "-m", "sfbearer", "token", "-p", "hsm", "--json")
        assert token.returncode == 0, token.stderr

    saved = get_profile("hsm")
    assert saved.jwt_key_file == next_key
    assert saved.previous_jwt_key_file == uri
