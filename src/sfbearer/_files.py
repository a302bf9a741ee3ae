"""Safe file writing: created with the final mode (no chmod race), written atomically."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

__all__ = ["atomic_write", "exclusive_write"]


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write(path: str | os.PathLike[str], data: bytes, *, mode: int = 0o600) -> None:
    """Replace ``path`` with ``data`` atomically: temp file (``mode`` from creation) + fsync + rename.

    A reader sees the old content or the new, never a half-written file; a crash leaves at most
    a stray temp file beside the target, never a truncated target.
    """
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)  # the umask may have narrowed (never widened) the mode
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(target.parent)


def exclusive_write(path: str | os.PathLike[str], data: bytes, *, mode: int = 0o600) -> None:
    """Create ``path`` (which must not exist) with ``data``, atomically and with ``mode``.

    Raises:
        FileExistsError: ``path`` exists already.
    """
    target = Path(path)
    if target.exists() or target.is_symlink():
        raise FileExistsError(str(target))
    atomic_write(target, data, mode=mode)
