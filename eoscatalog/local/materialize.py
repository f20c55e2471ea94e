"""Putting a cached blob at a user's path without copying bytes when the filesystem allows it.

A reflink (copy-on-write clone: instant, and the user's file is independent of the cache) where
the filesystem supports it, else a copy. Hardlinks only when asked for: a hardlinked file is
the cache entry itself, read-only, and an in-place edit (``vim :w!``, or any write as root)
would silently change the bytes every later download of that blob gets. The path is replaced
atomically either way.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from eoscatalog.core.faults import crash_point
from eoscatalog.core.fsio import Staged, copy_file, staged

__all__ = ["materialize"]

FICLONE = 0x40049409  # linux/fs.h: _IOW(0x94, 9, int)


def materialize(source: Path, dest: Path, *, allow_hardlink: bool = False) -> str:
    """Make ``dest`` hold the bytes of ``source``; return how: reflink, hardlink or copy.

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp()); _ = (d / "a").write_bytes(b"x")
    >>> materialize(d / "a", d / "b") in ("reflink", "hardlink", "copy"), (d / "b").read_bytes()
    (True, b'x')
    """
    with open(source, "rb") as src, staged(dest, durable=False) as temp:
        how = _clone(src.fileno(), temp.fd)
        if how is None and allow_hardlink:
            how = _hardlink(source, temp)
        if how is None:
            copy_file(src.fileno(), temp.fd)  # in the kernel, into our O_EXCL temp
            how = "copy"
        temp.close()
        crash_point("get.materialize-temp")
        if how != "hardlink":
            temp.replace()
    return how


def _clone(src_fd: int, dst_fd: int) -> str | None:
    try:
        fcntl.ioctl(dst_fd, FICLONE, src_fd)
    except OSError:
        return None
    return "reflink"


def _hardlink(source: Path, temp: Staged) -> str | None:
    """Link ``source`` under a fresh name beside ``dest`` and rename it over ``dest``."""
    link = f"{temp.path}-link"
    try:
        os.link(source, link)  # fails if anything (even a symlink) is at that name
    except OSError:
        return None
    try:
        os.replace(link, temp.target)
    except BaseException:
        os.unlink(link)
        raise
    temp.discard()
    return "hardlink"
