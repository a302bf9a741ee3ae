"""Fixtures for the operations tests: certificates with chosen validity (``run_cli`` comes
from the suite's conftest)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from sfbearer.keys import KeyPair

MakeCert = Callable[..., Path]


@pytest.fixture
def make_cert(tmp_path: Path, key_pair: KeyPair) -> MakeCert:
    """Write a certificate valid from ``not_before`` to ``not_after`` (or ``days_left`` from now)."""

    def make(
        name: str = "server.crt",
        *,
        days_left: float | None = None,
        not_before: dt.datetime | None = None,
        not_after: dt.datetime | None = None,
        now: dt.datetime | None = None,
        common_name: str = "ops-test",
    ) -> Path:
        at = now or dt.datetime.now(dt.UTC)
        end = not_after or at + dt.timedelta(days=days_left if days_left is not None else 365)
        start = not_before or min(at, end) - dt.timedelta(days=30)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key_pair.private_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .sign(key_pair.private_key, hashes.SHA256())
        )
        path = tmp_path / name
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return path

    return make
