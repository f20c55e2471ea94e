"""Accounting and eviction for the download cache: a part of
:class:`~eoscatalog.local.blob_cache.BlobCache`, in its own module so each stays readable.

``info`` counts the complete entries and their size. ``prune`` evicts the least recently used
entries first (recency is an entry's mtime, set on every use) until the total fits, and clears
what killed processes left behind: temp files untouched for an hour, lock files nobody holds.
Sizes are file sizes: an evicted entry that is hardlinked elsewhere keeps its bytes on disk.

The layout names and the checks that say what an entry is are here, below ``cache.py``, because
both halves use them.
"""

from __future__ import annotations

import fcntl
import os
import stat
import time
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from eoscatalog.core.errors import InvalidNameError, StoreError
from eoscatalog.core.hashing import ALGORITHM
from eoscatalog.core.tempfiles import STALE_AFTER_SECONDS, TEMP_PREFIX, is_stale_name

__all__ = ["CacheInfo", "CachePruning", "PruneResult"]

BLOBS_DIR = ("blobs", ALGORITHM)
LOCKS_DIR = "locks"
LOCK_SUFFIX = ".lock"
# A temp file untouched for this long was abandoned by a killed process: a live download
# writes to its temp file continuously, so its mtime stays fresh.
STALE_TEMP_SECONDS = STALE_AFTER_SECONDS

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True)
class CacheInfo:
    """What the cache holds: its root, the number of entries and their total size in bytes.

    >>> CacheInfo(root=Path("/c"), entries=2, size=10, max_size=None).size
    10
    """

    root: Path
    entries: int
    size: int
    max_size: int | None


@dataclass(frozen=True)
class PruneResult:
    """What ``prune`` did: the hashes it removed (least recently used first), the bytes they
    held, and the cache's total size afterwards.

    >>> PruneResult(removed=("blake3:" + "ab" * 32,), freed=5, size=0).freed
    5
    """

    removed: tuple[str, ...]
    freed: int
    size: int


@dataclass(frozen=True)
class _Entry:
    path: Path
    size: int
    mtime_ns: int


class CachePruning:
    """info and prune (used through BlobCache)."""

    root: Path
    max_size: int | None

    if TYPE_CHECKING:  # provided by BlobCache

        def _check_root(self) -> None: ...

    def info(self) -> CacheInfo:
        """The number of entries and their total size (lock and temp files are not counted).

        >>> import tempfile
        >>> from eoscatalog.local.blob_cache import BlobCache
        >>> from eoscatalog.store import MemoryStore
        >>> store, cache = MemoryStore(), BlobCache(tempfile.mkdtemp())
        >>> _ = cache.fetch(store.put_blob_bytes(b"12345"), store)
        >>> cache.info().entries, cache.info().size
        (1, 5)
        """
        self._check_root()
        entries = self._entries(clean=False)
        return CacheInfo(
            root=self.root,
            entries=len(entries),
            size=sum(e.size for e in entries),
            max_size=self.max_size,
        )

    def prune(self, max_size: int) -> PruneResult:
        """Evict least recently used entries until the total is at most ``max_size`` bytes.

        Also removes temp files abandoned more than an hour ago, lock files nobody holds, and
        anything at an entry path that is not an entry (a symlink, a writable file). Bytes of
        an evicted entry stay on disk while a hardlink to it remains elsewhere.

        >>> import tempfile
        >>> from eoscatalog.local.blob_cache import BlobCache
        >>> from eoscatalog.store import MemoryStore
        >>> store, cache = MemoryStore(), BlobCache(tempfile.mkdtemp())
        >>> h = store.put_blob_bytes(b"12345")
        >>> _ = cache.fetch(h, store)
        >>> result = cache.prune(0)
        >>> result.removed == (h,), result.freed, result.size
        (True, 5, 0)
        """
        return self._prune(_check_size(max_size), keep=())

    def _prune(self, max_size: int, keep: Collection[str]) -> PruneResult:
        self._check_root()
        self._clean_locks()
        entries = sorted(self._entries(clean=True), key=lambda e: (e.mtime_ns, e.path.name))
        total = sum(e.size for e in entries)
        removed: list[str] = []
        freed = 0
        for entry in entries:
            if total <= max_size:
                break
            if entry.path.name in keep:
                continue
            current = _entry_stat(entry.path)
            if current is None:
                total -= entry.size  # gone already (another prune)
                continue
            if current.st_mtime_ns != entry.mtime_ns:
                continue  # used since the scan: no longer the least recently used
            try:
                os.unlink(entry.path)
            except FileNotFoundError:
                total -= entry.size
                continue
            except OSError as e:
                raise StoreError(
                    f"cannot remove {entry.path} from the cache: {e.strerror}"
                ) from None
            total -= entry.size
            freed += entry.size
            removed.append(f"{ALGORITHM}:{entry.path.name}")
        return PruneResult(removed=tuple(removed), freed=freed, size=total)

    def _entries(self, *, clean: bool) -> list[_Entry]:
        """Every complete entry; with ``clean``, remove stale temp files and non-entries."""
        found: list[_Entry] = []
        stale_before = time.time_ns() - STALE_TEMP_SECONDS * 1_000_000_000
        for folder in self._shard_folders():
            try:
                items = list(os.scandir(folder))
            except (FileNotFoundError, NotADirectoryError):
                continue
            for item in items:
                try:
                    st = item.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                if item.name.startswith(TEMP_PREFIX):
                    if (clean and (st.st_mtime_ns < stale_before or is_stale_name(item.name))
                            and not stat.S_ISDIR(st.st_mode)):
                        _unlink_quietly(item.path)
                    continue
                if not _is_digest(item.name) or item.name[:2] != folder.name:
                    continue
                if _is_entry(st):
                    found.append(_Entry(Path(item.path), st.st_size, st.st_mtime_ns))
                elif clean and not stat.S_ISDIR(st.st_mode):
                    _unlink_quietly(item.path)  # a planted symlink or a writable file
        return found

    def _shard_folders(self) -> Iterator[Path]:
        base = self.root.joinpath(*BLOBS_DIR)
        if not _real_folders(self.root, base):
            return  # a symlink on the way: nothing below it is ours
        try:
            items = list(os.scandir(base))
        except (FileNotFoundError, NotADirectoryError):
            return
        for item in sorted(items, key=lambda i: i.name):
            if len(item.name) == 2 and _is_hex(item.name) and item.is_dir(follow_symlinks=False):
                yield Path(item.path)

    def _clean_locks(self) -> None:
        """Remove lock files nobody holds (left by killed processes), under their own lock."""
        folder = self.root / LOCKS_DIR
        if not _real_folders(self.root, folder):
            return
        try:
            items = list(os.scandir(folder))
        except (FileNotFoundError, NotADirectoryError):
            return
        for item in items:
            if not item.name.endswith(LOCK_SUFFIX):
                continue
            try:
                fd = os.open(item.path, os.O_RDWR | _NOFOLLOW | _CLOEXEC)
            except FileNotFoundError:
                continue
            except OSError:
                if os.path.islink(item.path):
                    _unlink_quietly(item.path)
                continue
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # a download is in progress
                if _same_file(fd, item.path):
                    _unlink_quietly(item.path)
            finally:
                os.close(fd)


# -- helpers ---------------------------------------------------------------------------------


def _check_size(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidNameError(
            f"invalid cache size {value!r}: give a whole number of bytes, zero or more "
            "(eoscatalog.core.units.parse_size reads '20GiB')"
        )
    return value


def _is_hex(text: str) -> bool:
    return all(c in _HEX for c in text)


def _is_digest(name: str) -> bool:
    return len(name) == 64 and _is_hex(name)


def _is_entry(st: os.stat_result) -> bool:
    """A regular file without write bits: what ``fetch`` puts at an entry path."""
    return stat.S_ISREG(st.st_mode) and not st.st_mode & 0o222


def _entry_stat(path: Path) -> os.stat_result | None:
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return st if _is_entry(st) else None


def _real_folders(root: Path, deepest: Path) -> bool:
    """Whether every folder from below ``root`` down to ``deepest`` is a real folder: no
    symlink on the way (the root itself may be a link, the user's choice of disk)."""
    try:
        parts = deepest.relative_to(root).parts
    except ValueError:
        return False
    folder = root
    for part in parts:
        folder = folder / part
        try:
            if not stat.S_ISDIR(os.lstat(folder).st_mode):
                return False
        except OSError:
            return False
    return True


def _open_nofollow(path: str, flags: int) -> int:
    """An ``opener`` for ``open()`` that refuses to follow a symlink at the path."""
    return os.open(path, flags | _NOFOLLOW | _CLOEXEC)


def _same_file(fd: int, path: str | os.PathLike[str]) -> bool:
    """True when ``path`` still names the file open at ``fd`` (not removed or replaced)."""
    try:
        named = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)


def _unlink_quietly(path: str | os.PathLike[str]) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
