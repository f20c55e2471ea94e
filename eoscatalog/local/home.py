"""This client's local state in ``EOS_HOME``: telling a damaged database from a busy one, setting
damaged caches aside, and saying in one line what to do when EOS_HOME cannot be written.

The index (``index/<store>.sqlite``) and the hash cache (``hashcache.sqlite``) are caches: the
index is a replay of the store's logs and the hash cache is rebuilt as files are hashed. A
damaged one is renamed to ``<file>.damaged-<time>`` (kept for a bug report, never read again)
and a fresh one takes its place; nothing is lost.

>>> import sqlite3
>>> is_damage(sqlite3.DatabaseError("database disk image is malformed"))
True
>>> is_damage(sqlite3.OperationalError("database is locked"))
False
"""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

from eoscatalog.core.sqlite import set_aside

__all__ = ["check_database", "is_damage", "repair", "unwritable_message"]

_SQLITE_CORRUPT, _SQLITE_NOTADB = 11, 26
_DAMAGE_WORDS = ("malformed", "not a database", "database corruption")
_UNWRITABLE_WORDS = ("readonly database", "unable to open database", "disk is full",
                     "disk i/o error", "read-only file system")
FULL_BELOW = 1 << 20  # SQLite says "disk I/O error" when a write finds no space: look
_UNWRITABLE_ERRNOS = {errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM,
                      errno.ENOTDIR, errno.EEXIST, errno.EFBIG}


def is_damage(error: BaseException) -> bool:
    """Whether an error says a SQLite file is damaged (not merely busy, full or read-only)."""
    if not isinstance(error, sqlite3.DatabaseError):
        return False
    code = getattr(error, "sqlite_errorcode", None)  # Python 3.11+
    if code is not None and code & 0xFF in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        return True
    text = str(error).lower()
    return any(word in text for word in _DAMAGE_WORDS)


def check_database(path: str | os.PathLike[str]) -> str | None:
    """What is wrong with the SQLite file at ``path`` (``PRAGMA quick_check``, which reads
    every page: only on the error path), or None if it is sound or absent."""
    if not os.path.isfile(path):
        return None
    try:
        conn = sqlite3.connect(Path(path).as_uri() + "?mode=ro", uri=True, timeout=5)
        try:
            rows = conn.execute("PRAGMA quick_check").fetchall()
        finally:
            conn.close()
    except sqlite3.DatabaseError as e:
        return str(e) if is_damage(e) else None
    problems = [str(row[0]) for row in rows if row and row[0] != "ok"]
    return "; ".join(problems[:3]) or None


def repair(paths: list[Path]) -> list[tuple[Path, Path, str]]:
    """Set aside each damaged database among ``paths``: ``(path, where it went, problem)``."""
    moved = []
    for path in paths:
        problem = check_database(path)
        if problem is not None:
            moved.append((path, set_aside(path), problem))
    return moved


def _disk_state(home: Path) -> str | None:
    """"read-only" or "full" when the filesystem holding ``home`` (or its nearest existing
    parent) is so; else None."""
    for folder in (home, *home.parents):
        try:
            st = os.statvfs(folder)
        except OSError:
            continue
        if st.f_flag & os.ST_RDONLY:
            return "read-only"
        return "full" if st.f_bavail * st.f_frsize < FULL_BELOW else None
    return None


def unwritable_message(error: BaseException, home: Path) -> str | None:
    """One line for an error that means EOS_HOME cannot be written (read-only, full, not a
    folder), naming the path and the fix; None for other errors."""
    if isinstance(error, OSError):
        where = str(error.filename or "")
        inside = where and (where == str(home) or where.startswith(str(home) + os.sep)
                            or str(home).startswith(where + os.sep))
        if error.errno not in _UNWRITABLE_ERRNOS or not inside:
            return None
        problem = error.strerror or str(error)
        fix = "make it writable"
        if error.errno in (errno.ENOTDIR, errno.EEXIST):
            problem, fix = f"{problem} (a file stands where a folder must be)", "move that file"
        elif error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            fix = "free space there"
        return (f"cannot write eoscatalog's local state at {where}: {problem}; EOS_HOME is "
                f"{home}: {fix}, or set EOS_HOME to a writable folder")
    if isinstance(error, sqlite3.OperationalError):
        text = str(error)
        if not any(word in text.lower() for word in _UNWRITABLE_WORDS):
            return None
        state = _disk_state(home)
        problem = f"{text}; its filesystem is {state}" if state else text
        fix = "free space there" if state == "full" else "make it writable"
        return (f"cannot write eoscatalog's local state in {home} ({problem}); {fix}, or set "
                "EOS_HOME to a writable folder")
    return None
