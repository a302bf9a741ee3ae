"""The records the registry keeps: apps, users, the key a certificate checks signatures with,
and its error. :mod:`.registry` re-exports them.
"""

from __future__ import annotations

import functools
import json
import secrets
import string
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes

from sfbearer.emulator.config import format_scopes, parse_scopes

__all__ = [
    "AppRecord", "CertificateKey", "RegistryError", "UserRecord", "app_from_row", "new_consumer_key",
    "user_from_row",
]  # fmt: skip

_KEY_ALPHABET = string.ascii_letters + string.digits + "._"


class RegistryError(ValueError):
    """A configuration request that cannot be applied (unknown app, duplicate name...)."""


def new_consumer_key() -> str:
    """A consumer key in Salesforce's style: ``3MVG9`` and 80 more characters."""
    return "3MVG9" + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(80))


@dataclass(frozen=True)
class AppRecord:
    """One External Client App."""

    name: str
    consumer_key: str
    certificate_pem: str
    scopes: frozenset[str]
    policy: str
    session_timeout: int
    installed: bool
    profiles: tuple[str, ...]
    permission_sets: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "consumer_key": self.consumer_key,
            "scopes": format_scopes(self.scopes),
            "policy": self.policy,
            "session_timeout": self.session_timeout,
            "installed": self.installed,
            "profiles": list(self.profiles),
            "permission_sets": list(self.permission_sets),
        }


@dataclass(frozen=True)
class UserRecord:
    """One user of the org."""

    id: str
    username: str
    profile: str
    permission_sets: tuple[str, ...]
    active: bool
    email: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "username": self.username,
            "profile": self.profile,
            "permission_sets": list(self.permission_sets),
            "active": self.active,
            "email": self.email,
        }


@dataclass(frozen=True)
class CertificateKey:
    """What checking a signature needs from a certificate: its key and validity, read once."""

    public_key: CertificatePublicKeyTypes
    not_before: float  # POSIX seconds
    not_after: float

    @functools.cached_property
    def rs256_key(self) -> rsa.RSAPublicKey | None:
        """The key when it can check RS256 signatures (RSA, at least 2048 bits), else None.

        Decided once per certificate rather than per signature.
        """
        key = self.public_key
        return key if isinstance(key, rsa.RSAPublicKey) and key.key_size >= 2048 else None


def app_from_row(row: Any) -> AppRecord:
    return AppRecord(
        name=row["name"],
        consumer_key=row["consumer_key"],
        certificate_pem=row["certificate"],
        scopes=parse_scopes(row["scopes"]),
        policy=row["policy"],
        session_timeout=row["session_timeout"],
        installed=bool(row["installed"]),
        profiles=tuple(json.loads(row["profiles"])),
        permission_sets=tuple(json.loads(row["permission_sets"])),
    )


def user_from_row(row: Any) -> UserRecord:
    return UserRecord(
        id=row["id"],
        username=row["username"],
        profile=row["profile"],
        permission_sets=tuple(json.loads(row["permission_sets"])),
        active=bool(row["active"]),
        email=row["email"],
    )
