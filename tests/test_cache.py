"""The shared download cache (eoscatalog.local.blob_cache): DESIGN.md's invariant 7.

The cache holds only verified, complete, read-only files; processes and threads fetching the
same blob download it once and never leave a torn or temporary file; least recently used
entries go first when it is over its cap; and it is private to its user and never follows a
symlink planted inside it.
"""

from __future__ import annotations

import fcntl
import json
import multiprocessing
import os
import stat
import threading
import time
import traceback
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from eoscatalog.core.errors import IntegrityError, InvalidNameError, NotFoundError, StoreError
from eoscatalog.core.hashing import hash_bytes, hash_file
from eoscatalog.core.tempfiles import TEMP_PREFIX
from eoscatalog.local.blob_cache import BlobCache
from eoscatalog.local.cache_prune import STALE_TEMP_SECONDS
from eoscatalog.local.config import Config
from eoscatalog.store import LocalStore, MemoryStore, S3Store, Store, blob_key

PROCESSES = 8
BIG_CHUNK = 8 * 1024 * 1024
BIG_CHUNKS = 25  # 200 MiB
BARRIER_TIMEOUT = 300.0
JOIN_TIMEOUT = 600.0


class CountingStore:
    """Wraps a store and records every method called on it (not the calls it makes itself)."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if not callable(attr):
            return attr

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return attr(*args, **kwargs)

        return counted


def files_under(root: Path) -> list[str]:
    """Every non-folder under ``root`` (files, symlinks), relative, sorted."""
    return sorted(
        os.path.relpath(os.path.join(folder, name), root)
        for folder, _, names in os.walk(root)
        for name in names
    )


def s3_request_count(store: Store, request: pytest.FixtureRequest) -> int:
    if not isinstance(store, S3Store):
        return 0
    return len(request.getfixturevalue("s3_server").requests.for_bucket(store.bucket))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def memory() -> MemoryStore:
    return MemoryStore()


def put(store: Store, data: bytes) -> str:
    return store.put_blob_bytes(data)


def set_used(cache: BlobCache, hash_string: str, seconds: int) -> None:
    """Pretend an entry was last used ``seconds`` after the epoch (long ago)."""
    os.utime(cache.path(hash_string), (seconds, seconds), follow_symlinks=False)


# -- round trip on every store ----------------------------------------------------------------


def test_fetch_and_lookup_round_trip(
    store: Store, root: Path, request: pytest.FixtureRequest
) -> None:
    data = b"reads\n" * 1000
    h = put(store, data)
    cache = BlobCache(root)
    counting = CountingStore(store)
    assert cache.lookup(h) is None

    path = cache.fetch(h, counting)  # type: ignore[arg-type]
    assert path == cache.path(h) == root / "blobs" / "blake3" / h[7:9] / h[7:]
    assert path.read_bytes() == data
    assert counting.calls == ["download_blob"]
    assert cache.lookup(h) == path

    counting.calls.clear()
    before = s3_request_count(store, request)
    again = cache.fetch(h, counting)  # type: ignore[arg-type]
    assert again == path
    assert counting.calls == [], "a cached blob must not touch the store"
    assert s3_request_count(store, request) == before
    assert files_under(root) == [os.path.relpath(path, root)]
    info = cache.info()
    assert (info.root, info.entries, info.size, info.max_size) == (root, 1, len(data), None)


def test_the_hash_is_validated(root: Path, memory: MemoryStore) -> None:
    cache = BlobCache(root)
    for bad in ("../../etc/passwd", "blake3:" + "ab" * 31, "sha256:" + "ab" * 32, "blake3:zz"):
        with pytest.raises(InvalidNameError):
            cache.path(bad)
        with pytest.raises(InvalidNameError):
            cache.lookup(bad)
        with pytest.raises(InvalidNameError):
            cache.fetch(bad, memory)
    assert not root.exists()
    upper = "BLAKE3:" + "AB" * 32
    assert cache.path(upper) == cache.path(upper.lower())


def test_entries_are_read_only_files(root: Path, memory: MemoryStore) -> None:
    h = put(memory, b"x" * 10)
    path = BlobCache(root).fetch(h, memory)
    st = os.lstat(path)
    assert stat.S_ISREG(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o444


def test_a_writable_file_at_an_entry_path_is_not_an_entry(
    root: Path, memory: MemoryStore
) -> None:
    """Only fetch puts files there, always read-only: anything else is replaced, not served."""
    h = put(memory, b"good bytes")
    cache = BlobCache(root)
    cache.fetch(h, memory)
    path = cache.path(h)
    path.unlink()
    path.write_bytes(b"bad bytes")
    assert cache.lookup(h) is None
    assert cache.info().entries == 0
    assert cache.fetch(h, memory).read_bytes() == b"good bytes"
    assert stat.S_IMODE(path.stat().st_mode) == 0o444


# -- failures leave nothing -------------------------------------------------------------------


def test_corrupt_blob_raises_and_leaves_nothing(store: Store, root: Path) -> None:
    data = b"the real bytes" * 100
    h = put(store, data)
    store.put(blob_key(h), b"other bytes")  # damage the stored copy
    cache = BlobCache(root)
    with pytest.raises(IntegrityError) as caught:
        cache.fetch(h, store)
    assert caught.value.expected == h
    assert caught.value.actual == hash_bytes(b"other bytes")
    assert cache.lookup(h) is None
    assert files_under(root) == [], "no entry, no temp file, no lock file"
    assert cache.info().entries == 0


def test_missing_blob_raises_and_leaves_nothing(root: Path, memory: MemoryStore) -> None:
    cache = BlobCache(root)
    with pytest.raises(NotFoundError):
        cache.fetch(hash_bytes(b"never stored"), memory)
    assert files_under(root) == []


class BreakingStore(MemoryStore):
    """Sends one chunk, then fails as a connection would."""

    def iter_chunks(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        yield self.get(key)[:10]
        raise ConnectionResetError("connection reset by peer")


def test_download_interrupted_midway_leaves_nothing(root: Path) -> None:
    store = BreakingStore()
    h = put(store, b"y" * 100)
    cache = BlobCache(root)
    with pytest.raises(StoreError, match="cannot download blob"):
        cache.fetch(h, store)
    assert files_under(root) == []
    assert cache.lookup(h) is None


# -- concurrency ------------------------------------------------------------------------------


def fetch_worker(
    cache_root: str, store_root: str, hash_string: str, barrier: Any, out: str
) -> None:
    """One process: wait for the others, fetch the blob, report whether it downloaded it.

    A top-level function: spawned processes import it from this module.
    """
    report: dict[str, Any] = {"downloaded": None, "path": None, "error": None}
    try:
        store = CountingStore(LocalStore(store_root))
        cache = BlobCache(cache_root)
        barrier.wait(BARRIER_TIMEOUT)  # everybody is imported and ready: race from here
        path = cache.fetch(hash_string, store)  # type: ignore[arg-type]
        report["downloaded"] = "download_blob" in store.calls
        report["path"] = str(path)
    except BaseException:
        report["error"] = traceback.format_exc()
        barrier.abort()  # release the others instead of leaving them at the barrier
    Path(out).write_text(json.dumps(report))


@pytest.mark.slow
def test_processes_fetching_one_big_blob_download_it_once(tmp_path: Path) -> None:
    """Issue 3: 8 processes fetch the same 200 MB blob at once; one download, one entry."""
    source = tmp_path / "big.bin"
    with open(source, "wb") as f:
        for _ in range(BIG_CHUNKS):
            f.write(os.urandom(BIG_CHUNK))
    h = hash_file(source)
    store = LocalStore(tmp_path / "store", create=True)
    assert store.put_blob(h, source)
    source.unlink()
    cache_root = tmp_path / "cache"

    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(PROCESSES)
    procs = [
        ctx.Process(
            target=fetch_worker,
            args=(str(cache_root), str(store.root), h, barrier, str(tmp_path / f"r{i}.json")),
            name=f"eos-cache-{i}",
        )
        for i in range(PROCESSES)
    ]
    for p in procs:
        p.start()
    deadline = time.monotonic() + JOIN_TIMEOUT  # a guard against hangs, not a timing check
    try:
        for p in procs:
            p.join(max(0.0, deadline - time.monotonic()))
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
                p.join()
    reports = []
    for i, p in enumerate(procs):
        out = tmp_path / f"r{i}.json"
        assert out.exists(), f"worker {i} exited with {p.exitcode} and wrote no report"
        report = json.loads(out.read_text())
        assert report["error"] is None, f"worker {i} failed:\n{report['error']}"
        assert p.exitcode == 0
        reports.append(report)

    cache = BlobCache(cache_root)
    entry = cache.path(h)
    assert {r["path"] for r in reports} == {str(entry)}
    assert sum(r["downloaded"] for r in reports) == 1, "exactly one process downloads"
    assert files_under(cache_root) == [os.path.relpath(entry, cache_root)], (
        "one entry; no temp or lock file left"
    )
    assert stat.S_IMODE(os.lstat(entry).st_mode) == 0o444
    assert entry.stat().st_size == BIG_CHUNK * BIG_CHUNKS
    assert hash_file(entry) == h


def test_threads_fetching_one_blob_download_it_once(root: Path, memory: MemoryStore) -> None:
    data = os.urandom(3 * 1024 * 1024)
    h = put(memory, data)
    counting = CountingStore(memory)
    cache = BlobCache(root)
    barrier = threading.Barrier(8)

    def fetch() -> Path:
        barrier.wait(60)
        return cache.fetch(h, counting)  # type: ignore[arg-type]

    with ThreadPoolExecutor(8) as pool:
        paths = list(pool.map(lambda _: fetch(), range(8)))
    assert set(paths) == {cache.path(h)}
    assert counting.calls == ["download_blob"]
    assert files_under(root) == [os.path.relpath(cache.path(h), root)]
    assert cache.path(h).read_bytes() == data


# -- least recently used, size cap ------------------------------------------------------------


def test_size_cap_evicts_the_least_recently_used(root: Path, memory: MemoryStore) -> None:
    a, b, c, d = (put(memory, bytes([i]) * 100) for i in range(4))
    cache = BlobCache(root, max_size=300)
    for i, h in enumerate((a, b, c)):
        cache.fetch(h, memory)
        set_used(cache, h, 1000 * (i + 1))  # a, then b, then c, long ago
    assert cache.info().size == 300

    assert cache.lookup(a) is not None  # a is now the most recently used
    cache.fetch(d, memory)  # 400 bytes > 300: the least recently used (b) goes
    assert cache.lookup(b) is None
    assert not cache.path(b).exists()
    assert all(cache.lookup(h) is not None for h in (a, c, d))
    info = cache.info()
    assert (info.entries, info.size, info.max_size) == (3, 300, 300)


def test_fetch_refreshes_recency_too(root: Path, memory: MemoryStore) -> None:
    a, b, c = (put(memory, bytes([i]) * 100) for i in range(3))
    cache = BlobCache(root, max_size=200)
    cache.fetch(a, memory)
    set_used(cache, a, 1000)
    cache.fetch(b, memory)
    set_used(cache, b, 2000)
    cache.fetch(a, memory)  # a cache hit: a becomes the most recently used
    cache.fetch(c, memory)
    assert cache.lookup(b) is None
    assert cache.lookup(a) is not None and cache.lookup(c) is not None


def test_fetch_never_evicts_the_entry_it_returns(root: Path, memory: MemoryStore) -> None:
    small, big = put(memory, b"s" * 10), put(memory, b"b" * 100)
    cache = BlobCache(root, max_size=50)
    cache.fetch(small, memory)
    path = cache.fetch(big, memory)  # bigger than the cap on its own: kept, the rest goes
    assert path.read_bytes() == b"b" * 100
    assert cache.lookup(small) is None
    assert (cache.info().entries, cache.info().size) == (1, 100)


def test_prune_returns_what_it_removed(root: Path, memory: MemoryStore) -> None:
    hashes = [put(memory, bytes([i]) * 100) for i in range(3)]
    cache = BlobCache(root)
    for i, h in enumerate(hashes):
        cache.fetch(h, memory)
        set_used(cache, h, 1000 * (i + 1))
    result = cache.prune(150)
    assert result.removed == (hashes[0], hashes[1])  # least recently used first
    assert (result.freed, result.size) == (200, 100)
    assert cache.info().entries == 1 and cache.lookup(hashes[2]) is not None

    nothing = cache.prune(100)
    assert (nothing.removed, nothing.freed, nothing.size) == ((), 0, 100)
    everything = cache.prune(0)
    assert (everything.removed, everything.freed, everything.size) == ((hashes[2],), 100, 0)
    assert cache.info().entries == 0


def test_an_evicted_entry_survives_in_its_hardlinks(
    root: Path, memory: MemoryStore, tmp_path: Path
) -> None:
    h = put(memory, b"keep me")
    cache = BlobCache(root)
    linked = tmp_path / "analysis" / "input.txt"
    linked.parent.mkdir()
    os.link(cache.fetch(h, memory), linked)
    assert cache.prune(0).removed == (h,)
    assert linked.read_bytes() == b"keep me"


def test_info_and_prune_ignore_lock_and_temp_files_and_clean_stale_ones(
    root: Path, memory: MemoryStore
) -> None:
    h = put(memory, b"z" * 100)
    cache = BlobCache(root)
    entry = cache.fetch(h, memory)
    shard = entry.parent
    fresh_tmp = shard / f"{TEMP_PREFIX}fresh"
    stale_tmp = shard / f"{TEMP_PREFIX}stale"
    fresh_tmp.write_bytes(b"f" * 1000)
    stale_tmp.write_bytes(b"s" * 1000)
    long_ago = time.time() - STALE_TEMP_SECONDS - 60
    os.utime(stale_tmp, (long_ago, long_ago))
    abandoned_lock = root / "locks" / f"{'cd' * 32}.lock"
    held_lock = root / "locks" / f"{'ef' * 32}.lock"
    abandoned_lock.touch()
    held_lock.touch()

    assert (cache.info().entries, cache.info().size) == (1, 100)
    with open(held_lock, "rb") as holder:
        fcntl.flock(holder, fcntl.LOCK_EX)  # a download in progress in "another process"
        result = cache.prune(1000)
    assert (result.removed, result.freed, result.size) == ((), 0, 100)
    assert not stale_tmp.exists(), "a temp file abandoned over an hour ago is removed"
    assert fresh_tmp.exists(), "a temp file in use is kept"
    assert not abandoned_lock.exists(), "a lock file nobody holds is removed"
    assert held_lock.exists(), "a held lock file is kept"
    assert entry.exists()


def test_sizes_are_checked(root: Path) -> None:
    with pytest.raises(InvalidNameError):
        BlobCache(root, max_size=-1)
    with pytest.raises(InvalidNameError):
        BlobCache(root, max_size="20GiB")  # type: ignore[arg-type]
    cache = BlobCache(root)
    for bad in (-1, 1.5, True, "20GiB"):
        with pytest.raises(InvalidNameError):
            cache.prune(bad)  # type: ignore[arg-type]


def test_from_config(tmp_path: Path) -> None:
    config = Config(home=tmp_path / "home", user="ada", cache=str(tmp_path / "c"),
                    cache_max_size="2KiB")
    cache = BlobCache.from_config(config)
    assert (cache.root, cache.max_size) == (tmp_path / "c", 2048)
    default = BlobCache.from_config(Config(home=tmp_path / "home", user="ada"))
    assert (default.root, default.max_size) == (tmp_path / "home" / "cache", "auto")
    unlimited = Config(home=tmp_path / "home", user="ada", cache_max_size="none")
    assert BlobCache.from_config(unlimited).max_size is None


# -- permissions and symlinks -----------------------------------------------------------------


def test_root_and_folders_are_private(root: Path, memory: MemoryStore) -> None:
    h = put(memory, b"private")
    cache = BlobCache(root)
    assert not root.exists(), "creating a cache does no I/O beyond checking the root"
    old = os.umask(0o002)  # a permissive umask must not leak into the cache's folders
    try:
        entry = cache.fetch(h, memory)
    finally:
        os.umask(old)
    for folder in (root, root / "blobs", root / "blobs" / "blake3", entry.parent, root / "locks"):
        assert stat.S_IMODE(os.lstat(folder).st_mode) == 0o700, folder


@pytest.mark.parametrize("mode", [0o777, 0o770, 0o702])
def test_a_root_writable_by_others_is_refused(
    root: Path, mode: int, memory: MemoryStore
) -> None:
    root.mkdir()
    root.chmod(mode)
    h = put(memory, b"x")
    cache = BlobCache(root)  # creating one does no I/O: commands that never use it still work
    for use in (lambda: cache.fetch(h, memory), lambda: cache.lookup(h), cache.info,
                lambda: cache.prune(0)):
        with pytest.raises(StoreError) as caught:
            use()
        message = str(caught.value)
        assert "writable by" in message and f"chmod 700 {root}" in message
        assert "EOS_CACHE" in message
    assert files_under(root) == []


def test_a_root_made_unsafe_before_first_use_is_refused(root: Path, memory: MemoryStore) -> None:
    cache = BlobCache(root)  # no root yet: nothing to refuse
    root.mkdir()
    root.chmod(0o777)
    with pytest.raises(StoreError, match="chmod 700"):
        cache.fetch(put(memory, b"x"), memory)
    assert files_under(root) == []


def test_a_private_existing_root_is_used_as_is(root: Path, memory: MemoryStore) -> None:
    root.mkdir()
    root.chmod(0o755)  # readable by others is the user's choice; writable is not allowed
    h = put(memory, b"ok")
    assert BlobCache(root).fetch(h, memory).read_bytes() == b"ok"
    assert stat.S_IMODE(root.stat().st_mode) == 0o755


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a folder to another user")
def test_a_root_owned_by_another_user_is_refused(root: Path) -> None:
    root.mkdir(mode=0o700)
    os.chown(root, 54321, 54321)
    with pytest.raises(StoreError, match="another user"):
        BlobCache(root).info()


def test_a_symlinked_root_is_followed_once(tmp_path: Path, memory: MemoryStore) -> None:
    """EOS_CACHE may point at a folder on a bigger disk through a symlink."""
    real = tmp_path / "big-disk" / "cache"
    real.mkdir(parents=True, mode=0o700)
    link = tmp_path / "cache-link"
    link.symlink_to(real)
    h = put(memory, b"via link")
    BlobCache(link).fetch(h, memory)
    assert BlobCache(real).lookup(h) is not None


def test_a_symlink_at_an_entry_path_is_never_followed(
    root: Path, memory: MemoryStore, tmp_path: Path
) -> None:
    data = b"the blob"
    h = put(memory, data)
    cache = BlobCache(root)
    cache.fetch(put(memory, b"another blob"), memory)  # the cache's folders exist
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"not yours")
    outside.chmod(0o644)
    before = os.stat(outside)
    entry = cache.path(h)
    entry.parent.mkdir(mode=0o700, exist_ok=True)
    entry.symlink_to(outside)

    assert cache.lookup(h) is None, "a symlink is not an entry"
    assert cache.info().entries == 1
    path = cache.fetch(h, memory)
    assert path == entry and not entry.is_symlink()
    assert entry.read_bytes() == data and stat.S_IMODE(os.lstat(entry).st_mode) == 0o444
    after = os.stat(outside)
    assert outside.read_bytes() == b"not yours"
    assert (after.st_mode, after.st_mtime_ns, after.st_ino) == (
        before.st_mode, before.st_mtime_ns, before.st_ino
    )

    # prune removes a planted symlink without touching its target
    entry.unlink()
    entry.symlink_to(outside)
    cache.prune(10**9)
    assert not os.path.lexists(entry)
    assert outside.read_bytes() == b"not yours"


def test_a_symlink_at_a_lock_path_is_never_followed(
    root: Path, memory: MemoryStore, tmp_path: Path
) -> None:
    h = put(memory, b"locked")
    cache = BlobCache(root)
    cache.fetch(put(memory, b"first"), memory)
    outside = tmp_path / "outside.lock"
    outside.write_bytes(b"")
    (root / "locks" / f"{h[7:]}.lock").symlink_to(outside)
    assert cache.fetch(h, memory).read_bytes() == b"locked"
    assert outside.read_bytes() == b"" and not outside.is_symlink()
    assert files_under(root / "locks") == []


def test_a_symlinked_folder_inside_the_cache_is_refused(
    root: Path, memory: MemoryStore, tmp_path: Path
) -> None:
    h = put(memory, b"somewhere else")
    cache = BlobCache(root)
    cache.fetch(put(memory, b"first"), memory)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shard = cache.path(h).parent
    assert not shard.exists(), "the two blobs must live in different shard folders"
    shard.symlink_to(elsewhere)
    with pytest.raises(StoreError, match="never follows symlinks"):
        BlobCache(root).fetch(h, memory)
    assert list(elsewhere.iterdir()) == []
