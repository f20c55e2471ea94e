"""SQLite connections shared by processes: WAL, a busy timeout, and ``BEGIN IMMEDIATE`` writes.

sqlite-utils sets neither a busy timeout nor immediate transactions. Without them, processes
sharing a file fail with "database is locked" when a deferred read transaction tries to become
a write (SQLite refuses that upgrade at once, whatever the timeout). Every write here therefore
takes the write lock up front, and waits for it.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING


def _import_sqlite_utils() -> ModuleType:
    """Import sqlite-utils without letting it import pandas and numpy.

    sqlite-utils imports them when they are installed, to convert their types in inserts;
    eoscatalog never inserts them, and those imports cost a third of a second in every ``eos``
    command. They stay importable for everything else: only this one import sees them absent.
    """
    hidden = [name for name in ("pandas", "numpy") if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # "import x" raises ImportError
    try:
        return importlib.import_module("sqlite_utils")
    finally:
        for name in hidden:
            if sys.modules.get(name) is None:
                del sys.modules[name]


if TYPE_CHECKING:
    import sqlite_utils
else:
    sqlite_utils = _import_sqlite_utils()

# sqlite_utils: the module, imported lean; the other modules take it from here.
__all__ = ["BUSY_TIMEOUT_MS", "connect", "immediate", "lock_of", "set_aside", "sqlite_utils"]

BUSY_TIMEOUT_MS = 120_000


def connect(path: str | os.PathLike[str]) -> sqlite_utils.Database:
    """Open (creating its folder) a database for concurrent use; ``":memory:"`` works too.

    >>> db = connect(":memory:")
    >>> with immediate(db):
    ...     _ = db["t"].create({"x": int})
    >>> db["t"].count
    0
    """
    path = os.fspath(path)
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
    db = sqlite_utils.Database(conn)
    db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    if path != ":memory:":
        _use_wal(db)
    db.execute("PRAGMA synchronous = NORMAL")
    db._eos_lock = threading.RLock()  # type: ignore[attr-defined]
    return db


def _use_wal(db: sqlite_utils.Database) -> None:
    """Switch the file to WAL, waiting out other processes doing the same.

    Changing the journal mode needs the file to itself, and SQLite answers "database is
    locked" at once, without its busy handler, when another connection holds it at that
    moment (processes opening a new file together meet this): so retry up to the timeout.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    delay = 0.001
    while True:
        try:
            with db.ensure_autocommit_on():
                db.execute("PRAGMA journal_mode = wal")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) and "busy" not in str(e):
                raise
            if time.monotonic() + delay > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def lock_of(db: sqlite_utils.Database) -> threading.RLock:
    """The lock that serializes this connection's use across threads.

    One connection is shared by the threads of a process (uploads hash files in parallel);
    sqlite3 would interleave their transactions ("cannot start a transaction within a
    transaction"), so transactions and multi-statement reads hold this lock.
    """
    lock: threading.RLock | None = getattr(db, "_eos_lock", None)
    if lock is None:  # a Database not made by connect(), e.g. a checkpoint file
        lock = db._eos_lock = threading.RLock()  # type: ignore[attr-defined]
    return lock


@contextlib.contextmanager
def immediate(db: sqlite_utils.Database) -> Iterator[None]:
    """A write transaction that takes the lock up front; sqlite-utils writes nest inside it.

    It also holds the connection's thread lock, so threads sharing the connection take turns.
    """
    with lock_of(db):
        db.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            db.conn.execute("ROLLBACK")
            raise
        db.conn.execute("COMMIT")


def set_aside(path: str | os.PathLike[str]) -> Path:
    """Move a damaged database (and its WAL files) out of the way; return where it went."""
    path = Path(path)
    aside = path.with_name(f"{path.name}.damaged-{time.time_ns()}")
    path.replace(aside)
    for suffix in ("-wal", "-shm"):
        extra = path.with_name(path.name + suffix)
        if extra.exists():
            extra.unlink()
    return aside
