"""Ingest: many files stored in parallel through one hash cache; what cannot be put."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from eoscatalog import Catalog, InvalidNameError
from eoscatalog.catalog.ingest import store_sources
from eoscatalog.local.hash_cache import HashCache
from eoscatalog.store import MemoryStore


def _old_files(folder: Path, count: int) -> list[Path]:
    """Files whose mtime is old enough for the hash cache to remember them."""
    old = time.time() - 3600
    paths = []
    for i in range(count):
        path = folder / f"f{i}.bin"
        path.write_bytes(f"file {i}".encode() * 100)
        os.utime(path, (old, old))
        paths.append(path)
    return paths


def test_parallel_puts_share_one_hash_cache_safely(tmp_path: Path) -> None:
    """Threads hashing files share the cache's one SQLite connection; they must take turns."""
    files = _old_files(tmp_path, 32)
    cache = HashCache(tmp_path / "hashes.sqlite")
    cat = Catalog(MemoryStore(), ":memory:", user="ada", hash_cache=cache)
    first = cat.put_many([(p, f"d/{p.name}") for p in files])
    assert all(r.created for r in first) and cache.hashed == 32
    again = cat.put_many([(p, f"d/{p.name}") for p in files])
    assert not any(r.created for r in again) and cache.hashed == 32  # nothing hashed twice


def test_store_sources_keeps_order_and_dedups(tmp_path: Path) -> None:
    files = _old_files(tmp_path, 10)
    store = MemoryStore()
    blobs = store_sources(store, HashCache(":memory:"), [*files, b"x", files[0]])
    assert [b.size for b in blobs[:10]] == [p.stat().st_size for p in files]
    assert blobs[11].hash == blobs[0].hash
    assert len(list(store.list("blobs/"))) == 11


def test_special_files_are_refused_before_anything_is_stored(tmp_path: Path) -> None:
    store = MemoryStore()
    good = tmp_path / "good.txt"
    good.write_bytes(b"good")
    with pytest.raises(FileNotFoundError, match="not a regular file"):
        store_sources(store, HashCache(":memory:"), [good, Path(os.devnull)])
    assert list(store.list("")) == []


def test_huge_version_numbers_are_invalid_references() -> None:
    cat = Catalog(MemoryStore(), ":memory:", user="ada")
    cat.put_bytes(b"x", "a")
    with pytest.raises(InvalidNameError, match="no version is that large"):
        cat.resolve("a@99999999999999999999")
    with pytest.raises(InvalidNameError, match="no version is that large"):
        cat.rollback("a", "99999999999999999999")


def test_downloads_follow_the_umask(tmp_path: Path) -> None:
    cat = Catalog(MemoryStore(), ":memory:", user="ada")
    cat.put_bytes(b"x", "a.txt")
    old = os.umask(0o022)
    try:
        path = cat.get("a.txt", tmp_path / "a.txt")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_hash_cache_lookup_many_finds_only_unchanged_files(tmp_path: Path) -> None:
    """Batched lookups (IN lists, or one range query under a folder) answer as lookup does:
    a file whose size or mtime changed, or one never hashed, is not found."""
    cache = HashCache(tmp_path / "hashes.sqlite")
    folder, next_door = tmp_path / "tree", tmp_path / "tree2"
    folder.mkdir()
    next_door.mkdir()
    paths = _old_files(folder, 1200)  # more than one IN batch
    outside = _old_files(next_door, 1)[0]  # "tree2" sorts right after "tree/"
    with cache.batch():
        hashes = {str(p): cache.hash(p) for p in [*paths, outside]}
    paths[0].write_bytes(b"changed")
    os.utime(paths[1], ns=(paths[1].stat().st_mtime_ns + 10**9,) * 2)
    never = folder / "never.txt"
    never.write_bytes(b"never hashed")
    files = [(str(p), p.stat()) for p in [*paths, never]]
    expected = {str(p): hashes[str(p)] for p in paths[2:]}
    assert cache.lookup_many(files) == expected
    assert cache.lookup_many(files, under=str(folder)) == expected
    assert cache.lookup_many([(str(outside), outside.stat())], under=str(folder)) == {}
    assert cache.lookup(outside) == hashes[str(outside)]


def test_hash_cache_batch_writes_its_entries_at_the_end(tmp_path: Path) -> None:
    cache = HashCache(tmp_path / "hashes.sqlite")
    other = HashCache(tmp_path / "hashes.sqlite")  # another process's view of the file
    path = _old_files(tmp_path, 1)[0]
    with cache.batch():
        value = cache.hash(path)
        assert other.lookup(path) is None  # not written yet
    assert other.lookup(path) == value and cache.hashed == 1
