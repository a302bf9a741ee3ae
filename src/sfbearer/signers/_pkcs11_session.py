"""PKCS#11 plumbing: one module per process (again after fork), one login per token, one
session per thread, every call into a module serialised.

Kept apart from :mod:`sfbearer.signers.pkcs11` so the signer reads as "what is checked and
signed", and this module as "how a PKCS#11 library is driven safely".
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import hmac
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

from sfbearer._exceptions import SignerError
from sfbearer.signers.uri import Pkcs11Uri

if TYPE_CHECKING:
    from pkcs11 import Session, Token

__all__ = ["Pkcs11Module", "TokenRef", "find_module", "pkcs11_api", "translate"]

T = TypeVar("T")

# Where distributions put PKCS#11 modules, for module-name= (RFC 7512) look-ups.
_MODULE_DIRS = (
    "/usr/lib/x86_64-linux-gnu/pkcs11",
    "/usr/lib/aarch64-linux-gnu/pkcs11",
    "/usr/lib64/pkcs11",
    "/usr/lib/pkcs11",
    "/usr/lib/softhsm",
    "/usr/local/lib/softhsm",
    "/usr/lib",
    "/usr/local/lib",
)
# Salt for the in-memory PIN digest (never the PIN itself) used to compare PINs.
_PIN_SALT = os.urandom(16)

_registry_lock = threading.Lock()
_modules: dict[str, Pkcs11Module] = {}
# Set at interpreter exit: python-pkcs11 may unload a module (dlclose) before the last
# session objects are collected, and calling into an unloaded library would crash.
_exiting = False


def pkcs11_api() -> ModuleType:
    """Import python-pkcs11, or say which extra to install."""
    try:
        import pkcs11
    except ImportError:
        raise SignerError(
            "PKCS#11 signers need the python-pkcs11 package",
            hint="pip install 'sfbearer[pkcs11]'",
        ) from None
    return pkcs11


def translate(exc: Exception, what: str, token: str = "") -> SignerError:
    """A :class:`SignerError` for a python-pkcs11 exception (names only, never data)."""
    p11 = pkcs11_api()
    where = f" (token {token!r})" if token else ""
    if isinstance(exc, p11.PinIncorrect | p11.PinInvalid | p11.PinLenRange):
        return SignerError(
            f"wrong PIN{where}", hint="check the PIN file, variable or the PIN you typed"
        )
    if isinstance(exc, p11.PinLocked):
        return SignerError(
            f"the PIN is locked{where}", hint="unlock it with the security officer PIN"
        )
    if isinstance(exc, p11.PinExpired):
        return SignerError(f"the PIN has expired{where}", hint="set a new user PIN")
    if isinstance(exc, p11.UserPinNotInitialized):
        return SignerError(f"the token's user PIN is not initialised{where}")
    if isinstance(exc, p11.TokenNotPresent | p11.DeviceRemoved | p11.TokenNotRecognised):
        return SignerError(f"the token is not present{where}", hint="is the HSM connected?")
    detail = str(exc).strip() or type(exc).__name__
    return SignerError(f"PKCS#11 could not {what}{where}: {type(exc).__name__}: {detail}")


@dataclass(frozen=True, slots=True)
class TokenRef:
    """A token found by a URI: its slot and what it can do."""

    slot_id: int
    label: str
    serial: str
    flags: int
    mechanisms: frozenset[object]

    @property
    def key(self) -> tuple[int, str]:
        return (self.slot_id, self.serial)


@dataclass(slots=True)
class _Login:
    session: Session | None  # keeps the user logged in; None when no PIN is needed
    pin_digest: bytes | None
    epoch: int


class _ThreadSession:
    """A thread's session; closed when the thread ends (unless the process forked since)."""

    __slots__ = ("epoch", "generation", "module", "session")

    def __init__(self, module: Pkcs11Module, session: Session, epoch: int) -> None:
        self.module = module
        self.session = session
        self.epoch = epoch
        self.generation = module.generation

    def __del__(self) -> None:
        self.module.close_quietly(self.session, self.generation)


def _digest(pin: str | None) -> bytes | None:
    return None if pin is None else hashlib.sha256(_PIN_SALT + pin.encode()).digest()


def find_module(uri: Pkcs11Uri) -> Pkcs11Module:
    """The process-wide :class:`Pkcs11Module` for a URI's ``module-path`` / ``module-name``."""
    if uri.module_path:
        path = uri.module_path
    elif uri.module_name:
        name = uri.module_name
        candidates = [name] if name.endswith(".so") else [f"{name}.so", f"lib{name}.so"]
        found = [os.path.join(d, c) for d in _MODULE_DIRS for c in candidates]
        path = next((p for p in found if os.path.isfile(p)), found[0])
    else:
        raise SignerError(
            "pkcs11: URI needs module-path=/path/to/module.so (or module-name=)",
            hint="e.g. ?module-path=/usr/lib/softhsm/libsofthsm2.so",
        )
    if not os.path.isfile(path):
        raise SignerError(
            f"PKCS#11 module not found: {path}",
            hint="install the HSM vendor's PKCS#11 library or fix module-path=",
        )
    real = os.path.realpath(path)
    with _registry_lock:
        module = _modules.get(real)
        if module is None:
            module = _modules[real] = Pkcs11Module(real)
    return module


class Pkcs11Module:
    """One PKCS#11 library in this process. Every call into it holds ``lock``."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.lock = threading.RLock()
        self.generation = 0
        self._lib: Any = None
        self._stale = False
        self._local = threading.local()
        self._logins: dict[tuple[int, str], _Login] = {}
        self._epochs: dict[tuple[int, str], int] = {}

    # -- process lifecycle ------------------------------------------------------------------

    def reset(self) -> None:
        """Forget every session and login; initialise the module again on next use.

        Done in a child after ``fork()`` (the parent's handles mean nothing there), and when
        the module's own configuration changed (SoftHSM reads ``SOFTHSM2_CONF`` at
        initialisation). Sessions opened before are abandoned, not closed.
        """
        self.lock = threading.RLock()
        self.generation += 1
        self._local = threading.local()
        self._logins = {}
        self._stale = self._lib is not None

    def _library(self) -> Any:
        p11 = pkcs11_api()
        if self._lib is None:
            try:
                self._lib = p11.lib(self.path)
            except p11.PKCS11Error as exc:
                if "already initialized" in str(exc):  # python-pkcs11 has no subclass for it
                    raise SignerError(
                        f"the PKCS#11 module {self.path} was initialised by other code in "
                        "this process (under another path)",
                        hint="load the module through sfbearer only, by its real path",
                    ) from None
                raise SignerError(
                    f"cannot load the PKCS#11 module {self.path}: {exc}",
                    hint="is it a PKCS#11 library for this platform?",
                ) from None
        elif self._stale:
            # The child inherited an "initialised" state it cannot use: start over.
            with contextlib.suppress(p11.PKCS11Error):
                self._lib.finalize()
            try:
                self._lib.initialize()
            except p11.PKCS11Error as exc:
                raise translate(exc, "initialise the module after fork") from None
        self._stale = False
        return self._lib

    # -- tokens and sessions ----------------------------------------------------------------

    def find_token(self, uri: Pkcs11Uri) -> TokenRef:
        """The one token the URI's token attributes select."""
        p11 = pkcs11_api()
        with self.lock:
            lib = self._library()
            try:
                matches: list[TokenRef] = []
                labels: list[str] = []
                for slot in lib.get_slots(token_present=True):
                    token = slot.get_token()
                    if not token.flags & p11.TokenFlag.TOKEN_INITIALIZED:
                        continue  # an empty slot waiting for --init-token
                    serial = token.serial.decode("ascii", "replace").strip()
                    labels.append(token.label)
                    if (
                        (uri.token is not None and token.label != uri.token)
                        or (uri.serial is not None and serial != uri.serial)
                        or (
                            uri.manufacturer is not None
                            and token.manufacturer_id != uri.manufacturer
                        )
                        or (uri.model is not None and token.model != uri.model)
                        or (uri.slot_id is not None and slot.slot_id != uri.slot_id)
                    ):
                        continue
                    mechanisms = frozenset(slot.get_mechanisms())
                    matches.append(
                        TokenRef(slot.slot_id, token.label, serial, int(token.flags), mechanisms)
                    )
            except p11.PKCS11Error as exc:
                raise translate(exc, "list the tokens") from None
        if not matches:
            known = ", ".join(repr(label) for label in labels) or "none"
            raise SignerError(
                f"no PKCS#11 token matches {uri.describe()} in {self.path}",
                hint=f"tokens present: {known}",
            )
        if len(matches) > 1:
            raise SignerError(
                f"{len(matches)} tokens match {uri.describe()}",
                hint="add token=, serial= or slot-id= to the URI",
            )
        return matches[0]

    def _token(self, ref: TokenRef) -> Token:
        lib = self._library()
        for slot in lib.get_slots(token_present=True):
            if slot.slot_id == ref.slot_id:
                token: Token = slot.get_token()
                return token
        raise SignerError(f"the token {ref.label!r} is no longer present")

    def _login(self, ref: TokenRef, pin: str | None) -> _Login:
        p11 = pkcs11_api()
        digest = _digest(pin)
        login = self._logins.get(ref.key)
        if login is not None:
            if digest is not None and (
                login.pin_digest is None or not hmac.compare_digest(login.pin_digest, digest)
            ):
                # The token is already unlocked in this process: a different PIN must not
                # ride on that login. It is refused as a wrong PIN would be.
                raise SignerError(
                    f"wrong PIN (token {ref.label!r})",
                    hint="check the PIN file, variable or the PIN you typed",
                )
            return login
        if pin is None and ref.flags & p11.TokenFlag.LOGIN_REQUIRED:
            raise SignerError(
                f"the token {ref.label!r} needs a PIN",
                hint="add pin-source=file:PATH or pin-source=env:VAR to the URI, "
                "or give the PIN when asked",
            )
        epoch = self._epochs.get(ref.key, 0) + 1
        self._epochs[ref.key] = epoch
        session = None
        if pin is not None:
            try:
                session = self._token(ref).open(user_pin=pin)
            except p11.UserAlreadyLoggedIn:
                raise SignerError(
                    f"the token {ref.label!r} was unlocked by other code in this process",
                    hint="let sfbearer own the PKCS#11 login for this token",
                ) from None
        login = self._logins[ref.key] = _Login(session, digest, epoch)
        return login

    def _thread_session(self, ref: TokenRef, login: _Login) -> Session:
        sessions: dict[tuple[int, str], _ThreadSession] = getattr(self._local, "sessions", {})
        self._local.sessions = sessions
        held = sessions.get(ref.key)
        if held is None or held.epoch != login.epoch:
            held = _ThreadSession(self, self._token(ref).open(), login.epoch)
            sessions[ref.key] = held  # the replaced one closes in its __del__
        return held.session

    def _forget(self, ref: TokenRef, epoch: int) -> None:
        """Drop a login that stopped working (token reset, logged out elsewhere)."""
        login = self._logins.get(ref.key)
        if login is not None and login.epoch == epoch:
            del self._logins[ref.key]
            if login.session is not None:
                self.close_quietly(login.session, self.generation)

    def close_quietly(self, session: Session, generation: int) -> None:
        """Close a session of this process generation; errors do not matter any more."""
        if generation != self.generation or _exiting:
            return  # the parent's handle means nothing here / the module may be unloaded
        # Cleanup (also at interpreter exit) must never raise.
        with contextlib.suppress(Exception), self.lock:
            session.close()

    def call(
        self,
        op: Callable[[Session], T],
        *,
        token: TokenRef,
        pin: str | None,
        what: str,
        rw: bool = False,
    ) -> T:
        """Run ``op`` with a logged-in session on ``token``, under the module lock.

        A session or login that went stale (token reset, logged out) is opened again and
        ``op`` retried once. ``rw`` uses a fresh read-write session, closed afterwards.
        """
        p11 = pkcs11_api()
        stale = (
            p11.SessionHandleInvalid,
            p11.SessionClosed,
            p11.UserNotLoggedIn,
            p11.ObjectHandleInvalid,
            p11.KeyHandleInvalid,
        )
        with self.lock:
            for attempt in (1, 2):
                epoch = 0
                try:
                    self._library()
                    login = self._login(token, pin)
                    epoch = login.epoch
                    if rw:
                        session = self._token(token).open(rw=True)
                        try:
                            return op(session)
                        finally:
                            self.close_quietly(session, self.generation)
                    return op(self._thread_session(token, login))
                except p11.PKCS11Error as exc:
                    if attempt == 1 and isinstance(exc, stale) and epoch:
                        self._forget(token, epoch)
                        continue
                    raise translate(exc, what, token.label) from None
        raise AssertionError("unreachable")  # pragma: no cover


def _after_fork_in_child() -> None:
    global _registry_lock
    _registry_lock = threading.Lock()
    for module in _modules.values():
        module.reset()


def _at_exit() -> None:
    global _exiting
    _exiting = True


os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(_at_exit)
