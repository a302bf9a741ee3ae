"""A token cache in files: the processes of one host share one token per identity.

``file:PATH`` names a directory (created 0700). Each identity has two files there, named
by its cache key (a hash, so no username appears on disk):

* ``<key>.json`` — the token. Created 0600 with the final mode (no chmod race), opened with
  ``O_NOFOLLOW``, written atomically (temp file + fsync + ``os.replace``), so a reader sees
  the old token or the new one and a process killed mid-write leaves the old one intact.
* ``<key>.lock`` — the lock (``flock`` through ``filelock``). It is a separate file because
  ``os.replace`` swaps the data file's inode: a lock on the data file would exclude nobody
  once it is replaced. ``flock`` locks belong to an open file description, so they exclude
  the threads of one process too (POSIX record locks would not). The kernel drops the lock
  of a process that dies, so a crashed holder never blocks the others.

A token file that is not a regular file, not owned by the current user or not mode 0600 is
refused (:class:`~sfbearer.ConfigError` with the fix): someone else may have read or
planted it. Content that is not a token record for this key (corrupt, truncated, another
identity's) is ignored, never trusted, and overwritten by the next token.

Example:
    >>> from sfbearer import JWTBearerCredentials
    >>> creds = JWTBearerCredentials(  # doctest: +SKIP
    ...     client_id="3MVG9...", username="integration@acme.com", private_key=key,
    ...     cache="file:/var/cache/sfbearer")
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sfbearer import _fork
from sfbearer._exceptions import ConfigError, TransportError
from sfbearer._files import atomic_write
from sfbearer.token import Token

__all__ = ["DEFAULT_LOCK_TIMEOUT", "FileCache", "from_spec"]

log = logging.getLogger("sfbearer.cache")

#: How long a process waits for another one's refresh (retries included) before giving up.
DEFAULT_LOCK_TIMEOUT = 120.0
_FORMAT = "sfbearer-token-cache"
_MAX_BYTES = 64 * 1024  # a token record is about 1 KiB; anything far larger is not ours


def from_spec(spec: str) -> FileCache:
    """The cache for a ``file:PATH`` spec (``~`` is expanded)."""
    path = spec[len("file:") :].strip() if spec.startswith("file:") else spec.strip()
    if not path:
        raise ConfigError("the file token cache needs a directory", hint="use file:PATH")
    return FileCache(os.path.expanduser(path))


class FileCache:
    """A :class:`~sfbearer.cache.TokenCache` in a directory shared by the processes of a host.

    Args:
        directory: where the token and lock files live (created 0700 if missing). It must
            belong to the current user and not be writable by group or others.
        lock_timeout: seconds to wait for another process's refresh before raising
            :class:`~sfbearer.TransportError`.

    Raises:
        ConfigError: the directory cannot be created, or is not safe to keep tokens in.

    Example:
        >>> cache = FileCache("/var/cache/sfbearer")  # doctest: +SKIP
        >>> with cache.lock(key):  # doctest: +SKIP
        ...     cache.get(key)
    """

    def __init__(
        self, directory: str | os.PathLike[str], *, lock_timeout: float = DEFAULT_LOCK_TIMEOUT
    ) -> None:
        self.directory = Path(directory)
        self.lock_timeout = lock_timeout
        self._guard = threading.Lock()
        self._locks: dict[str, Any] = {}
        self._pid = os.getpid()
        self._prepare_directory()
        _fork.register(self, FileCache._after_fork)

    # -- the TokenCache protocol ----------------------------------------------------------
    def get(self, key: str) -> Token | None:
        """The token stored for ``key``; ``None`` when absent, corrupt or foreign.

        Raises:
            ConfigError: the token file is unsafe (a symlink, another owner, not 0600).
        """
        path = self._data_path(key)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
        except FileNotFoundError:
            return None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise _refused(path, "is a symbolic link") from None
            raise ConfigError(
                f"cannot read the token cache file {path}: {exc.strerror}",
                hint=f"check the permissions of {self.directory}",
            ) from None
        try:
            self._check_file(path, os.fstat(fd))
            data = _read_at_most(fd, _MAX_BYTES + 1)
        finally:
            os.close(fd)
        return _decode(data, key, path)

    def put(self, key: str, token: Token) -> None:
        """Store ``token`` for ``key`` atomically (under the identity's file lock)."""
        record = {"format": _FORMAT, "version": 1, "key": key, "token": token.to_dict()}
        data = json.dumps(record, separators=(",", ":")).encode()
        path = self._data_path(key)
        with self.lock(key):
            self._check_existing(path)
            self._remove_stale_temps(path)
            try:
                atomic_write(path, data, mode=0o600)
            except OSError as exc:
                raise ConfigError(
                    f"cannot write the token cache file {path}: {exc.strerror}",
                    hint=f"check the permissions and free space of {self.directory}",
                ) from None

    def invalidate(self, key: str, token: Token) -> bool:
        """Delete the entry only if it still holds ``token`` (compare-and-delete)."""
        path = self._data_path(key)
        with self.lock(key):
            current = self.get(key)
            if current is None or current.access_token != token.access_token:
                return False
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            return True

    def lock(self, key: str) -> contextlib.AbstractContextManager[object]:
        """The identity's cross-process lock (re-entrant within one thread)."""
        return self._locked(key)

    # -- helpers --------------------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self, key: str) -> Iterator[object]:
        from filelock import Timeout

        lock = self._file_lock(key)
        try:
            lock.acquire()
        except Timeout:
            raise TransportError(
                f"another process has held the token cache lock for {key[:12]} for over "
                f"{self.lock_timeout:g} s",
                hint="a refresh is stuck; check the other processes of this host",
            ) from None
        try:
            yield lock
        finally:
            lock.release()

    def _file_lock(self, key: str) -> Any:
        from filelock import FileLock

        with self._guard:
            if self._pid != os.getpid():  # forked without the at-fork hook (os.fork in C)
                self._reset_locks()
            lock = self._locks.get(key)
            if lock is None:
                # thread_local: each thread opens its own descriptor, so flock excludes the
                # threads of this process as it does other processes; re-entrant per thread.
                lock = FileLock(
                    str(self._lock_path(key)),
                    timeout=self.lock_timeout,
                    mode=0o600,
                    thread_local=True,
                    poll_interval=0.01,  # waiters notice the end of a refresh quickly
                )
                self._locks[key] = lock
            return lock

    def _reset_locks(self) -> None:
        # The parent's FileLock objects refuse to work in a child (and their descriptors
        # share the parent's open file description): drop them, keep them referenced.
        _fork.keep_forever(self._locks)
        self._locks = {}
        self._pid = os.getpid()

    def _after_fork(self) -> None:
        self._guard = threading.Lock()
        self._reset_locks()

    def _data_path(self, key: str) -> Path:
        _check_key(key)
        return self.directory / f"{key}.json"

    def _lock_path(self, key: str) -> Path:
        _check_key(key)
        return self.directory / f"{key}.lock"

    def _prepare_directory(self) -> None:
        try:
            with contextlib.suppress(FileExistsError):  # a file there is refused below
                self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            st = os.stat(self.directory)
        except OSError as exc:
            raise ConfigError(
                f"cannot create the token cache directory {self.directory}: {exc.strerror}",
                hint="choose a directory this user can write (file:PATH)",
            ) from None
        if not stat.S_ISDIR(st.st_mode):
            raise ConfigError(
                f"the token cache {self.directory} is not a directory",
                hint="file:PATH names a directory; sfbearer keeps one file per identity there",
            )
        if st.st_uid != os.geteuid():
            raise ConfigError(
                f"the token cache directory {self.directory} belongs to another user "
                f"(uid {st.st_uid})",
                hint="use a directory of this user's own",
            )
        if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            raise ConfigError(
                f"the token cache directory {self.directory} is writable by others "
                f"(mode {stat.S_IMODE(st.st_mode):04o})",
                hint=f"chmod 700 {self.directory}",
            )

    def _check_file(self, path: Path, st: os.stat_result) -> None:
        if not stat.S_ISREG(st.st_mode):
            raise _refused(path, "is not a regular file")
        if st.st_uid != os.geteuid():
            raise _refused(path, f"belongs to another user (uid {st.st_uid})")
        mode = stat.S_IMODE(st.st_mode)
        if mode != 0o600:
            raise ConfigError(
                f"refusing the token cache file {path}: mode {mode:04o}, not 0600 "
                "(others may have read the token)",
                hint=f"rm {path}  (sfbearer writes a new one, mode 0600)",
            )

    def _check_existing(self, path: Path) -> None:
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return
        if stat.S_ISLNK(st.st_mode):
            raise _refused(path, "is a symbolic link")
        self._check_file(path, st)

    def _remove_stale_temps(self, path: Path) -> None:
        # Writers hold the lock: a temp file seen under it is left by a process that died
        # between creating it and renaming it.
        for stale in self.directory.glob(f".{path.name}.*.tmp"):
            with contextlib.suppress(OSError):
                stale.unlink()

    def __repr__(self) -> str:
        return f"<FileCache {self.directory}>"


def _check_key(key: str) -> None:
    # Keys are SHA-256 hex digests (cache_key); anything else could escape the directory.
    if not key or len(key) > 128 or not all(c in "0123456789abcdef" for c in key):
        raise ConfigError("a file token cache key must be a lower-case hex digest")


def _refused(path: Path, why: str) -> ConfigError:
    return ConfigError(
        f"refusing the token cache file {path}: it {why}",
        hint=f"remove it (rm {path}); sfbearer writes a new one, mode 0600",
    )


def _read_at_most(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = os.read(fd, limit - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _decode(data: bytes, key: str, path: Path) -> Token | None:
    """The token in ``data``, or None when it is not a token record for ``key``."""
    if len(data) > _MAX_BYTES:
        log.warning("token cache file %s is too large to be ours; ignored", path)
        return None
    try:
        record = json.loads(data)
        if not isinstance(record, dict) or record.get("format") != _FORMAT:
            raise ValueError("not a token cache record")
        if record.get("key") != key:
            raise ValueError("a record for another identity")
        token_data = record.get("token")
        if not isinstance(token_data, dict):
            raise ValueError("no token in the record")
        return Token.from_dict(token_data)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        # Never the content in the message: it may hold a token.
        log.warning("token cache file %s ignored (%s); it will be overwritten", path, _why(exc))
        return None


def _why(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError | UnicodeDecodeError):
        return "not JSON"
    return str(exc)
