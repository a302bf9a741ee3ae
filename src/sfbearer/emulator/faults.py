"""Fault injection, switchable while the emulator runs.

Example:
    >>> faults = Faults()
    >>> faults.update(error_rate=1.0, error_status=503, retry_after=2)
    >>> faults.to_dict()["error_status"]
    503
    >>> faults.reset()
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field, fields
from typing import Any

__all__ = ["FAULT_SCOPES", "Faults"]

FAULT_SCOPES = ("all", "token", "api")


@dataclass
class Faults:
    """What goes wrong, and how often.

    Attributes:
        latency: seconds added before every matching response.
        error_rate: share (0..1) of matching requests answered with ``error_status``.
        error_status: 500 or 503 (any 5xx is accepted).
        retry_after: seconds sent in ``Retry-After`` with injected errors (None: no header).
        drop_rate: share (0..1) of matching requests whose connection is dropped mid-response.
        scope: which requests are affected: ``all``, ``token`` (OAuth endpoints) or ``api``.
        login_rate_exhausted: every login fails with ``login rate exceeded``.
        ip_restricted: every login fails with ``IP restricted or invalid login hours``.
        seed: seed of the random generator that decides which requests fail.
    """

    latency: float = 0.0
    error_rate: float = 0.0
    error_status: int = 503
    retry_after: int | None = None
    drop_rate: float = 0.0
    scope: str = "all"
    login_rate_exhausted: bool = False
    ip_restricted: bool = False
    seed: int | None = None
    _rng: random.Random = field(default_factory=random.Random, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._validate()
        if self.seed is not None:
            self._rng.seed(self.seed)

    def _validate(self) -> None:
        if not 0 <= self.latency <= 600:
            raise ValueError("latency must be between 0 and 600 seconds")
        for name in ("error_rate", "drop_rate"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be between 0 and 1")
        if not 500 <= self.error_status <= 599:
            raise ValueError("error_status must be a 5xx status")
        if self.retry_after is not None and not 0 <= self.retry_after <= 86400:
            raise ValueError("retry_after must be between 0 and 86400 seconds")
        if self.scope not in FAULT_SCOPES:
            raise ValueError(f"scope must be one of {', '.join(FAULT_SCOPES)}")

    def update(self, **changes: Any) -> None:
        """Change some settings at once (validated; unknown names raise ``ValueError``)."""
        known = {f.name for f in fields(self) if not f.name.startswith("_")}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown fault setting(s): {', '.join(sorted(unknown))}")
        with self._lock:
            old = self.to_dict()
            for name, value in changes.items():
                setattr(self, name, _coerce(name, value))
            try:
                self._validate()
            except ValueError:
                for name, value in old.items():
                    setattr(self, name, value)
                raise
            if "seed" in changes and self.seed is not None:
                self._rng.seed(self.seed)

    def reset(self) -> None:
        """No faults at all."""
        self.update(**{k: v for k, v in Faults().to_dict().items() if k != "seed"})

    def to_dict(self) -> dict[str, Any]:
        """The settings as plain JSON-able data."""
        return {f.name: getattr(self, f.name) for f in fields(self) if not f.name.startswith("_")}

    def applies_to(self, kind: str) -> bool:
        """Whether request kind ``token`` or ``api`` is subject to latency/errors/drops."""
        return self.scope == "all" or self.scope == kind

    def roll(self, rate: float) -> bool:
        """True with probability ``rate``."""
        if rate <= 0:
            return False
        if rate >= 1:
            return True
        with self._lock:
            return self._rng.random() < rate


_TYPES: dict[str, type] = {
    "latency": float,
    "error_rate": float,
    "drop_rate": float,
    "error_status": int,
    "scope": str,
}


def _coerce(name: str, value: Any) -> Any:
    if name in ("login_rate_exhausted", "ip_restricted"):
        if isinstance(value, str):
            return value.strip().lower() in ("1", "true", "yes", "on")
        return bool(value)
    if name in ("retry_after", "seed"):
        return None if value is None or value == "" else int(value)
    kind = _TYPES.get(name)
    return kind(value) if kind is not None else value
