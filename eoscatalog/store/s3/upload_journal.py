"""The journal of unfinished multipart uploads (:class:`UploadJournal`): what a killed ``eos put``
or ``eos sync`` had sent, so that its rerun sends only the rest.

One SQLite file (``$EOS_HOME/uploads.sqlite``, its path handed down by whoever opens the store).
An upload is found by the store root, the blob's hash and its size; it names the object key, the
S3 ``UploadId`` and the part size, and each part recorded once the server acknowledged it: its
number, size, ETag, CRC32 and ``digest`` (BLAKE3 over the outboard chunk hashes of the bytes
sent). Nothing here is trusted: before a part is reused the uploader lists the upload's parts on
the server (size and ETag must agree) and reads the file again (the digest must agree), and the
whole blob is hashed before it is completed.

The journal is a cache: a damaged file is set aside (``uploads.sqlite.damaged-<time>``) and a
fresh one started; a journal that cannot be written (read-only ``EOS_HOME``) only costs the
resuming. One process at a time resumes an upload: an entry is claimed by its host and pid, and
one claimed by another live process on this host is left alone.

>>> import tempfile, pathlib
>>> journal = UploadJournal(pathlib.Path(tempfile.mkdtemp()) / "uploads.sqlite")
>>> entry = journal.start("s3://b/org", "blake3:" + "ab" * 32, 20, 8, "org/blobs/x", "U1")
>>> journal.record(entry, JournalPart(1, 8, '"e1"', None, b"d" * 32))
>>> journal.release(entry)
>>> found = journal.find("s3://b/org", "blake3:" + "ab" * 32, 20)
>>> found.upload_id, sorted(found.parts)
('U1', [1])
"""

from __future__ import annotations

import logging
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from eoscatalog.core.sqlite import set_aside

__all__ = ["JournalEntry", "JournalPart", "UploadJournal"]

logger = logging.getLogger(__name__)
T = TypeVar("T")

FORGET_AFTER = 30 * 86400  # seconds: entries this old are dropped unread (long gone)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS uploads (
    id INTEGER PRIMARY KEY, root TEXT NOT NULL, hash TEXT NOT NULL, size INTEGER NOT NULL,
    part_size INTEGER NOT NULL, key TEXT NOT NULL, upload_id TEXT NOT NULL,
    started REAL NOT NULL, owner TEXT NOT NULL, UNIQUE (root, hash, size));
CREATE TABLE IF NOT EXISTS parts (
    upload INTEGER NOT NULL REFERENCES uploads(id) ON DELETE CASCADE, number INTEGER NOT NULL,
    size INTEGER NOT NULL, etag TEXT NOT NULL, checksum TEXT, digest BLOB NOT NULL,
    PRIMARY KEY (upload, number));
"""
_UNWRITABLE = ("locked", "busy", "readonly", "read-only", "unable to open", "disk is full",
               "disk i/o error")


@dataclass(frozen=True)
class JournalPart:
    """One part the server acknowledged: what completion needs, and what proves its bytes."""

    number: int
    size: int
    etag: str
    checksum: str | None  # the part's CRC32 (base64), when it was sent with one
    digest: bytes  # BLAKE3 over the chunk hashes of the part's bytes

    def completed(self) -> dict[str, object]:
        """The part as CompleteMultipartUpload lists it.

        >>> JournalPart(2, 5, '"e"', "AAAA", b"").completed()
        {'PartNumber': 2, 'ETag': '"e"', 'ChecksumCRC32': 'AAAA'}
        """
        part: dict[str, object] = {"PartNumber": self.number, "ETag": self.etag}
        if self.checksum:
            part["ChecksumCRC32"] = self.checksum
        return part


@dataclass(frozen=True)
class JournalEntry:
    """An unfinished upload as the journal remembers it (``id``: its row)."""

    id: int
    key: str
    upload_id: str
    part_size: int
    started: float
    parts: dict[int, JournalPart] = field(default_factory=dict)


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _alive_elsewhere(owner: str) -> bool:
    """Whether ``owner`` (host:pid) is another process on this host that is still running."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class UploadJournal:
    """The unfinished multipart uploads of this machine, in the SQLite file at ``path``.

    Every method is best effort: an error of the file is logged and the upload goes on
    unjournaled (a damaged file is first set aside and a fresh one tried).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._claimed: set[int] = set()  # entries this process is using now

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False,
                                   isolation_level=None)
            try:
                conn.execute("PRAGMA journal_mode = wal")
                conn.execute("PRAGMA synchronous = NORMAL")
                conn.execute("PRAGMA foreign_keys = ON")
                conn.executescript(_SCHEMA)
                conn.execute("DELETE FROM uploads WHERE started < ?",
                              (time.time() - FORGET_AFTER,))
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def _run(self, what: str, action: Callable[[sqlite3.Connection], T]) -> T | None:
        """Run ``action(conn)`` under the lock; on a damaged file set it aside and try once
        more on a fresh one; on any other error of the file log it and return None."""
        with self._lock:
            for attempt in range(2):
                try:
                    return action(self._connection())
                except OSError as e:  # EOS_HOME cannot be made or written
                    logger.info("the upload journal %s could not %s (%s): uploads go on "
                                "without resuming", self.path, what, e)
                    return None
                except sqlite3.Error as e:
                    self._close()
                    text = str(e).lower()
                    if attempt or any(word in text for word in _UNWRITABLE) \
                            or not self.path.exists():
                        logger.info("the upload journal %s could not %s (%s): uploads go on "
                                    "without resuming", self.path, what, e)
                        return None
                    aside = set_aside(self.path)
                    logger.warning("the upload journal %s was damaged (%s): set aside as %s, "
                                   "started afresh", self.path, e, aside)
            return None

    def find(self, root: str, hash_string: str, size: int) -> JournalEntry | None:
        """The unfinished upload of this blob to ``root``, claimed for this process; None when
        there is none, or another process is using it."""

        def find(conn: sqlite3.Connection) -> JournalEntry | None:
            row = conn.execute(
                "SELECT id, key, upload_id, part_size, started, owner FROM uploads "
                "WHERE root = ? AND hash = ? AND size = ?", (root, hash_string, size)).fetchone()
            if row is None or row[0] in self._claimed or _alive_elsewhere(row[5]):
                return None
            conn.execute("UPDATE uploads SET owner = ? WHERE id = ?", (_owner(), row[0]))
            parts = {r[0]: JournalPart(*r) for r in conn.execute(
                "SELECT number, size, etag, checksum, digest FROM parts WHERE upload = ?",
                (row[0],))}
            self._claimed.add(row[0])
            return JournalEntry(row[0], row[1], row[2], row[3], row[4], parts)

        return self._run("be read", find)

    def start(self, root: str, hash_string: str, size: int, part_size: int, key: str,
              upload_id: str) -> int | None:
        """Remember a new upload (replacing an older one of the same blob, unless that one is
        running); its entry id, or None when it goes unjournaled."""

        def start(conn: sqlite3.Connection) -> int | None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute("SELECT id, owner FROM uploads WHERE root = ? AND hash = ? "
                                   "AND size = ?", (root, hash_string, size)).fetchone()
                if row is not None and (row[0] in self._claimed or _alive_elsewhere(row[1])):
                    conn.execute("ROLLBACK")  # another upload of this blob is journaled, and
                    return None  # running: this one goes unjournaled
                conn.execute("DELETE FROM uploads WHERE root = ? AND hash = ? AND size = ?",
                             (root, hash_string, size))
                entry = conn.execute(
                    "INSERT INTO uploads (root, hash, size, part_size, key, upload_id, started,"
                    " owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (root, hash_string, size, part_size, key, upload_id, time.time(),
                     _owner())).lastrowid
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            if entry is not None:
                self._claimed.add(entry)
            return entry

        return self._run("be written", start)

    def record(self, entry: int | None, part: JournalPart) -> None:
        """Remember a part the server acknowledged."""
        if entry is None:
            return
        self._run("be written", lambda conn: conn.execute(
            "INSERT OR REPLACE INTO parts (upload, number, size, etag, checksum, digest) "
            "SELECT id, ?, ?, ?, ?, ? FROM uploads WHERE id = ?",
            (part.number, part.size, part.etag, part.checksum, part.digest, entry)))

    def forget_parts(self, entry: int | None, numbers: list[int]) -> None:
        """Drop parts the server no longer has as recorded."""
        if entry is None or not numbers:
            return
        self._run("be written", lambda conn: conn.executemany(
            "DELETE FROM parts WHERE upload = ? AND number = ?", [(entry, n) for n in numbers]))

    def drop(self, entry: int | None) -> None:
        """Forget an upload: completed, aborted, or gone from the server."""
        if entry is None:
            return
        self._run("be written", lambda conn: conn.execute(
            "DELETE FROM uploads WHERE id = ?", (entry,)))
        self.release(entry)

    def release(self, entry: int | None) -> None:
        """Let another upload in this process resume the entry (this one stopped)."""
        if entry is not None:
            with self._lock:
                self._claimed.discard(entry)

    def _close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None

    def close(self) -> None:
        """Close the file (reopened on next use)."""
        with self._lock:
            self._close()
