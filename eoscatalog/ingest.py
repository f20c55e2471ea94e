"""Ingest: turning local files and buffers into stored, verified blobs.

Each source is hashed once (files through the hash cache, so an unchanged file is never hashed
twice) and uploaded only if the store lacks its blob. Many sources are stored in parallel.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .faults import crash_point
from .hashcache import HashCache
from .hashing import hash_bytes
from .store import Store

__all__ = ["Source", "StoredBlob", "store_sources"]

UPLOAD_THREADS = 8
Source = str | os.PathLike[str] | bytes


@dataclass(frozen=True)
class StoredBlob:
    """A source's hash and size, and whether its bytes were sent (False: deduplicated)."""

    hash: str
    size: int
    uploaded: bool


def store_sources(
    store: Store,
    hash_cache: HashCache,
    sources: Sequence[Source],
    *,
    on_bytes: Callable[[int], None] | None = None,
) -> list[StoredBlob]:
    """Store every source's bytes as a blob, in order; refuse missing files and folders.

    ``on_bytes`` is told of bytes as they are sent, and of a source's whole size when its blob
    was already stored (so a progress line reaches the total).

    >>> from eoscatalog.store import MemoryStore
    >>> store, cache = MemoryStore(), HashCache(":memory:")
    >>> [store_sources(store, cache, [b"x"])[0].uploaded for _ in range(2)]
    [True, False]
    """

    for source in sources:
        if not isinstance(source, (bytes, bytearray, memoryview)):
            path = Path(source)
            if not path.is_file():
                what = (
                    "is a folder" if path.is_dir()
                    else "is not a regular file" if path.exists()
                    else "does not exist"
                )
                raise FileNotFoundError(f"cannot put {path}: it {what}; nothing was stored")

    def store_one(source: Source) -> StoredBlob:
        if isinstance(source, (bytes, bytearray, memoryview)):
            data = bytes(source)
            hash_string = hash_bytes(data)
            crash_point("put.hashed")
            if store.has_blob(hash_string):
                return StoredBlob(hash_string, len(data), False)
            store.put_blob_bytes(data, known_absent=True)
            return StoredBlob(hash_string, len(data), True)
        path = Path(source)
        hash_string = hash_cache.hash(path)
        crash_point("put.hashed")
        size = path.stat().st_size
        return StoredBlob(hash_string, size, store.put_blob(hash_string, path,
                                                            on_bytes=on_bytes))

    def store_and_tell(source: Source) -> StoredBlob:
        blob = store_one(source)
        if on_bytes is not None and (isinstance(source, (bytes, bytearray, memoryview))
                                     or not blob.uploaded):
            on_bytes(blob.size)  # files that were sent reported their bytes as they went
        return blob

    if len(sources) <= 1:
        return [store_and_tell(s) for s in sources]
    with ThreadPoolExecutor(UPLOAD_THREADS) as pool:
        return list(pool.map(store_and_tell, sources))
