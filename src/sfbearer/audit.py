"""Audit trail: one record for every assertion minted and every token issued, reused or failed.

The runtime reports events to an :class:`AuditSink`; the default sink does nothing.
:class:`AuditTrail` writes JSON lines to a file (0600, append-only, size-rotated under a
cross-process lock) and to Python ``logging``.

Event names: ``assertion.minted``, ``token.issued``, ``token.reused``, ``token.refreshed``,
``token.failed``, ``session.reauthenticated``, ``token.revoked``, ``certificate.warning``.
Fields are plain JSON values and never hold a secret: a token appears only as a short hash
(see :func:`token_hash`). As a second line of defence the trail redacts any field whose name
says it holds a secret (``access_token``, ``assertion``, ``client_secret``, ``passphrase``,
``private_key``...) and any value that looks like a JWT, an access token or a PEM block.

Example:
    >>> trail = AuditTrail("audit.jsonl")  # doctest: +SKIP
    >>> trail.record("token.issued", {"profile": "prod", "token_hash": token_hash("00D...")})  # doctest: +SKIP
    >>> [r["event"] for r in read_trail("audit.jsonl")]  # doctest: +SKIP
    ['token.issued']
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import re
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from sfbearer._trail import (
    TrailPosition,
    _backup,
    follow_trail,
    read_latest,
    read_trail,
    trail_files,
)

__all__ = [
    "DEFAULT_BACKUPS",
    "DEFAULT_MAX_BYTES",
    "REDACTED",
    "AuditSink",
    "AuditTrail",
    "NullAudit",
    "TrailPosition",
    "follow_trail",
    "read_latest",
    "read_trail",
    "redact_fields",
    "token_hash",
    "trail_files",
]

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_BACKUPS = 5
REDACTED = "[redacted]"
_LOCK_TIMEOUT = 10.0

# Field names that say "I hold a secret". Matched on the lower-cased name.
_SECRET_NAME = re.compile(
    r"token|assertion|secret|passphrase|password|passwd|private|pem|credential|authorization|cookie|^key$|_key$"
)
# Names that look secret but are not: the reference forms the runtime is asked to send.
_ALLOWED_NAMES = frozenset({"token_url", "token_type", "token_source", "consumer_key", "client_id"})
_HASH_SUFFIXES = ("_hash", "_fingerprint", "_sha256", "_sha1")
_HEX_REFERENCE = re.compile(r"^[0-9A-Fa-f:]{1,95}$")
# Values that are secrets whatever their field is called.
_JWT_VALUE = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.")
_SF_TOKEN_VALUE = re.compile(r"\b00D[A-Za-z0-9]{12,15}![A-Za-z0-9_.]{16,}")
_PEM_VALUE = re.compile(r"-----BEGIN [A-Z0-9 ]+-----")


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


def _secret_name(name: str) -> bool:
    lowered = name.lower()
    if lowered in _ALLOWED_NAMES:
        return False
    return bool(_SECRET_NAME.search(lowered))


def _redact_value(value: object) -> object:
    if isinstance(value, str):
        if _JWT_VALUE.search(value) or _SF_TOKEN_VALUE.search(value) or _PEM_VALUE.search(value):
            return REDACTED
        return value
    if isinstance(value, Mapping):
        return redact_fields(value)
    if isinstance(value, list | tuple):
        return [_redact_value(v) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    return _redact_value(str(value))


def redact_fields(fields: Mapping[str, object]) -> dict[str, object]:
    """Return ``fields`` with anything secret replaced by ``"[redacted]"``.

    A field named like a secret (``access_token``, ``assertion``, ``passphrase``...) is
    redacted; one ending in ``_hash`` or ``_fingerprint`` is kept only when its value is a
    short hex reference (as made by :func:`token_hash`). Values that look like a JWT, a
    Salesforce access token or a PEM block are redacted under any name.

    Example:
        >>> redact_fields({"access_token": "00Dxx!abc", "token_hash": "1f2e3d4c5b6a"})
        {'access_token': '[redacted]', 'token_hash': '1f2e3d4c5b6a'}
    """
    clean: dict[str, object] = {}
    for raw_name, value in fields.items():
        name = str(raw_name)
        lowered = name.lower()
        if lowered.endswith(_HASH_SUFFIXES):
            ok = isinstance(value, str) and bool(_HEX_REFERENCE.match(value))
            clean[name] = value if ok else REDACTED
        elif _secret_name(name):
            # a number or a flag under a secret-sounding name (token_age, has_token) is harmless
            harmless = value is None or isinstance(value, bool | int | float)
            clean[name] = value if harmless else REDACTED
        else:
            clean[name] = _redact_value(value)
    return clean


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class AuditTrail:
    """An :class:`AuditSink` writing JSON lines to a file and to Python ``logging``.

    Each record is one line: ``{"ts": "2026-12-01T00:00:00.123456Z", "event": ..., **fields}``.
    The file is created 0600 and opened append-only for every record. When a record would
    push it past ``max_bytes`` it is rotated (``audit.jsonl`` → ``audit.jsonl.1`` → ... up
    to ``backups``); the size check, the rotation and the append all happen under a lock
    on ``<path>.lock`` held across processes, so several processes writing one trail lose
    nothing. Every record also goes to ``logger`` at INFO. :meth:`record` never raises: a
    failure to write is logged as a warning.

    Args:
        path: the trail file.
        max_bytes: rotate before the file grows past this size.
        backups: how many rotated files to keep (the oldest is dropped).
        logger: where the records are also logged (``sfbearer.audit`` by default).
        clock: the time source for ``ts`` (UTC); tests pass a fake one.

    Example:
        >>> trail = AuditTrail("/var/log/sfbearer/audit.jsonl", max_bytes=1 << 20)  # doctest: +SKIP
        >>> trail.record("token.failed", {"profile": "prod", "error": "invalid_grant"})  # doctest: +SKIP
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        backups: int = DEFAULT_BACKUPS,
        logger: logging.Logger | None = None,
        clock: Callable[[], dt.datetime] = _utc_now,
    ) -> None:
        if max_bytes < 1:
            raise ValueError("max_bytes must be positive")
        if backups < 0:
            raise ValueError("backups must be zero or more")
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.backups = backups
        self.logger = logger if logger is not None else logging.getLogger("sfbearer.audit")
        self._clock = clock
        self._thread_lock = threading.Lock()
        self._file_lock: Any = None

    def __repr__(self) -> str:
        return f"<AuditTrail {self.path}>"

    def record(self, event: str, fields: Mapping[str, object]) -> None:
        """Append one record; log it at INFO. Never raises."""
        try:
            line = self._format(event, fields)
        except Exception as exc:  # noqa: BLE001 - auditing must never break the caller
            self.logger.warning(
                "audit record %r could not be encoded: %s", event, type(exc).__name__
            )
            return
        self.logger.info("%s", line)
        try:
            self._append(line.encode() + b"\n")
        except Exception as exc:  # noqa: BLE001 - auditing must never break the caller
            self.logger.warning(
                "audit trail %s: record %r not written: %s", self.path, event, _describe(exc)
            )

    def _format(self, event: str, fields: Mapping[str, object]) -> str:
        ts = self._clock().astimezone(dt.UTC).isoformat(timespec="microseconds")
        record: dict[str, object] = {"ts": ts.replace("+00:00", "Z"), "event": str(event)}
        for name, value in redact_fields(fields).items():
            record.setdefault(name, value)  # ts and event are ours; a field cannot replace them
        return json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str)

    def _lock(self) -> Any:
        if self._file_lock is None:
            from filelock import FileLock

            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._file_lock = FileLock(
                str(self.path) + ".lock", timeout=_LOCK_TIMEOUT, mode=0o600, thread_local=False
            )
        return self._file_lock

    def _append(self, data: bytes) -> None:
        with self._thread_lock, self._lock():
            try:
                size = os.stat(self.path).st_size
            except FileNotFoundError:
                size = 0
            if size and size + len(data) > self.max_bytes:
                self._rotate()
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
            try:
                view = memoryview(data)
                while view:  # a short write on a full disk must not leave half a line
                    written = os.write(fd, view)
                    view = view[written:]
            finally:
                os.close(fd)

    def _rotate(self) -> None:
        if self.backups == 0:
            os.unlink(self.path)
            return
        # Shift only the backups that exist (a large ``backups`` must not cost a stat each).
        last = 0
        while last < self.backups and _backup(self.path, last + 1).exists():
            last += 1
        if last == self.backups:
            os.unlink(_backup(self.path, last))  # the oldest goes
            last -= 1
        for index in range(last, 0, -1):
            os.replace(_backup(self.path, index), _backup(self.path, index + 1))
        os.replace(self.path, _backup(self.path, 1))


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return type(exc).__name__
