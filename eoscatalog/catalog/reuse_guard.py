"""Blobs a write reuses (bytes already stored) kept safe from a gc running beside it.

A put whose bytes are already in the store sends nothing; but if no live version names that
blob (an orphan, or one named only by purged or expired versions), gc may be about to take it.
:class:`ReuseGuard`, owned by :class:`~eoscatalog.catalog.writes.Writer`, marks such blobs used
before the commit (gc's grace period then covers them) and checks them again after it, storing
the bytes again if they vanished meanwhile. Writers and gc share one liveness test
(``LIVE_AT``, :mod:`eoscatalog.log.queries`).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from eoscatalog.catalog.ingest import UPLOAD_THREADS, Source, StoredBlob
from eoscatalog.core.errors import NotFoundError
from eoscatalog.core.names import Location
from eoscatalog.core.units import format_time
from eoscatalog.log.index import Index
from eoscatalog.store import Store, blob_key

__all__ = ["ReuseGuard", "in_parallel"]

# Later than every expiry (fixed-width ISO text compares as time).
_END_OF_TIME = "9999-12-31T23:59:59.999999Z"


def in_parallel(call: Callable[[Source, Any], None], items: list[tuple[Source, Any]]) -> None:
    """``call(*item)`` for each item, on the upload threads when there are several.

    >>> seen = []
    >>> in_parallel(lambda source, n: seen.append(n), [(b"a", 1), (b"b", 2)])
    >>> sorted(seen)
    [1, 2]
    """
    if len(items) <= 1:
        for item in items:
            call(*item)
        return
    with ThreadPoolExecutor(UPLOAD_THREADS) as pool:
        list(pool.map(lambda item: call(*item), items))


class ReuseGuard:
    """Marks reused blobs before a commit and stores them again if they vanished."""

    def __init__(self, store: Store, index: Index, now: Callable[[], datetime]) -> None:
        self.store = store
        self.index = index
        self.now = now

    def mark(self, pairs: list[tuple[Source, Location]], stored: list[StoredBlob]) -> None:
        """Touch reused blobs that no live version names (orphans, or named only by purged or
        expired versions: what gc may be about to take), so its grace period covers them until
        the changeset names them."""
        def mark(source: Source, blob: StoredBlob) -> None:
            try:
                self.store.touch(blob_key(blob.hash))
            except NotFoundError:  # collected a moment ago: store the bytes again
                self.restore_one(source, blob.hash)

        in_parallel(mark, [(source, blob) for (source, _), blob in zip(pairs, stored, strict=True)
                           if not blob.uploaded and not self.is_live_now(blob.hash)])

    def is_live_now(self, hash_string: str) -> bool:
        """Whether a version live now names the blob: gc's own test (``LIVE_AT``), at now.

        The clock is read only when an expiry decides: a version that never expires is live
        at the end of time, and a blob no unpurged version names is live at no time (so an
        injected clock, as reproducible example stores use, is read only for the times stamped).
        """
        # A new blob (what most of an upload's are) is settled by the first query.
        if not self.index.hash_is_live(hash_string, ""):  # "" is before every expiry
            return False
        if self.index.hash_is_live(hash_string, _END_OF_TIME):
            return True
        return self.index.hash_is_live(hash_string, format_time(self.now()))

    def restore(self, reused: list[tuple[Source, str]]) -> None:
        """Store again any reused blob that vanished before the changeset naming it landed.

        A reused blob was marked used (``Store.touch``) before the commit, which gc respects;
        this closes the rest of the race: gc checked the blob's last use just before the
        touch and deletes it just after. The bytes are still at hand, so nothing is lost.
        """
        in_parallel(self.restore_one, reused)  # one HEAD each: many at a time

    def restore_one(self, source: Source, hash_string: str) -> None:
        """Store a blob again from its source, unless it is there."""
        if self.store.has_blob(hash_string):
            return
        if isinstance(source, (bytes, bytearray, memoryview)):
            self.store.put_blob_bytes(bytes(source), known_absent=True)
        else:
            self.store.put_blob(hash_string, source, ask_first=True)
