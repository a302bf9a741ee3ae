"""_files.read_bounded and the key/certificate loaders built on it: one message per failure."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sfbearer._exceptions import CertificateError, KeyFileError
from sfbearer._files import read_bounded
from sfbearer.keys import KeyPair, load_certificate, load_private_key


class _Refused(Exception):
    pass


def test_reads_a_file_up_to_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 10)
    assert read_bounded(path, 10, _Refused, "thing", content="a thing") == b"x" * 10


def test_one_byte_past_the_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 11)
    with pytest.raises(_Refused, match=r"^.*/f is too large to be a thing$"):
        read_bounded(path, 10, _Refused, "thing", content="a thing")


def test_missing_file_names_what_was_wanted(tmp_path: Path) -> None:
    with pytest.raises(_Refused) as info:
        read_bounded(tmp_path / "nope", 10, _Refused, "thing", content="a thing")
    assert str(info.value) == f"thing not found: {tmp_path / 'nope'}"
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__


def test_other_os_errors_carry_the_reason(tmp_path: Path) -> None:
    with pytest.raises(_Refused) as info:
        read_bounded(tmp_path, 10, _Refused, "thing", content="a thing")
    assert str(info.value) == f"cannot read thing {tmp_path}: Is a directory"


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    # No writer: a plain open() for reading would block for ever.
    with pytest.raises(_Refused, match=r"^thing .*fifo is not a regular file$"):
        read_bounded(fifo, 100, _Refused, "thing", content="a thing")
    # With a writer holding data, still refused (and nothing read).
    fd = os.open(fifo, os.O_RDWR)
    try:
        os.write(fd, b"y" * 4096)
        with pytest.raises(_Refused, match="not a regular file"):
            read_bounded(fifo, 100, _Refused, "thing", content="a thing")
    finally:
        os.close(fd)


def test_private_key_messages(tmp_path: Path, key_files: tuple[Path, Path]) -> None:
    key, _ = key_files
    big = tmp_path / "big.key"
    big.write_bytes(key.read_bytes() + b"\n" * (64 * 1024))
    big.chmod(0o600)
    with pytest.raises(KeyFileError, match=r"big\.key is too large to be a private key$"):
        load_private_key(big)
    with pytest.raises(KeyFileError, match=r"^key file not found: .*missing\.key$"):
        load_private_key(tmp_path / "missing.key", check_permissions=False)
    with pytest.raises(KeyFileError, match=r"^cannot read key file .*: Is a directory$"):
        load_private_key(tmp_path, check_permissions=False)


def test_certificate_messages(
    tmp_path: Path, key_pair: KeyPair, key_files: tuple[Path, Path]
) -> None:
    _, cert = key_files
    assert load_certificate(cert).subject == "CN=sfbearer-test"
    big = tmp_path / "big.crt"
    big.write_bytes(cert.read_bytes() + b"\n" * (64 * 1024))
    with pytest.raises(CertificateError, match=r"big\.crt is too large to be a certificate$"):
        load_certificate(big)
    with pytest.raises(CertificateError, match=r"^the certificate data is too large"):
        load_certificate(big.read_bytes())
    with pytest.raises(CertificateError, match=r"^certificate not found: .*missing\.crt$"):
        load_certificate(str(tmp_path / "missing.crt"))
    with pytest.raises(CertificateError, match=r"^cannot read certificate .*: Is a directory$"):
        load_certificate(tmp_path)
    assert load_certificate(key_pair.certificate_info.pem()).sha256_fingerprint == (
        key_pair.certificate_info.sha256_fingerprint
    )
