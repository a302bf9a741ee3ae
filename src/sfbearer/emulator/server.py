"""Serving the emulator: a uvicorn server on a pre-bound socket, in a thread or in the foreground,
optionally over TLS with certificates from a local CA (``trustme``).

The socket is bound before the server starts, so the base URL (and with it the accepted
audience) is known before the first request.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from starlette.types import ASGIApp

__all__ = ["TLS_HOSTS", "BoundServer", "TlsMaterial", "bind_socket", "make_tls"]

TLS_HOSTS = ("127.0.0.1", "localhost", "::1", "login.salesforce.com", "test.salesforce.com")


@dataclass
class TlsMaterial:
    """A local CA and a server certificate it issued, as files."""

    ca_pem: bytes
    server_pem_path: Path
    directory: tempfile.TemporaryDirectory[str]

    def write_ca(self, path: str | Path) -> Path:
        """Write the CA certificate (public data) for clients to trust."""
        target = Path(path)
        target.write_bytes(self.ca_pem)
        return target

    def cleanup(self) -> None:
        self.directory.cleanup()


def make_tls(hosts: tuple[str, ...] = TLS_HOSTS) -> TlsMaterial:
    """A fresh CA and a server certificate for ``hosts`` (key and chain in one 0600 file)."""
    import trustme

    ca = trustme.CA(organization_name="sfbearer emulator local CA")
    cert = ca.issue_cert(*hosts)
    directory = tempfile.TemporaryDirectory(prefix="sfbearer-emulator-tls-")
    server_pem = Path(directory.name) / "server.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(server_pem))
    server_pem.chmod(0o600)
    return TlsMaterial(ca.cert_pem.bytes(), server_pem, directory)


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio then sets TCP_NODELAY on accepted connections, without
    # which keep-alive responses stall ~40 ms on delayed ACKs.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


class _Server(uvicorn.Server):
    """uvicorn's server whose idle loop wakes at once when asked to stop (fast teardown)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None

    async def main_loop(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + 1) % 864000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 0.1)
            should_exit = await self.on_tick(counter)

    def request_exit(self) -> None:
        self.should_exit = True
        if self.loop is not None and self._wake is not None and not self.loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                self.loop.call_soon_threadsafe(self._wake.set)


class BoundServer:
    """uvicorn serving ``app`` on an already bound socket.

    Args:
        app: the ASGI application.
        sock: the listening socket (see :func:`bind_socket`).
        tls: certificates to serve HTTPS with, or None for HTTP.
    """

    def __init__(self, app: ASGIApp, sock: socket.socket, tls: TlsMaterial | None = None) -> None:
        self.sock = sock
        config = uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            ssl_certfile=str(tls.server_pem_path) if tls else None,
            timeout_keep_alive=30,
            timeout_graceful_shutdown=2,
            server_header=False,
        )
        self.server = _Server(config)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    def run(self) -> None:
        """Serve in the foreground until interrupted (Ctrl-C) or :meth:`stop`."""
        self.server.run(sockets=[self.sock])

    def start(self, timeout: float = 10.0) -> None:
        """Serve from a daemon thread; return once the server accepts connections."""
        self._thread = threading.Thread(target=self.run, name="sfbearer-emulator", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the emulator server did not start")
            time.sleep(0.005)

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the server to exit and wait for its thread."""
        self.server.request_exit()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self.sock.close()
