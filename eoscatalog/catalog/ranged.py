"""Verified ranged reads of a blob: every byte a range read returns is checked against the hash
the catalog names, without reading the whole blob when it is large.

Parquet, HDF5 and Zarr readers read ranges (a footer, a column chunk). A blob up to
:data:`~eoscatalog.store.outboard.OUTBOARD_MIN_SIZE` is read whole and its hash checked (then
sliced). A larger blob is read through its outboard (the BLAKE3 hash of each chunk, see
:mod:`eoscatalog.store.outboard`): the range is widened to chunk boundaries, each chunk hashed
and compared. A large blob with no usable outboard (stored before outboards existed, or with a
damaged one) is read whole once, verified (into the download cache when there is one), and its
outboard made from those bytes, stored for the next reader and used for this one.

Any disagreement raises :class:`~eoscatalog.core.errors.IntegrityError`: a chunk that hashes to
something else, or a blob shorter than the size the catalog knows.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections import OrderedDict
from collections.abc import Iterator

from eoscatalog.core.errors import EosWarning, IntegrityError, NotFoundError
from eoscatalog.core.hashing import StreamHasher
from eoscatalog.local.blob_cache import BlobCache
from eoscatalog.log.records import VersionRecord
from eoscatalog.store import Store, blob_key
from eoscatalog.store.outboard import (
    ChunkHasher,
    Outboard,
    chunk_digest,
    load_outboard,
    save_outboard,
    wants_outboard,
)

__all__ = ["VerifiedRanges"]

MEMO_BYTES = 32 * 1024 * 1024  # outboards kept in memory per process (a 100 MiB blob's: 13 KB)
WINDOW_BYTES = 8 * 1024 * 1024  # the last verified chunks kept per reader, for small reads


class _OutboardMemo:
    """Outboards this process has checked, by (store, hash): a blob never changes, so an
    outboard found good once stays good; the least recently used go past ``MEMO_BYTES``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: OrderedDict[tuple[str, str], Outboard] = OrderedDict()
        self._bytes = 0

    def get(self, store: Store, hash_string: str) -> Outboard | None:
        with self._lock:
            found = self._items.get((store.url, hash_string))
            if found is not None:
                self._items.move_to_end((store.url, hash_string))
            return found

    def drop(self, store: Store, hash_string: str) -> None:
        with self._lock:
            old = self._items.pop((store.url, hash_string), None)
            self._bytes -= len(old.digests) if old is not None else 0

    def put(self, store: Store, outboard: Outboard) -> None:
        with self._lock:
            old = self._items.pop((store.url, outboard.hash), None)
            self._bytes -= len(old.digests) if old is not None else 0
            self._items[(store.url, outboard.hash)] = outboard
            self._bytes += len(outboard.digests)
            while self._bytes > MEMO_BYTES and len(self._items) > 1:
                _, dropped = self._items.popitem(last=False)
                self._bytes -= len(dropped.digests)


_MEMO = _OutboardMemo()


class VerifiedRanges:
    """Ranges of one version's blob, each checked before it is returned.

    ``cache``: the download cache, used for a large blob without a usable outboard (read whole
    into it, verified) and for ranges of blobs it already holds (still checked chunk by chunk).

    >>> from eoscatalog.store import MemoryStore
    >>> store = MemoryStore(); h = store.put_blob_bytes(b"hello world")
    >>> VerifiedRanges(store, h, 11, "eos://org/x").read(6, 11)
    b'world'
    """

    def __init__(self, store: Store, hash_string: str, size: int, uri: str,
                 cache: BlobCache | None = None) -> None:
        self.store, self.hash, self.size, self.uri = store, hash_string, size, uri
        self.key = blob_key(hash_string)
        self.cache = cache
        self._outboard: Outboard | None = None
        self._whole: bytes | None = None  # a small blob, verified
        self._entry = cache.lookup(hash_string) if cache is not None else None
        self._window: tuple[int, bytes] = (0, b"")  # the chunks read last, verified

    @classmethod
    def of(cls, store: Store, record: VersionRecord,
           cache: BlobCache | None = None) -> VerifiedRanges:
        """The verified ranges of a version (which must have bytes)."""
        if record.hash is None:
            raise NotFoundError(f"{record.uri} has no bytes (a delete marker)")
        return cls(store, record.hash, record.size or 0, record.uri, cache)

    def read(self, start: int, end: int) -> bytes:
        """The bytes ``[start, end)`` (clipped to the blob's size), verified."""
        start, end = max(0, start), min(end, self.size)
        if start >= end:
            return b""
        if not wants_outboard(self.size):
            return self._small()[start:end]
        at, window = self._window
        if at <= start and end <= at + len(window):
            return window[start - at:end - at]
        outboard = self._trusted_outboard()
        first, last = start // outboard.chunk_size, (end - 1) // outboard.chunk_size
        lo, hi = outboard.span(first)[0], outboard.span(last)[1]
        data = self._fetch(lo, hi)
        bad = _first_bad_chunk(outboard, data, first, last)
        if bad is not None and self._entry is not None:
            # The cache entry was changed after it was verified: the store's copy decides.
            self._entry = None
            data = self._fetch(lo, hi)
            bad = _first_bad_chunk(outboard, data, first, last)
        if bad is not None:
            index, actual = bad
            a, b = outboard.span(index)
            _MEMO.drop(self.store, self.hash)  # read it again next time: it may be repaired
            raise IntegrityError(
                f"{self.uri}: chunk {index} (bytes {a}-{b}) of blob {self.hash} in "
                f"{self.store.url} hashes to blake3:{actual.hex()}, not "
                f"blake3:{outboard.digest(index).hex()} as its outboard says: the blob (or "
                "its outboard) is damaged. Run `eos verify` and re-put the good bytes",
                expected=f"blake3:{outboard.digest(index).hex()}",
                actual=f"blake3:{actual.hex()}",
            )
        if len(data) <= WINDOW_BYTES:
            self._window = (lo, data)
        return data[start - lo:end - lo]

    # -- sources -------------------------------------------------------------------------------

    def _fetch(self, lo: int, hi: int) -> bytes:
        """Bytes ``[lo, hi)`` from the cache entry if there is one, else from the store; a
        short answer is an IntegrityError (the catalog knows the size)."""
        data = None
        if self._entry is not None:
            try:
                with open(self._entry, "rb") as f:
                    data = os.pread(f.fileno(), hi - lo, lo)
            except FileNotFoundError:
                self._entry = None  # evicted by another process: read the store
            if data is not None and len(data) != hi - lo:
                data, self._entry = None, None  # an entry cut short: not the store's fault
        if data is None:
            data = b"".join(self._store_chunks(lo, hi))
        if len(data) != hi - lo:
            raise self._short(lo + len(data))
        return data

    def _store_chunks(self, lo: int | None = None, hi: int | None = None) -> Iterator[bytes]:
        try:
            yield from self.store.iter_chunks(self.key, lo or 0, hi)
        except NotFoundError:
            raise NotFoundError(
                f"blob {self.hash} of {self.uri} is missing from {self.store.url}: the catalog "
                "names it but the store lost it; run `eos verify` and upload it again"
            ) from None

    def _short(self, got: int) -> IntegrityError:
        return IntegrityError(
            f"{self.uri}: blob {self.hash} in {self.store.url} ends at byte {got}, but the "
            f"catalog says it has {self.size} bytes: it is truncated. Run `eos verify` and "
            "re-put the good bytes",
            expected=self.hash, actual=f"(truncated at byte {got} of {self.size})",
        )

    def _small(self) -> bytes:
        """A small blob, read whole once and verified."""
        if self._whole is None:
            data = b"".join(self._store_chunks())
            self._check_whole(StreamHasher(), data)
            self._whole = data
        return self._whole

    def _check_whole(self, hasher: StreamHasher, data: bytes | None = None) -> None:
        if data is not None:
            hasher.update(data)
        if hasher.size < self.size:
            raise self._short(hasher.size)
        if hasher.hash != self.hash:
            raise IntegrityError(
                f"{self.uri}: the blob's bytes hash to {hasher.hash}, not {self.hash}; run "
                "`eos verify` and re-put the good bytes",
                expected=self.hash, actual=hasher.hash,
            )
        if hasher.size != self.size:  # the right bytes, but the version claims another size
            raise IntegrityError(
                f"{self.uri}: the blob holds {hasher.size} bytes, but the version says "
                f"{self.size}; run `eos verify`",
                expected=f"{self.size} bytes", actual=f"{hasher.size} bytes",
            )

    # -- the outboard --------------------------------------------------------------------------

    def _trusted_outboard(self) -> Outboard:
        """The blob's outboard: remembered, stored (if it agrees with the catalog), or made
        from a verified whole read."""
        if self._outboard is None:
            outboard = _MEMO.get(self.store, self.hash)
            if outboard is None:
                outboard, why = load_outboard(self.store, self.hash, self.size)
                if outboard is None:
                    if why != "none stored":
                        warnings.warn(
                            f"the outboard of blob {self.hash} ({self.uri}) is not used: {why}. "
                            "Reading the blob whole once instead; `eos verify` replaces it",
                            EosWarning, stacklevel=4)
                    outboard = self._outboard_from_whole()
                    if why == "none stored":
                        save_outboard(self.store, outboard)  # just verified: the next reader's
                _MEMO.put(self.store, outboard)
            self._outboard = outboard
        return self._outboard

    def _outboard_from_whole(self) -> Outboard:
        """Read the whole blob, verified (into the cache when there is one), and hash its
        chunks: an outboard this process can trust."""
        if self.cache is not None:
            entry = self.cache.fetch(self.hash, self.store, verify=True)
            self._entry = entry
            return Outboard.of_file(entry, self.hash)
        hasher, chunks = StreamHasher(), ChunkHasher(self.size)
        for piece in self._store_chunks():
            hasher.update(piece)
            if hasher.size <= self.size:
                chunks.update(piece)
        self._check_whole(hasher)
        return chunks.finish(self.hash)


def _first_bad_chunk(outboard: Outboard, data: bytes, first: int,
                     last: int) -> tuple[int, bytes] | None:
    """The first of chunks ``first..last`` (``data`` starts at chunk ``first``) whose digest is
    not the outboard's, with the digest it has; None when all match."""
    view, lo = memoryview(data), outboard.span(first)[0]
    for index in range(first, last + 1):
        a, b = outboard.span(index)
        actual = chunk_digest(view[a - lo:b - lo])
        if actual != outboard.digest(index):
            return index, actual
    return None
