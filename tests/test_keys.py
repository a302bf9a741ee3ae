"""keys.py: generation, loading in every format, the OpenSSH-style permission rules."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from sfbearer import CertificateError, KeyFileError
from sfbearer.keys import (
    KeyPair,
    check_key_file_permissions,
    generate_key_pair,
    is_encrypted_private_key,
    key_matches_certificate,
    load_certificate,
    load_private_key,
    load_private_key_from_env,
    load_private_key_pem,
    make_self_signed_certificate,
    private_key_pem,
    verify_rs256,
    write_key_pair,
)

CANARY = "CANARY-7f3a9"


def _write(path: Path, data: bytes, mode: int = 0o600) -> Path:
    path.write_bytes(data)
    os.chmod(path, mode)
    return path


def _pem(key: object, fmt: serialization.PrivateFormat, password: bytes | None = None) -> bytes:
    enc: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(serialization.Encoding.PEM, fmt, enc)  # type: ignore[attr-defined]


# -- generation -------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [2048, 3072])
def test_generate_key_pair_sizes(size: int) -> None:
    pair = generate_key_pair(key_size=size, common_name="acme", days=30)
    assert pair.private_key.key_size == size
    assert key_matches_certificate(pair.private_key.public_key(), pair.certificate)


@pytest.mark.parametrize("size", [1024, 2047, 2049, 8192])
def test_generate_key_pair_refuses_other_sizes(size: int) -> None:
    with pytest.raises(KeyFileError, match="key size"):
        generate_key_pair(key_size=size)


def test_certificate_is_self_signed_sha256_with_cn_and_validity(key_pair: KeyPair) -> None:
    now = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
    cert = make_self_signed_certificate(
        key_pair.private_key, common_name="acme-int", days=90, now=now
    )
    assert cert.signature_hash_algorithm is not None
    assert cert.signature_hash_algorithm.name == "sha256"
    assert cert.signature_algorithm_oid == x509.oid.SignatureAlgorithmOID.RSA_WITH_SHA256
    assert cert.subject == cert.issuer
    assert cert.subject.rfc4514_string() == "CN=acme-int"
    assert cert.not_valid_after_utc == now + dt.timedelta(days=90)
    assert cert.not_valid_before_utc <= now
    cert.verify_directly_issued_by(cert)  # the signature is the key's own


def test_certificate_serials_are_random_and_positive(key_pair: KeyPair) -> None:
    serials = {make_self_signed_certificate(key_pair.private_key).serial_number for _ in range(5)}
    assert len(serials) == 5
    assert all(s > 2**64 for s in serials)


@pytest.mark.parametrize(("cn", "days"), [("", 30), ("x" * 65, 30), ("ok", 0), ("ok", 20000)])
def test_certificate_bad_parameters(key_pair: KeyPair, cn: str, days: int) -> None:
    with pytest.raises(CertificateError):
        make_self_signed_certificate(key_pair.private_key, common_name=cn, days=days)


# -- writing ----------------------------------------------------------------------------------


def test_write_key_pair_modes_and_content(tmp_path: Path, key_pair: KeyPair) -> None:
    old = os.umask(0)  # the key must be 0600 from creation even with a permissive umask
    try:
        key_path, cert_path = write_key_pair(key_pair, tmp_path / "new" / "dir")
    finally:
        os.umask(old)
    assert key_path.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "new" / "dir").stat().st_mode & 0o777 == 0o700
    assert key_path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    loaded = load_private_key(key_path)
    assert loaded.private_numbers() == key_pair.private_key.private_numbers()
    assert load_certificate(cert_path).certificate == key_pair.certificate


def test_write_key_pair_refuses_to_overwrite(
    tmp_path: Path, key_pair: KeyPair, other_key_pair: KeyPair
) -> None:
    key_path, _ = write_key_pair(key_pair, tmp_path)
    before = key_path.read_bytes()
    with pytest.raises(KeyFileError, match="already exists") as info:
        write_key_pair(other_key_pair, tmp_path)
    assert "--force" in info.value.hint
    assert key_path.read_bytes() == before
    write_key_pair(other_key_pair, tmp_path, force=True)
    assert (
        load_private_key(key_path).private_numbers() == other_key_pair.private_key.private_numbers()
    )
    assert key_path.stat().st_mode & 0o777 == 0o600


def test_write_key_pair_refuses_when_only_the_certificate_exists(
    tmp_path: Path, key_pair: KeyPair
) -> None:
    (tmp_path / "server.crt").write_text("old")
    with pytest.raises(KeyFileError, match=r"server\.crt already exists"):
        write_key_pair(key_pair, tmp_path)
    assert not (tmp_path / "server.key").exists()


def test_write_key_pair_out_dir_is_a_file(tmp_path: Path, key_pair: KeyPair) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(KeyFileError, match="not a directory"):
        write_key_pair(key_pair, tmp_path / "f")


def test_write_key_pair_encrypted(tmp_path: Path, key_pair: KeyPair) -> None:
    key_path, _ = write_key_pair(key_pair, tmp_path, passphrase="s3cret")
    data = key_path.read_bytes()
    assert data.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert is_encrypted_private_key(data)
    assert load_private_key(key_path, "s3cret").key_size == 2048


# -- loading: formats ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "fmt"),
    [
        (serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8),
        (serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL),
        (serialization.Encoding.DER, serialization.PrivateFormat.PKCS8),
        (serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL),
    ],
)
def test_load_formats(
    tmp_path: Path,
    key_pair: KeyPair,
    encoding: serialization.Encoding,
    fmt: serialization.PrivateFormat,
) -> None:
    data = key_pair.private_key.private_bytes(encoding, fmt, serialization.NoEncryption())
    path = _write(tmp_path / "k", data)
    assert load_private_key(path).private_numbers() == key_pair.private_key.private_numbers()


def test_load_pem_with_leading_text_and_a_certificate_beside(
    tmp_path: Path, key_pair: KeyPair
) -> None:
    data = (
        b"Bag Attributes\n    localKeyID: 01\n"
        + key_pair.certificate.public_bytes(serialization.Encoding.PEM)
        + private_key_pem(key_pair.private_key)
    )
    assert load_private_key(_write(tmp_path / "k", data)).key_size == 2048


@pytest.mark.parametrize(
    ("encoding", "fmt"),
    [
        (serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8),
        (serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL),
        (serialization.Encoding.DER, serialization.PrivateFormat.PKCS8),
    ],
)
def test_encrypted_keys_right_wrong_missing_passphrase(
    tmp_path: Path,
    key_pair: KeyPair,
    encoding: serialization.Encoding,
    fmt: serialization.PrivateFormat,
) -> None:
    secret = "pass-" + CANARY
    data = key_pair.private_key.private_bytes(
        encoding, fmt, serialization.BestAvailableEncryption(secret.encode())
    )
    path = _write(tmp_path / "k", data)
    assert is_encrypted_private_key(data)
    assert (
        load_private_key(path, secret).private_numbers() == key_pair.private_key.private_numbers()
    )
    assert load_private_key(path, secret.encode()).key_size == 2048
    with pytest.raises(KeyFileError, match="wrong passphrase") as wrong:
        load_private_key(path, "nope-" + CANARY)
    with pytest.raises(KeyFileError, match="no passphrase") as missing:
        load_private_key(path)
    assert "SFBEARER_KEY_PASSPHRASE" in missing.value.hint
    for exc in (wrong.value, missing.value):
        assert CANARY not in str(exc) + exc.hint


def test_passphrase_for_a_plain_key_is_ignored(tmp_path: Path, key_pair: KeyPair) -> None:
    path = _write(tmp_path / "k", private_key_pem(key_pair.private_key))
    assert not is_encrypted_private_key(path.read_bytes())
    assert load_private_key(path, "unused").key_size == 2048


# -- loading: wrong things offered as the private key -------------------------------------------


def _wrong_things(key_pair: KeyPair) -> dict[str, tuple[bytes, str]]:
    pub = key_pair.private_key.public_key()
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ed_key = ed25519.Ed25519PrivateKey.generate()
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    return {
        "public-pem": (
            pub.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ),
            "public key",
        ),
        "public-pkcs1": (
            pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1),
            "public key",
        ),
        "certificate": (
            key_pair.certificate.public_bytes(serialization.Encoding.PEM),
            "certificate",
        ),
        "ec": (_pem(ec_key, serialization.PrivateFormat.PKCS8), "EC"),
        "ed25519": (_pem(ed_key, serialization.PrivateFormat.PKCS8), "Ed25519"),
        "rsa-1024": (_pem(weak, serialization.PrivateFormat.PKCS8), "1024-bit"),
        "openssh-private": (_pem(ed_key, serialization.PrivateFormat.OpenSSH), "OpenSSH"),
        "openssh-public": (
            pub.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH),
            "OpenSSH public key",
        ),
        "garbage": (b"not a key " + CANARY.encode(), "not a valid"),
        "empty-pem": (
            b"-----BEGIN NOTHING-----\n" + CANARY.encode() + b"\n-----END NOTHING-----\n",
            "does not hold",
        ),
    }


@pytest.fixture(scope="module")
def wrong_things(key_pair: KeyPair) -> dict[str, tuple[bytes, str]]:
    return _wrong_things(key_pair)


@pytest.mark.parametrize(
    "name",
    [
        "public-pem",
        "public-pkcs1",
        "certificate",
        "ec",
        "ed25519",
        "rsa-1024",
        "openssh-private",
        "openssh-public",
        "garbage",
        "empty-pem",
    ],
)
def test_wrong_key_material_is_a_key_file_error(
    tmp_path: Path, wrong_things: dict[str, tuple[bytes, str]], name: str
) -> None:
    data, expected = wrong_things[name]
    path = _write(tmp_path / "k", data)
    for load in (lambda: load_private_key(path), lambda: load_private_key_pem(data)):
        with pytest.raises(KeyFileError, match=expected) as info:
            load()
        message = str(info.value) + info.value.hint
        assert CANARY not in message
        assert "BEGIN" not in message
        assert "MII" not in message


def test_pem_text_is_never_taken_for_a_path() -> None:
    with pytest.raises(KeyFileError) as info:
        load_private_key_pem("/etc/passwd")
    assert "not found" not in str(info.value)
    assert "/etc/passwd" not in str(info.value)


def test_missing_key_file(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="not found"):
        load_private_key(tmp_path / "nope.key")


def test_oversized_key_file(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="too large"):
        load_private_key(_write(tmp_path / "big", b"A" * 70_000))


# -- permissions ------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o602, 0o620])
def test_group_or_world_accessible_key_is_refused(key_files: tuple[Path, Path], mode: int) -> None:
    key_path, _ = key_files
    os.chmod(key_path, mode)
    with pytest.raises(KeyFileError) as info:
        load_private_key(key_path)
    assert f"{mode:04o}" in str(info.value)
    assert str(key_path) in str(info.value)
    assert info.value.hint == f"chmod 600 {os.path.realpath(key_path)}"
    with pytest.raises(KeyFileError):
        check_key_file_permissions(key_path)
    # explicitly unchecked loads still work (keys show describes unsafe keys)
    assert load_private_key(key_path, check_permissions=False).key_size == 2048


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_owner_only_key_is_accepted(key_files: tuple[Path, Path], mode: int) -> None:
    key_path, _ = key_files
    os.chmod(key_path, mode)
    assert load_private_key(key_path).key_size == 2048


def _kubernetes_secret_mount(root: Path, data: bytes, mode: int) -> Path:
    """The layout kubelet makes: key -> ..data/key, ..data -> ..2026_12_01_00_00_00.123/."""
    stamp = root / "..2026_12_01_00_00_00.123"
    stamp.mkdir(parents=True)
    target = _write(stamp / "server.key", data, mode)
    (root / "..data").symlink_to(stamp.name)
    link = root / "server.key"
    link.symlink_to("..data/server.key")
    assert os.path.realpath(link) == str(target)
    return link


def test_kubernetes_secret_mount_0400_is_accepted(tmp_path: Path, key_pair: KeyPair) -> None:
    link = _kubernetes_secret_mount(
        tmp_path / "secret", private_key_pem(key_pair.private_key), 0o400
    )
    os.chmod(link, 0o400)  # follows the link; the link itself is 0777 as links always are
    assert os.lstat(link).st_mode & 0o777 == 0o777
    assert load_private_key(link).private_numbers() == key_pair.private_key.private_numbers()


def test_symlink_to_an_unsafe_file_is_refused_naming_the_target(
    tmp_path: Path, key_pair: KeyPair
) -> None:
    link = _kubernetes_secret_mount(
        tmp_path / "secret", private_key_pem(key_pair.private_key), 0o644
    )
    with pytest.raises(KeyFileError, match="0644") as info:
        load_private_key(link)
    assert info.value.hint == f"chmod 600 {os.path.realpath(link)}"


def test_directory_or_dangling_link_as_key(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="not a regular file"):
        load_private_key(tmp_path)
    (tmp_path / "dangling").symlink_to("nowhere")
    with pytest.raises(KeyFileError, match="not found"):
        load_private_key(tmp_path / "dangling")


# -- env and PEM text ---------------------------------------------------------------------------


def test_load_private_key_from_env_literal_backslash_n(
    monkeypatch: pytest.MonkeyPatch, key_pair: KeyPair
) -> None:
    pem = private_key_pem(key_pair.private_key).decode()
    monkeypatch.setenv("MY_KEY", pem.replace("\n", "\\n"))
    assert (
        load_private_key_from_env("MY_KEY").private_numbers()
        == key_pair.private_key.private_numbers()
    )
    monkeypatch.setenv("MY_KEY", pem)
    assert load_private_key_from_env("MY_KEY").key_size == 2048


def test_load_private_key_from_env_encrypted(
    monkeypatch: pytest.MonkeyPatch, key_pair: KeyPair
) -> None:
    monkeypatch.setenv("MY_KEY", private_key_pem(key_pair.private_key, "pw").decode())
    assert load_private_key_from_env("MY_KEY", passphrase="pw").key_size == 2048
    with pytest.raises(KeyFileError, match="environment variable MY_KEY is encrypted"):
        load_private_key_from_env("MY_KEY")


def test_load_private_key_from_env_errors_name_the_variable_not_the_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(KeyFileError, match="MY_KEY is not set"):
        load_private_key_from_env("MY_KEY")
    monkeypatch.setenv(
        "MY_KEY", "-----BEGIN PRIVATE KEY-----\\n" + CANARY + "\\n-----END PRIVATE KEY-----"
    )
    with pytest.raises(KeyFileError, match="MY_KEY") as info:
        load_private_key_from_env("MY_KEY")
    assert CANARY not in str(info.value)


def test_load_private_key_pem_roundtrip(key_pair: KeyPair) -> None:
    pem = private_key_pem(key_pair.private_key)
    assert load_private_key_pem(pem).private_numbers() == key_pair.private_key.private_numbers()
    assert load_private_key_pem(pem.decode()).key_size == 2048


# -- certificates -------------------------------------------------------------------------------


def test_load_certificate_pem_der_path_and_fingerprints(tmp_path: Path, key_pair: KeyPair) -> None:
    der = key_pair.certificate.public_bytes(serialization.Encoding.DER)
    pem = key_pair.certificate.public_bytes(serialization.Encoding.PEM)
    from_path = load_certificate(_write(tmp_path / "c.crt", pem, 0o644))
    from_der = load_certificate(der)
    from_text = load_certificate(b"Bag Attributes\n" + pem)
    assert from_path.certificate == from_der.certificate == from_text.certificate
    assert from_der.sha256_fingerprint == ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())
    assert from_der.sha1_fingerprint.replace(":", "").lower() == hashlib.sha1(der).hexdigest()
    assert from_der.subject == "CN=sfbearer-test"
    assert from_der.is_self_signed
    assert from_der.key_size == 2048
    assert from_der.serial == key_pair.certificate.serial_number


def test_certificate_days_left_and_validity(key_pair: KeyPair) -> None:
    info = load_certificate(key_pair.certificate.public_bytes(serialization.Encoding.PEM))
    assert info.days_left_at(info.not_after - dt.timedelta(days=10, hours=1)) == 10
    assert info.days_left_at(info.not_after + dt.timedelta(hours=1)) == -1
    assert info.is_valid_at(info.not_before)
    assert not info.is_valid_at(info.not_after + dt.timedelta(seconds=1))
    assert 363 <= info.days_left <= 365


def test_load_certificate_errors(tmp_path: Path, key_pair: KeyPair) -> None:
    with pytest.raises(CertificateError, match="not found"):
        load_certificate(tmp_path / "none.crt")
    with pytest.raises(CertificateError, match="private key") as info:
        load_certificate(private_key_pem(key_pair.private_key))
    assert "never be uploaded" in info.value.hint
    with pytest.raises(CertificateError, match="not a valid"):
        load_certificate(b"garbage")
    with pytest.raises(CertificateError, match="too large"):
        load_certificate(b"A" * 70_000)


def test_key_matches_certificate_and_verify(key_pair: KeyPair, other_key_pair: KeyPair) -> None:
    pub = key_pair.private_key.public_key()
    assert key_matches_certificate(pub, key_pair.certificate)
    assert not key_matches_certificate(pub, other_key_pair.certificate)
    from cryptography.hazmat.primitives.asymmetric import padding

    sig = key_pair.private_key.sign(b"m", padding.PKCS1v15(), hashes.SHA256())
    assert verify_rs256(pub, b"m", sig)
    assert not verify_rs256(pub, b"n", sig)
    assert not verify_rs256(other_key_pair.private_key.public_key(), b"m", sig)


def test_key_pair_repr_shows_no_key_material(key_pair: KeyPair) -> None:
    text = repr(key_pair)
    assert "CN=sfbearer-test" in text
    assert "PRIVATE" not in text
    assert str(key_pair.private_key.private_numbers().d)[:20] not in text


def test_loading_a_key_does_not_import_x509() -> None:
    # `sfbearer assertion new` is timed as a whole process: minting must not pay for
    # cryptography.x509 (~20 ms), and `import sfbearer` must stay light
    import subprocess
    import sys

    code = (
        "import sys, sfbearer; light = 'cryptography' not in sys.modules; "
        "import sfbearer.keys, sfbearer.assertion; "
        "print(light, 'cryptography.x509' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "False"]
