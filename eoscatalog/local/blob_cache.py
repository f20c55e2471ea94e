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

Accounting and eviction (``info``, ``prune``) are done by the cache's
:class:`~eoscatalog.local.cache_prune.CachePruner`; the layout names and the entry checks both
use are in :mod:`eoscatalog.local.cache_layout`.

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
import logging
import os
import stat
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from eoscatalog.core.errors import EosError, StoreError
from eoscatalog.core.faults import crash_point
from eoscatalog.core.fsio import fsync_folder, temp_name
from eoscatalog.core.hashing import digest_of, hash_stream, parse_hash
from eoscatalog.local.cache_layout import (
    BLOBS_DIR,
    CLOEXEC,
    LOCK_SUFFIX,
    LOCKS_DIR,
    NOFOLLOW,
    CacheRoot,
    check_size,
    entry_stat,
    open_nofollow,
    real_folders,
    same_file,
    unlink_quietly,
)
from eoscatalog.local.cache_prune import AUTO, CacheInfo, CachePruner, Cap, PruneResult, open_entry
from eoscatalog.store.base import Store

if TYPE_CHECKING:
    from eoscatalog.local.config import Config

__all__ = ["BlobCache"]

logger = logging.getLogger("eoscatalog")

ENTRY_MODE = 0o444
DIR_MODE = 0o700


class BlobCache:
    """The shared download cache at ``root``, optionally capped at ``max_size`` bytes (or
    ``"auto"``: 10 GiB or a quarter of the room on its disk, whichever is smaller; the
    settings' default, see :func:`~eoscatalog.local.cache_prune.default_cap`).

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

    def __init__(self, root: str | os.PathLike[str], *, max_size: Cap | None = None) -> None:
        self.root = Path(os.path.abspath(os.path.expanduser(os.fspath(root))))
        self.max_size: Cap | None = (
            None if max_size is None else AUTO if max_size == AUTO else check_size(max_size))
        self._folders: set[Path] = set()  # folders made or checked by this instance
        self._folders_lock = threading.Lock()
        self._clock = threading.Lock()
        self._last_touch = 0
        self._cache_root = CacheRoot(self.root)
        self._pruner = CachePruner(self._cache_root)

    @classmethod
    def from_config(cls, config: Config) -> BlobCache:
        """The cache a configuration names: ``EOS_CACHE`` (or ``$EOS_HOME/cache``) and
        ``EOS_CACHE_MAX_SIZE`` (by default ``"auto"``).

        >>> import tempfile
        >>> from eoscatalog.local.config import Config
        >>> home = Path(tempfile.mkdtemp())
        >>> cache = BlobCache.from_config(Config(home=home, user="ada", cache_max_size="1MiB"))
        >>> cache.root == home / "cache", cache.max_size
        (True, 1048576)
        >>> BlobCache.from_config(Config(home=home, user="ada")).max_size
        'auto'
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
        self._cache_root.check()
        # A folder on the way that is a symlink (or no folder) holds no entry of ours.
        if not real_folders(self.root, path.parent) or entry_stat(path) is None:
            return None
        try:
            self._touch(path)
        except FileNotFoundError:
            return None  # evicted by another process just now
        return path

    def check_entry(self, path: Path, hash_string: str) -> bool:
        """Hash a cache entry; remove it and return False when its bytes do not match.

        Entries are verified when they are written and are read-only, but a user (or a stray
        script) can still chmod and edit one, or rename another file over it.
        """
        try:
            with open(path, "rb", opener=open_nofollow) as f:
                actual = hash_stream(f)
        except FileNotFoundError:
            return False
        if actual == hash_string:
            return True
        logger.warning("cache entry %s was changed after it was verified (its bytes hash to "
                       "%s); downloading it again", path, actual)
        unlink_quietly(path)
        return False

    def open_checked(self, hash_string: str) -> BinaryIO | None:
        """The entry for a hash, open to read and marked in use (no prune removes it until it
        is closed), its bytes hashed again just now; None when it is not cached, or no longer
        matches (then it is removed, as :meth:`check_entry` does)."""
        entry = self.lookup(hash_string)
        if entry is None:
            return None
        with contextlib.suppress(FileNotFoundError):  # evicted just now: None
            f = open_entry(entry)
            if hash_stream(f) == hash_string:
                f.seek(0)
                return f
            f.close()
            self.check_entry(entry, hash_string)  # says so in the log, and removes it
        return None

    def fetch(self, hash_string: str, store: Store, *,
              on_bytes: Callable[[int], None] | None = None, verify: bool = False) -> Path:
        """Make sure the blob is cached, downloading it from ``store`` if needed; return its path.

        Concurrent fetches of the same blob (threads or processes) download it once: the
        others wait on its lock and then find the entry. A download that fails (IntegrityError,
        NotFoundError, StoreError, an interrupt) leaves no entry and no temp file. With
        ``max_size`` set, a fetch that downloaded prunes afterwards, never evicting the entry
        it returns (which is kept even if it alone exceeds the cap).

        Another process may prune the entry at any time: callers that link or copy it should
        fetch again if it vanished. ``verify`` hashes an entry that was already cached before
        returning it; one that no longer matches (edited, truncated, replaced) is removed and
        downloaded again.

        >>> import tempfile
        >>> from eoscatalog.store import MemoryStore
        >>> store, cache = MemoryStore(), BlobCache(tempfile.mkdtemp())
        >>> h = store.put_blob_bytes(b"data")
        >>> cache.fetch(h, store).read_bytes()
        b'data'
        """
        hash_string = parse_hash(hash_string)
        found = self.lookup(hash_string)
        if found is not None and (not verify or self.check_entry(found, hash_string)):
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
            self._pruner.prune(self.max_size, keep={path.name})
        return path

    # -- accounting ----------------------------------------------------------------------------

    def info(self) -> CacheInfo:
        """The number of entries, their total size (lock and temp files are not counted) and
        the cap in bytes (an ``"auto"`` cap worked out just now: ``auto`` is True).

        >>> import tempfile
        >>> from eoscatalog.store import MemoryStore
        >>> store, cache = MemoryStore(), BlobCache(tempfile.mkdtemp())
        >>> _ = cache.fetch(store.put_blob_bytes(b"12345"), store)
        >>> cache.info().entries, cache.info().size
        (1, 5)
        """
        return self._pruner.info(self.max_size)

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
        return self._pruner.prune(check_size(max_size))

    # -- downloading ---------------------------------------------------------------------------

    def _download(self, hash_string: str, store: Store, path: Path,
                  on_bytes: Callable[[int], None] | None = None) -> None:
        """Download into a staging temp file, make it read-only, fsync it, rename it into place.

        ``store.download_blob`` verifies the bytes and renames its own temp file onto the
        staging name only when they match; the staging file is then made 0444 before it is
        renamed onto the entry path, so a writable or unverified file never appears there.
        """
        staging = temp_name(path.parent, f"-{path.name[:8]}")
        try:
            store.download_blob(hash_string, staging, on_bytes=on_bytes, durable=True)
            fd = os.open(staging, os.O_RDONLY | NOFOLLOW | CLOEXEC)
            try:
                if not stat.S_ISREG(os.fstat(fd).st_mode):
                    raise StoreError(f"{staging} in the cache is not a regular file")
                os.fchmod(fd, ENTRY_MODE)
                os.fsync(fd)
            finally:
                os.close(fd)
            # rename never follows a symlink at the target: a planted one is replaced.
            os.replace(staging, path)
            crash_point("get.cached")
        except BaseException as e:
            unlink_quietly(staging)
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
            unlink_quietly(lock_path)
            os.close(fd)  # releases the lock

    def _acquire(self, lock_path: Path) -> int:
        for _ in range(10_000):
            try:
                fd = os.open(
                    lock_path, os.O_RDWR | os.O_CREAT | NOFOLLOW | CLOEXEC, 0o600
                )
            except OSError as e:
                if os.path.islink(lock_path):
                    unlink_quietly(lock_path)  # never follow a planted symlink
                    continue
                raise StoreError(f"cannot create the cache lock {lock_path}: {e.strerror}") from e
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                if same_file(fd, lock_path):
                    return fd
            except BaseException:
                os.close(fd)
                raise
            os.close(fd)  # the holder removed this lock file while we waited: lock the new one
        raise StoreError(f"could not take the cache lock {lock_path}: it kept changing")

    # -- folders and times ---------------------------------------------------------------------

    def _ensure_folders(self, shard: Path) -> None:
        """Create (0o700) or check the root, ``blobs/blake3``, the shard folder and ``locks``.

        Checked on every fetch (a few ``lstat`` calls), not once: a folder swapped for a
        symlink after this instance looked must still be refused.
        """
        with self._folders_lock:
            if self.root not in self._folders:
                self._ensure_root()
            blobs = self.root / BLOBS_DIR[0]
            for folder in (blobs, blobs / BLOBS_DIR[1], shard, self.root / LOCKS_DIR):
                self._make_folder(folder)

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
        self._cache_root.recheck()
        self._folders.add(self.root)

    def _make_folder(self, folder: Path) -> None:
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

    def _touch(self, path: Path) -> None:
        """Mark an entry as just used: its mtime, strictly increasing within this process."""
        with self._clock:
            now = max(time.time_ns(), self._last_touch + 1)
            self._last_touch = now
        os.utime(path, ns=(now, now), follow_symlinks=False)
