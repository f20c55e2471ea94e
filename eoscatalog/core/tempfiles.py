"""eoscatalog's own temporary files: one recognisable name, never uploaded, cleaned up when
a killed process left them.

Every temp file eoscatalog makes beside a target (a download, a materialized file, a local
store's object, a lock file or catalog export being saved) is named
``.eos-tmp-<host>-<pid>-<random>``: ``<host>`` is 8 hex digits of a hash of this machine's
name and ``<pid>`` the writing process. Such a file is *stale*, and may be removed, when the
process that wrote it is gone: made on this machine by a pid that no longer runs, or (for names
from another machine, an older eoscatalog, or a pid reused since) untouched for an hour, since
a live write keeps its temp file's mtime fresh.

Folder scans for uploads (``eos sync``, ``eos cp -r``) skip these names, so a temp file is
never published; a download into a folder first removes the stale temp files it finds there.

>>> name = temp_prefix() + "0123abcd"
>>> is_temp_name(name), is_temp_name("data.csv"), is_stale_name(name)
(True, False, False)
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time
from pathlib import Path

__all__ = ["STALE_AFTER_SECONDS", "TEMP_PREFIX", "clean_stale", "clean_stale_once",
           "is_stale_name", "is_temp_name", "temp_prefix"]

TEMP_PREFIX = ".eos-tmp-"
# A live write touches its temp file continuously; one untouched this long was abandoned.
STALE_AFTER_SECONDS = 3600
_HOST = hashlib.blake2b(socket.gethostname().encode("utf-8", "replace"),
                        digest_size=4).hexdigest()

_cleaned: set[str] = set()
_cleaned_lock = threading.Lock()


def temp_prefix() -> str:
    """The start of a temp file's name made by this process: ``.eos-tmp-<host>-<pid>-``."""
    return f"{TEMP_PREFIX}{_HOST}-{os.getpid()}-"


def is_temp_name(filename: str) -> bool:
    """Whether a file name is one of eoscatalog's temp files (any machine, any version)."""
    return filename.startswith(TEMP_PREFIX)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError, OverflowError):
        return True  # it exists (someone else's), or we cannot tell: assume alive
    return True


def is_stale_name(filename: str) -> bool:
    """Whether a temp file's name shows a writer that is gone: this machine, a dead pid.

    Names that cannot tell (another machine, an older eoscatalog) are not stale by name;
    :func:`clean_stale` also goes by age.
    """
    if not is_temp_name(filename):
        return False
    host, _, rest = filename[len(TEMP_PREFIX):].partition("-")
    pid_text, sep, _ = rest.partition("-")
    if host != _HOST or not sep or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    return pid != os.getpid() and not _alive(pid)


def clean_stale(folder: str | os.PathLike[str], *, now: float | None = None) -> list[Path]:
    """Remove the stale eoscatalog temp files directly in ``folder`` (not below it); return
    what was removed. Best effort: a file that cannot be removed is left."""
    now = time.time() if now is None else now
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not is_temp_name(entry.name):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
            if is_stale_name(entry.name) or now - st.st_mtime > STALE_AFTER_SECONDS:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue
    return removed


def clean_stale_once(folder: str | os.PathLike[str]) -> list[Path]:
    """:func:`clean_stale`, the first time this process writes into ``folder`` only (a sync of
    10,000 files into one folder scans it once)."""
    key = os.path.abspath(folder)
    with _cleaned_lock:
        if key in _cleaned:
            return []
        _cleaned.add(key)
    return clean_stale(key)
