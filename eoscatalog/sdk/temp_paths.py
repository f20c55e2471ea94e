"""Temporary local paths of ``File``: writable as given, private, and cleaned up.

``File()`` and ``File(remote=...)`` without ``local=`` get a path in a folder of their own under
``<temp>/eoscatalog-<uid>/`` (``<temp>`` is ``tempfile.gettempdir()``: ``TMPDIR``, else
``/tmp``), never in the current folder. Making the path does no I/O; its folder is created
(0o700) when the path is first used, so a shell can write to it as given
(``!echo 123 > {f.local}``).

Cleanup never removes bytes a user may still need: when the process exits, the folders it made
that are still empty are removed; folders in which nothing changed for ``STALE_AFTER`` (7 days,
the scratch TTL) are removed by the next process that makes a temporary path.

>>> folder = new_temp_folder()
>>> folder.parent.name.startswith("eoscatalog-") and not folder.exists()
True
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import stat
import tempfile
import threading
import time
import uuid
from pathlib import Path

from eoscatalog.core.errors import StoreError

__all__ = [
    "STALE_AFTER", "ensure_temp_folder", "new_temp_folder", "prune_stale", "remove_empty_folders",
    "temp_root",
]

STALE_AFTER = 7 * 24 * 3600
DIR_MODE = 0o700
_FOLDER_NAME = re.compile(r"^[0-9a-f]{16}$")

_lock = threading.Lock()
_made: list[Path] = []  # this process's folders: removed at exit while still empty
_pruned: set[Path] = set()  # roots pruned by this process (once each)
_cleanup_registered = False


def temp_root() -> Path:
    """The per-user folder temporary paths live in: ``<temp>/eoscatalog-<uid>``."""
    who = os.getuid() if hasattr(os, "getuid") else os.environ.get("USERNAME", "user")
    return Path(tempfile.gettempdir()) / f"eoscatalog-{who}"


def new_temp_folder() -> Path:
    """A unique folder name under :func:`temp_root` (not created: no I/O)."""
    return temp_root() / uuid.uuid4().hex[:16]


def ensure_temp_folder(folder: Path) -> None:
    """Create ``folder`` (0o700) and its private root if missing; prune stale folders once.

    Raises StoreError when the root is not a private folder of this user (a symlink, a file, or
    another user's folder in a shared ``/tmp``).
    """
    global _cleanup_registered
    try:
        st = os.lstat(folder)
    except FileNotFoundError:
        st = None
    if st is not None and stat.S_ISDIR(st.st_mode):
        return  # the common case: one lstat per use
    root = folder.parent
    with _lock:
        _ensure_root(root)
        if root not in _pruned:
            _pruned.add(root)
            prune_stale(root)
        try:
            os.mkdir(folder, DIR_MODE)
        except FileExistsError:
            if not stat.S_ISDIR(os.lstat(folder).st_mode):
                raise StoreError(
                    f"the temporary folder {folder} is not a folder (a symlink or a file); "
                    "remove it, or pass local= to File"
                ) from None
            return
        except OSError as e:
            raise StoreError(f"cannot create the temporary folder {folder}: {e.strerror}; "
                             "set TMPDIR to a folder you can write, or pass local= to File"
                             ) from None
        _made.append(folder)
        if not _cleanup_registered:
            atexit.register(remove_empty_folders)
            _cleanup_registered = True


def remove_empty_folders() -> None:
    """Remove the folders this process made that are still empty (run at exit)."""
    with _lock:
        folders, _made[:] = list(_made), []
    for folder in folders:
        try:
            os.rmdir(folder)
        except OSError:
            pass  # something was written there (kept), or it is gone already


def prune_stale(root: Path, *, older_than: float = STALE_AFTER, now: float | None = None) -> int:
    """Remove the folders under ``root`` in which nothing changed for ``older_than`` seconds.

    Only folders named as :func:`new_temp_folder` names them are considered; symlinks are never
    followed. Returns how many were removed.
    """
    cutoff = (time.time() if now is None else now) - older_than
    removed = 0
    try:
        entries = list(os.scandir(root))
    except OSError:
        return 0
    for entry in entries:
        if not _FOLDER_NAME.match(entry.name) or not entry.is_dir(follow_symlinks=False):
            continue
        if _newest_change(Path(entry.path)) < cutoff:
            shutil.rmtree(entry.path, ignore_errors=True)  # another process may race us: fine
            removed += 1
    return removed


def _newest_change(folder: Path) -> float:
    """The latest mtime of ``folder`` and everything in it (symlinks not followed)."""
    newest = 0.0
    for top, dirs, files in os.walk(folder, followlinks=False):
        for name in (".", *dirs, *files):
            try:
                newest = max(newest, os.lstat(os.path.join(top, name)).st_mtime)
            except OSError:
                continue
    return newest


def _ensure_root(root: Path) -> None:
    """Create the per-user root (0o700), or check that the existing one is this user's own.

    In a shared ``/tmp`` another user could have made the folder (or a symlink) first to read
    or swap our files: refused, with what to do.
    """
    try:
        os.mkdir(root, DIR_MODE)
    except FileExistsError:
        pass
    except OSError as e:
        raise StoreError(f"cannot create the temporary folder {root}: {e.strerror}; set "
                         "TMPDIR to a folder you can write, or pass local= to File") from None
    st = os.lstat(root)
    if not stat.S_ISDIR(st.st_mode):
        raise StoreError(
            f"refusing to use {root} for temporary files: it is not a folder (a symlink or a "
            "file). Remove it, set TMPDIR to a private folder, or pass local= to File"
        )
    if hasattr(os, "geteuid") and st.st_uid != os.geteuid():
        raise StoreError(
            f"refusing to use {root} for temporary files: it belongs to another user (uid "
            f"{st.st_uid}). Set TMPDIR to a private folder, or pass local= to File"
        )
    if stat.S_IMODE(st.st_mode) != DIR_MODE:
        os.chmod(root, DIR_MODE)  # ours: the umask (or a chmod) left it open to others
