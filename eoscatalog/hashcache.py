"""The hash cache: a local file is hashed once until its size, mtime or inode changes.

Entries are keyed by the absolute path and checked against (size, mtime_ns, inode). An entry is
trusted only if the hash was taken more than two seconds after the file's mtime: a write in the
same clock tick as the hash could otherwise leave a stale entry that looks valid (the "racily
clean" problem git solves the same way). A file hashed too soon is hashed again on its next
lookup, after which its entry is trusted.
"""

from __future__ import annotations

import os
import time

from .hashing import hash_file
from .sqlite import connect, immediate, lock_of

__all__ = ["HashCache"]

RACY_WINDOW_NS = 2_000_000_000
SCHEMA_VERSION = 2


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
            if self.db.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
                self.db.execute("DROP TABLE IF EXISTS hashes")  # a cache: rebuilt as used
                self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            self.db["hashes"].create(
                {"path": str, "size": int, "mtime_ns": int, "inode": int, "hash": str,
                 "hashed_ns": int},
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
        if (
            row
            and (row["size"], row["mtime_ns"], row["inode"])
            == (st.st_size, st.st_mtime_ns, st.st_ino)
            and row["hashed_ns"] - row["mtime_ns"] > RACY_WINDOW_NS
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
        hashed_ns = time.time_ns()  # taken before reading: a write during the read is racy
        value = hash_file(key)
        with lock_of(self.db):
            self.hashed += 1
        after = os.stat(key)
        unchanged = (st.st_size, st.st_mtime_ns, st.st_ino) == (
            after.st_size, after.st_mtime_ns, after.st_ino
        )
        if unchanged:
            with immediate(self.db):
                self.db.execute(
                    "INSERT OR REPLACE INTO hashes VALUES (?, ?, ?, ?, ?, ?)",
                    [key, st.st_size, st.st_mtime_ns, st.st_ino, value, hashed_ns],
                )
        return value

    def remember(self, path: str | os.PathLike[str], hash_string: str) -> None:
        """Record a hash known without reading the file (one just written from verified bytes).

        Trusted, like any entry, only if it was recorded two seconds or more after the file's
        mtime (a downloaded file gets its version's time as mtime).
        """
        key = os.path.abspath(path)
        st = os.stat(key)
        with immediate(self.db):
            self.db.execute(
                "INSERT OR REPLACE INTO hashes VALUES (?, ?, ?, ?, ?, ?)",
                [key, st.st_size, st.st_mtime_ns, st.st_ino, hash_string, time.time_ns()],
            )

    def close(self) -> None:
        """Close the database connection."""
        self.db.close()
