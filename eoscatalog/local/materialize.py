"""Putting a cached blob at a user's path without copying bytes when the filesystem allows it.

A reflink (copy-on-write clone: instant, and the user's file is independent of the cache) where
the filesystem supports it, else a copy. Hardlinks only when asked for: a hardlinked file is
the cache entry itself, read-only, and an in-place edit (``vim :w!``, or any write as root)
would silently change the bytes every later download of that blob gets. The path is replaced
atomically either way. Given the ``expected`` hash, the copy is hashed before it is put in
place: a cache entry edited since it was verified never reaches the user's path
(:func:`materialize_cached`, what ``Catalog.get`` does when the cache already holds a blob).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from eoscatalog.core.errors import IntegrityError
from eoscatalog.core.faults import crash_point
from eoscatalog.core.fsio import Staged, copy_file, staged
from eoscatalog.core.hashing import hash_file, verify_hash
from eoscatalog.local.blob_cache import BlobCache
from eoscatalog.local.cache_prune import open_entry

__all__ = ["materialize", "materialize_cached"]

FICLONE = 0x40049409  # linux/fs.h: _IOW(0x94, 9, int)


def materialize(source: Path, dest: Path, *, allow_hardlink: bool = False,
                expected: str | None = None) -> str:
    """Make ``dest`` hold the bytes of ``source``; return how: reflink, hardlink or copy.

    With ``expected`` (a ``blake3:<hex>`` hash) the bytes are hashed before ``dest`` changes;
    a mismatch raises IntegrityError (both hashes named) and leaves ``dest`` as it was.

    >>> import tempfile
    >>> from eoscatalog.core.hashing import hash_bytes
    >>> d = Path(tempfile.mkdtemp()); _ = (d / "a").write_bytes(b"x")
    >>> how = materialize(d / "a", d / "b", expected=hash_bytes(b"x"))
    >>> how in ("reflink", "hardlink", "copy"), (d / "b").read_bytes()
    (True, b'x')
    """
    with open_entry(source) as src, staged(dest, durable=False) as temp:  # in use: kept
        how = _clone(src.fileno(), temp.fd)
        if how is None and allow_hardlink:
            how = _hardlink(source, temp, expected)
        if how is None:
            copy_file(src.fileno(), temp.fd)  # in the kernel, into our O_EXCL temp
            how = "copy"
        temp.close()
        crash_point("get.materialize-temp")
        if how != "hardlink":
            if expected is not None:
                verify_hash(expected, hash_file(temp.path), f"the cached copy {source}")
            temp.replace()
    return how


def materialize_cached(cache: BlobCache | None, hash_string: str, dest: Path) -> str | None:
    """Put a blob the ``cache`` already holds at ``dest`` (reflink, else copy), verified;
    return how, or None when the cache lacks it (``dest`` untouched: download it instead).

    Nothing is downloaded and no entry is made. An entry whose bytes no longer hash to its
    name (edited since it was verified) is removed from the cache, and None returned.

    >>> import tempfile
    >>> from eoscatalog.store import MemoryStore
    >>> store, cache = MemoryStore(), BlobCache(tempfile.mkdtemp())
    >>> h = store.put_blob_bytes(b"x"); dest = Path(tempfile.mkdtemp()) / "x"
    >>> materialize_cached(cache, h, dest) is None, dest.exists()
    (True, False)
    >>> _ = cache.fetch(h, store); materialize_cached(cache, h, dest) in ("reflink", "copy")
    True
    """
    entry = None if cache is None else cache.lookup(hash_string)
    if cache is None or entry is None:
        return None
    try:
        return materialize(entry, dest, expected=hash_string)
    except FileNotFoundError:
        return None  # evicted by another process just now
    except IntegrityError:
        cache.check_entry(entry, hash_string)  # says so in the log, and removes it
        return None


def _clone(src_fd: int, dst_fd: int) -> str | None:
    try:
        fcntl.ioctl(dst_fd, FICLONE, src_fd)
    except OSError:
        return None
    return "reflink"


def _hardlink(source: Path, temp: Staged, expected: str | None) -> str | None:
    """Link ``source`` under a fresh name beside ``dest`` and rename it over ``dest`` (once
    its bytes hash to ``expected``, if given)."""
    link = f"{temp.path}-link"
    try:
        os.link(source, link)  # fails if anything (even a symlink) is at that name
    except OSError:
        return None
    try:
        if expected is not None:
            verify_hash(expected, hash_file(link), f"the cached copy {source}")
        os.replace(link, temp.target)
    except BaseException:
        os.unlink(link)
        raise
    temp.discard()
    return "hardlink"
