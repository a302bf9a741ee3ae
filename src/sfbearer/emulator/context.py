"""Everything a request handler needs, in one object shared by the routes."""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from sfbearer.emulator.clock import Clock
from sfbearer.emulator.config import EmulatorConfig
from sfbearer.emulator.db import Database
from sfbearer.emulator.faults import Faults
from sfbearer.emulator.login_limits import JtiCache, LoginWindow
from sfbearer.emulator.registry import Registry
from sfbearer.emulator.sessions import SessionStore

__all__ = ["LATEST_VERSION", "Context"]

LATEST_VERSION = "68.0"


@dataclass
class Context:
    """The emulated org: configuration, clock, faults, registry, sessions, records."""

    config: EmulatorConfig
    clock: Clock
    faults: Faults
    db: Database
    registry: Registry
    sessions: SessionStore
    jti_cache: JtiCache
    logins: LoginWindow
    records: Any = None
    custom_fields: Any = None  # the state file's custom fields (a CustomFieldStore)
    base_url: str = "http://127.0.0.1"
    _audiences: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def create(cls, config: EmulatorConfig, *, db: Database, clock: Clock | None = None) -> Context:
        clock = clock or Clock()
        registry = Registry(db)
        ctx = cls(
            config=config,
            clock=clock,
            faults=Faults(),
            db=db,
            registry=registry,
            sessions=SessionStore(db, clock, registry.org_id),
            jti_cache=JtiCache(clock, config.jti_capacity),
            logins=LoginWindow(clock),
        )
        return ctx

    def set_base_url(self, url: str) -> None:
        """Where the org is reachable; it plays the org's My Domain (an accepted ``aud``)."""
        self.base_url = url.rstrip("/")
        login = (
            "https://test.salesforce.com" if self.config.sandbox else "https://login.salesforce.com"
        )
        accepted = {self.base_url, self.base_url + "/", login}
        for extra in self.config.extra_audiences:
            accepted.update({extra.rstrip("/"), extra.rstrip("/") + "/"})
        self._audiences = frozenset(accepted)

    @property
    def audiences(self) -> frozenset[str]:
        return self._audiences

    @property
    def org_id(self) -> str:
        return self.registry.org_id

    def close(self) -> None:
        """Write pending sessions and counters (waiting at most 2 s for a file another program
        holds: a stop must not hang) and close the database. Never raises for the file."""
        try:
            self.sessions.flush(wait=2.0)
        except sqlite3.Error as exc:
            sessions, counters = self.sessions.pending()
            logging.getLogger("sfbearer.emulator").warning(
                "%d sessions and %d counters not written: the state file is busy (%s)",
                sessions, counters, exc,
            )  # fmt: skip
        finally:
            self.db.close()

    def identity_url(self, user_id: str) -> str:
        return f"{self.base_url}/id/{self.org_id}/{user_id}"
