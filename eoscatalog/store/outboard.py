"""Outboards: the BLAKE3 hash of every fixed-size chunk of a large blob, kept beside it, so that a
ranged read can be verified without reading the whole blob.

A blob's key is the BLAKE3 hash of all its bytes; that cannot check a range (the Python
``blake3`` package gives root hashes only, no subtree chaining values, so BLAKE3's own tree
cannot be verified piecewise). The client that has just hashed a whole blob (at upload, or
after a verified whole read) also hashes each chunk and stores the list with create-if-absent
at ``outboards/blake3/<2 hex>/<64 hex>``, outside ``blobs/`` (whose listing gc and verify
parse). A reader checks the outboard's header against what the catalog says (hash, size) and
its own checksum (a damaged outboard is ignored, never trusted), widens a range to chunk
boundaries, hashes each chunk and compares.

Blobs up to :data:`OUTBOARD_MIN_SIZE` have none: they are read whole and verified.

The format (``format: 1``): the line ``eos-outboard``, one line of JSON (``format``, ``hash``,
``size``, ``chunk_size``, ``chunks``), then 32 bytes per chunk, then the BLAKE3 digest of
everything before it.
"""

from __future__ import annotations

import json
import logging
import math
import mmap
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import blake3

from eoscatalog.core.errors import EosError, NotFoundError, PreconditionFailedError
from eoscatalog.core.hashing import parse_hash
from eoscatalog.store.keys import BLOB_PREFIX, OUTBOARD_PREFIX, outboard_key

if TYPE_CHECKING:
    from eoscatalog.store.base import Store

__all__ = [
    "OUTBOARD_MIN_SIZE",
    "OUTBOARD_PREFIX",  # defined with the rest of the layout in keys.py
    "ChunkHasher",
    "Outboard",
    "chunk_digest",
    "chunk_size_for",
    "load_outboard",
    "outboard_key",  # keys.py's too
    "repair_outboard",
    "save_outboard",
    "sweep_orphan_outboards",
    "wants_outboard",
]

logger = logging.getLogger(__name__)

OUTBOARD_MIN_SIZE = 4 * 1024 * 1024  # larger blobs get an outboard; smaller are read whole
MIN_CHUNK = 256 * 1024  # a 64 KiB footer read fetches one 256 KiB chunk
MAX_CHUNKS = 65536  # so an outboard stays under 2 MiB: chunks double past 16 GiB blobs
MAGIC = b"eos-outboard\n"
FORMAT = 1
DIGEST = 32
_THREADS = min(8, os.cpu_count() or 1)
_MAP_WINDOW = 64 * 1024 * 1024


def wants_outboard(size: int) -> bool:
    """Whether a blob of ``size`` bytes gets an outboard (smaller ones are read whole)."""
    return size > OUTBOARD_MIN_SIZE


def chunk_size_for(size: int) -> int:
    """The chunk size of a blob's outboard: 256 KiB, doubled until at most 65,536 chunks.

    >>> chunk_size_for(100 * 2**20) // 1024, chunk_size_for(100 * 2**30) // 2**20
    (256, 2)
    """
    chunk = MIN_CHUNK
    while math.ceil(size / chunk) > MAX_CHUNKS:
        chunk *= 2
    return chunk


def chunk_digest(data: bytes | bytearray | memoryview) -> bytes:
    """The 32-byte BLAKE3 digest an outboard keeps for one chunk."""
    return blake3.blake3(data).digest()


_digest = chunk_digest


@dataclass(frozen=True)
class Outboard:
    """The chunk hashes of one blob (``digests``: 32 bytes per chunk, in order).

    >>> data = bytes(range(256)) * 20_000
    >>> ob = Outboard.of_bytes(data, "blake3:" + "00" * 32)
    >>> ob.count, Outboard.decode(ob.encode(), ob.hash, ob.size) == ob
    (20, True)
    """

    hash: str
    size: int
    chunk_size: int
    digests: bytes

    @property
    def count(self) -> int:
        """How many chunks the blob has."""
        return len(self.digests) // DIGEST

    def digest(self, index: int) -> bytes:
        """The BLAKE3 digest of chunk ``index``."""
        return self.digests[index * DIGEST:(index + 1) * DIGEST]

    def span(self, index: int) -> tuple[int, int]:
        """The bytes ``[start, end)`` of chunk ``index``."""
        start = index * self.chunk_size
        return start, min(start + self.chunk_size, self.size)

    def encode(self) -> bytes:
        """The stored form (header, digests, checksum)."""
        header = json.dumps({"format": FORMAT, "hash": self.hash, "size": self.size,
                             "chunk_size": self.chunk_size, "chunks": self.count},
                            sort_keys=True).encode()
        body = MAGIC + header + b"\n" + self.digests
        return body + _digest(body)

    @classmethod
    def decode(cls, data: bytes, hash_string: str, size: int) -> Outboard:
        """Parse a stored outboard of the blob ``hash_string`` of ``size`` bytes; ValueError
        (saying why) if it is damaged or describes other bytes."""
        if len(data) < len(MAGIC) + DIGEST or not data.startswith(MAGIC):
            raise ValueError("not an outboard")
        body, checksum = data[:-DIGEST], data[-DIGEST:]
        if _digest(body) != checksum:
            raise ValueError("its checksum does not match (damaged)")
        line, sep, digests = body[len(MAGIC):].partition(b"\n")
        try:
            header: Any = json.loads(line) if sep else None
        except ValueError:
            header = None
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise ValueError("unknown format")
        if header.get("hash") != hash_string or header.get("size") != size:
            raise ValueError(f"it describes {header.get('hash')} of {header.get('size')} bytes, "
                             f"not the catalog's {hash_string} of {size} bytes")
        chunk = header.get("chunk_size")
        if not isinstance(chunk, int) or chunk < 1 or chunk & (chunk - 1):
            raise ValueError(f"bad chunk size {chunk!r}")
        count = math.ceil(size / chunk)
        if header.get("chunks") != count or len(digests) != count * DIGEST:
            raise ValueError(f"it has {len(digests) // DIGEST} chunk hashes, not {count}")
        return cls(hash_string, size, chunk, bytes(digests))

    @classmethod
    def of_bytes(cls, data: bytes | bytearray | memoryview, hash_string: str) -> Outboard:
        """The outboard of an in-memory blob the caller has hashed to ``hash_string``."""
        hasher = ChunkHasher(len(data))
        hasher.update(data)
        return hasher.finish(hash_string)

    @classmethod
    def of_file(cls, path: str | os.PathLike[str], hash_string: str) -> Outboard:
        """The outboard of a file the caller knows hashes to ``hash_string`` (chunks hashed on
        several threads, through memory maps)."""
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            chunk = chunk_size_for(size)
            window = max(_MAP_WINDOW // chunk, 1) * chunk
            parts: list[bytes] = []
            with ThreadPoolExecutor(_THREADS) as pool:
                for offset in range(0, size, window):
                    length = min(window, size - offset)
                    with mmap.mmap(f.fileno(), length, access=mmap.ACCESS_READ,
                                   offset=offset) as mapped:
                        view = memoryview(mapped)
                        try:
                            parts += pool.map(lambda a, v=view: _digest(v[a:a + chunk]),
                                              range(0, length, chunk))
                        finally:
                            view.release()
        return cls(parse_hash(hash_string), size, chunk, b"".join(parts))


class ChunkHasher:
    """Chunk hashes of a blob of known ``size`` whose bytes stream past in any pieces.

    >>> h = ChunkHasher(600_000); h.update(b"x" * 300_000); h.update(b"y" * 300_000)
    >>> h.finish("blake3:" + "00" * 32).count
    3
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.chunk_size = chunk_size_for(size)
        self._pending = bytearray()
        self._digests: list[bytes] = []
        self._seen = 0

    def update(self, data: bytes | bytearray | memoryview) -> None:
        """Hash the next bytes of the blob."""
        view = memoryview(data)
        self._seen += len(view)
        if self._pending:
            take = min(self.chunk_size - len(self._pending), len(view))
            self._pending += view[:take]
            view = view[take:]
            if len(self._pending) == self.chunk_size:
                self._digests.append(_digest(self._pending))
                self._pending.clear()
        while len(view) >= self.chunk_size:
            self._digests.append(_digest(view[:self.chunk_size]))
            view = view[self.chunk_size:]
        self._pending += view

    def span_digest(self, start: int, end: int) -> bytes:
        """BLAKE3 over the chunk hashes of the bytes ``[start, end)``, once they went past:
        ``start`` at a chunk boundary, ``end`` too or at the blob's end (what a resumed upload
        compares a part by, with no second hash of its bytes).

        >>> h = ChunkHasher(600_000); h.update(b"x" * 600_000)
        >>> h.span_digest(0, 524_288) != h.span_digest(524_288, 600_000)
        True
        """
        if end == self.size == self._seen and self._pending:
            self._digests.append(_digest(self._pending))
            self._pending.clear()
        first, last = start // self.chunk_size, math.ceil(end / self.chunk_size)
        if start % self.chunk_size or last > len(self._digests):
            raise ValueError(f"bytes [{start}, {end}) are not whole chunks hashed yet")
        return _digest(b"".join(self._digests[first:last]))

    def finish(self, hash_string: str) -> Outboard:
        """The outboard, once every byte went past (ValueError if the size disagrees)."""
        if self._seen != self.size:
            raise ValueError(f"{self._seen} bytes hashed, not {self.size}")
        if self._pending:
            self._digests.append(_digest(self._pending))
            self._pending.clear()
        return Outboard(parse_hash(hash_string), self.size, self.chunk_size,
                        b"".join(self._digests))


def save_outboard(store: Store, outboard: Outboard) -> bool:
    """Store an outboard with create-if-absent; True when written.

    Best effort: the blob is stored and readable without it (ranged reads then fetch it whole
    once), so a refusal (no write permission, a network error) is logged, not raised.
    """
    try:
        store.put(outboard_key(outboard.hash), outboard.encode(), if_absent=True)
        return True
    except PreconditionFailedError:
        return False  # another client wrote it (or a damaged one is there: eos verify)
    except EosError as e:
        logger.info("could not store the outboard of %s in %s: %s", outboard.hash, store.url, e)
        return False


def load_outboard(store: Store, hash_string: str, size: int) -> tuple[Outboard | None, str]:
    """The stored outboard of a blob, checked against the catalog's hash and size; None and
    why when there is none or it cannot be trusted (damaged, other bytes)."""
    try:
        data = store.get(outboard_key(hash_string))
    except NotFoundError:
        return None, "none stored"
    try:
        return Outboard.decode(data, hash_string, size), ""
    except ValueError as e:
        return None, str(e)


def sweep_orphan_outboards(store: Store, older_than: datetime, *,
                           dry_run: bool = False) -> list[tuple[str, int]]:
    """Remove outboards, older than ``older_than``, whose blob is gone (gc deletes an
    outboard before its blob; a reader may have written one for a blob being deleted)."""
    removed = []
    for info in store.list(OUTBOARD_PREFIX):
        if info.modified_at is not None and info.modified_at >= older_than:
            continue
        if store.exists(BLOB_PREFIX + info.key[len(OUTBOARD_PREFIX):]):
            continue
        if not dry_run:
            store.delete(info.key)
        removed.append((info.key, info.size))
    return removed


def repair_outboard(store: Store, good: Outboard) -> bool:
    """Make the stored outboard ``good`` (made from a blob just verified whole): write it if
    there is none, replace it if it differs; True when something was written."""
    key = outboard_key(good.hash)
    try:
        if store.get(key) == good.encode():
            return False
        store.delete(key)  # damaged or planted: needs delete rights (an admin's verify)
    except NotFoundError:
        pass
    except EosError as e:
        logger.warning("the outboard of %s in %s differs from the blob's chunk hashes but "
                       "could not be replaced (%s); run `eos verify` as an admin", good.hash,
                       store.url, e)
        return False
    return save_outboard(store, good)
