"""The hash cache: a local file is hashed once until its size, mtime or inode changes.

Entries are keyed by the absolute path and checked against (size, mtime_ns, inode). A file whose
mtime is within the last two seconds is hashed but not cached: a write in the same clock tick
could otherwise leave a stale entry that looks valid (the "racily clean" problem git solves the
same way).
"""

from __future__ import annotations

import os
import time

from .hashing import hash_file
from .sqlite import connect, immediate, lock_of

__all__ = ["HashCache"]

RACY_WINDOW_NS = 2_000_000_000


class HashCache:
    """Hashes of local files, remembered by (path, size, mtime_ns, inode).

    >>> import tempfile, pathlib
    >>> cache = HashCache(":memory:")
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x"; _ = p.write_bytes(b"hello")
    >>> cache.hash(p) == cache.hash(p)
    True
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.db = connect(path)
        with immediate(self.db):
            self.db["hashes"].create(
                {"path": str, "size": int, "mtime_ns": int, "inode": int, "hash": str},
                pk="path",
                if_not_exists=True,
            )
        self.hashed = 0  # files actually read by this instance, for tests and benchmarks

    def lookup(self, path: str | os.PathLike[str], st: os.stat_result | None = None) -> str | None:
        """The cached hash of ``path`` if the file is unchanged, else None."""
        key = os.path.abspath(path)
        st = st or os.stat(key)
        with lock_of(self.db):
            row = next(iter(self.db.query("SELECT * FROM hashes WHERE path = ?", [key])), None)
        if row and (row["size"], row["mtime_ns"], row["inode"]) == (
            st.st_size, st.st_mtime_ns, st.st_ino
        ):
            return row["hash"]
        return None

    def hash(self, path: str | os.PathLike[str]) -> str:
        """Hash ``path``, reusing the cached value when the file has not changed."""
        key = os.path.abspath(path)
        st = os.stat(key)
        cached = self.lookup(key, st)
        if cached is not None:
            return cached
        value = hash_file(key)
        with lock_of(self.db):
            self.hashed += 1
        after = os.stat(key)
        unchanged = (st.st_size, st.st_mtime_ns, st.st_ino) == (
            after.st_size, after.st_mtime_ns, after.st_ino
        )
        if unchanged and time.time_ns() - st.st_mtime_ns > RACY_WINDOW_NS:
            with immediate(self.db):
                self.db.execute(
                    "INSERT OR REPLACE INTO hashes VALUES (?, ?, ?, ?, ?)",
                    [key, st.st_size, st.st_mtime_ns, st.st_ino, value],
                )
        return value

    def close(self) -> None:
        """Close the database connection."""
        self.db.close()
