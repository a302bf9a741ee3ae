"""_files: 0600 from creation, atomic replacement, no temp file left behind."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from sfbearer import _files
from sfbearer._files import atomic_write, exclusive_write


def _no_temp_files(directory: Path) -> bool:
    return not [p for p in directory.iterdir() if p.name.endswith(".tmp")]


def test_mode_is_0600_from_creation_even_with_umask_0(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen_modes: list[int] = []
    real_open = os.open

    def spy_open(path: object, flags: int, mode: int = 0o777, *a: object, **kw: object) -> int:
        fd = real_open(path, flags, mode, *a, **kw)  # type: ignore[arg-type]
        if flags & os.O_CREAT:
            seen_modes.append(os.fstat(fd).st_mode & 0o777)  # the mode at the moment of creation
        return fd

    monkeypatch.setattr(os, "open", spy_open)
    old = os.umask(0)
    try:
        atomic_write(tmp_path / "secret", b"data")
    finally:
        os.umask(old)
    assert seen_modes == [0o600]
    assert (tmp_path / "secret").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "secret").read_bytes() == b"data"


def test_custom_mode(tmp_path: Path) -> None:
    atomic_write(tmp_path / "cert", b"c", mode=0o644)
    assert (tmp_path / "cert").stat().st_mode & 0o777 == 0o644


def test_replaces_existing_content_and_mode(tmp_path: Path) -> None:
    target = tmp_path / "f"
    target.write_bytes(b"old content that is longer")
    os.chmod(target, 0o644)
    inode_before = target.stat().st_ino
    atomic_write(target, b"new")
    assert target.read_bytes() == b"new"
    assert target.stat().st_mode & 0o777 == 0o600
    assert target.stat().st_ino != inode_before  # a new file was renamed over, not rewritten
    assert _no_temp_files(tmp_path)


def test_failure_while_writing_leaves_old_file_and_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "f"
    target.write_bytes(b"old")

    def boom(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(OSError, match="No space"):
        atomic_write(target, b"new")
    assert target.read_bytes() == b"old"
    assert _no_temp_files(tmp_path)


def test_failure_on_rename_leaves_no_temp(tmp_path: Path) -> None:
    (tmp_path / "adir").mkdir()
    (tmp_path / "adir" / "child").write_text("x")
    with pytest.raises(IsADirectoryError):
        atomic_write(tmp_path / "adir", b"new")
    assert _no_temp_files(tmp_path)


def test_bad_data_leaves_no_temp(tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        atomic_write(tmp_path / "f", "text, not bytes")  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


def test_missing_directory_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        atomic_write(tmp_path / "no" / "f", b"x")


def test_replacing_a_symlink_replaces_the_link_not_its_target(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"keep")
    link = tmp_path / "link"
    link.symlink_to(victim)
    atomic_write(link, b"new")
    assert victim.read_bytes() == b"keep"
    assert not link.is_symlink()
    assert link.read_bytes() == b"new"


def test_readers_see_old_or_new_never_partial(tmp_path: Path) -> None:
    target = tmp_path / "f"
    old, new = b"a" * 200_000, b"b" * 200_000
    atomic_write(target, old)
    seen: set[bytes] = set()
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            seen.add(target.read_bytes()[:1] + bytes([len(set(target.read_bytes()))]))

    t = threading.Thread(target=reader)
    t.start()
    for i in range(20):
        atomic_write(target, new if i % 2 == 0 else old)
    stop.set()
    t.join()
    assert seen <= {b"a\x01", b"b\x01"}


def test_exclusive_write(tmp_path: Path) -> None:
    target = tmp_path / "f"
    exclusive_write(target, b"first")
    with pytest.raises(FileExistsError):
        exclusive_write(target, b"second")
    assert target.read_bytes() == b"first"
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    with pytest.raises(FileExistsError):
        exclusive_write(tmp_path / "dangling", b"x")
    assert not (tmp_path / "nowhere").exists()


def test_temp_name_is_hidden_beside_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    names: list[str] = []
    real_replace = os.replace

    def spy(src: str, dst: str) -> None:
        names.append(os.path.basename(src))
        real_replace(src, dst)

    monkeypatch.setattr(_files.os, "replace", spy)
    atomic_write(tmp_path / "jwt.txt", b"x")
    assert names[0].startswith(".jwt.txt.")
    assert names[0].endswith(".tmp")


def test_exclusive_write_loses_a_race_without_overwriting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "server.key"
    real = _files._write_temp

    def racing(t: Path, data: bytes, mode: int) -> Path:
        tmp = real(t, data, mode)
        target.write_bytes(b"the other writer's key")  # lands between the check and the link
        return tmp

    monkeypatch.setattr(_files, "_write_temp", racing)
    with pytest.raises(FileExistsError):
        exclusive_write(target, b"mine")
    assert target.read_bytes() == b"the other writer's key"
    assert _no_temp_files(tmp_path)


def test_exclusive_write_without_hard_links(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_links(*args: object, **kwargs: object) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    exclusive_write(tmp_path / "f", b"data", mode=0o600)
    assert (tmp_path / "f").read_bytes() == b"data"
    assert (tmp_path / "f").stat().st_mode & 0o777 == 0o600
    assert _no_temp_files(tmp_path)
    with pytest.raises(FileExistsError):
        exclusive_write(tmp_path / "f", b"again")
