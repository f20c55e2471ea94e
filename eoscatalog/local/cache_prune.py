"""Accounting and eviction for the download cache: :class:`CachePruner`, which
:class:`~eoscatalog.local.blob_cache.BlobCache` owns and answers ``info`` and ``prune`` with.

``info`` counts the complete entries and their size. ``prune`` evicts the least recently used
entries first (recency is an entry's mtime, set on every use) until the total fits, never one
in use (a reader of eoscatalog holds a shared ``flock`` on an entry while it reads it:
:func:`open_entry`), and clears what killed processes left behind: temp files untouched for an
hour, lock files nobody holds. Sizes are file sizes: an evicted entry that is hardlinked
elsewhere keeps its bytes on disk.

The cap is a number of bytes, or :data:`AUTO` (what the settings give by default): 10 GiB, or
a quarter of the room the cache could take on its disk (the free space plus what the cache
holds already, so the cap does not shrink as the cache fills), whichever is smaller
(:func:`default_cap`).
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
from typing import BinaryIO, Literal

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
    open_nofollow,
    real_folders,
    same_file,
    unlink_quietly,
)

__all__ = ["AUTO", "DEFAULT_MAX_SIZE", "DISK_SHARE", "STALE_TEMP_SECONDS", "CacheInfo",
           "CachePruner", "Cap", "PruneResult", "default_cap", "open_entry"]

AUTO: Literal["auto"] = "auto"
Cap = int | Literal["auto"]  # bytes, or the default cap (default_cap)
DEFAULT_MAX_SIZE = 10 * 1024**3  # the default cap at most: 10 GiB
DISK_SHARE = 4  # ... and at most a quarter of the room the cache could take on its disk

# A temp file untouched for this long was abandoned by a killed process: a live download
# writes to its temp file continuously, so its mtime stays fresh.
STALE_TEMP_SECONDS = STALE_AFTER_SECONDS


def default_cap(root: Path, held: int) -> int:
    """The default cap of a cache at ``root`` holding ``held`` bytes: 10 GiB, or a quarter of
    the free space of its disk plus ``held``, whichever is smaller.

    >>> import tempfile
    >>> 0 < default_cap(Path(tempfile.mkdtemp()) / "not-made-yet", 0) <= DEFAULT_MAX_SIZE
    True
    """
    folder = root
    while not folder.is_dir() and folder != folder.parent:
        folder = folder.parent  # the cache is made on first use: its disk is its parent's
    st = os.statvfs(folder)
    return min(DEFAULT_MAX_SIZE, (st.f_bavail * st.f_frsize + held) // DISK_SHARE)


def open_entry(path: Path) -> BinaryIO:
    """Open a cache entry to read it, marked as in use (a shared ``flock``, released when the
    file is closed) so that no prune removes it meanwhile; never through a symlink.

    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "e"; _ = p.write_bytes(b"x")
    >>> with open_entry(p) as f: f.read()
    b'x'
    """
    f = open(path, "rb", opener=open_nofollow)  # noqa: SIM115 - the caller's to close
    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_SH)  # waits only while a prune decides (no I/O)
    except BaseException:
        f.close()
        raise
    return f


@dataclass(frozen=True)
class CacheInfo:
    """What the cache holds: its root, the number of entries and their total size in bytes,
    and its cap in bytes (None: none; ``auto``: the cap is the default, worked out just now).

    >>> CacheInfo(root=Path("/c"), entries=2, size=10, max_size=None).size
    10
    """

    root: Path
    entries: int
    size: int
    max_size: int | None
    auto: bool = False


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

    def info(self, max_size: Cap | None) -> CacheInfo:
        """The number of entries and their total size (lock and temp files are not counted);
        ``max_size`` is the cap the cache reports (see ``BlobCache.info``)."""
        self._cache_root.check()
        entries = self._entries(clean=False)
        size = sum(e.size for e in entries)
        cap = default_cap(self.root, size) if isinstance(max_size, str) else max_size
        return CacheInfo(root=self.root, entries=len(entries), size=size, max_size=cap,
                         auto=max_size == AUTO)

    def prune(self, max_size: Cap, keep: Collection[str] = ()) -> PruneResult:
        """Evict least recently used entries until the total is at most ``max_size`` bytes,
        never those whose digest is in ``keep`` nor one in use; clear stale temp files, unheld
        lock files and anything at an entry path that is not an entry (see
        ``BlobCache.prune``)."""
        self._cache_root.check()
        self._clean_locks()
        entries = sorted(self._entries(clean=True), key=lambda e: (e.mtime_ns, e.path.name))
        total = sum(e.size for e in entries)
        cap = default_cap(self.root, total) if isinstance(max_size, str) else max_size
        removed: list[str] = []
        freed = 0
        for entry in entries:
            if total <= cap:
                break
            if entry.path.name in keep:
                continue
            gone = self._evict(entry)
            if gone is None:
                continue  # used since the scan, or in use now
            total -= entry.size
            if gone:
                freed += entry.size
                removed.append(f"{ALGORITHM}:{entry.path.name}")
        return PruneResult(removed=tuple(removed), freed=freed, size=total)

    @staticmethod
    def _evict(entry: _Entry) -> bool | None:
        """Remove an entry unless it was used since the scan or a reader holds it (None);
        True when this removed it, False when it was gone already (another prune)."""
        try:
            fd = os.open(entry.path, os.O_RDONLY | NOFOLLOW | CLOEXEC)
        except FileNotFoundError:
            return False
        except OSError:
            return None  # a symlink planted since the scan: the next prune clears it
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return None  # a reader holds it (open_entry)
            current = entry_stat(entry.path)
            if current is None or not same_file(fd, entry.path):
                return False
            if current.st_mtime_ns != entry.mtime_ns:
                return None  # used since the scan: no longer the least recently used
            try:
                os.unlink(entry.path)
            except FileNotFoundError:
                return False
            except OSError as e:
                raise StoreError(
                    f"cannot remove {entry.path} from the cache: {e.strerror}"
                ) from None
            return True
        finally:
            os.close(fd)

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
