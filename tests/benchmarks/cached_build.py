"""A folder built once and shared (the aws CLI's venv), safe when several builders race.

Two benchmark runs at once (two CI jobs, the test suite's ``--tiny`` run beside a developer's
run) can both find the cached folder missing. :func:`build_once`:

1. returns at once when the folder carries its completion marker for this ``stamp``;
2. else takes an exclusive ``flock`` on ``<folder>.lock`` (kept, never removed: removing it
   would let a third builder lock a new file while the second still holds the old one) and
   looks again, since another builder may have finished meanwhile;
3. removes what a killed build left, builds in place, checks the result, and publishes it by
   writing the marker last, atomically (a temp file renamed over it).

The folder is built in place rather than in a temp folder renamed at the end: a venv cannot be
moved, its scripts name their interpreter by absolute path. The marker is the atomic step
instead: a folder without it is never used.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Callable
from pathlib import Path

MARKER = ".build-complete"


def build_once(folder: Path, build: Callable[[Path], None], check: Callable[[Path], bool], *,
               stamp: str = "") -> Path:
    """``folder``, built by ``build(folder)`` unless a complete build with ``stamp`` is there.

    ``check(folder)`` must be true after the build, else RuntimeError (and nothing is
    published). ``stamp`` names what was built (e.g. a requirement and the Python): a folder
    built with another stamp is built again.
    """
    if _complete(folder, stamp):
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.with_name(folder.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, or the process dies
        if _complete(folder, stamp):
            return folder
        shutil.rmtree(folder, ignore_errors=True)
        build(folder)
        if not check(folder):
            raise RuntimeError(f"built {folder}, but the result does not work; it will be "
                               "built again on the next run")
        temp = folder / f"{MARKER}.{os.getpid()}"
        temp.write_text(stamp)
        os.replace(temp, folder / MARKER)
    return folder


def _complete(folder: Path, stamp: str) -> bool:
    try:
        return (folder / MARKER).read_text() == stamp
    except OSError:
        return False
