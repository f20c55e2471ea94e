"""The shared local download cache: complete, verified, read-only blobs keyed by their hash.

Layout under the cache root (``EOS_CACHE``, default ``$EOS_HOME/cache``); every folder is 0o700::

    blobs/blake3/<2 hex>/<64 hex>      one entry per blob: complete, verified, read-only (0444)
    blobs/blake3/<2 hex>/.eos-tmp-*    downloads in flight (prune removes them after an hour)
    locks/<64 hex>.lock                held while one process downloads that blob, then removed

An entry appears only by an atomic rename of a file that was verified while it streamed,
made read-only and fsynced (DESIGN.md, invariant 7). Processes and threads fetching the same
missing blob queue on its lock file (``flock``): one downloads, the others wait and then find
the entry. Recency of use is the entry's mtime, set on every ``lookup`` and ``fetch``, and
``prune`` evicts the least recently used entries first. Sizes are file sizes: an evicted entry
that is hardlinked elsewhere (a materialized download) keeps its bytes on disk through the link.

>>> import tempfile
>>> from eoscatalog.store import MemoryStore
>>> store = MemoryStore()
>>> h = store.put_blob_bytes(b"hello")
>>> cache = BlobCache(tempfile.mkdtemp())
>>> path = cache.fetch(h, store)
>>> path.read_bytes(), oct(path.stat().st_mode & 0o777)
(b'hello', '0o444')
>>> cache.lookup(h) == path, cache.info().entries
(True, 1)
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import secrets
import stat
import threading
import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import EosError, InvalidNameError, StoreError
from .hashing import ALGORITHM, digest_of, parse_hash
from .store.base import TEMP_PREFIX, Store, fsync_folder

if TYPE_CHECKING:
    from .config import Config

__all__ = ["BlobCache", "CacheInfo", "PruneResult"]

BLOBS_DIR = ("blobs", ALGORITHM)
LOCKS_DIR = "locks"
LOCK_SUFFIX = ".lock"
# A temp file untouched for this long was abandoned by a killed process: a live download
# writes to its temp file continuously, so its mtime stays fresh.
STALE_TEMP_SECONDS = 3600
ENTRY_MODE = 0o444
DIR_MODE = 0o700

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


class BlobCache:
    """The shared download cache at ``root``, optionally capped at ``max_size`` bytes.

    Creating one does no I/O. Its first use checks the root: a root writable by group or
    others, or owned by another user, is refused with StoreError (someone else could plant or
    swap cached files). The root and its folders are created (0o700) by the first ``fetch``.

    >>> import tempfile
    >>> cache = BlobCache(tempfile.mkdtemp(), max_size=1_000_000)
    >>> cache.path("blake3:" + "ab" * 32).relative_to(cache.root).as_posix()[:16]
    'blobs/blake3/ab/'
    >>> cache.info().entries, cache.info().max_size
    (0, 1000000)
    """

    def __init__(self, root: str | os.PathLike[str], *, max_size: int | None = None) -> None:
        self.root = Path(os.path.abspath(os.path.expanduser(os.fspath(root))))
        self.max_size = None if max_size is None else _check_size(max_size)
        self._folders: set[Path] = set()  # folders made or checked by this instance
        self._ready: set[Path] = set()  # shard folders whose whole path is in place
        self._folders_lock = threading.Lock()
        self._clock = threading.Lock()
        self._last_touch = 0
        self._root_checked = False

    @classmethod
    def from_config(cls, config: Config) -> BlobCache:
        """The cache a configuration names: ``EOS_CACHE`` (or ``$EOS_HOME/cache``) and
        ``EOS_CACHE_MAX_SIZE``.

        >>> import tempfile
        >>> from eoscatalog.config import Config
        >>> home = Path(tempfile.mkdtemp())
        >>> cache = BlobCache.from_config(Config(home=home, user="ada", cache_max_size="1MiB"))
        >>> cache.root == home / "cache", cache.max_size
        (True, 1048576)
        """
        return cls(config.cache_dir, max_size=config.cache_max_bytes)

    def __repr__(self) -> str:
        return f"BlobCache({os.fspath(self.root)!r}, max_size={self.max_size!r})"

    # -- entries -------------------------------------------------------------------------------

    def path(self, hash_string: str) -> Path:
        """Where the entry for a hash lives (it may not exist): ``<root>/blobs/blake3/<2>/<64>``.

        The hash is validated first (InvalidNameError otherwise), so no string can name a path
        outside the root.

        >>> import tempfile
        >>> cache = BlobCache(tempfile.mkdtemp())
        >>> cache.path("BLAKE3:" + "AB" * 32).name == "ab" * 32
        True
        """
        digest = digest_of(hash_string)
        return self.root.joinpath(*BLOBS_DIR, digest[:2], digest)

    def lookup(self, hash_string: str) -> Path | None:
        """The complete entry for a hash, marked as just used; None when it is not cached.

        A symlink or a writable file at the entry path is no entry (``fetch`` replaces it).

        >>> import tempfile
        >>> from eoscatalog.store import MemoryStore
        >>> store, cache = MemoryStore(), BlobCache(tempfile.mkdtemp())
        >>> h = store.put_blob_bytes(b"x")
        >>> cache.lookup(h) is None
        True
        >>> cache.fetch(h, store) == cache.lookup(h)
        True
        """
        path = self.path(hash_string)
        self._check_root()
        if _entry_stat(path) is None:
            return None
        try:
            self._touch(path)
        except FileNotFoundError:
            return None  # evicted by another process just now
        return path

    def fetch(self, hash_string: str, store: Store, *,
              on_bytes: Callable[[int], None] | None = None) -> Path:
        """Make sure the blob is cached, downloading it from ``store`` if needed; return its path.

        Concurrent fetches of the same blob (threads or processes) download it once: the
        others wait on its lock and then find the entry. A download that fails (IntegrityError,
        NotFoundError, StoreError, an interrupt) leaves no entry and no temp file. With
        ``max_size`` set, a fetch that downloaded prunes afterwards, never evicting the entry
        it returns (which is kept even if it alone exceeds the cap).

        Another process may prune the entry at any time: callers that link or copy it should
        fetch again if it vanished.

        >>> import tempfile
        >>> from eoscatalog.store import MemoryStore
        >>> store, cache = MemoryStore(), BlobCache(tempfile.mkdtemp())
        >>> h = store.put_blob_bytes(b"data")
        >>> cache.fetch(h, store).read_bytes()
        b'data'
        """
        hash_string = parse_hash(hash_string)
        found = self.lookup(hash_string)
        if found is not None:
            return found
        path = self.path(hash_string)
        self._ensure_folders(path.parent)
        downloaded = False
        with self._locked(path.name):
            if self.lookup(hash_string) is None:
                self._download(hash_string, store, path, on_bytes)
                downloaded = True
                try:
                    self._touch(path)
                except FileNotFoundError:
                    pass  # evicted at once by another process's prune (its mtime was fresh)
        if downloaded and self.max_size is not None:
            self._prune(self.max_size, keep={path.name})
        return path

    # -- accounting and eviction ---------------------------------------------------------------

    def info(self) -> CacheInfo:
        """The number of entries and their total size (lock and temp files are not counted).

        >>> import tempfile
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
                    if clean and st.st_mtime_ns < stale_before and not stat.S_ISDIR(st.st_mode):
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

    # -- downloading ---------------------------------------------------------------------------

    def _download(self, hash_string: str, store: Store, path: Path,
                  on_bytes: Callable[[int], None] | None = None) -> None:
        """Download into a staging temp file, make it read-only, fsync it, rename it into place.

        ``store.download_blob`` verifies the bytes and renames its own temp file onto the
        staging name only when they match; the staging file is then made 0444 before it is
        renamed onto the entry path, so a writable or unverified file never appears there.
        """
        staging = path.parent / f"{TEMP_PREFIX}{secrets.token_hex(8)}-{path.name[:8]}"
        try:
            store.download_blob(hash_string, staging, on_bytes=on_bytes)
            fd = os.open(staging, os.O_RDONLY | _NOFOLLOW | _CLOEXEC)
            try:
                if not stat.S_ISREG(os.fstat(fd).st_mode):
                    raise StoreError(f"{staging} in the cache is not a regular file")
                os.fchmod(fd, ENTRY_MODE)
                os.fsync(fd)
            finally:
                os.close(fd)
            # rename never follows a symlink at the target: a planted one is replaced.
            os.replace(staging, path)
        except BaseException as e:
            _unlink_quietly(staging)
            if isinstance(e, OSError) and not isinstance(e, EosError):
                full = e.errno in (errno.ENOSPC, errno.EDQUOT)
                advice = (" Free some space (`eos cache prune --max-size SIZE`) or point "
                          "EOS_CACHE at another folder." if full else "")
                raise StoreError(
                    f"cannot download blob {hash_string} into the cache at {self.root}: "
                    f"{e.strerror or e}.{advice}"
                ) from e
            raise
        fsync_folder(path.parent)

    @contextlib.contextmanager
    def _locked(self, digest: str) -> Iterator[None]:
        """Hold ``locks/<digest>.lock`` exclusively; the holder removes it before releasing.

        Removing a lock file is safe because only its holder does it: a waiter that then gets
        the lock on the removed file sees that the path no longer names its file, and retries
        on the new one.
        """
        lock_path = self.root / LOCKS_DIR / f"{digest}{LOCK_SUFFIX}"
        fd = self._acquire(lock_path)
        try:
            yield
        finally:
            _unlink_quietly(lock_path)
            os.close(fd)  # releases the lock

    def _acquire(self, lock_path: Path) -> int:
        for _ in range(10_000):
            try:
                fd = os.open(
                    lock_path, os.O_RDWR | os.O_CREAT | _NOFOLLOW | _CLOEXEC, 0o600
                )
            except OSError as e:
                if os.path.islink(lock_path):
                    _unlink_quietly(lock_path)  # never follow a planted symlink
                    continue
                raise StoreError(f"cannot create the cache lock {lock_path}: {e.strerror}") from e
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                if _same_file(fd, lock_path):
                    return fd
            except BaseException:
                os.close(fd)
                raise
            os.close(fd)  # the holder removed this lock file while we waited: lock the new one
        raise StoreError(f"could not take the cache lock {lock_path}: it kept changing")

    # -- folders and times ---------------------------------------------------------------------

    def _ensure_folders(self, shard: Path) -> None:
        """Create (0o700) or check the root, ``blobs/blake3``, the shard folder and ``locks``."""
        if shard in self._ready:
            return
        with self._folders_lock:
            if self.root not in self._folders:
                self._ensure_root()
            blobs = self.root / BLOBS_DIR[0]
            for folder in (blobs, blobs / BLOBS_DIR[1], shard, self.root / LOCKS_DIR):
                self._make_folder(folder)
            self._ready.add(shard)

    def _ensure_root(self) -> None:
        try:
            self.root.parent.mkdir(parents=True, exist_ok=True)
            os.mkdir(self.root, DIR_MODE)
            os.chmod(self.root, DIR_MODE)  # the umask may have taken bits away
        except FileExistsError:
            pass
        except OSError as e:
            raise StoreError(
                f"cannot create the cache folder {self.root}: {e.strerror}; set EOS_CACHE to a "
                "folder you can write"
            ) from None
        self._root_checked = False
        self._check_root()
        self._folders.add(self.root)

    def _make_folder(self, folder: Path) -> None:
        if folder in self._folders:
            return
        try:
            os.mkdir(folder, DIR_MODE)
            os.chmod(folder, DIR_MODE)
        except FileExistsError:
            st = os.lstat(folder)
            if not stat.S_ISDIR(st.st_mode):
                raise StoreError(
                    f"{folder} in the cache is not a folder (a symlink or a file); the cache "
                    "never follows symlinks. Remove it and retry"
                ) from None
        except OSError as e:
            raise StoreError(f"cannot create the cache folder {folder}: {e.strerror}") from None
        self._folders.add(folder)

    def _check_root(self) -> None:
        """Refuse an unsafe root (once per instance, after it exists)."""
        if not self._root_checked:
            self._root_checked = _check_root(self.root)

    def _touch(self, path: Path) -> None:
        """Mark an entry as just used: its mtime, strictly increasing within this process."""
        with self._clock:
            now = max(time.time_ns(), self._last_touch + 1)
            self._last_touch = now
        os.utime(path, ns=(now, now), follow_symlinks=False)


# -- helpers ---------------------------------------------------------------------------------


def _check_size(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidNameError(
            f"invalid cache size {value!r}: give a whole number of bytes, zero or more "
            "(eoscatalog.names.parse_size reads '20GiB')"
        )
    return value


def _check_root(root: Path) -> bool:
    """Refuse a root another user could write to; False when there is no root yet."""
    try:
        st = os.stat(root)  # a symlinked root is the user's choice (e.g. a bigger disk)
    except FileNotFoundError:
        return False  # created, private, by the first fetch
    except OSError as e:
        raise StoreError(f"cannot use the cache folder {root}: {e.strerror}") from None
    if not stat.S_ISDIR(st.st_mode):
        raise StoreError(f"the cache folder {root} is not a folder; set EOS_CACHE to a folder")
    if st.st_uid != os.geteuid():
        raise StoreError(
            f"refusing to use the cache folder {root}: it belongs to another user (uid "
            f"{st.st_uid}), who could change cached files. Set EOS_CACHE to a folder of yours"
        )
    if st.st_mode & 0o022:
        who = " and ".join(
            name for bit, name in ((0o020, "its group"), (0o002, "other users")) if st.st_mode & bit
        )
        raise StoreError(
            f"refusing to use the cache folder {root}: it is writable by {who} (mode "
            f"{stat.S_IMODE(st.st_mode):o}), who could plant or swap cached files. Run "
            f"`chmod 700 {root}` or set EOS_CACHE to a private folder"
        )
    return True


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


def _same_file(fd: int, path: Path) -> bool:
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

