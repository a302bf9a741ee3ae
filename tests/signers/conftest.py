"""Fixtures for the HSM and KMS signers: a real SoftHSM token directory, moto's KMS.

SoftHSM reads its configuration (``SOFTHSM2_CONF``) when the module is initialised, once per
process, and sees the tokens present at that moment; so one token directory with every
token the tests need is made once per session, before the module is first loaded.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

MODULE_CANDIDATES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
)
USER_PIN = "4711-user"
SO_PIN = "0815-so"
# Tokens: "main" holds the keys the happy paths use; "odd" holds keys that must be refused;
# "locked" is never logged into successfully (wrong-PIN tests).
TOKENS = ("sfbearer-main", "sfbearer-odd", "sfbearer-locked")


def require_service(what: str, reason: str) -> None:
    """Skip, or fail when SFBEARER_REQUIRE_SERVICES=1 (CI must not skip silently)."""
    message = f"{what} is not available: {reason}"
    if os.environ.get("SFBEARER_REQUIRE_SERVICES") == "1":
        pytest.fail(message + " (SFBEARER_REQUIRE_SERVICES=1)")
    pytest.skip(message + " (install it: apt-get install softhsm2)")


@dataclass(frozen=True)
class SoftHsm:
    module: str
    conf: Path
    root: Path

    def uri(self, obj: str, *, token: str = "sfbearer-main", **query: str) -> str:
        params = {"module-path": self.module, **query}
        q = "&".join(f"{k}={quote(v, safe='/:')}" for k, v in params.items())
        return f"pkcs11:token={quote(token, safe='')};object={quote(obj, safe='')}?{q}"


def _populate_odd_token(module: str) -> None:
    """Keys that exist in a real token but must be refused by the signer."""
    import pkcs11
    from pkcs11 import Attribute, KeyType, MechanismFlag

    lib = pkcs11.lib(module)
    token = lib.get_token(token_label="sfbearer-odd")
    with token.open(user_pin=USER_PIN, rw=True) as session:
        session.generate_keypair(KeyType.RSA, 1024, store=True, label="rsa-1024")
        session.generate_keypair(
            KeyType.RSA,
            2048,
            store=True,
            label="no-sign",
            capabilities=MechanismFlag.DECRYPT | MechanismFlag.ENCRYPT,
            private_template={Attribute.SIGN: False},
        )
        params = session.create_domain_parameters(
            KeyType.EC,
            {Attribute.EC_PARAMS: pkcs11.util.ec.encode_named_curve_parameters("secp256r1")},
            local=True,
        )
        params.generate_keypair(store=True, label="ec-p256")
        # Two private keys with one label: ambiguous without id=.
        session.generate_keypair(KeyType.RSA, 2048, store=True, label="twin", id=b"\x01")
        session.generate_keypair(KeyType.RSA, 2048, store=True, label="twin", id=b"\x02")
    # Closing the session logged out; the signer under test logs in on its own.


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SoftHsm]:
    """A SoftHSM token directory with TOKENS initialised, and SOFTHSM2_CONF pointing at it."""
    util = shutil.which("softhsm2-util")
    module = next((m for m in MODULE_CANDIDATES if os.path.isfile(m)), None)
    if util is None or module is None:
        require_service("SoftHSM", "softhsm2-util or libsofthsm2.so not found")
    try:
        import pkcs11  # noqa: F401
    except ImportError:
        require_service("SoftHSM", "python-pkcs11 is not installed")
    assert util is not None
    assert module is not None
    # One spelling of the path per process: python-pkcs11 keys loaded modules by it.
    module = os.path.realpath(module)
    root = tmp_path_factory.mktemp("softhsm")
    (root / "tokens").mkdir()
    conf = root / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {root / 'tokens'}\nobjectstore.backend = file\n"
        "log.level = ERROR\nslots.removable = false\n"
    )
    old = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    for label in TOKENS:
        subprocess.run(
            [
                util,
                "--init-token",
                "--free",
                "--label",
                label,
                "--pin",
                USER_PIN,
                "--so-pin",
                SO_PIN,
            ],
            check=True,
            capture_output=True,
        )
    # The module may have been initialised by an earlier test with another configuration:
    # start it over so it reads this one.
    from sfbearer.signers import _pkcs11_session

    for loaded in _pkcs11_session._modules.values():
        loaded.reset()
        with loaded.lock:
            loaded._library()
    _populate_odd_token(module)
    yield SoftHsm(module=module, conf=conf, root=root)
    if old is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = old


@pytest.fixture(scope="session")
def hsm_signer(softhsm: SoftHsm):  # type: ignore[no-untyped-def]
    """An RSA-2048 key generated in the main token, and its signer."""
    from sfbearer.signers.pkcs11 import generate_pkcs11_key

    return generate_pkcs11_key(softhsm.uri("sfbearer-jwt"), 2048, pin=USER_PIN)


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake AWS credentials and region, so nothing can reach a real account."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")


KMS_REGION = "eu-west-1"


class Kms:
    """moto's KMS, taught to honour MessageType=DIGEST, with a call counter for Sign."""

    def __init__(self) -> None:
        import boto3

        self.client = boto3.client("kms", region_name=KMS_REGION)
        self.sign_calls = 0
        self.throttle_next = 0

    def rsa_key(self, spec: str = "RSA_2048", usage: str = "SIGN_VERIFY") -> dict[str, Any]:
        meta: dict[str, Any] = self.client.create_key(KeySpec=spec, KeyUsage=usage)["KeyMetadata"]
        return meta


@pytest.fixture
def kms(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Kms]:
    from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
    from moto import mock_aws
    from moto.core.exceptions import JsonRESTError
    from moto.kms import responses, utils

    # moto signs every message as RAW (its docs say DIGEST is not implemented), so a
    # digest would be hashed twice. Real KMS signs the digest as given; make moto do so.
    state = threading.local()
    original_response_sign = responses.KmsResponse.sign
    original_key_sign = utils.RSAPrivateKey.sign
    holder: dict[str, Kms] = {}

    def response_sign(self: Any) -> str:
        fake = holder["kms"]
        fake.sign_calls += 1
        if fake.throttle_next > 0:
            fake.throttle_next -= 1
            raise JsonRESTError("ThrottlingException", "Rate exceeded")
        state.digest = self._get_param("MessageType") == "DIGEST"
        try:
            return str(original_response_sign(self))
        finally:
            state.digest = False

    def key_sign(self: Any, message: bytes, signing_algorithm: str) -> bytes:
        if getattr(state, "digest", False):
            pad, algorithm = self._RSAPrivateKey__padding_and_hash_algorithm(signing_algorithm)
            assert len(message) == algorithm.digest_size  # KMS refuses other lengths
            return bytes(self.private_key.sign(message, pad, Prehashed(algorithm)))
        return bytes(original_key_sign(self, message, signing_algorithm))

    monkeypatch.setattr(responses.KmsResponse, "sign", response_sign)
    monkeypatch.setattr(utils.RSAPrivateKey, "sign", key_sign)
    with mock_aws():
        holder["kms"] = Kms()
        yield holder["kms"]


def private_key_object(softhsm: SoftHsm, label: str):  # type: ignore[no-untyped-def]
    """The raw python-pkcs11 key object, through the signer's own logged-in session."""
    import pkcs11

    from sfbearer.signers.pkcs11 import PKCS11Signer

    signer = PKCS11Signer(softhsm.uri(label), pin=USER_PIN)
    return signer._module.call(
        lambda s: s.get_key(object_class=pkcs11.ObjectClass.PRIVATE_KEY, label=label),
        token=signer._token,
        pin=USER_PIN,
        what="test",
    ), signer


def openssl_verifies(cert: Any, path: Path) -> None:
    """Write ``cert`` (an ``x509.Certificate``) or check the PEM file at ``path`` with
    ``openssl verify -x509_strict -check_ss_sig``, a verifier independent of ours."""
    from cryptography.hazmat.primitives import serialization

    openssl = shutil.which("openssl")
    if openssl is None:
        require_service("openssl", "the openssl command is not installed")
    assert openssl is not None
    if cert is not None:
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    done = subprocess.run(
        [openssl, "verify", "-x509_strict", "-check_ss_sig", "-CAfile", str(path), str(path)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().endswith("OK")
