"""How ``gc`` deletes blobs without losing one a writer names meanwhile (DESIGN.md invariant 5).

A writer that reuses a stored blob touches it (when no live version names it), commits, then
checks the blob is still there and stores it again if not (``ReuseGuard.restore``).
gc moves each blob it means to delete aside to ``trash/`` after reading the catalog and the
blob's last use, reads the catalog once more, puts back what a version now names, and only then
deletes: every commit that names the blob lands either before that second read (gc puts it
back) or after the move (the writer finds the blob gone and stores it again).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from eoscatalog.catalog.reports import GcReport
from eoscatalog.core.errors import NotFoundError, PreconditionFailedError
from eoscatalog.core.units import format_time
from eoscatalog.log.index import Index
from eoscatalog.store import Store
from eoscatalog.store.keys import TOUCHED, TRASH
from eoscatalog.store.outboard import outboard_key

__all__ = ["GC_BATCH", "collect", "empty_trash", "used_since"]

logger = logging.getLogger("eoscatalog")

GC_BATCH = 256  # blobs moved aside between two reads of the catalog


def used_since(store: Store, key: str, cutoff: datetime) -> bool:
    """Whether the blob was written or reused at or after ``cutoff`` (or is gone already)."""
    try:
        used = store.last_used(key)
    except NotFoundError:
        return True  # gone already: nothing to delete
    return used is not None and used >= cutoff


def collect(store: Store, index: Index, refresh: Callable[[], Any],
            candidates: list[tuple[str, str, int]], cutoff: datetime,
            report: GcReport) -> None:
    """Delete the candidates (key, hash, size), a batch at a time; keep every blob a live
    version names by the time it would go (``refresh`` brings the index up to date)."""
    when = format_time(cutoff)
    for start in range(0, len(candidates), GC_BATCH):
        batch = candidates[start:start + GC_BATCH]
        refresh()
        states = index.blob_states(when)
        moved = []
        for key, hash_string, size in batch:
            if states.get(hash_string) == "live" or used_since(store, key, cutoff):
                report.kept_rechecked += 1
                continue
            try:
                store.move(key, TRASH + key)
            except NotFoundError:
                continue  # gone already
            moved.append((key, hash_string, size, states.get(hash_string, "unreferenced")))
        if not moved:
            continue
        # A commit that named one of them before this read is seen here; one after it comes
        # after the move, and its writer finds the blob gone.
        refresh()
        states = index.blob_states(when)
        for key, hash_string, size, reason in moved:
            if states.get(hash_string) == "live":
                put_back(store, key, report)
                report.kept_rechecked += 1
                continue
            report.add(reason, key, size)
            store.delete(outboard_key(hash_string))  # first: never an outboard without a blob
            store.delete(TRASH + key)
            store.delete(TOUCHED + key)


def put_back(store: Store, key: str, report: GcReport) -> None:
    """Move a blob from ``trash/`` back to its key, unless a writer stored it again.

    A trash entry already gone (another gc put it back, or, before moves stamped their
    time, deleted it as old) is not an error: the run goes on, and a blob a live version
    names that is nowhere is logged and counted (``report.lost``).
    """
    try:
        store.move(TRASH + key, key, if_absent=True)
    except PreconditionFailedError:
        store.delete(TRASH + key)  # the same bytes are in place again
    except NotFoundError:
        if store.exists(key):
            return  # put back (or stored again) by someone else
        report.lost.append(key)
        logger.error("gc: %s is named by a live version but is gone from %s and from %s: "
                     "put the file again to restore it", key, store.url, TRASH + key)


def empty_trash(store: Store, index: Index, cutoff: datetime, report: GcReport) -> None:
    """Finish what a gc stopped between moving blobs aside and deleting them: put back at once
    every one a live version names (whatever its age: a gc that died after its move left it
    unreadable), and delete the others moved before ``cutoff`` (a move stamps its time, so
    another gc's batch in progress is left alone)."""
    states = index.blob_states(format_time(cutoff))
    for info in store.list(TRASH):
        key = info.key[len(TRASH):]
        hash_string = "blake3:" + key.rsplit("/", 1)[-1]
        if states.get(hash_string) == "live":
            put_back(store, key, report)
            report.kept_rechecked += 1
            continue
        moved = info.modified_at
        if (moved is not None and moved >= cutoff) or used_since(store, info.key, cutoff):
            continue  # moved aside recently (another gc's batch), or gone already
        report.add(states.get(hash_string, "unreferenced"), key, info.size)
        store.delete(outboard_key(hash_string))
        store.delete(info.key)
        store.delete(TOUCHED + key)
