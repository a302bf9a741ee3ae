"""Reading an audit trail: its files, its records, following it as it grows.

The writing side is :class:`sfbearer.audit.AuditTrail`; everything here is re-exported by
:mod:`sfbearer.audit`.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["TrailPosition", "follow_trail", "read_latest", "read_trail", "trail_files"]

_MAX_LINE_BYTES = 1024 * 1024


def _backup(path: Path, index: int) -> Path:
    return path.with_name(f"{path.name}.{index}")


def trail_files(path: str | os.PathLike[str]) -> list[Path]:
    """The files of a trail, oldest first: ``path.N`` ... ``path.1``, then ``path``."""
    base = Path(path)
    backups: list[tuple[int, Path]] = []
    with contextlib.suppress(OSError):
        for candidate in base.parent.iterdir():
            suffix = candidate.name[len(base.name) + 1 :]
            if candidate.name.startswith(base.name + ".") and suffix.isdigit():
                backups.append((int(suffix), candidate))
    files = [p for _, p in sorted(backups, reverse=True)]
    if base.exists():
        files.append(base)
    return files


def _parse_line(raw: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(raw)
    except ValueError:
        return None  # a torn or foreign line: skipped, never fatal
    return value if isinstance(value, dict) else None


def _matches(record: Mapping[str, Any], profile: str | None) -> bool:
    return profile is None or record.get("profile") == profile


def read_trail(
    path: str | os.PathLike[str], profile: str | None = None, *, rotated: bool = True
) -> Iterator[dict[str, Any]]:
    """Iterate the records of a trail, oldest first (rotated files too unless ``rotated=False``).

    Lines that are not a JSON object (a torn last line of a crashed writer, say) are skipped.

    Args:
        path: the trail file.
        profile: only the records whose ``profile`` field equals this.
        rotated: include ``path.1``, ``path.2``... before ``path``.

    Example:
        >>> for rec in read_trail("audit.jsonl", profile="prod"):  # doctest: +SKIP
        ...     print(rec["ts"], rec["event"])
    """
    files = trail_files(path) if rotated else [Path(path)]
    for file in files:
        try:
            fh = open(file, "rb")  # noqa: SIM115 - closed below; a rotated file may vanish
        except FileNotFoundError:
            continue
        with fh:
            for raw in fh:
                if len(raw) > _MAX_LINE_BYTES:
                    continue
                record = _parse_line(raw)
                if record is not None and _matches(record, profile):
                    yield record


@dataclass(frozen=True, slots=True)
class TrailPosition:
    """Where reading a trail stopped: the file (device and inode) and the byte offset."""

    device: int
    inode: int
    offset: int


def read_latest(
    path: str | os.PathLike[str], profile: str | None = None, *, count: int = 20
) -> tuple[list[dict[str, Any]], TrailPosition | None]:
    """The last ``count`` records (rotated files included) and where reading stopped.

    Pass the position to :func:`follow_trail` to continue exactly there: nothing written in
    between is missed or shown twice.
    """
    base = Path(path)
    latest: collections.deque[dict[str, Any]] = collections.deque(maxlen=max(count, 0))
    for file in trail_files(base):
        if file != base:
            latest.extend(read_trail(file, profile, rotated=False))
    try:
        fh = open(base, "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        return list(latest), None
    with fh:
        st = os.fstat(fh.fileno())
        offset = 0
        for raw in fh:
            if not raw.endswith(b"\n"):
                break  # a record being written: left for the follower to read once complete
            offset += len(raw)
            record = _parse_line(raw) if len(raw) <= _MAX_LINE_BYTES else None
            if record is not None and _matches(record, profile):
                latest.append(record)
    return list(latest), TrailPosition(st.st_dev, st.st_ino, offset)


def follow_trail(
    path: str | os.PathLike[str],
    profile: str | None = None,
    *,
    poll: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
    from_start: bool = False,
    start: TrailPosition | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield records appended to the trail (like ``tail -F``); never returns.

    Rotation is noticed (the file at ``path`` is a new one, or shorter than what was read):
    what was left in the old file is read first, then the new file from its start. A line
    is yielded only once complete, so a record being written is never torn.

    Args:
        path: the trail file (it may not exist yet).
        profile: only the records of this profile.
        poll: seconds between checks.
        sleep: the sleep function (tests pass a fake one).
        from_start: also yield what the current file already holds.
        start: continue from this position (from :func:`read_latest`) instead of the end.
    """
    target = Path(path)
    fh: Any = None
    inode: tuple[int, int] | None = None
    pending = b""
    started = from_start

    def drain() -> Iterator[dict[str, Any]]:
        nonlocal pending
        while True:
            chunk = fh.read(65536)
            if not chunk:
                return
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for raw in lines:
                record = _parse_line(raw)
                if record is not None and _matches(record, profile):
                    yield record

    if start is not None and not from_start:
        started = True
        fh = _open_at(target, start)
        if fh is not None:
            st = os.fstat(fh.fileno())
            inode = (st.st_dev, st.st_ino)
    try:
        while True:
            try:
                st = os.stat(target)
                current: tuple[int, int] | None = (st.st_dev, st.st_ino)
            except FileNotFoundError:
                current = None
            if fh is not None and (current != inode or st.st_size < fh.tell()):
                yield from drain()  # the rest of the rotated file first
                fh.close()
                fh, inode, pending = None, None, b""
                started = True  # a new file: everything in it is new
            if fh is None and current is not None:
                try:
                    fh = open(target, "rb")  # noqa: SIM115 - kept open across polls
                except FileNotFoundError:
                    fh = None
                else:
                    opened = os.fstat(fh.fileno())
                    inode = (opened.st_dev, opened.st_ino)
                    if not started:
                        fh.seek(0, os.SEEK_END)
                    started = True
            if fh is not None:
                yield from drain()
            else:
                started = True  # the file appears later: read it from its start
            sleep(poll)
    finally:
        if fh is not None:
            fh.close()


def _open_at(target: Path, start: TrailPosition) -> Any:
    """The file ``start`` points into (still ``target``, or rotated to ``target.1``), at its offset."""
    for candidate in (target, _backup(target, 1)):
        try:
            fh = open(candidate, "rb")  # noqa: SIM115 - handed to the caller
        except FileNotFoundError:
            continue
        st = os.fstat(fh.fileno())
        if (st.st_dev, st.st_ino) == (start.device, start.inode) and start.offset <= st.st_size:
            fh.seek(start.offset)
            return fh
        fh.close()
    return None
