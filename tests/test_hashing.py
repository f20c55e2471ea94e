"""BLAKE3 hashing (bytes, files, streams), hash strings, verification, and the hash cache."""

from __future__ import annotations

import io
import os
import random
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import blake3
import pytest
from hypothesis import given
from hypothesis import strategies as st

from eoscatalog.core import hashing
from eoscatalog.core.errors import EosError, IntegrityError, InvalidNameError
from eoscatalog.core.hashing import (
    StreamHasher,
    digest_of,
    hash_bytes,
    hash_file,
    hash_stream,
    parse_hash,
    verify_hash,
)
from eoscatalog.local import hash_cache as hashcache
from eoscatalog.local.hash_cache import RACY_WINDOW_NS, HashCache

SMALL_THRESHOLD = 4096
EMPTY = "blake3:af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
HELLO = "blake3:ea8f163db38682925e4491c5e58d4bb3506ef8c14eb78a86e908c5624a67200f"


def reference(data: bytes) -> str:
    """The hash as the blake3 library computes it, single-threaded, in one call."""
    return "blake3:" + blake3.blake3(data).hexdigest()


def random_bytes(size: int, seed: int = 0) -> bytes:
    return random.Random(seed * 1_000_003 + size).randbytes(size)


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


SIZES = [0, 1, 63, 64, 65, 1023, 1024, 1025, 2047, 2048, 2049,
         SMALL_THRESHOLD - 1, SMALL_THRESHOLD, SMALL_THRESHOLD + 1, 3 * SMALL_THRESHOLD + 7,
         65536, 200_001]


@pytest.fixture
def small_threshold(monkeypatch: pytest.MonkeyPatch) -> int:
    """Make the multi-threaded path start at 4 KiB so tests exercise it on small data."""
    monkeypatch.setattr(hashing, "MULTITHREAD_THRESHOLD", SMALL_THRESHOLD)
    return SMALL_THRESHOLD


# --------------------------------------------------------------------------------------------
# Known values


def test_known_values() -> None:
    assert hash_bytes(b"") == EMPTY
    assert hash_bytes(b"hello") == HELLO
    assert reference(b"hello") == HELLO


def test_empty_file(tmp_path: Path) -> None:
    assert hash_file(write(tmp_path / "empty", b"")) == EMPTY
    assert hash_stream(io.BytesIO(b"")) == EMPTY


def test_empty_file_on_the_multithreaded_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hashing, "MULTITHREAD_THRESHOLD", 0)
    assert hash_file(write(tmp_path / "empty", b"")) == EMPTY
    assert hash_bytes(b"") == EMPTY


# --------------------------------------------------------------------------------------------
# hash_bytes, hash_file, hash_stream agree with the blake3 library


@pytest.mark.parametrize("size", SIZES)
def test_all_paths_agree_with_blake3(size: int, tmp_path: Path, small_threshold: int) -> None:
    data = random_bytes(size)
    expected = reference(data)
    path = write(tmp_path / "data", data)
    assert hash_bytes(data) == expected
    assert hash_bytes(bytearray(data)) == expected
    assert hash_bytes(memoryview(data)) == expected
    assert hash_file(path) == expected
    assert hash_file(str(path)) == expected
    assert hash_stream(io.BytesIO(data)) == expected
    with open(path, "rb") as f:
        assert hash_stream(f) == expected


@pytest.mark.parametrize("size", [SMALL_THRESHOLD - 1, SMALL_THRESHOLD, SMALL_THRESHOLD + 1])
def test_threshold_selects_the_memory_mapped_path_for_large_files(
    size: int, tmp_path: Path, small_threshold: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    real = blake3.blake3

    class Spy:
        AUTO = real.AUTO

        def __new__(cls, *args: object, **kwargs: object) -> blake3.blake3:
            calls.append(int(kwargs.get("max_threads", 1)))  # type: ignore[call-overload]
            return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(hashing, "blake3", SimpleNamespace(blake3=Spy))
    data = random_bytes(size, seed=7)
    assert hash_file(write(tmp_path / "f", data)) == reference(data)
    threaded = real.AUTO in calls
    assert threaded == (size >= small_threshold)


@pytest.mark.parametrize("chunk_size", [1, 7, 64, 1000, 1 << 20])
def test_hash_stream_chunk_size_does_not_change_the_hash(chunk_size: int) -> None:
    data = random_bytes(5000, seed=3)
    assert hash_stream(io.BytesIO(data), chunk_size=chunk_size) == reference(data)


class TrickleStream(io.RawIOBase):
    """A stream that returns fewer bytes than asked for, as sockets and pipes do."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        step = max(1, min(size if size > 0 else len(self._data), 13))
        chunk = self._data[self._pos : self._pos + step]
        self._pos += len(chunk)
        return chunk


def test_hash_stream_handles_short_reads() -> None:
    data = random_bytes(10_000, seed=5)
    assert hash_stream(TrickleStream(data)) == reference(data)  # type: ignore[arg-type]


@given(st.binary(max_size=3 * SMALL_THRESHOLD), st.integers(min_value=1, max_value=5000))
def test_any_bytes_hash_the_same_every_way(data: bytes, chunk_size: int) -> None:
    expected = reference(data)
    assert hash_bytes(data) == expected
    assert hash_stream(io.BytesIO(data), chunk_size=chunk_size) == expected


def test_hash_file_multithreaded_on_a_larger_file(tmp_path: Path, small_threshold: int) -> None:
    data = random_bytes(3 * 1024 * 1024 + 17, seed=11)  # many BLAKE3 chunks, odd tail
    assert hash_file(write(tmp_path / "big", data)) == reference(data)


def test_hash_file_of_a_missing_file_raises_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        hash_file(tmp_path / "missing")


# --------------------------------------------------------------------------------------------
# StreamHasher


def test_stream_hasher_matches_one_shot_hash_and_counts_bytes() -> None:
    data = random_bytes(10_000, seed=9)
    for threads in (False, True):
        h = StreamHasher(threads=threads)
        for start in range(0, len(data), 777):
            h.update(data[start : start + 777])
        assert h.hash == reference(data)
        assert h.size == len(data)


def test_stream_hasher_accepts_every_buffer_type() -> None:
    h = StreamHasher()
    h.update(b"he")
    h.update(bytearray(b"l"))
    h.update(memoryview(b"lo"))
    assert (h.hash, h.size) == (HELLO, 5)


def test_stream_hasher_fresh_is_the_empty_hash_and_hash_can_be_read_twice() -> None:
    h = StreamHasher()
    assert (h.hash, h.size) == (EMPTY, 0)
    h.update(b"hello")
    assert h.hash == h.hash == HELLO


# --------------------------------------------------------------------------------------------
# parse_hash, digest_of


def test_parse_hash_canonicalizes() -> None:
    hexdigest = HELLO.split(":")[1]
    assert parse_hash(HELLO) == HELLO
    assert parse_hash(HELLO.upper()) == HELLO
    assert parse_hash("Blake3:" + hexdigest.upper()) == HELLO
    assert parse_hash(f"  {HELLO}\n") == HELLO
    assert digest_of(HELLO.upper()) == hexdigest


@pytest.mark.parametrize(
    "text",
    ["", "blake3:", HELLO[:-1], HELLO + "0", HELLO.split(":")[1], "sha256:" + "0" * 64,
     "blake3:" + "g" * 64, "blake3 :" + "0" * 64, "blake3:" + "0" * 32 + " " + "0" * 31,
     "blake3:0x" + "0" * 62, "md5:" + "0" * 32],
)
def test_parse_hash_rejects_malformed_strings(text: str) -> None:
    with pytest.raises(InvalidNameError, match="64 hex digits"):
        parse_hash(text)
    with pytest.raises(InvalidNameError):
        digest_of(text)


@pytest.mark.parametrize("value", [None, 123, HELLO.encode()])
def test_parse_hash_rejects_non_strings(value: object) -> None:
    with pytest.raises(InvalidNameError):
        parse_hash(value)  # type: ignore[arg-type]


@given(st.binary(max_size=64))
def test_every_computed_hash_parses_to_itself(data: bytes) -> None:
    value = hash_bytes(data)
    assert parse_hash(value) == value
    assert len(digest_of(value)) == 64


# --------------------------------------------------------------------------------------------
# verify_hash


def test_verify_hash_passes_on_equal_hashes() -> None:
    assert verify_hash(HELLO, hash_bytes(b"hello"), "greeting") is None


def test_verify_hash_raises_integrity_error_with_both_hashes() -> None:
    with pytest.raises(IntegrityError) as info:
        verify_hash(HELLO, EMPTY, "blob blake3:ea8f16.. from memory://")
    err = info.value
    assert isinstance(err, EosError)
    assert (err.expected, err.actual) == (HELLO, EMPTY)
    message = str(err)
    assert "blob blake3:ea8f16.. from memory://" in message
    assert HELLO in message and EMPTY in message
    assert "corrupt" in message


# --------------------------------------------------------------------------------------------
# HashCache

OLD = time.time() - 3600  # an mtime safely outside the racy window


def old_file(path: Path, data: bytes, mtime: float = OLD) -> Path:
    path.write_bytes(data)
    os.utime(path, (mtime, mtime))
    return path


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[HashCache]:
    c = HashCache(tmp_path / "cache" / "hashcache.sqlite")
    yield c
    c.close()


def test_unchanged_file_is_hashed_once(tmp_path: Path, cache: HashCache) -> None:
    path = old_file(tmp_path / "f", b"hello")
    assert cache.hash(path) == HELLO
    assert cache.hash(path) == HELLO
    assert cache.hash(str(path)) == HELLO
    assert cache.hashed == 1
    assert cache.lookup(path) == HELLO


def test_relative_and_absolute_paths_share_an_entry(
    tmp_path: Path, cache: HashCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    old_file(tmp_path / "f", b"hello")
    monkeypatch.chdir(tmp_path)
    assert cache.hash("f") == HELLO
    assert cache.hash(tmp_path / "f") == HELLO
    assert cache.hashed == 1


def test_lookup_of_an_unknown_file_is_none(tmp_path: Path, cache: HashCache) -> None:
    assert cache.lookup(old_file(tmp_path / "f", b"x")) is None
    assert cache.hashed == 0


def test_changed_content_and_mtime_is_rehashed(tmp_path: Path, cache: HashCache) -> None:
    path = old_file(tmp_path / "f", b"hello")
    cache.hash(path)
    old_file(path, b"HELLO", mtime=OLD + 10)  # same size, new content, new mtime
    assert cache.lookup(path) is None
    assert cache.hash(path) == hash_bytes(b"HELLO")
    assert cache.hashed == 2


def test_changed_size_with_the_same_mtime_is_rehashed(tmp_path: Path, cache: HashCache) -> None:
    path = old_file(tmp_path / "f", b"hello")
    cache.hash(path)
    mtime_ns = path.stat().st_mtime_ns
    path.write_bytes(b"hello, world")
    os.utime(path, ns=(mtime_ns, mtime_ns))
    assert path.stat().st_mtime_ns == mtime_ns
    assert cache.hash(path) == hash_bytes(b"hello, world")
    assert cache.hashed == 2


def test_changed_mtime_alone_is_rehashed(tmp_path: Path, cache: HashCache) -> None:
    path = old_file(tmp_path / "f", b"hello")
    cache.hash(path)
    mtime_ns = path.stat().st_mtime_ns
    os.utime(path, ns=(mtime_ns + 1, mtime_ns + 1))  # one nanosecond is a change
    assert cache.hash(path) == HELLO
    assert cache.hashed == 2
    assert cache.hash(path) == HELLO
    assert cache.hashed == 2


def test_replaced_file_with_same_size_and_mtime_is_rehashed(
    tmp_path: Path, cache: HashCache
) -> None:
    path = old_file(tmp_path / "f", b"hello")
    cache.hash(path)
    st = path.stat()
    # Write the replacement while the original still exists, so its inode must differ.
    replacement = tmp_path / "f.new"
    replacement.write_bytes(b"jello")
    os.utime(replacement, ns=(st.st_mtime_ns, st.st_mtime_ns))
    new = replacement.stat()
    assert (new.st_size, new.st_mtime_ns) == (st.st_size, st.st_mtime_ns)
    assert new.st_ino != st.st_ino
    os.replace(replacement, path)
    assert cache.lookup(path) is None
    assert cache.hash(path) == hash_bytes(b"jello")
    assert cache.hashed == 2


def test_racy_file_is_hashed_but_not_cached(
    tmp_path: Path, cache: HashCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = old_file(tmp_path / "f", b"hello")
    mtime_ns = path.stat().st_mtime_ns
    # A clock that says the file was modified just now (within, or exactly at, the window).
    for age in (0, RACY_WINDOW_NS // 2, RACY_WINDOW_NS):
        monkeypatch.setattr(hashcache, "time", SimpleNamespace(time_ns=lambda a=age: mtime_ns + a))
        assert cache.hash(path) == HELLO
        assert cache.lookup(path) is None
    assert cache.hashed == 3
    # Once the window has passed, the next hash is remembered.
    monkeypatch.setattr(
        hashcache, "time", SimpleNamespace(time_ns=lambda: mtime_ns + RACY_WINDOW_NS + 1)
    )
    cache.hash(path)
    assert cache.lookup(path) == HELLO
    cache.hash(path)
    assert cache.hashed == 4


def test_file_written_just_now_is_not_cached(tmp_path: Path, cache: HashCache) -> None:
    path = tmp_path / "f"
    future = time.time() + 3600  # a write "now" as seen by a clock that lags the file system
    old_file(path, b"hello", mtime=future)
    assert cache.hash(path) == HELLO
    assert cache.hash(path) == HELLO
    assert cache.hashed == 2
    assert cache.lookup(path) is None


def test_cache_persists_across_instances(tmp_path: Path) -> None:
    db = tmp_path / "state" / "hashcache.sqlite"
    path = old_file(tmp_path / "f", b"hello")
    first = HashCache(db)
    assert first.hash(path) == HELLO
    assert first.hashed == 1
    first.close()
    second = HashCache(db)
    try:
        assert second.lookup(path) == HELLO
        assert second.hash(path) == HELLO
        assert second.hashed == 0
    finally:
        second.close()


def test_two_open_instances_share_the_cache(tmp_path: Path) -> None:
    db = tmp_path / "hashcache.sqlite"
    path = old_file(tmp_path / "f", b"hello")
    a, b = HashCache(db), HashCache(db)
    try:
        a.hash(path)
        assert b.hash(path) == HELLO
        assert b.hashed == 0
    finally:
        a.close()
        b.close()


def test_in_memory_cache(tmp_path: Path) -> None:
    c = HashCache(":memory:")
    try:
        path = old_file(tmp_path / "f", b"hello")
        assert c.hash(path) == c.hash(path) == HELLO
        assert c.hashed == 1
    finally:
        c.close()


def test_cache_hashes_agree_with_hash_file_for_many_files(
    tmp_path: Path, cache: HashCache, small_threshold: int
) -> None:
    paths = []
    for i, size in enumerate([0, 1, 100, SMALL_THRESHOLD, SMALL_THRESHOLD + 1, 50_000]):
        paths.append(old_file(tmp_path / f"f{i}", random_bytes(size, seed=i)))
    for path in paths + paths:
        assert cache.hash(path) == hash_file(path)
    assert cache.hashed == len(paths)


def test_large_files_hash_the_same_mapped_or_read(tmp_path, monkeypatch):
    """A file above the threshold is memory-mapped by default and read in chunks with
    EOS_HASH_MMAP=0; both give the hash of the bytes (checked against an in-memory hash)."""
    import random

    from eoscatalog.core import hashing

    data = random.Random(5).randbytes(hashing.MULTITHREAD_THRESHOLD + 12345)
    path = tmp_path / "big"
    path.write_bytes(data)
    expected = hashing.hash_bytes(data)
    mapped = []
    real_mmap = hashing.mmap.mmap
    monkeypatch.setattr(hashing.mmap, "mmap",
                        lambda *a, **k: mapped.append(1) or real_mmap(*a, **k))
    assert hashing.hash_file(path) == expected
    assert mapped == [1]
    monkeypatch.setenv("EOS_HASH_MMAP", "0")
    assert hashing.hash_file(path) == expected
    assert mapped == [1]  # the chunked path did not map


def test_large_files_are_mapped_window_by_window(tmp_path, monkeypatch):
    """Each window is mapped and unmapped in turn (so memory stays flat); the last one is
    short; together they hash to the file's hash."""
    import mmap
    import random

    from eoscatalog.core import hashing

    monkeypatch.setattr(hashing, "MAP_WINDOW", 2 * mmap.ALLOCATIONGRANULARITY * 64)
    data = random.Random(6).randbytes(hashing.MULTITHREAD_THRESHOLD + 999)
    path = tmp_path / "big"
    path.write_bytes(data)
    lengths = []
    real_mmap = hashing.mmap.mmap

    def spy(fd, length, **kwargs):
        lengths.append(length)
        return real_mmap(fd, length, **kwargs)

    monkeypatch.setattr(hashing.mmap, "mmap", spy)
    assert hashing.hash_file(path) == hashing.hash_bytes(data)
    window = hashing.MAP_WINDOW
    assert sum(lengths) == len(data) and lengths[:-1] == [window] * (len(lengths) - 1)
    assert 0 < lengths[-1] <= window and len(lengths) > 2
