"""Accounting and eviction for the download cache: :class:`CachePruner`, which
:class:`~eoscatalog.local.blob_cache.BlobCache` owns and answers ``info`` and ``prune`` with.

``info`` counts the complete entries and their size. ``prune`` evicts the least recently used
entries first (recency is an entry's mtime, set on every use) until the total fits, and clears
what killed processes left behind: temp files untouched for an hour, lock files nobody holds.
Sizes are file sizes: an evicted entry that is hardlinked elsewhere keeps its bytes on disk.
The layout names and entry checks it shares with ``BlobCache`` are in
:mod:`eoscatalog.local.cache_layout`.
"""

from __future__ import annotations

import fcntl
import os
import stat
import time
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path

from eoscatalog.core.errors import StoreError
from eoscatalog.core.hashing import ALGORITHM
from eoscatalog.core.tempfiles import STALE_AFTER_SECONDS, TEMP_PREFIX, is_stale_name
from eoscatalog.local.cache_layout import (
    BLOBS_DIR,
    CLOEXEC,
    LOCK_SUFFIX,
    LOCKS_DIR,
    NOFOLLOW,
    CacheRoot,
    entry_stat,
    is_digest,
    is_entry,
    is_hex,
    real_folders,
    same_file,
    unlink_quietly,
)

__all__ = ["STALE_TEMP_SECONDS", "CacheInfo", "CachePruner", "PruneResult"]

# A temp file untouched for this long was abandoned by a killed process: a live download
# writes to its temp file continuously, so its mtime stays fresh.
STALE_TEMP_SECONDS = STALE_AFTER_SECONDS


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


class CachePruner:
    """Counts and evicts the entries under a cache root (a ``BlobCache`` owns one).

    >>> import tempfile
    >>> from eoscatalog.local.cache_layout import CacheRoot
    >>> pruner = CachePruner(CacheRoot(Path(tempfile.mkdtemp())))
    >>> pruner.info(max_size=None).entries, pruner.prune(0).freed
    (0, 0)
    """

    def __init__(self, root: CacheRoot) -> None:
        self._cache_root = root
        self.root = root.path

    def info(self, max_size: int | None) -> CacheInfo:
        """The number of entries and their total size (lock and temp files are not counted);
        ``max_size`` is the cap the cache reports (see ``BlobCache.info``)."""
        self._cache_root.check()
        entries = self._entries(clean=False)
        return CacheInfo(
            root=self.root,
            entries=len(entries),
            size=sum(e.size for e in entries),
            max_size=max_size,
        )

    def prune(self, max_size: int, keep: Collection[str] = ()) -> PruneResult:
        """Evict least recently used entries until the total is at most ``max_size`` bytes,
        never those whose digest is in ``keep``; clear stale temp files, unheld lock files and
        anything at an entry path that is not an entry (see ``BlobCache.prune``)."""
        self._cache_root.check()
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
            current = entry_stat(entry.path)
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
                        unlink_quietly(item.path)
                    continue
                if not is_digest(item.name) or item.name[:2] != folder.name:
                    continue
                if is_entry(st):
                    found.append(_Entry(Path(item.path), st.st_size, st.st_mtime_ns))
                elif clean and not stat.S_ISDIR(st.st_mode):
                    unlink_quietly(item.path)  # a planted symlink or a writable file
        return found

    def _shard_folders(self) -> Iterator[Path]:
        base = self.root.joinpath(*BLOBS_DIR)
        if not real_folders(self.root, base):
            return  # a symlink on the way: nothing below it is ours
        try:
            items = list(os.scandir(base))
        except (FileNotFoundError, NotADirectoryError):
            return
        for item in sorted(items, key=lambda i: i.name):
            if len(item.name) == 2 and is_hex(item.name) and item.is_dir(follow_symlinks=False):
                yield Path(item.path)

    def _clean_locks(self) -> None:
        """Remove lock files nobody holds (left by killed processes), under their own lock."""
        folder = self.root / LOCKS_DIR
        if not real_folders(self.root, folder):
            return
        try:
            items = list(os.scandir(folder))
        except (FileNotFoundError, NotADirectoryError):
            return
        for item in items:
            if not item.name.endswith(LOCK_SUFFIX):
                continue
            try:
                fd = os.open(item.path, os.O_RDWR | NOFOLLOW | CLOEXEC)
            except FileNotFoundError:
                continue
            except OSError:
                if os.path.islink(item.path):
                    unlink_quietly(item.path)
                continue
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # a download is in progress
                if same_file(fd, item.path):
                    unlink_quietly(item.path)
            finally:
                os.close(fd)
