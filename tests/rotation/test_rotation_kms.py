"""Rotation onto a KMS key the user created (moto's KMS), end to end against the emulator."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sfbearer.config import Profile, get_profile, save_profile

from .conftest import APP, Org, RunCli

pytest.importorskip("boto3")
pytest.importorskip("moto")

REGION = "eu-west-1"


@pytest.fixture
def kms_client(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto's KMS with fake credentials; taught to sign a DIGEST as real KMS does.

    moto always hashes the message it is given, while KMSSigner sends a SHA-256 digest
    with MessageType=DIGEST; without this the signature would be over the hash of a hash.
    """
    import boto3
    from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
    from moto import mock_aws
    from moto.kms import responses, utils

    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")

    digest_mode = threading.local()
    response_sign = responses.KmsResponse.sign
    key_sign = utils.RSAPrivateKey.sign

    def sign_response(self: Any) -> str:
        digest_mode.on = self._get_param("MessageType") == "DIGEST"
        try:
            return str(response_sign(self))
        finally:
            digest_mode.on = False

    def sign_with_key(self: Any, message: bytes, signing_algorithm: str) -> bytes:
        if not getattr(digest_mode, "on", False):
            return bytes(key_sign(self, message, signing_algorithm))
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        assert signing_algorithm == "RSASSA_PKCS1_V1_5_SHA_256"
        assert len(message) == 32
        return bytes(self.private_key.sign(message, padding.PKCS1v15(), Prehashed(hashes.SHA256())))

    monkeypatch.setattr(responses.KmsResponse, "sign", sign_response)
    monkeypatch.setattr(utils.RSAPrivateKey, "sign", sign_with_key)
    with mock_aws():
        yield boto3.client("kms", region_name=REGION)


def _kms_key(client: Any) -> str:
    key_id = client.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    return f"awskms:{key_id}?region={REGION}"


def test_a_file_key_rotates_onto_a_kms_key(
    org: Org, prod: Profile, run_cli: RunCli, kms_client: Any
) -> None:
    uri = _kms_key(kms_client)
    rotated = run_cli("certs", "rotate", "-p", "prod", "--signer", uri, "--json")
    assert rotated.code == 0, rotated
    plan = json.loads(rotated.stdout)
    assert plan["next"]["key"] == uri
    assert plan["next"]["created_key"] is False  # KMS keys are the user's
    cert = Path(plan["next"]["certificate"])
    assert cert.parent == org.cert.parent

    org.sf.update_app(APP, certificate=cert)
    promoted = run_cli("certs", "promote", "-p", "prod", "--check")
    assert promoted.code == 0, promoted
    assert get_profile("prod").jwt_key_file == uri
    token = run_cli("token", "-p", "prod")
    assert token.code == 0, token


def test_a_kms_key_rotates_onto_another_kms_key(
    org: Org, run_cli: RunCli, kms_client: Any, tmp_path: Path
) -> None:
    first = _kms_key(kms_client)
    save_profile(
        Profile(
            name="kms",
            client_id=org.consumer_key,
            username="integration@acme.com",
            environment=org.sf.url,
            jwt_key_file=first,
            cert_file=str(tmp_path / "kms.crt"),
        )
    )
    without = run_cli("certs", "rotate", "-p", "kms")
    assert without.code == 78
    assert "aws kms create-key" in without.stderr
    same = run_cli("certs", "rotate", "-p", "kms", "--signer", first)
    assert same.code == 78
    assert "names the key in use" in same.stderr
    second = _kms_key(kms_client)
    rotated = run_cli("certs", "rotate", "-p", "kms", "--signer", second, "--json")
    assert rotated.code == 0, rotated
    assert Path(json.loads(rotated.stdout)["next"]["certificate"]).parent == tmp_path
