"""Ingest: turning local files and buffers into stored, verified blobs.

Each source is hashed once (files through the hash cache, so an unchanged file is never hashed
twice) and stored only if the store lacks its blob. A small file is read once: the bytes hashed
are the bytes sent, in one create-if-absent request when the store answers "already there" as
cheaply as it answers a question (S3: no HEAD first); a blob the index knows some version names
is asked about first, so its bytes are not sent again. A blob found stored is checked before it
is trusted (read back and hashed up to 1 MiB, its size compared above: see
``Store.reuse_read_limit``), while the bytes are still at hand to replace it. Many sources are
stored in parallel, and the hash cache's new entries are written in one transaction.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from eoscatalog.core.faults import crash_point
from eoscatalog.core.hashing import hash_bytes
from eoscatalog.local.hash_cache import HashCache
from eoscatalog.store import Store

__all__ = ["Source", "StoredBlob", "store_sources"]

UPLOAD_THREADS = 16
Source = str | os.PathLike[str] | bytes


@dataclass(frozen=True)
class StoredBlob:
    """A source's hash and size, and whether its bytes were sent (False: deduplicated)."""

    hash: str
    size: int
    uploaded: bool


def _never(hash_string: str) -> bool:
    return False


def _check_files(sources: Sequence[Source]) -> dict[str, os.stat_result]:
    """Every file source's stat by absolute path; refuse missing files and folders."""
    stats = {}
    for source in sources:
        if isinstance(source, (bytes, bytearray, memoryview)):
            continue
        key = os.path.abspath(source)
        try:
            st: os.stat_result | None = os.stat(key)  # one stat: kind and state at once
        except FileNotFoundError:
            st = None
        if st is None or not stat.S_ISREG(st.st_mode):
            path = Path(source)
            what = (
                "is a folder" if path.is_dir()
                else "is not a regular file" if path.exists()
                else "does not exist"
            )
            raise FileNotFoundError(f"cannot put {path}: it {what}; nothing was stored")
        stats[key] = st
    return stats


def store_sources(
    store: Store,
    hash_cache: HashCache,
    sources: Sequence[Source],
    *,
    on_bytes: Callable[[int], None] | None = None,
    is_live: Callable[[str], bool] = _never,
    on_file: Callable[[], None] | None = None,
) -> list[StoredBlob]:
    """Store every source's bytes as a blob, in order; refuse missing files and folders.

    ``on_bytes`` is told of bytes as they are sent, and of a source's whole size when its blob
    was already stored (so a progress line reaches the total). ``is_live`` says whether some
    version names a blob (the store is then asked before its bytes are sent). ``on_file`` is
    told of each source stored (for progress lines that count files).

    >>> from eoscatalog.store import MemoryStore
    >>> store, cache = MemoryStore(), HashCache(":memory:")
    >>> [store_sources(store, cache, [b"x"])[0].uploaded for _ in range(2)]
    [True, False]
    """
    stats = _check_files(sources)
    cached = hash_cache.lookup_many(stats.items())

    def store_one(source: Source) -> StoredBlob:
        if isinstance(source, (bytes, bytearray, memoryview)):
            data = bytes(source)
            hash_string = hash_bytes(data)
            crash_point("put.hashed")
            return StoredBlob(hash_string, len(data), store.put_blob_data(
                hash_string, data, ask_first=is_live(hash_string)))
        key = os.path.abspath(source)
        st = stats[key]
        known = cached.get(key)
        live = known is not None and is_live(known)
        if live or store.asks_first(st.st_size):
            hash_string = known or hash_cache.hash(key, st)
            crash_point("put.hashed")
            return StoredBlob(hash_string, st.st_size, store.put_blob(
                hash_string, key, on_bytes=on_bytes, ask_first=live, size=st.st_size,
                unchanged=hash_cache.quiet_state(key, hash_string)))
        hash_string, data = hash_cache.hash_read(key, st)  # small: read once, hashed as sent
        crash_point("put.hashed")
        uploaded = store.put_blob_data(hash_string, data, ask_first=is_live(hash_string))
        if uploaded and on_bytes is not None:
            on_bytes(len(data))
        return StoredBlob(hash_string, len(data), uploaded)

    def store_and_tell(source: Source) -> StoredBlob:
        blob = store_one(source)
        if on_bytes is not None and (isinstance(source, (bytes, bytearray, memoryview))
                                     or not blob.uploaded):
            on_bytes(blob.size)  # files that were sent reported their bytes as they went
        if on_file is not None:
            on_file()
        return blob

    with hash_cache.batch():
        if len(sources) <= 1:
            return [store_and_tell(s) for s in sources]
        with ThreadPoolExecutor(UPLOAD_THREADS) as pool:
            return list(pool.map(store_and_tell, sources))
