"""Signer URIs: RFC 7512 parsing, awskms: parsing, PIN sources, resolve_signer for files."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sfbearer import KeyFileError, SignerError
from sfbearer.signers import FileSigner, is_signer_uri, resolve_signer
from sfbearer.signers.pkcs11 import read_pin
from sfbearer.signers.uri import parse_awskms_uri, parse_pkcs11_uri

MODULE = "/usr/lib/softhsm/libsofthsm2.so"


def test_rfc7512_example_with_percent_encoding() -> None:
    uri = parse_pkcs11_uri(
        "pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;"
        "manufacturer=Snake%20Oil,%20Inc.;model=1.0;object=my-certificate;type=private;"
        "serial=42;slot-id=7;id=%69%95%3E%5C%F4%BD%EC%91"
        f"?module-path={MODULE}&pin-source=file:/etc/token_pin"
    )
    assert uri.token == "The Software PKCS#11 Softtoken"
    assert uri.manufacturer == "Snake Oil, Inc."
    assert uri.model == "1.0"
    assert uri.object == "my-certificate"
    assert uri.object_type == "private"
    assert uri.serial == "42"
    assert uri.slot_id == 7
    assert uri.id == bytes.fromhex("69953e5cf4bdec91")
    assert uri.module_path == MODULE
    assert uri.pin_source == "file:/etc/token_pin"


def test_minimal_uri_and_utf8_labels() -> None:
    assert parse_pkcs11_uri("pkcs11:") == parse_pkcs11_uri("pkcs11:")
    uri = parse_pkcs11_uri("pkcs11:object=cl%C3%A9%20%E2%82%AC")
    assert uri.object == "clé €"
    assert uri.token is None
    assert uri.module_path is None


@given(st.text(min_size=1, max_size=40).filter(lambda s: "\x00" not in s))
def test_any_label_survives_percent_encoding(label: str) -> None:
    uri = parse_pkcs11_uri(f"pkcs11:token={quote(label, safe='')};object=k")
    assert uri.token == label


@given(st.binary(min_size=1, max_size=20))
def test_any_id_bytes_survive(raw: bytes) -> None:
    encoded = "".join(f"%{b:02x}" for b in raw)
    assert parse_pkcs11_uri(f"pkcs11:id={encoded}").id == raw


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("pkcs11:token=a?pin-value=1234", "never be written in clear"),
        ("pkcs11:token=a;token=b", "appears more than once"),
        ("pkcs11:token=a?module-path=/a&module-path=/b", "appears more than once"),
        ("pkcs11:colour=blue", "unknown path attribute"),
        ("pkcs11:token=a?pin=1234", "unknown query attribute"),
        ("pkcs11:token=a b", "must be percent-encoded"),
        ("pkcs11:token=a/b", "must be percent-encoded"),
        ("pkcs11:token=%zz", "must be percent-encoded"),
        ("pkcs11:token", "is not name=value"),
        ("pkcs11:token=a#frag", "fragment"),
        ("pkcs11:slot-id=seven", "decimal"),
        ("pkcs11:type=tree", "type must be one of"),
        ("pkcs11:token=%FF", "not valid UTF-8"),
        ("pkcs11:token=a?pin-source=https://example.com/pin", "not supported"),
        ("pkcs11:token=a?pin-source=env:1BAD", "valid variable name"),
        ("pkcs11:token=a?pin-source=file:", "needs a path"),
        ("pkcs11:token=a?pin-source=file://host/pin", "local file"),
        ("awskms:alias/x", "not a pkcs11: URI"),
    ],
)
def test_bad_pkcs11_uris(uri: str, message: str) -> None:
    with pytest.raises(SignerError, match=message) as info:
        parse_pkcs11_uri(uri)
    assert "1234" not in str(info.value)


def test_vendor_attributes_are_kept() -> None:
    uri = parse_pkcs11_uri("pkcs11:token=a;x-color=red?x-mode=fast")
    assert uri.vendor == {"x-color": "red", "x-mode": "fast"}


def test_pin_from_file_strips_one_newline_and_refuses_open_modes(tmp_path: Path) -> None:
    pin = tmp_path / "pin"
    pin.write_text("12 34\n")
    pin.chmod(0o600)
    assert read_pin(parse_pkcs11_uri(f"pkcs11:token=a?pin-source=file:{pin}")) == "12 34"
    assert read_pin(parse_pkcs11_uri(f"pkcs11:token=a?pin-source=file://{pin}")) == "12 34"
    pin.chmod(0o644)
    with pytest.raises(SignerError, match="mode 0644") as info:
        read_pin(parse_pkcs11_uri(f"pkcs11:token=a?pin-source=file:{pin}"))
    assert info.value.hint == f"chmod 600 {pin}"
    assert "12 34" not in str(info.value)


def test_pin_file_missing_or_empty(tmp_path: Path) -> None:
    with pytest.raises(SignerError, match="cannot read the PIN file"):
        read_pin(parse_pkcs11_uri(f"pkcs11:token=a?pin-source=file:{tmp_path}/none"))
    empty = tmp_path / "empty"
    empty.write_text("\n")
    empty.chmod(0o600)
    with pytest.raises(SignerError, match="is empty"):
        read_pin(parse_pkcs11_uri(f"pkcs11:token=a?pin-source=file:{empty}"))


def test_pin_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    uri = parse_pkcs11_uri("pkcs11:token=a?pin-source=env:HSM_PIN")
    monkeypatch.delenv("HSM_PIN", raising=False)
    with pytest.raises(SignerError, match="HSM_PIN is not set"):
        read_pin(uri)
    monkeypatch.setenv("HSM_PIN", "9876")
    assert read_pin(uri) == "9876"
    assert read_pin(parse_pkcs11_uri("pkcs11:token=a")) is None


@pytest.mark.parametrize(
    ("text", "key", "region", "profile", "endpoint"),
    [
        ("awskms:alias/sfbearer", "alias/sfbearer", None, None, None),
        (
            "awskms:1234abcd-12ab-34cd-56ef-1234567890ab?region=us-east-2&profile=ci",
            "1234abcd-12ab-34cd-56ef-1234567890ab",
            "us-east-2",
            "ci",
            None,
        ),
        (
            "awskms:arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "eu-west-1",
            None,
            None,
        ),
        (
            "awskms:arn:aws:kms:ap-south-1:111122223333:alias/jwt?endpoint-url=http%3A%2F%2Flocalhost%3A4566",
            "arn:aws:kms:ap-south-1:111122223333:alias/jwt",
            "ap-south-1",
            None,
            "http://localhost:4566",
        ),
        (
            "awskms:mrk-1234abcd12ab34cd56ef1234567890ab",
            "mrk-1234abcd12ab34cd56ef1234567890ab",
            None,
            None,
            None,
        ),
    ],
)
def test_awskms_uris(
    text: str, key: str, region: str | None, profile: str | None, endpoint: str | None
) -> None:
    uri = parse_awskms_uri(text)
    assert (uri.key, uri.region, uri.profile, uri.endpoint_url) == (key, region, profile, endpoint)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("awskms:", "is not a KMS key id"),
        ("awskms:my key", "is not a KMS key id"),
        ("awskms:arn:aws:s3:::bucket", "is not a KMS key id"),
        ("awskms:alias/x?colour=blue", "is not one of"),
        ("awskms:alias/x?region=a&region=b", "more than once"),
        ("awskms:alias/x?region=Mars", "not an AWS region"),
        ("awskms:alias/x?endpoint-url=ftp://x", "http"),
        ("pkcs11:token=a", "not an awskms: URI"),
    ],
)
def test_bad_awskms_uris(text: str, message: str) -> None:
    with pytest.raises(SignerError, match=message):
        parse_awskms_uri(text)


def test_resolve_a_key_file(key_files: tuple[Path, Path], key_pair: object) -> None:
    key_path, _ = key_files
    signer = resolve_signer(str(key_path))
    assert isinstance(signer, FileSigner)
    assert signer.source == str(key_path)
    assert not is_signer_uri(str(key_path))
    assert is_signer_uri("pkcs11:token=a")
    assert is_signer_uri("awskms:alias/a")


def test_resolve_a_missing_key_file(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="not found"):
        resolve_signer(str(tmp_path / "server.key"))


def test_resolve_refuses_a_pkcs11_uri_without_a_key_name() -> None:
    with pytest.raises(SignerError, match="object=LABEL or id="):
        resolve_signer(f"pkcs11:token=a?module-path={MODULE}", pin="x")


def test_resolve_refuses_a_uri_without_a_module() -> None:
    with pytest.raises(SignerError, match="needs module-path"):
        resolve_signer("pkcs11:token=a;object=k", pin="x")


def test_with_object_keeps_everything_but_the_key_name() -> None:
    from sfbearer.signers import with_object

    uri = "pkcs11:token=acme;object=jwt;id=%01?module-path=/m.so&pin-source=env:P"
    new = with_object(uri, "jwt;2027")
    parsed = parse_pkcs11_uri(new)
    assert parsed.object == "jwt;2027"
    assert parsed.id is None
    assert parsed.token == "acme"
    assert parsed.module_path == "/m.so"
    assert parsed.pin_source == "env:P"
    with pytest.raises(SignerError, match="must not be empty"):
        with_object(uri, "")
    with pytest.raises(SignerError, match="pin-value"):
        with_object("pkcs11:token=a?pin-value=1", "x")


def test_ensure_signer_key_refuses_a_key_file() -> None:
    from sfbearer.signers import ensure_signer_key

    with pytest.raises(SignerError, match="pkcs11: or awskms:"):
        ensure_signer_key("server.key")


def test_pin_file_that_is_not_text(tmp_path: Path) -> None:
    pin = tmp_path / "pin"
    pin.write_bytes(b"\xff\xfe\n")
    pin.chmod(0o600)
    with pytest.raises(SignerError, match="not UTF-8"):
        read_pin(parse_pkcs11_uri(f"pkcs11:token=a?pin-source=file:{pin}"))


def test_missing_services_skip_or_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    from .conftest import require_service

    monkeypatch.delenv("SFBEARER_REQUIRE_SERVICES", raising=False)
    with pytest.raises(pytest.skip.Exception, match="SoftHSM is not available: gone"):
        require_service("SoftHSM", "gone")
    monkeypatch.setenv("SFBEARER_REQUIRE_SERVICES", "1")
    with pytest.raises(pytest.fail.Exception, match="SFBEARER_REQUIRE_SERVICES=1"):
        require_service("SoftHSM", "gone")
