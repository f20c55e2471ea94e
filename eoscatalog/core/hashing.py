"""BLAKE3 content hashes as ``blake3:<64 hex>`` strings: compute, parse, compare, verify.

>>> hash_bytes(b"hello")
'blake3:ea8f163db38682925e4491c5e58d4bb3506ef8c14eb78a86e908c5624a67200f'
>>> parse_hash("BLAKE3:EA8F163DB38682925E4491C5E58D4BB3506EF8C14EB78A86E908C5624A67200F")
'blake3:ea8f163db38682925e4491c5e58d4bb3506ef8c14eb78a86e908c5624a67200f'
"""

from __future__ import annotations

import mmap
import os
import re
from dataclasses import dataclass
from typing import BinaryIO

import blake3

from eoscatalog.core.errors import IntegrityError, InvalidNameError

__all__ = [
    "ALGORITHM",
    "CHUNK_SIZE",
    "FileState",
    "StreamHasher",
    "digest_of",
    "hash_bytes",
    "hash_file",
    "hash_stream",
    "parse_hash",
    "verify_hash",
]

ALGORITHM = "blake3"
CHUNK_SIZE = 1024 * 1024
LARGE_CHUNK_SIZE = 4 * 1024 * 1024
# Below this size one thread is faster than starting the pool; above it BLAKE3's tree
# parallelism pays off (docs/performance.md).
MULTITHREAD_THRESHOLD = 4 * 1024 * 1024
# Large files are hashed through memory maps of this many bytes at a time (a multiple of every
# platform's mapping granularity), so at most this much of a file is resident at once.
MAP_WINDOW = 32 * 1024 * 1024

_HASH_RE = re.compile(r"^blake3:[0-9a-f]{64}$")


def parse_hash(text: str) -> str:
    """Return the canonical (lower-case) ``blake3:<hex>`` form, or raise InvalidNameError."""
    canonical = text.strip().lower() if isinstance(text, str) else ""
    if not _HASH_RE.match(canonical):
        raise InvalidNameError(
            f"invalid hash {text!r}: expected 'blake3:' followed by 64 hex digits"
        )
    return canonical


def digest_of(hash_string: str) -> str:
    """The 64 hex digits of a ``blake3:<hex>`` string.

    >>> digest_of("blake3:" + "ab" * 32) == "ab" * 32
    True
    """
    return parse_hash(hash_string)[len(ALGORITHM) + 1 :]


class StreamHasher:
    """Hash bytes as they stream past, e.g. while downloading.

    >>> h = StreamHasher()
    >>> h.update(b"hel"); h.update(b"lo")
    >>> h.hash == hash_bytes(b"hello"), h.size
    (True, 5)
    """

    def __init__(self, *, threads: bool = False) -> None:
        self._hasher = blake3.blake3(max_threads=blake3.blake3.AUTO if threads else 1)
        self.size = 0

    def update(self, data: bytes | bytearray | memoryview) -> None:
        """Hash the next bytes of the stream."""
        self._hasher.update(data)
        self.size += len(data)

    @property
    def hash(self) -> str:
        return f"{ALGORITHM}:{self._hasher.hexdigest()}"


@dataclass(frozen=True)
class FileState:
    """What the kernel changes whenever a file's bytes change: its identity, size, mtime and
    ctime (which no program can set back). A file hashed while it was quiet (see
    :meth:`HashCache.quiet_state`) and found in the same state after its bytes were read again
    gave those reads the bytes it was hashed from, so they need no second hash.

    >>> import os, tempfile
    >>> fd, path = tempfile.mkstemp(); os.close(fd)
    >>> state = FileState.of(os.stat(path))
    >>> state.holds(os.stat(path))
    True
    """

    device: int
    inode: int
    size: int
    mtime_ns: int
    ctime_ns: int

    @classmethod
    def of(cls, st: os.stat_result) -> FileState:
        """The state a ``stat`` shows."""
        return cls(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)

    def holds(self, st: os.stat_result) -> bool:
        """Whether ``st`` shows the file still in this state."""
        return FileState.of(st) == self


def hash_bytes(data: bytes | bytearray | memoryview) -> str:
    """Hash an in-memory buffer."""
    hasher = StreamHasher(threads=len(data) >= MULTITHREAD_THRESHOLD)
    hasher.update(data)
    return hasher.hash


def hash_stream(stream: BinaryIO, chunk_size: int = CHUNK_SIZE) -> str:
    """Hash a readable binary stream to its end."""
    hasher = StreamHasher()
    while chunk := stream.read(chunk_size):
        hasher.update(chunk)
    return hasher.hash


def hash_file(path: str | os.PathLike[str]) -> str:
    """Hash a file; large files are memory-mapped and hashed on every core.

    Like ``b3sum``, a large file is hashed through memory maps (BLAKE3's tree hashing splits
    them across all cores, and no byte is copied into Python): on 2 cores that is 1.6x faster
    than reading chunks. The file is mapped 32 MiB at a time, so memory stays flat. A file cut
    short by another program while it is mapped can make the operating system stop the
    process (SIGBUS); nothing is lost then (every write of eoscatalog is crash-safe), and
    ``EOS_HASH_MMAP=0`` reads in chunks instead.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x"; _ = p.write_bytes(b"hello")
    >>> hash_file(p) == hash_bytes(b"hello")
    True
    """
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size < MULTITHREAD_THRESHOLD:
            return hash_stream(f)
        hasher = blake3.blake3(max_threads=blake3.blake3.AUTO)
        if size and os.environ.get("EOS_HASH_MMAP", "1") != "0":  # an empty file has no map
            # Window by window: a mapped page counts as resident memory while it is mapped.
            for offset in range(0, size, MAP_WINDOW):
                length = min(MAP_WINDOW, size - offset)
                with mmap.mmap(f.fileno(), length, access=mmap.ACCESS_READ,
                               offset=offset) as mapped:
                    hasher.update(mapped)
            return f"{ALGORITHM}:{hasher.hexdigest()}"
        # Large reads into one reused buffer, each hashed on every core.
        buffer = bytearray(LARGE_CHUNK_SIZE)
        view = memoryview(buffer)
        while count := f.readinto(buffer):
            hasher.update(view[:count])
        return f"{ALGORITHM}:{hasher.hexdigest()}"


def verify_hash(expected: str, actual: str, what: str) -> None:
    """Raise IntegrityError (with both hashes) when ``actual`` differs from ``expected``.

    ``what`` names the bytes in the message, e.g. ``"blob blake3:ab.. from s3://b/org"``.
    """
    if expected != actual:
        raise IntegrityError(
            f"{what} is corrupt: expected {expected}, got {actual}; nothing was kept. "
            "Retry; if it fails again the stored copy is damaged and must be uploaded again.",
            expected=expected,
            actual=actual,
        )
