"""The file token cache: real files, real permissions, real locks."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from sfbearer._exceptions import ConfigError
from sfbearer.cache import cache_key, make_cache
from sfbearer.cache.file import FileCache
from sfbearer.token import Token

KEY = cache_key("https://login.salesforce.com/services/oauth2/token", "cid", "u@x.com", "aud")
OTHER = cache_key("https://login.salesforce.com/services/oauth2/token", "cid", "v@x.com", "aud")


def make_token(secret: str = "00Dxx0000001gPL!AQ.first", *, expires_at: float = 2e9) -> Token:
    return Token(
        access_token=secret,
        instance_url="https://acme.my.salesforce.com",
        id_url="https://login.salesforce.com/id/00Dxx0000001gPLEAY/005xx000001SwiUAAS",
        received_at=expires_at - 7200,
        expires_at=expires_at,
        scope="api",
    )


@pytest.fixture
def cache(tmp_path: Path) -> FileCache:
    return FileCache(tmp_path / "cache")


def test_round_trip_file_is_0600_and_holds_no_username(cache: FileCache) -> None:
    token = make_token()
    assert cache.get(KEY) is None
    cache.put(KEY, token)
    assert cache.get(KEY) == token
    path = cache.directory / f"{KEY}.json"
    assert path.stat().st_mode & 0o777 == 0o600
    assert cache.directory.stat().st_mode & 0o777 == 0o700
    assert b"u@x.com" not in path.read_bytes()
    assert [p.name for p in cache.directory.iterdir() if p.name.endswith(".tmp")] == []


def test_make_cache_builds_a_file_cache(tmp_path: Path) -> None:
    cache = make_cache(f"file:{tmp_path / 'c'}")
    assert isinstance(cache, FileCache)
    assert cache.directory == tmp_path / "c"
    with pytest.raises(ConfigError, match="needs a directory"):
        make_cache("file:")


def test_compare_and_delete_keeps_a_newer_token(cache: FileCache) -> None:
    old, new = make_token("00Dxx!AQ.old"), make_token("00Dxx!AQ.new")
    cache.put(KEY, new)
    assert cache.invalidate(KEY, old) is False
    assert cache.get(KEY) == new
    assert cache.invalidate(KEY, new) is True
    assert cache.get(KEY) is None
    assert cache.invalidate(KEY, new) is False


def test_identities_do_not_share_entries(cache: FileCache) -> None:
    cache.put(KEY, make_token("00Dxx!AQ.one"))
    assert cache.get(OTHER) is None
    # A file copied over from another identity is foreign: ignored, not trusted.
    (cache.directory / f"{OTHER}.json").write_bytes((cache.directory / f"{KEY}.json").read_bytes())
    os.chmod(cache.directory / f"{OTHER}.json", 0o600)
    assert cache.get(OTHER) is None


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"{",
        b"\xff\xfe garbage",
        b"[]",
        b'{"format": "something-else"}',
        json.dumps({"format": "sfbearer-token-cache", "key": KEY, "token": {"x": 1}}).encode(),
        b"x" * (70 * 1024),
    ],
)
def test_corrupt_content_is_ignored_then_overwritten(
    cache: FileCache, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    path = cache.directory / f"{KEY}.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, content)
    os.close(fd)
    with caplog.at_level(logging.WARNING, "sfbearer.cache"):
        assert cache.get(KEY) is None
    token = make_token()
    cache.put(KEY, token)
    assert cache.get(KEY) == token


def test_a_secret_in_corrupt_content_never_reaches_the_log(
    cache: FileCache, caplog: pytest.LogCaptureFixture
) -> None:
    path = cache.directory / f"{KEY}.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b'{"format": "sfbearer-token-cache", "key": "' + KEY.encode() + b'", '
             b'"token": {"access_token": "00DCANARY!secret", "instance_url": 3}}')  # fmt: skip
    os.close(fd)
    with caplog.at_level(logging.DEBUG):
        assert cache.get(KEY) is None
    assert caplog.records
    assert "CANARY" not in caplog.text


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o400, 0o660])
def test_a_file_not_0600_is_refused(cache: FileCache, mode: int) -> None:
    cache.put(KEY, make_token())
    path = cache.directory / f"{KEY}.json"
    os.chmod(path, mode)
    with pytest.raises(ConfigError, match=f"mode {mode:04o}, not 0600") as info:
        cache.get(KEY)
    assert "rm " in info.value.hint
    with pytest.raises(ConfigError):
        cache.put(KEY, make_token("00Dxx!AQ.other"))


def test_a_symlink_is_refused_and_its_target_untouched(cache: FileCache, tmp_path: Path) -> None:
    target = tmp_path / "precious"
    target.write_text("keep me")
    os.chmod(target, 0o600)
    (cache.directory / f"{KEY}.json").symlink_to(target)
    with pytest.raises(ConfigError, match="symbolic link"):
        cache.get(KEY)
    with pytest.raises(ConfigError, match="symbolic link"):
        cache.put(KEY, make_token())
    assert target.read_text() == "keep me"


def test_a_directory_in_place_of_the_file_is_refused(cache: FileCache) -> None:
    (cache.directory / f"{KEY}.json").mkdir()
    with pytest.raises(ConfigError, match="not a regular file"):
        cache.get(KEY)


def test_a_file_of_another_user_is_refused(
    cache: FileCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache.put(KEY, make_token())
    real_uid = os.geteuid()
    monkeypatch.setattr(os, "geteuid", lambda: real_uid + 1)  # we pretend to be someone else
    with pytest.raises(ConfigError, match="belongs to another user"):
        cache.get(KEY)


def test_unsafe_directories_are_refused(tmp_path: Path) -> None:
    open_dir = tmp_path / "open"
    open_dir.mkdir()
    os.chmod(open_dir, 0o777)
    with pytest.raises(ConfigError, match="writable by others") as info:
        FileCache(open_dir)
    assert info.value.hint == f"chmod 700 {open_dir}"
    a_file = tmp_path / "file"
    a_file.write_text("")
    with pytest.raises(ConfigError, match="not a directory"):
        FileCache(a_file)
    with pytest.raises(ConfigError, match="cannot create"):
        FileCache(a_file / "sub")


def test_keys_cannot_escape_the_directory(cache: FileCache) -> None:
    for bad in ("../../etc/passwd", "", "ABC", "k" * 10):
        with pytest.raises(ConfigError):
            cache.get(bad)


def test_a_writer_killed_mid_write_leaves_the_old_token_and_its_temp_is_swept(
    cache: FileCache,
) -> None:
    token = make_token()
    cache.put(KEY, token)
    # What a process killed between creating its temp file and renaming it leaves behind.
    stale = cache.directory / f".{KEY}.json.0123456789ab.tmp"
    fd = os.open(stale, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b'{"format": "sfbearer-tok')
    os.close(fd)
    assert cache.get(KEY) == token
    cache.put(KEY, make_token("00Dxx!AQ.next"))
    assert not stale.exists()


def _hold_lock_then_die(directory: str, ready: Any) -> None:
    cache = FileCache(directory)
    held = cache.lock(KEY)
    held.__enter__()  # and never exits: the process is killed holding it
    ready.set()
    time.sleep(60)
    held.__exit__(None, None, None)


def test_a_killed_lock_holder_frees_the_lock_at_once(cache: FileCache) -> None:
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Event()
    holder = ctx.Process(target=_hold_lock_then_die, args=(str(cache.directory), ready))
    holder.start()
    try:
        assert ready.wait(30)
        blocked = FileCache(cache.directory, lock_timeout=0.2)
        with pytest.raises(Exception, match="held the token cache lock"), blocked.lock(KEY):
            pass
        holder.kill()
        holder.join(10)
        started = time.monotonic()
        with cache.lock(KEY):
            pass
        assert time.monotonic() - started < 1.0
    finally:
        holder.kill()
        holder.join(10)


def test_the_lock_excludes_threads_of_one_process_and_is_reentrant(cache: FileCache) -> None:
    inside = 0
    most = 0
    guard = threading.Lock()

    def work() -> None:
        nonlocal inside, most
        for _ in range(20):
            with cache.lock(KEY):
                with guard:
                    inside += 1
                    most = max(most, inside)
                cache.put(KEY, make_token())  # put takes the same lock again: re-entrant
                with guard:
                    inside -= 1

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most == 1


def test_the_shared_caches_are_exported_lazily() -> None:
    import subprocess
    import sys

    code = (
        "import sys, sfbearer.cache as c; assert 'redis' not in sys.modules; "
        "from sfbearer.cache import FileCache, RedisCache; assert 'redis' in sys.modules; "
        "print(FileCache.__module__, RedisCache.__module__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["sfbearer.cache.file", "sfbearer.cache.redis_cache"]
