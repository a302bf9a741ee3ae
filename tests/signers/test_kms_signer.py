"""AWS KMS signer against moto's KMS: key checks, digest signing, certificates, retries."""

from __future__ import annotations

import hashlib
import os
import socket
import warnings
from pathlib import Path
from typing import Any

import pytest

from sfbearer import SignerError
from sfbearer.keys import verify_rs256
from sfbearer.signers import Signer, resolve_signer
from sfbearer.signers.kms import MAX_ATTEMPTS, KMSSigner
from sfbearer.signers.x509 import build_self_signed_certificate

from .conftest import KMS_REGION as REGION
from .conftest import Kms, openssl_verifies

pytest.importorskip("boto3")
pytest.importorskip("moto")


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """botocore's standard-mode backoff, recorded instead of slept."""
    from botocore.retries import standard

    delays: list[float] = []
    original = standard.ExponentialBackoff.delay_amount

    def delay_amount(self: Any, context: Any) -> float:
        delays.append(original(self, context))
        return 0.0

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", delay_amount)
    return delays


def test_sign_with_an_alias_verifies(kms: Kms) -> None:
    key = kms.rsa_key()
    kms.client.create_alias(AliasName="alias/sfbearer", TargetKeyId=key["KeyId"])
    signer = resolve_signer(f"awskms:alias/sfbearer?region={REGION}")
    assert isinstance(signer, KMSSigner)
    assert isinstance(signer, Signer)
    message = b"header.claims" * 1000  # larger than KMS's 4 KB cap on RAW messages
    signature = signer.sign(message)
    assert len(signature) == 256
    assert verify_rs256(signer.public_key(), message, signature)
    assert not verify_rs256(signer.public_key(), b"other", signature)
    assert signer.key_id.count(":") == 31


@pytest.mark.parametrize("spec", ["RSA_3072", "RSA_4096"])
def test_larger_rsa_keys_by_arn(kms: Kms, spec: str) -> None:
    key = kms.rsa_key(spec)
    signer = KMSSigner(f"awskms:{key['Arn']}")
    assert signer.key_spec == spec
    assert signer.public_key().key_size == int(spec[4:])
    assert verify_rs256(signer.public_key(), b"m", signer.sign(b"m"))


def test_kms_receives_a_digest_never_the_message(kms: Kms) -> None:
    key = kms.rsa_key()
    signer = KMSSigner(f"awskms:{key['KeyId']}?region={REGION}")
    seen: list[dict[str, Any]] = []
    signer._client.meta.events.register(
        "before-parameter-build.kms.Sign", lambda params, **_: seen.append(dict(params))
    )
    message = b"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJpbnRAYWNtZS5jb20ifQ"
    signer.sign(message)
    assert len(seen) == 1
    assert seen[0]["MessageType"] == "DIGEST"
    assert seen[0]["SigningAlgorithm"] == "RSASSA_PKCS1_V1_5_SHA_256"
    assert seen[0]["Message"] == hashlib.sha256(message).digest()


def test_certificate_signed_by_kms_verifies(kms: Kms, tmp_path: Path) -> None:
    signer = KMSSigner(f"awskms:{kms.rsa_key()['KeyId']}?region={REGION}")
    cert = build_self_signed_certificate(signer, common_name="acme-kms")
    assert cert.public_key().public_numbers() == signer.public_key().public_numbers()
    openssl_verifies(cert, tmp_path / "server.crt")


def test_token_from_the_emulator_with_the_kms_key(kms: Kms) -> None:
    import httpx

    from sfbearer.assertion import mint_assertion
    from sfbearer.emulator import Emulator

    signer = KMSSigner(f"awskms:{kms.rsa_key()['KeyId']}?region={REGION}")
    cert = build_self_signed_certificate(signer, common_name="acme-kms")
    with Emulator() as sf:
        app = sf.add_app(name="kms", certificate=cert)
        sf.add_user(username="int@acme.com")
        sf.authorize(app="kms", profile="Integration User")
        jwt = mint_assertion(
            signer, client_id=app.consumer_key, username="int@acme.com", audience=sf.url
        )
        reply = httpx.post(
            sf.token_url,
            data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": jwt},
        )
    assert reply.status_code == 200, reply.text


@pytest.mark.parametrize(
    ("spec", "usage", "message"),
    [
        ("RSA_2048", "ENCRYPT_DECRYPT", "usage ENCRYPT_DECRYPT; it must be SIGN_VERIFY"),
        ("ECC_NIST_P256", "SIGN_VERIFY", "is ECC_NIST_P256; Salesforce needs RSA"),
        ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", "is SYMMETRIC_DEFAULT"),
    ],
)
def test_unsuitable_keys_are_refused_up_front(
    kms: Kms, spec: str, usage: str, message: str
) -> None:
    key = kms.rsa_key(spec, usage)
    with pytest.raises(SignerError, match=message):
        KMSSigner(f"awskms:{key['KeyId']}?region={REGION}")
    assert kms.sign_calls == 0


def test_unknown_alias_is_a_clear_error(kms: Kms) -> None:
    with pytest.raises(SignerError, match="NotFoundException") as info:
        KMSSigner(f"awskms:alias/missing?region={REGION}")
    assert "alias" in info.value.hint


def test_throttling_is_retried_by_botocore_only(kms: Kms, no_backoff: list[float]) -> None:
    signer = KMSSigner(f"awskms:{kms.rsa_key()['KeyId']}?region={REGION}")
    kms.throttle_next = 2
    signature = signer.sign(b"m")
    assert verify_rs256(signer.public_key(), b"m", signature)
    assert kms.sign_calls == 3
    assert len(no_backoff) == 2


def test_persistent_throttling_gives_up_after_the_budget(kms: Kms, no_backoff: list[float]) -> None:
    signer = KMSSigner(f"awskms:{kms.rsa_key()['KeyId']}?region={REGION}")
    kms.throttle_next = 100
    with pytest.raises(SignerError, match="ThrottlingException"):
        signer.sign(b"m")
    # Exactly one retry layer: botocore's attempts, no retries of ours on top.
    assert kms.sign_calls == MAX_ATTEMPTS
    assert signer._client.meta.config.retries == {
        "mode": "standard",
        "total_max_attempts": MAX_ATTEMPTS,
    }


def test_unreachable_endpoint_is_a_signer_error(aws_env: None, no_backoff: list[float]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # The port is closed now: connections are refused at once.
    with pytest.raises(SignerError, match="could not read the public key"):
        KMSSigner(f"awskms:alias/x?region={REGION}&endpoint-url=http://127.0.0.1:{port}")
    assert len(no_backoff) == MAX_ATTEMPTS - 1


class _FakeKms:
    """A KMS client that answers GetPublicKey with a given error code."""

    def __init__(self, code: str) -> None:
        self.code = code

    def get_public_key(self, **_: Any) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        raise ClientError({"Error": {"Code": self.code, "Message": "nope"}}, "GetPublicKey")


@pytest.mark.parametrize(
    ("code", "hint"),
    [
        ("DisabledException", "enable the key"),
        ("KMSInvalidStateException", "pending deletion"),
        ("AccessDeniedException", "kms:GetPublicKey and kms:Sign"),
    ],
)
def test_kms_errors_are_translated(code: str, hint: str) -> None:
    with pytest.raises(SignerError, match=code) as info:
        KMSSigner("awskms:alias/x", client=_FakeKms(code))
    assert hint in info.value.hint


def test_missing_credentials(monkeypatch: pytest.MonkeyPatch, aws_env: None) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(SignerError, match="no AWS credentials"):
        KMSSigner(f"awskms:alias/x?region={REGION}")


def test_unknown_profile(aws_env: None) -> None:
    with pytest.raises(SignerError, match="profile 'nobody' not found"):
        KMSSigner("awskms:alias/x?profile=nobody")


def test_ensure_signer_key_opens_an_existing_kms_key(kms: Kms) -> None:
    from sfbearer.signers import ensure_signer_key

    key = kms.rsa_key()
    signer, created = ensure_signer_key(f"awskms:{key['Arn']}")
    assert created is False
    assert isinstance(signer, KMSSigner)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_a_forked_child_gets_its_own_kms_client(kms: Kms) -> None:
    signer = KMSSigner(f"awskms:{kms.rsa_key()['KeyId']}?region={REGION}")
    signer.sign(b"parent")
    parent_client = id(signer._client)
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        code = 1
        try:
            os.close(read_end)
            signature = signer.sign(b"from the child")
            fresh = b"1" if id(signer._client) != parent_client else b"0"
            os.write(write_end, fresh + signature)
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert data[:1] == b"1"
    assert verify_rs256(signer.public_key(), b"from the child", data[1:])
    assert id(signer._client) == parent_client
