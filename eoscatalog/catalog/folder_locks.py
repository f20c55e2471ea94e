"""Reads through folder pins: a name under a folder the active lock pins resolves to its version
in the pinned folder version, and folder reads are recorded as one folder entry.

:class:`FolderLocks` is owned by the :class:`~eoscatalog.catalog.reads.Reader`
(``reader.folder_locks``). A pin is checked once per catalog: its folder version must still be
made by the changeset it was (``seq``) and hold the same bytes (``digest``, ``names``); after
that, each name costs one indexed query (``index.folders.name_at``), never a listing.

>>> from eoscatalog import Catalog, LockFile, use_lock
>>> cat = Catalog.at("memory://", user="ada")
>>> _ = cat.put_bytes(b"1", "eos://org/x/a"); _ = cat.put_bytes(b"2", "eos://org/x/b")
>>> lock = LockFile(); lock.pin_folder(cat.folders.pin("eos://org/x/"))
>>> _ = cat.put_bytes(b"3", "eos://org/x/b")
>>> with use_lock(lock):
...     cat.cat("eos://org/x/b"), cat.resolve("eos://org/x/b").uri
(b'2', 'eos://org/x/b@1')
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from eoscatalog.catalog.snapshots import Snapshots
from eoscatalog.core.errors import ConflictError, IntegrityError, NotFoundError
from eoscatalog.core.folder_reference import FolderReference
from eoscatalog.core.names import Reference
from eoscatalog.lock.active import Members, note_resolved, recording
from eoscatalog.lock.folder_pin import LockedFolder, snapshot_digest
from eoscatalog.log.index import Index
from eoscatalog.log.records import VersionRecord
from eoscatalog.log.snapshot import Snapshot

__all__ = ["FolderLocks"]


class FolderLocks:
    """The folder pins this catalog checked, and the folder versions it described."""

    def __init__(self, index: Index, snapshots: Snapshots) -> None:
        self.index = index
        self.snapshots = snapshots
        self._mutex = threading.Lock()
        self._checked: dict[LockedFolder, Snapshot] = {}
        self._described: dict[tuple[str, str, int], tuple[LockedFolder, Members]] = {}

    def describe(self, snap: Snapshot) -> tuple[LockedFolder, Members]:
        """The pin of a folder version (its digest over its readable names) and those names'
        versions; computed once per folder version (one listing)."""
        key = (snap.namespace, snap.prefix, snap.seq)
        with self._mutex:
            found = self._described.get(key)
        if found is not None:
            return found
        records = [r for r in self.index.folders.snapshot(snap.namespace, snap.prefix, snap.seq)
                   if r.hash]
        pin = LockedFolder(snap.namespace, snap.prefix, snap.version, snap.seq,
                           snapshot_digest(records), len(records))
        members = {r.name: (r.version, r.hash or "") for r in records}
        with self._mutex:
            return self._described.setdefault(key, (pin, members))

    def snapshot(self, pin: LockedFolder) -> Snapshot:
        """The folder version ``pin`` names, checked (once) to be made by the same changeset
        and to hold the same bytes; IntegrityError otherwise."""
        with self._mutex:
            found = self._checked.get(pin)
        if found is not None:
            return found
        ref = FolderReference(pin.namespace, pin.prefix, "version", pin.version)
        try:
            snap = self.snapshots.resolve(ref)
        except NotFoundError as e:
            raise IntegrityError(f"the active lock pins the folder {pin.uri}, which the store's "
                                 f"log no longer has ({e}); was the log rewritten?",
                                 expected=pin.digest, actual="") from None
        now, _ = self.describe(snap)
        moved = pin.seq is not None and snap.seq != pin.seq
        if moved or (now.digest, now.names) != (pin.digest, pin.names):
            what = (f"is made by changeset {snap.seq}, not {pin.seq}" if moved else
                    f"holds {now.names} names with digest {now.digest}, not {pin.names} with "
                    f"{pin.digest}")
            raise IntegrityError(
                f"the active lock pins the folder {pin.uri}, but the store's log no longer gives "
                f"that folder version those bytes: it {what} (was the log rewritten, or the lock "
                "file edited?). Lock the folder again (`eos lock ... --update`) to use what it "
                "holds now", expected=pin.digest, actual=now.digest,
            )
        with self._mutex:
            return self._checked.setdefault(pin, snap)

    def resolve(self, pin: LockedFolder, ref: Reference,
                exact: Callable[[Reference], VersionRecord]) -> VersionRecord:
        """The version ``ref`` (a name under the pinned folder) has in the pinned folder version.

        ``latest`` and tags go to it; pinned references (``@N``, a hash, a time, a folder
        version) must mean it (``exact`` resolves them), or ConflictError says so.
        """
        snap = self.snapshot(pin)
        try:
            expected = self.snapshots.readable(snap, ref.name)
        except NotFoundError as e:
            raise type(e)(f"{e}; the active lock pins the folder {pin.uri}, and a name not in "
                          "that folder version is not in the lock") from None
        if ref.kind in ("latest", "tag"):
            return expected
        record = exact(ref)
        if ref.kind == "hash" and record.hash == expected.hash:
            return expected
        if (record.version, record.hash) != (expected.version, expected.hash):
            raise ConflictError(
                f"{ref.uri} means {record.uri} ({record.hash}), but the active lock pins the "
                f"folder {pin.uri}, which holds {expected.uri} ({expected.hash}): drop the "
                "'@...' part to use the locked version, or update the lock file"
            )
        return record

    def note(self, folder: FolderReference | Snapshot) -> None:
        """Tell open ``record_inputs`` blocks a folder version was read (one folder entry);
        nothing is resolved or computed when nobody records."""
        if recording():
            snap = folder if isinstance(folder, Snapshot) else self.snapshots.resolve(folder)
            pin, members = self.describe(snap)
            note_resolved(pin, members)

    def note_pin(self, pin: LockedFolder) -> None:
        """Record a read through an active folder pin: the pin itself, with its names."""
        if recording():
            note_resolved(pin, self.describe(self.snapshot(pin))[1])
