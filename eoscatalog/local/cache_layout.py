"""The download cache's layout and the checks that say what is in it, for
:class:`~eoscatalog.local.blob_cache.BlobCache` (which fetches entries) and
:class:`~eoscatalog.local.cache_prune.CachePruner` (which counts and evicts them).

Layout under the cache root: ``blobs/blake3/<2 hex>/<64 hex>`` (the entries),
``locks/<64 hex>.lock``. An entry is a regular file without write bits; nothing in the cache is
looked at through a symlink (only the root itself may be one: the user's choice of disk), and a
root that another user could write to is refused (:class:`CacheRoot`).

>>> is_digest("ab" * 32), is_digest("AB" * 32)
(True, False)
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from eoscatalog.core.errors import InvalidNameError, StoreError
from eoscatalog.core.hashing import ALGORITHM

__all__ = [
    "BLOBS_DIR", "CLOEXEC", "LOCKS_DIR", "LOCK_SUFFIX", "NOFOLLOW", "CacheRoot", "check_size",
    "entry_stat", "is_digest", "is_entry", "is_hex", "open_nofollow", "real_folders",
    "same_file", "unlink_quietly",
]

BLOBS_DIR = ("blobs", ALGORITHM)
LOCKS_DIR = "locks"
LOCK_SUFFIX = ".lock"

NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_HEX = frozenset("0123456789abcdef")


class CacheRoot:
    """A cache's root folder, refused when it is unsafe: checked on first use once it exists,
    then trusted for the life of this object (a ``BlobCache`` and its pruner share one).

    Checking does no I/O beyond one ``stat``; a root that does not exist yet passes (the first
    fetch creates it, private) and is checked again on the next use.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._checked = False

    def check(self) -> None:
        """Raise StoreError if the root is not a folder of this user's that only they can
        write (once per object, after the root exists)."""
        if not self._checked:
            self._checked = _check_root(self.path)

    def recheck(self) -> None:
        """Check the root again now (after creating it)."""
        self._checked = False
        self.check()


def check_size(value: object) -> int:
    """``value`` if it is a valid cache size (whole bytes, zero or more); InvalidNameError
    otherwise.

    >>> check_size(1024)
    1024
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidNameError(
            f"invalid cache size {value!r}: give a whole number of bytes, zero or more "
            "(eoscatalog.core.units.parse_size reads '20GiB')"
        )
    return value


def is_hex(text: str) -> bool:
    """Whether ``text`` is lowercase hex digits only."""
    return all(c in _HEX for c in text)


def is_digest(name: str) -> bool:
    """Whether a file name is an entry's name: 64 lowercase hex digits."""
    return len(name) == 64 and is_hex(name)


def is_entry(st: os.stat_result) -> bool:
    """A regular file without write bits: what ``fetch`` puts at an entry path."""
    return stat.S_ISREG(st.st_mode) and not st.st_mode & 0o222


def entry_stat(path: Path) -> os.stat_result | None:
    """The ``lstat`` of the entry at ``path``; None when there is none (or something that is
    not an entry: a symlink, a writable file, a folder)."""
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return st if is_entry(st) else None


def real_folders(root: Path, deepest: Path) -> bool:
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


def open_nofollow(path: str, flags: int) -> int:
    """An ``opener`` for ``open()`` that refuses to follow a symlink at the path."""
    return os.open(path, flags | NOFOLLOW | CLOEXEC)


def same_file(fd: int, path: str | os.PathLike[str]) -> bool:
    """True when ``path`` still names the file open at ``fd`` (not removed or replaced)."""
    try:
        named = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)


def unlink_quietly(path: str | os.PathLike[str]) -> None:
    """Remove a file; one that is gone already is no error."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


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
