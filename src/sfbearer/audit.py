"""Audit trail: one record for every assertion minted and every token issued, reused or failed.

The runtime reports events to an :class:`AuditSink`; the default sink does nothing.

Event names: ``assertion.minted``, ``token.issued``, ``token.reused``, ``token.refreshed``,
``token.failed``, ``session.reauthenticated``, ``token.revoked``, ``certificate.warning``.
Fields are plain JSON values and never hold a secret: a token appears only as a short hash
(see :func:`token_hash`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Protocol, runtime_checkable

__all__ = ["AuditSink", "NullAudit", "token_hash"]


@runtime_checkable
class AuditSink(Protocol):
    """Receives audit events. Must be thread-safe and must never raise into the caller."""

    def record(self, event: str, fields: Mapping[str, object]) -> None:
        """Record ``event`` with ``fields`` (JSON-serialisable, secret-free)."""
        ...


class NullAudit:
    """The default sink: records nothing."""

    def record(self, event: str, fields: Mapping[str, object]) -> None:
        return None


def token_hash(token: str) -> str:
    """A short, non-reversible reference to a token: the first 12 hex chars of its SHA-256."""
    return hashlib.sha256(token.encode()).hexdigest()[:12]
