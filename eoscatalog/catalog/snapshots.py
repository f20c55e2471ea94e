"""Resolving folder references: which folder version ``eos://org/x.zarr@3/`` (a number, a folder
tag or a time) means, and which version of a name it holds.

The index numbers a folder's versions (:mod:`eoscatalog.log.folder_queries`); this module asks
it, brought up to date the way names are: version numbers are answered from the index and
refreshed only when it cannot answer, tags (which move) after a refresh, and times once they are
settled (``rules.resolution.check_settled``) and the index holds a changeset made after them.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable
from datetime import datetime

from eoscatalog.catalog.commit import Settings
from eoscatalog.core.errors import InvalidNameError, NotFoundError
from eoscatalog.core.folder_reference import FolderReference
from eoscatalog.core.names import Reference
from eoscatalog.core.units import format_time
from eoscatalog.log.index import Index
from eoscatalog.log.records import VersionRecord
from eoscatalog.log.snapshot import Snapshot
from eoscatalog.rules.resolution import check_settled, require_readable

__all__ = ["Snapshots"]


def folder_uri(namespace: str, prefix: str) -> str:
    """``eos://<namespace>/<prefix>``: how messages name a folder."""
    return f"eos://{namespace}/{prefix}"


class Snapshots:
    """Finds folder versions in ``index``; ``refresh(namespace)`` brings it up to date (a
    no-op offline)."""

    def __init__(self, index: Index, refresh: Callable[[str], None], settings: Settings,
                 clock: Callable[[], datetime]) -> None:
        self.index = index
        self.refresh = refresh
        self.settings = settings
        self.clock = clock

    def resolve(self, ref: FolderReference) -> Snapshot:
        """The folder version ``ref`` means; NotFoundError says what the folder has."""
        ns = ref.namespace
        if ref.kind == "time":
            if not isinstance(ref.value, datetime):
                raise InvalidNameError(f"{ref.uri}: a time reference needs a datetime")
            as_name = Reference(ns, ref.prefix[:-1], "time", ref.value)
            wait = check_settled(as_name, self.clock())  # refuses a time still to come
            if wait and not self.settings.offline:
                time.sleep(wait)
            last = self.index.last_time(ns)
            if last is None or last <= format_time(ref.value):
                self.refresh(ns)
            return self._find(ref)
        if ref.kind == "tag":
            self.refresh(ns)  # tags move
            return self._find(ref)
        try:
            return self._find(ref)
        except NotFoundError:
            self.refresh(ns)
            return self._find(ref)

    def _find(self, ref: FolderReference) -> Snapshot:
        ns, prefix = ref.namespace, ref.prefix
        where = folder_uri(ns, prefix)
        seqs = self.index.folders.seqs(ns, prefix)
        if not seqs:
            raise NotFoundError(
                f"no folder {where}: no name was ever written under it (check the spelling and "
                "the namespace; `eos ls` lists what there is)"
            )
        if ref.kind == "version":
            if not isinstance(ref.value, int) or not 1 <= ref.value <= len(seqs):
                raise NotFoundError(
                    f"the folder {where} has no version {ref.value}: its versions are "
                    f"1..{len(seqs)} (see `eos versions {where}`)"
                )
            number = ref.value
        elif ref.kind == "tag":
            tags = self.index.folders.tags(ns, prefix)
            if ref.value not in tags:
                known = ", ".join(tags) or "none"
                raise NotFoundError(
                    f"the folder {where} has no tag {ref.value!r} (its folder tags: {known}; "
                    f"tag a folder version with `eos tag {where[:-1] or where}@N/ TAG`)"
                )
            number = tags[str(ref.value)][0]
        elif ref.kind == "time" and isinstance(ref.value, datetime):
            when = format_time(ref.value)
            number = bisect.bisect_right(seqs, self.index.folders.seq_at_time(ns, when))
            if number == 0:
                first = self.index.folders.changeset_time(ns, seqs[0])
                raise NotFoundError(
                    f"the folder {where} did not exist at {when}: its first version was made "
                    f"at {first}"
                )
        else:
            raise InvalidNameError(f"{ref.uri}: unknown folder reference kind {ref.kind!r}")
        seq = seqs[number - 1]
        return Snapshot(ns, prefix, number, seq, self.index.folders.changeset_time(ns, seq),
                        ref)

    def record(self, ref: Reference) -> VersionRecord:
        """The readable version a name in a folder version (``x.zarr@3/.zgroup``) means."""
        folder = ref.value
        if not isinstance(folder, FolderReference):
            raise InvalidNameError(f"{ref.uri} is not a name in a folder version")
        snap = self.resolve(folder)
        return self.readable(snap, ref.name, ref)

    def readable(self, snap: Snapshot, name: str, ref: Reference | None = None) -> VersionRecord:
        """The version of ``name`` in the snapshot, if it has readable bytes; else the error
        that says why (not written yet, deleted there, purged, expired)."""
        record = self.index.folders.name_at(snap.namespace, name, snap.seq)
        if record is None:
            raise NotFoundError(
                f"{snap.uri_of(name)}: the folder version {snap.uri} has no name "
                f"{name[len(snap.prefix):]!r} (see `eos ls -r {snap.uri}`)"
            )
        asked = ref or Reference(snap.namespace, name, "snapshot", snap.pinned)
        return require_readable(self.index, asked, record, self.clock())
