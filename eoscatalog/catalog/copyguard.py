"""Copies beside gc: a copy (``copy``, ``copy_many``: fsspec ``cp``/``mv``, ``promote``),
rollback and undelete name a blob they never stored and have no bytes of (DESIGN.md
invariant 5).

A copy touches the sources' blobs that no live version names (as a put marks a blob it
reuses), checks in every plan, on the freshest state of the source's namespace, that the
source is still readable (a purge that came first makes it refuse), and checks after its
commit that the blob is there: a purge and a whole gc landing between that plan and the commit
leave a version naming a missing blob, which the copy then reports instead of returning. A
rollback or undelete plans in the namespace that holds its source, after any purge of it, so
the version it names is readable at its commit; the blob is checked all the same.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from eoscatalog.core.errors import ConflictError, NotFoundError
from eoscatalog.core.names import Reference
from eoscatalog.log.index import Index
from eoscatalog.log.records import VersionRecord
from eoscatalog.rules.resolution import resolve_in_index
from eoscatalog.store import Store, blob_key

__all__ = ["check_copied", "check_restored", "check_restored_all", "check_sources",
           "mark_sources"]

HEAD_THREADS = 8


def mark_sources(store: Store, origins: list[VersionRecord],
                 is_live: Callable[[str], bool]) -> None:
    """Touch the sources' blobs that no live version names (what gc may be about to take);
    one already gone refuses the copy (NotFoundError)."""
    for origin in {o.hash: o for o in origins if o.hash and not is_live(o.hash)}.values():
        try:
            store.touch(blob_key(origin.hash or ""))
        except NotFoundError:
            raise NotFoundError(
                f"{origin.uri} cannot be copied: its bytes ({origin.hash}) are no longer in "
                f"{store.url} (purged and collected); nothing was copied"
            ) from None


def check_sources(index: Index, refresh: Callable[[str], object],
                  reference: Callable[[str], Reference], now: datetime, namespace: str,
                  origins: list[VersionRecord]) -> None:
    """Refuse a copy to ``namespace`` whose source was purged (or expired) since it was read:
    gc may have taken its bytes. Run in the plan of each commit attempt; the source's
    namespace is refreshed first unless it is the one being committed to (already fresh)."""
    fresh = {namespace}
    for origin in origins:
        if origin.namespace not in fresh:
            refresh(origin.namespace)
            fresh.add(origin.namespace)
        try:
            resolve_in_index(index, reference(origin.uri), now)
        except NotFoundError as e:
            raise NotFoundError(
                f"{origin.uri} cannot be copied: {e}. It changed after the copy read it; "
                "nothing was copied"
            ) from None


def check_copied(store: Store, named: list[tuple[VersionRecord, VersionRecord]]) -> None:
    """After the commit: the blob each new version (``named``: source, new version) names is
    there, or ConflictError saying the source's bytes were collected (no bytes are at hand
    to store again)."""
    distinct = list({record.hash: (origin, record) for origin, record in named
                     if record.hash}.values())

    def missing(pair: tuple[VersionRecord, VersionRecord]) -> bool:
        return not store.has_blob(pair[1].hash or "")

    with ThreadPoolExecutor(min(HEAD_THREADS, max(1, len(distinct)))) as pool:
        gone = [pair for pair, lost in zip(distinct, pool.map(missing, distinct), strict=True)
                if lost]
    if gone:
        origin, record = gone[0]
        more = f" (and {len(gone) - 1} more copies)" if len(gone) > 1 else ""
        raise ConflictError(
            f"{record.uri} was recorded, but the bytes of its source {origin.uri} "
            f"({record.hash}) were purged and collected by gc while the copy committed{more}: "
            f"the new version names a blob that is gone. Put the file again under "
            f"eos://{record.namespace}/{record.name} to restore it."
        )


def check_restored_all(store: Store, records: list[VersionRecord]) -> None:
    """:func:`check_restored` for many versions, their blobs looked for in parallel."""
    if not records:
        return
    with ThreadPoolExecutor(min(HEAD_THREADS, len(records))) as pool:
        list(pool.map(lambda record: check_restored(store, record), records))


def check_restored(store: Store, record: VersionRecord) -> None:
    """After an undelete or rollback: the blob its new version names is there."""
    if record.hash and not store.has_blob(record.hash):
        raise ConflictError(
            f"{record.uri} was recorded, but its bytes ({record.hash}) are missing from "
            f"{store.url}: run `eos verify` and put the file again under "
            f"eos://{record.namespace}/{record.name}"
        )
