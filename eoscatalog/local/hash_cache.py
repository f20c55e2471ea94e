"""The hash cache: a local file is hashed once until its size, mtime, ctime or identity changes.

Entries are keyed by the absolute path and checked against the file's
:class:`~eoscatalog.core.hashing.FileState`: device, inode, size, mtime_ns and ctime_ns. The ctime
is what catches a file rewritten in place with the same size and its mtime set back (``cp -p``,
``rsync -t --inplace``, ``tar -x``): a program can set the mtime, but every write moves the
ctime, and nothing but the kernel sets it (git compares it for the same reason). An entry is
trusted only if the hash was taken more than two seconds after the file's mtime: a write in the
same clock tick as the hash could otherwise leave a stale entry that looks valid (the "racily
clean" problem git solves the same way). A file hashed too soon is hashed again on its next
lookup, after which its entry is trusted.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator

from eoscatalog.core.hashing import FileState, hash_bytes, hash_file
from eoscatalog.core.sqlite import connect, immediate, lock_of, set_aside
from eoscatalog.local.home import is_damage

__all__ = ["HashCache"]

logger = logging.getLogger("eoscatalog")

RACY_WINDOW_NS = 2_000_000_000
SCHEMA_VERSION = 3  # 3: ctime_ns and device; older rows, trusted without them, are dropped
BATCH = 500  # paths per lookup query (SQLite allows 999 parameters on old builds)

# (path, size, mtime_ns, inode, hash, hashed_ns, ctime_ns, device), as the table holds them
_Row = tuple[str, int, int, int, str, int, int, int]


class HashCache:
    """Hashes of local files, remembered by path and :class:`FileState` (device, inode, size,
    mtime_ns, ctime_ns).

    >>> import tempfile, pathlib
    >>> cache = HashCache(":memory:")
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x"; _ = p.write_bytes(b"hello")
    >>> cache.hash(p) == cache.hash(p)
    True
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        try:
            self._open()
        except sqlite3.DatabaseError as e:
            if self.path == ":memory:" or not is_damage(e):
                raise
            self._set_aside(e)
        self.hashed = 0  # files actually read by this instance, for tests and benchmarks
        self._quiet: dict[str, tuple[str, FileState]] = {}  # see quiet_state
        self._pending: list[_Row] | None = None

    def _open(self) -> None:
        self.db = connect(self.path)
        with immediate(self.db):
            if self.db.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
                self.db.execute("DROP TABLE IF EXISTS hashes")  # a cache: rebuilt as used
                self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            self.db.table("hashes").create(
                {"path": str, "size": int, "mtime_ns": int, "inode": int, "hash": str,
                 "hashed_ns": int, "ctime_ns": int, "device": int},
                pk="path",
                if_not_exists=True,
            )

    def _set_aside(self, error: sqlite3.DatabaseError) -> None:
        """A damaged file: move it aside and start an empty cache (files are hashed anew)."""
        with contextlib.suppress(sqlite3.Error, AttributeError):
            self.db.close()
        aside = set_aside(self.path)
        logger.warning("the hash cache %s was damaged (%s); moved it to %s and starting a new "
                       "one", self.path, error, aside)
        self._open()

    def lookup(self, path: str | os.PathLike[str], st: os.stat_result | None = None) -> str | None:
        """The cached hash of ``path`` if the file is unchanged, else None."""
        key = os.path.abspath(path)
        return self.lookup_many([(key, st or os.stat(key))]).get(key)

    def lookup_many(self, files: Iterable[tuple[str, os.stat_result]], *,
                    under: str | None = None) -> dict[str, str]:
        """The cached hashes of the unchanged files among ``(absolute path, stat)`` pairs
        (paths as ``os.path.abspath`` gives them), in a few queries (one per ``BATCH`` files)
        rather than one per file; with ``under``, a folder holding them all, in ONE query."""
        wanted = dict(files)
        keys = list(wanted)
        columns = ("SELECT path, size, mtime_ns, inode, hash, hashed_ns, ctime_ns, device "
                   "FROM hashes")
        if under is not None:
            top = os.path.join(under, "")
            queries = [(f"{columns} WHERE path >= ? AND path < ?",
                        [top, top[:-1] + chr(ord(top[-1]) + 1)])]
        else:
            queries = [(f"{columns} WHERE path IN ({','.join('?' * len(chunk))})", chunk)
                       for chunk in (keys[i:i + BATCH] for i in range(0, len(keys), BATCH))]
        found: dict[str, str] = {}
        for sql, params in queries:
            try:
                with lock_of(self.db):
                    rows = self.db.conn.execute(sql, params).fetchall()
            except sqlite3.DatabaseError as e:
                if self.path == ":memory:" or not is_damage(e):
                    raise
                with lock_of(self.db):
                    self._set_aside(e)
                return {}  # the new cache knows no file
            for path, size, mtime_ns, inode, value, hashed_ns, ctime_ns, device in rows:
                st = wanted.get(path)
                # FileState's comparison, field by field: no objects per file (10,000 in a sync)
                if (st is not None and hashed_ns - mtime_ns > RACY_WINDOW_NS
                        and st.st_mtime_ns == mtime_ns and st.st_size == size
                        and st.st_ctime_ns == ctime_ns and st.st_ino == inode
                        and st.st_dev == device):
                    found[path] = value
        return found

    def hash(self, path: str | os.PathLike[str], st: os.stat_result | None = None) -> str:
        """Hash ``path``, reusing the cached value when the file has not changed (``st``: its
        stat, if just taken)."""
        key = os.path.abspath(path)
        st = st or os.stat(key)
        cached = self.lookup(key, st)
        if cached is not None:
            return cached
        hashed_ns = time.time_ns()  # taken before reading: a write during the read is racy
        value = hash_file(key)
        with lock_of(self.db):
            self.hashed += 1
        if FileState.of(st).holds(os.stat(key)):
            self.record(key, st, value, hashed_ns)
            if hashed_ns - max(st.st_mtime_ns, st.st_ctime_ns) > RACY_WINDOW_NS:
                with lock_of(self.db):
                    self._quiet[key] = (value, FileState.of(st))
        return value

    def quiet_state(self, path: str | os.PathLike[str], hash_string: str) -> FileState | None:
        """The state of ``path`` when this cache hashed it to ``hash_string`` just now, if the
        file had been quiet (unchanged for over two seconds) and stayed so while it was read;
        else None. An upload that finds the file still in that state after reading it sent
        the hashed bytes and need not hash them again (:class:`~eoscatalog.core.hashing.FileState`).
        """
        with lock_of(self.db):
            found = self._quiet.get(os.path.abspath(path))
        return found[1] if found and found[0] == hash_string else None

    def hash_read(self, path: str | os.PathLike[str],
                  st: os.stat_result | None = None) -> tuple[str, bytes]:
        """Read a (small) file whole and hash those bytes: ``(hash, bytes)``, the hash true
        of exactly the bytes returned. Remembered only if the file did not change meanwhile.
        """
        key = os.path.abspath(path)
        st = st or os.stat(key)
        hashed_ns = time.time_ns()  # taken before reading: a write during the read is racy
        with open(key, "rb") as f:
            data = f.read()
        value = hash_bytes(data)
        with lock_of(self.db):
            self.hashed += 1
        if len(data) == st.st_size and FileState.of(st).holds(os.stat(key)):
            self.record(key, st, value, hashed_ns)
        return value, data

    def record(self, path: str | os.PathLike[str], st: os.stat_result, hash_string: str,
               hashed_ns: int) -> None:
        """Remember that the file ``st`` describes hashed to ``hash_string`` when read from
        ``hashed_ns`` on (a time taken before the read began). Inside :meth:`batch`, the
        entry is written with the others when the batch ends."""
        row = (os.path.abspath(path), st.st_size, st.st_mtime_ns, st.st_ino, hash_string,
               hashed_ns, st.st_ctime_ns, st.st_dev)
        with lock_of(self.db):
            if self._pending is not None:
                self._pending.append(row)
                return
        self._write([row])

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Collect the entries :meth:`record` and :meth:`hash` make, and write them in ONE
        transaction at the end (10,000 files: one commit, not 10,000); also on error, since
        every entry describes a file that really hashed so."""
        with lock_of(self.db):
            outer = self._pending is not None
            if not outer:
                self._pending = []
        try:
            yield
        finally:
            if not outer:
                with lock_of(self.db):
                    rows, self._pending = self._pending or [], None
                if rows:
                    self._write(rows)

    def _write(self, rows: list[_Row]) -> None:
        try:
            self._insert(rows)
        except sqlite3.DatabaseError as e:
            if self.path == ":memory:" or not is_damage(e):
                raise
            with lock_of(self.db):
                self._set_aside(e)
            self._insert(rows)

    def _insert(self, rows: list[_Row]) -> None:
        with immediate(self.db):
            self.db.conn.executemany(
                "INSERT OR REPLACE INTO hashes (path, size, mtime_ns, inode, hash, hashed_ns, "
                "ctime_ns, device) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def remember(self, path: str | os.PathLike[str], hash_string: str) -> None:
        """Record a hash known without reading the file (one just written from verified bytes).

        Trusted, like any entry, only if it was recorded two seconds or more after the file's
        mtime (a downloaded file gets its version's time as mtime).
        """
        key = os.path.abspath(path)
        self.record(key, os.stat(key), hash_string, time.time_ns())

    def close(self) -> None:
        """Close the database connection."""
        self.db.close()
