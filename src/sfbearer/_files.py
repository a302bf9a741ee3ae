"""Safe file I/O: writes created with the final mode (no chmod race) and atomic; bounded reads."""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path

__all__ = ["atomic_write", "exclusive_write", "read_bounded", "read_head"]


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_temp(target: Path, data: bytes, mode: int) -> Path:
    """Write ``data`` to a new hidden temp file beside ``target`` (``mode`` from creation)."""
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)  # the umask may have narrowed (never widened) the mode
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return tmp


def atomic_write(path: str | os.PathLike[str], data: bytes, *, mode: int = 0o600) -> None:
    """Replace ``path`` with ``data`` atomically: temp file (``mode`` from creation) + fsync + rename.

    A reader sees the old content or the new, never a half-written file; a failure leaves
    neither a truncated target nor a temp file.

    Example:
        >>> atomic_write("jwt.txt", b"eyJ...", mode=0o600)  # doctest: +SKIP
    """
    target = Path(path)
    tmp = _write_temp(target, data, mode)
    try:
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(target.parent)


def exclusive_write(path: str | os.PathLike[str], data: bytes, *, mode: int = 0o600) -> None:
    """Create ``path`` (which must not exist) with ``data``, atomically and with ``mode``.

    The complete temp file is hard-linked to ``path``, which fails if ``path`` exists, so
    two writers racing for the same name cannot overwrite each other.

    Raises:
        FileExistsError: ``path`` exists already (a dangling symlink counts).
    """
    target = Path(path)
    if target.exists() or target.is_symlink():
        raise FileExistsError(errno.EEXIST, "File exists", str(target))
    tmp = _write_temp(target, data, mode)
    try:
        try:
            os.link(tmp, target, follow_symlinks=False)
        except FileExistsError:
            raise
        except OSError:
            # a file system without hard links: fall back to the checked rename
            if target.exists() or target.is_symlink():
                raise FileExistsError(errno.EEXIST, "File exists", str(target)) from None
            os.replace(tmp, target)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    _fsync_dir(target.parent)


def read_bounded(
    path: str | os.PathLike[str],
    limit: int,
    error_cls: Callable[[str], BaseException],
    what: str,
    *,
    content: str,
) -> bytes:
    """The bytes of ``path`` when it holds at most ``limit`` of them, else ``error_cls``.

    At most ``limit + 1`` bytes are read, whatever the file's size (a huge file cannot
    exhaust memory), and only from a regular file: a FIFO or a device is refused without
    waiting for a writer (opening a FIFO for reading would block until one appears). The
    messages are ``"{what} not found: {path}"``, ``"cannot read {what} {path}: {reason}"``,
    ``"{what} {path} is not a regular file"`` and ``"{path} is too large to be {content}"``.

    Example:
        >>> data = read_bounded("server.crt", 65536, CertificateError, "certificate",
        ...                     content="a certificate")  # doctest: +SKIP

    Raises:
        BaseException: whatever ``error_cls`` builds from the message.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise error_cls(f"{what} not found: {os.fspath(path)}") from None
    except OSError as exc:
        raise error_cls(f"cannot read {what} {os.fspath(path)}: {exc.strerror}") from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise OSError(errno.EISDIR, os.strerror(errno.EISDIR))
        if not stat.S_ISREG(mode):
            raise error_cls(f"{what} {os.fspath(path)} is not a regular file")
        os.set_blocking(fd, True)
        with os.fdopen(fd, "rb") as fh:
            fd = -1  # the file object owns it now
            data = fh.read(limit + 1)
    except OSError as exc:
        raise error_cls(f"cannot read {what} {os.fspath(path)}: {exc.strerror}") from None
    finally:
        if fd >= 0:
            os.close(fd)
    if len(data) > limit:
        raise error_cls(f"{os.fspath(path)} is too large to be {content}")
    return data


class _Unreadable(Exception):
    pass


def read_head(path: str | os.PathLike[str], limit: int = 64 * 1024) -> bytes | None:
    """Up to ``limit`` bytes of a regular file (to sniff its format), or None when it cannot be
    read: missing, a directory, a FIFO or device (never waited on), or too large.

    Example:
        >>> read_head("/nonexistent") is None
        True
    """
    try:
        return read_bounded(path, limit, _Unreadable, "file", content="sniffed")
    except _Unreadable:
        return None
