"""PKCS#11 signer against a real SoftHSM token: generation, checks, threads, fork, e2e."""

from __future__ import annotations

import os
import threading
import warnings
from pathlib import Path

import pytest

from sfbearer import SignerError
from sfbearer.keys import verify_rs256
from sfbearer.signers import Signer, resolve_signer
from sfbearer.signers.pkcs11 import PKCS11Signer, generate_pkcs11_key
from sfbearer.signers.x509 import build_self_signed_certificate

from .conftest import USER_PIN, SoftHsm, openssl_verifies, private_key_object

pytestmark = pytest.mark.softhsm


def test_generated_key_signs_and_is_a_signer(hsm_signer: PKCS11Signer) -> None:
    message = b"header.claims"
    signature = hsm_signer.sign(message)
    assert isinstance(hsm_signer, Signer)
    assert len(signature) == 256
    assert hsm_signer.public_key().key_size == 2048
    assert verify_rs256(hsm_signer.public_key(), message, signature)
    assert not verify_rs256(hsm_signer.public_key(), b"other", signature)
    assert hsm_signer.key_id.count(":") == 31
    assert "sfbearer-jwt" in repr(hsm_signer)
    assert USER_PIN not in repr(hsm_signer)


def test_generated_key_cannot_be_extracted(softhsm: SoftHsm, hsm_signer: PKCS11Signer) -> None:
    import pkcs11
    from pkcs11 import Attribute

    key, _signer = private_key_object(softhsm, "sfbearer-jwt")
    assert key[Attribute.EXTRACTABLE] is False
    assert key[Attribute.SENSITIVE] is True
    assert key[Attribute.NEVER_EXTRACTABLE] is True
    assert key[Attribute.DECRYPT] is False
    with pytest.raises(pkcs11.AttributeSensitive):
        key[Attribute.PRIVATE_EXPONENT]
    with pytest.raises(pkcs11.AttributeSensitive):
        key[Attribute.PRIME_1]


def test_same_uri_opens_the_same_key_from_a_pin_file(
    softhsm: SoftHsm, hsm_signer: PKCS11Signer, tmp_path: Path
) -> None:
    pin_file = tmp_path / "pin"
    pin_file.write_text(USER_PIN + "\n")
    pin_file.chmod(0o600)
    signer = resolve_signer(softhsm.uri("sfbearer-jwt", **{"pin-source": f"file:{pin_file}"}))
    assert isinstance(signer, PKCS11Signer)
    assert signer.key_id == hsm_signer.key_id
    assert verify_rs256(hsm_signer.public_key(), b"m", signer.sign(b"m"))


def test_pin_from_environment(
    softhsm: SoftHsm, hsm_signer: PKCS11Signer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACME_HSM_PIN", USER_PIN)
    signer = resolve_signer(softhsm.uri("sfbearer-jwt", **{"pin-source": "env:ACME_HSM_PIN"}))
    assert signer.key_id == hsm_signer.key_id


def test_certificate_signed_in_the_token_verifies_with_openssl(
    hsm_signer: PKCS11Signer, tmp_path: Path
) -> None:
    cert = build_self_signed_certificate(hsm_signer, common_name="acme-hsm", days=30)
    assert cert.public_key().public_numbers() == hsm_signer.public_key().public_numbers()
    openssl_verifies(cert, tmp_path / "server.crt")


def test_concurrent_signing_from_many_threads(hsm_signer: PKCS11Signer) -> None:
    results: list[tuple[bytes, bytes]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(16)

    def work(n: int) -> None:
        try:
            start.wait()
            for i in range(20):
                message = f"thread {n} message {i}".encode()
                signature = hsm_signer.sign(message)
                with lock:
                    results.append((message, signature))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert len(results) == 16 * 20
    public = hsm_signer.public_key()
    assert all(verify_rs256(public, m, s) for m, s in results)


def test_each_thread_has_its_own_session(hsm_signer: PKCS11Signer) -> None:
    handles: list[int] = []

    def grab() -> None:
        hsm_signer.sign(b"x")
        handles.append(hsm_signer._keys.pair[0].handle)

    threads = [threading.Thread(target=grab) for _ in range(3)]
    for t in threads:
        t.start()
        t.join()
    hsm_signer.sign(b"x")
    handles.append(hsm_signer._keys.pair[0].handle)
    assert len(set(handles)) == 4


def test_signs_again_after_the_token_logged_out(hsm_signer: PKCS11Signer) -> None:
    module, token = hsm_signer._module, hsm_signer._token
    hsm_signer.sign(b"warm up this thread's session")
    login = module._logins[token.key]
    assert login.session is not None
    login.session.close()  # C_Logout + C_CloseSession: every session of the app is public now
    signature = hsm_signer.sign(b"after logout")
    assert verify_rs256(hsm_signer.public_key(), b"after logout", signature)
    assert module._logins[token.key].epoch == login.epoch + 1


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_child_process_initialises_the_module_again(hsm_signer: PKCS11Signer) -> None:
    hsm_signer.sign(b"parent signs first")
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():  # Python 3.12+ warns about fork() with threads alive
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        code = 1
        try:
            os.close(read_end)
            os.write(write_end, hsm_signer.sign(b"from the child"))
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        signature = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert verify_rs256(hsm_signer.public_key(), b"from the child", signature)
    # The parent's sessions were not disturbed by the child.
    assert verify_rs256(hsm_signer.public_key(), b"p", hsm_signer.sign(b"p"))


def test_assertion_verifies_with_the_certificate(hsm_signer: PKCS11Signer) -> None:
    from sfbearer.assertion import decode_assertion, mint_assertion

    cert = build_self_signed_certificate(hsm_signer, common_name="acme-hsm")
    jwt = mint_assertion(
        hsm_signer,
        client_id="3MVG9" + "A" * 80,
        username="int@acme.com",
        audience="https://login.salesforce.com",
    )
    decoded = decode_assertion(jwt, certificate=cert)
    assert decoded.verified
    assert decoded.claims["sub"] == "int@acme.com"


def test_token_from_the_emulator_with_the_hsm_key(hsm_signer: PKCS11Signer) -> None:
    import httpx

    from sfbearer.assertion import mint_assertion
    from sfbearer.emulator import Emulator

    cert = build_self_signed_certificate(hsm_signer, common_name="acme-hsm")
    with Emulator() as sf:
        app = sf.add_app(name="hsm", certificate=cert)
        sf.add_user(username="int@acme.com")
        sf.authorize(app="hsm", profile="Integration User")
        jwt = mint_assertion(
            hsm_signer, client_id=app.consumer_key, username="int@acme.com", audience=sf.url
        )
        reply = httpx.post(
            f"{sf.url}/services/oauth2/token",
            data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": jwt},
        )
    assert reply.status_code == 200, reply.text
    assert reply.json()["access_token"]


# --- refusals ------------------------------------------------------------------------------


def test_wrong_pin_is_refused(softhsm: SoftHsm) -> None:
    with pytest.raises(SignerError, match="wrong PIN") as info:
        PKCS11Signer(softhsm.uri("anything", token="sfbearer-locked"), pin="0000-wrong")
    assert "0000-wrong" not in str(info.value)
    assert "0000-wrong" not in info.value.hint


def test_wrong_pin_cannot_ride_on_an_existing_login(
    softhsm: SoftHsm, hsm_signer: PKCS11Signer
) -> None:
    # The main token is already unlocked in this process by hsm_signer.
    with pytest.raises(SignerError, match="wrong PIN"):
        PKCS11Signer(softhsm.uri("sfbearer-jwt"), pin="0000-wrong")


def test_missing_pin_is_refused(softhsm: SoftHsm) -> None:
    with pytest.raises(SignerError, match="needs a PIN") as info:
        PKCS11Signer(softhsm.uri("anything", token="sfbearer-locked"))
    assert "pin-source" in info.value.hint


def test_missing_module_is_refused(softhsm: SoftHsm, tmp_path: Path) -> None:
    uri = f"pkcs11:token=sfbearer-main;object=k?module-path={tmp_path}/nope.so"
    with pytest.raises(SignerError, match="module not found"):
        PKCS11Signer(uri, pin=USER_PIN)


def test_a_file_that_is_not_a_module_is_refused(softhsm: SoftHsm, tmp_path: Path) -> None:
    fake = tmp_path / "fake.so"
    fake.write_bytes(b"not a shared library")
    with pytest.raises(SignerError, match="cannot load the PKCS#11 module"):
        PKCS11Signer(f"pkcs11:token=t;object=k?module-path={fake}", pin=USER_PIN)


def test_unknown_token_lists_the_tokens(softhsm: SoftHsm) -> None:
    with pytest.raises(SignerError, match="no PKCS#11 token matches") as info:
        PKCS11Signer(softhsm.uri("k", token="no-such-token"), pin=USER_PIN)
    assert "sfbearer-main" in info.value.hint
    assert "''" not in info.value.hint  # SoftHSM's empty spare slot is not listed


def test_unknown_object_is_refused(softhsm: SoftHsm, hsm_signer: PKCS11Signer) -> None:
    with pytest.raises(SignerError, match="no private key matches"):
        PKCS11Signer(softhsm.uri("no-such-key"), pin=USER_PIN)


@pytest.mark.parametrize(
    ("label", "message"),
    [
        ("rsa-1024", "1024 bits; at least 2048"),
        ("no-sign", "not allowed to sign"),
        ("ec-p256", "is an EC key; Salesforce needs RSA"),
        ("twin", "several private keys match"),
    ],
)
def test_unsuitable_keys_are_refused(softhsm: SoftHsm, label: str, message: str) -> None:
    with pytest.raises(SignerError, match=message):
        PKCS11Signer(softhsm.uri(label, token="sfbearer-odd"), pin=USER_PIN)


def test_id_picks_one_of_two_keys_with_one_label(softhsm: SoftHsm) -> None:
    base = softhsm.uri("twin", token="sfbearer-odd")
    one = PKCS11Signer(base.replace(";object=twin", ";object=twin;id=%01"), pin=USER_PIN)
    two = PKCS11Signer(base.replace(";object=twin", ";object=twin;id=%02"), pin=USER_PIN)
    assert one.key_id != two.key_id
    assert verify_rs256(two.public_key(), b"m", two.sign(b"m"))


def test_generate_refuses_to_overwrite_and_bad_sizes(
    softhsm: SoftHsm, hsm_signer: PKCS11Signer
) -> None:
    with pytest.raises(SignerError, match="already holds an object"):
        generate_pkcs11_key(softhsm.uri("sfbearer-jwt"), pin=USER_PIN)
    with pytest.raises(SignerError, match="key size"):
        generate_pkcs11_key(softhsm.uri("small"), 1024, pin=USER_PIN)
    with pytest.raises(SignerError, match="object=LABEL"):
        generate_pkcs11_key(f"pkcs11:token=sfbearer-main?module-path={softhsm.module}")


def test_generate_a_3072_bit_key_with_an_id(softhsm: SoftHsm) -> None:
    signer = generate_pkcs11_key(
        softhsm.uri("big").replace(";object=big", ";object=big;id=%0a%0b"), 3072, pin=USER_PIN
    )
    assert signer.public_key().key_size == 3072
    assert signer.uri.id == b"\x0a\x0b"
    assert verify_rs256(signer.public_key(), b"m", signer.sign(b"m"))


def test_ensure_signer_key_creates_once_then_opens(softhsm: SoftHsm) -> None:
    from sfbearer.signers import ensure_signer_key

    uri = softhsm.uri("ensure-me")
    created_signer, created = ensure_signer_key(uri, pin=USER_PIN)
    opened_signer, created_again = ensure_signer_key(uri, pin=USER_PIN)
    assert created is True
    assert created_again is False
    assert opened_signer.key_id == created_signer.key_id


def test_ensure_signer_key_never_replaces_an_unsuitable_key(softhsm: SoftHsm) -> None:
    from sfbearer.signers import ensure_signer_key

    with pytest.raises(SignerError, match="1024 bits"):
        ensure_signer_key(softhsm.uri("rsa-1024", token="sfbearer-odd"), pin=USER_PIN)


def test_rotation_uri_names_a_new_key_in_the_same_token(
    softhsm: SoftHsm, hsm_signer: PKCS11Signer
) -> None:
    from sfbearer.signers import with_object

    new_uri = with_object(softhsm.uri("sfbearer-jwt"), "sfbearer-jwt 2027")
    rotated = generate_pkcs11_key(new_uri, pin=USER_PIN)
    assert rotated.uri.object == "sfbearer-jwt 2027"
    assert rotated.uri.module_path == softhsm.module
    assert rotated.key_id != hsm_signer.key_id
