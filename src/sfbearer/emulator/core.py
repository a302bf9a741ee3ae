"""``Emulator``: a local Salesforce org running on a loopback port in a background thread.

Example:
    >>> from sfbearer.emulator import Emulator
    >>> with Emulator(validation="strict") as sf:  # doctest: +SKIP
    ...     app = sf.add_app(name="ci", certificate=cert_pem)
    ...     sf.add_user(username="int@acme.com")
    ...     sf.authorize(app="ci", profile="Integration User")
    ...     token_url = f"{sf.url}/services/oauth2/token"
    ...     sf.clock.advance(minutes=121)   # the session is now expired
    ...     sf.stats()["token_requests"]["ok"]
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from sfbearer.emulator import data, ops
from sfbearer.emulator.clock import Clock
from sfbearer.emulator.config import EmulatorConfig
from sfbearer.emulator.context import Context
from sfbearer.emulator.db import Database
from sfbearer.emulator.faults import Faults
from sfbearer.emulator.registry import AppRecord, UserRecord

__all__ = ["AppInfo", "Emulator", "UserInfo", "open_context"]

AppInfo = AppRecord
UserInfo = UserRecord


def open_context(
    config: EmulatorConfig,
    *,
    state: str | os.PathLike[str] | None = None,
    clock: Clock | None = None,
    seed: str | os.PathLike[str] | None = None,
    app_metadata: str | os.PathLike[str] | None = None,
) -> Context:
    """The org of a state file (or a fresh temporary one), seeded as asked. No server."""
    from sfbearer.emulator.seed import apply_seed, load_seed

    # A seed's records are created in a new state file only: at later starts they exist.
    fresh = state is None or not Path(state).exists() or Path(state).stat().st_size == 0
    db = Database(state)
    try:
        ctx = Context.create(config, db=db, clock=clock)
    except BaseException:
        db.close()  # a temporary database is removed
        raise
    try:
        data.attach_records(ctx)
        if seed is not None:
            apply_seed(ctx, load_seed(Path(seed)), base_dir=Path(seed).parent, records=fresh)
        if app_metadata is not None:
            ops.load_app_metadata(ctx, app_metadata)
    except BaseException:
        ctx.close()  # what was applied stays in a state file; a temporary one is removed
        raise
    return ctx


@contextlib.contextmanager
def _stop_signals(stop: Callable[[], None]) -> Iterator[threading.Event]:
    """While serving in the foreground, SIGTERM and SIGINT call ``stop`` and set the event.

    uvicorn handles both while it serves: it shuts down gracefully, then raises the signal
    again with the handler it found — this one, so the process cleans up instead of dying
    (SIGTERM's default) or taking a KeyboardInterrupt wherever it happens to be (SIGINT's, even
    inside a finaliser, where it is lost). Main thread only; elsewhere nothing changes.
    """
    requested = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield requested
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        requested.set()
        stop()

    signals = (signal.SIGTERM, signal.SIGINT)
    previous = {sig: signal.signal(sig, handler) for sig in signals}
    try:
        yield requested
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


class Emulator:
    """A running emulated org. Use it as a context manager (or call :meth:`start`/:meth:`stop`).

    Args:
        validation: ``salesforce`` (default) or ``strict`` assertion checks.
        tls: serve HTTPS with a certificate from a fresh local CA (see :attr:`ca_path`).
        state: a SQLite file keeping the org across runs (default: a temporary one).
        sandbox: the org is a sandbox (``https://test.salesforce.com`` is its login audience).
        host: the interface to listen on (loopback by default).
        port: the port (0: a free one).
        seed: a TOML/JSON seed file to load at start.
        app_metadata: a directory of External Client App metadata to load at start.
        config: every other setting (:class:`EmulatorConfig`); ``validation`` and ``sandbox``
            given here override it.
        clock: the clock to use (default: a fresh adjustable :class:`Clock`).
        reuse_sessions: a re-login while a session is alive returns that same session.
    """

    def __init__(
        self,
        *,
        validation: str = "salesforce",
        tls: bool = False,
        state: str | os.PathLike[str] | None = None,
        sandbox: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: str | os.PathLike[str] | None = None,
        app_metadata: str | os.PathLike[str] | None = None,
        config: EmulatorConfig | None = None,
        clock: Clock | None = None,
        reuse_sessions: bool | None = None,
    ) -> None:
        from dataclasses import replace

        base = config or EmulatorConfig()
        changes: dict[str, Any] = {"validation": validation, "sandbox": sandbox or base.sandbox}
        if reuse_sessions is not None:
            changes["reuse_sessions"] = reuse_sessions
        self.config = replace(base, **changes)
        self._tls_wanted = tls
        self._host = host
        self._port = port
        self.ctx = open_context(
            self.config, state=state, clock=clock, seed=seed, app_metadata=app_metadata
        )
        self._server: Any = None
        self._tls: Any = None
        self.url = ""

    # -- lifecycle --------------------------------------------------------------------------
    def _prepare(self) -> Any:
        from sfbearer.emulator.app import build_app
        from sfbearer.emulator.server import BoundServer, bind_socket, make_tls

        sock = bind_socket(self._host, self._port)
        if self._tls_wanted:
            self._tls = make_tls()
        scheme = "https" if self._tls else "http"
        host = f"[{self._host}]" if ":" in self._host else self._host
        port = sock.getsockname()[1]
        self.url = f"{scheme}://{host}:{port}"
        self.ctx.set_base_url(self.url)
        self._server = BoundServer(build_app(self.ctx), sock, self._tls)
        # Counters and sessions reach the state file within a second, requests or not.
        self.ctx.sessions.start_write_behind()
        return self._server

    def start(self) -> Emulator:
        """Bind, start serving in a background thread, and wait until it accepts connections."""
        self._prepare().start()
        return self

    def serve_forever(self, ready: Callable[[Emulator], None] | None = None) -> None:
        """Serve in the foreground until Ctrl-C or SIGTERM (``sfbearer emulator serve``), then
        clean up: pending counters and sessions written, a temporary database removed.

        ``ready`` is called once the socket is bound and :attr:`url` is known.
        """

        def request_stop() -> None:
            if self._server is not None:
                self._server.server.request_exit()

        with _stop_signals(request_stop) as stop_requested:
            try:
                server = self._prepare()
            except BaseException:
                self.stop()
                raise
            try:
                if ready is not None:
                    ready(self)
                if not stop_requested.is_set():
                    server.run()
            except KeyboardInterrupt:
                pass
            finally:
                server.sock.close()
                self._server = None
                self.stop()

    def stop(self) -> None:
        """Stop serving and release the state (a temporary database is removed)."""
        self.ctx.sessions.stop_write_behind()
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._tls is not None:
            self._tls.cleanup()
            self._tls = None
        self.ctx.close()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- properties -------------------------------------------------------------------------
    @property
    def clock(self) -> Clock:
        """The adjustable clock (``sf.clock.advance(minutes=...)``)."""
        return self.ctx.clock

    @property
    def faults(self) -> Faults:
        """Fault switches, effective immediately (``sf.faults.update(error_rate=0.5)``)."""
        return self.ctx.faults

    @property
    def org_id(self) -> str:
        return self.ctx.org_id

    @property
    def token_url(self) -> str:
        return f"{self.url}/services/oauth2/token"

    @property
    def ca_pem(self) -> bytes | None:
        """The local CA certificate (PEM) when serving TLS."""
        return self._tls.ca_pem if self._tls else None

    @property
    def ca_path(self) -> Path | None:
        """A file holding the local CA certificate when serving TLS (``REQUESTS_CA_BUNDLE``)."""
        if self._tls is None:
            return None
        path = Path(self._tls.directory.name) / "ca.pem"
        if not path.exists():
            self._tls.write_ca(path)
        return path

    @property
    def records(self) -> Any:
        """The record store (create test data directly: ``sf.records.create("Account", {...})``)."""
        return self.ctx.records

    # -- configuration ----------------------------------------------------------------------
    def add_app(
        self,
        *,
        name: str,
        certificate: ops.CertificateSource,
        scopes: str = "api,refresh_token",
        policy: str = "admin-approved",
        session_timeout: int = 120,
        consumer_key: str | None = None,
        installed: bool = True,
        profiles: tuple[str, ...] = (),
        permission_sets: tuple[str, ...] = (),
    ) -> AppRecord:
        """Create an External Client App, or update the one of that name in place (its consumer
        key and pre-authorizations kept unless given); see :mod:`.ops`."""
        return ops.add_app(
            self.ctx, name=name, certificate=certificate, scopes=scopes, policy=policy,
            session_timeout=session_timeout, consumer_key=consumer_key, installed=installed,
            profiles=profiles, permission_sets=permission_sets,
        )  # fmt: skip

    def update_app(self, name: str, **changes: Any) -> AppRecord:
        """Change some settings of an app (``installed=False``, ``scopes="api"``...)."""
        if "certificate" in changes:
            changes["certificate_pem"] = ops.certificate_pem(changes.pop("certificate"))
        return self.ctx.registry.update_app(name, **changes)

    def add_user(
        self,
        *,
        username: str,
        profile: str = "Integration User",
        permission_sets: tuple[str, ...] = (),
        active: bool = True,
        email: str | None = None,
    ) -> UserRecord:
        """Create (or update) a user."""
        return ops.add_user(
            self.ctx, username=username, profile=profile, permission_sets=permission_sets,
            active=active, email=email,
        )  # fmt: skip

    def add_object(self, name: str, label: str | None = None, plural: str | None = None) -> None:
        """Add a custom object (``Invoice__c``: a ``Name`` and an ``OwnerId``; add its fields
        with :meth:`add_field`).

        Example:
            >>> with Emulator() as sf:  # doctest: +SKIP
            ...     sf.add_object("Invoice__c", "Invoice")
            ...     sf.add_field("Invoice__c", "Account__c", "lookup", reference_to="Account")
        """
        ops.add_object(self.ctx, name=name, label=label, plural=plural)

    def add_field(self, object: str, name: str, type: str = "string", **options: Any) -> None:
        """Add a custom field to Account, Contact, Opportunity, Case or a custom object (see
        :func:`.ops.add_field` for ``options``: ``length``, ``external_id``, ``unique``...).

        Example:
            >>> with Emulator() as sf:  # doctest: +SKIP
            ...     sf.add_field("Account", "External_Id__c", "string", external_id=True)
        """
        ops.add_field(self.ctx, object=object, name=name, type=type, **options)

    def update_user(self, username: str, **changes: Any) -> UserRecord:
        """Change some settings of a user (``active=False``...)."""
        user = self.ctx.registry.update_user(username, **changes)
        data.sync_user(self.ctx, user)
        return user

    def authorize(
        self,
        *,
        app: str,
        profile: str | None = None,
        permission_set: str | None = None,
        user: str | None = None,
    ) -> AppRecord:
        """Pre-authorize a profile, a permission set, or one user for ``app``."""
        return ops.authorize(
            self.ctx, app=app, profile=profile, permission_set=permission_set, user=user
        )

    def revoke_sessions(self, user: str | None = None) -> int:
        """Revoke all sessions (or one user's); returns how many live ones ended."""
        return ops.revoke_sessions(self.ctx, user)

    def stats(self) -> dict[str, Any]:
        """``{"token_requests": {"ok", "failed", "by_user", "by_app"}, "api_calls", "active_sessions"}``."""
        return self.ctx.sessions.stats()

    def __repr__(self) -> str:
        return f"<Emulator {self.url or 'not started'} validation={self.config.validation}>"
