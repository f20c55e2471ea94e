"""A folder as a versioned dataset: its versions, snapshots, tags, rollback, and reads of it.

:class:`Folders` is owned by :class:`~eoscatalog.catalog.catalog.Catalog`, whose ``ls``, ``du``
and exports take folder references (``eos://org/x.zarr@3/``) through it and which is
its ``folders`` attribute: ``cat.folders.versions(...)``, ``.snapshot``, ``.tag``, ``.untag``,
``.rollback``. Finding which version a reference means is :class:`Snapshots`' job (owned by
the Reader, which also serves names in a folder version, ``x.zarr@3/.zgroup``). Each folder
write is ONE changeset, planned by :mod:`eoscatalog.rules.folder_planning`.

>>> from eoscatalog import Catalog
>>> cat = Catalog.at("memory://", user="ada")
>>> _ = cat.put_bytes(b"1", "runs/a.csv"); _ = cat.put_bytes(b"2", "runs/b.csv")
>>> _ = cat.rm("runs/a.csv")
>>> [(v.version, v.summary) for v in cat.folders.versions("runs/")]
[(1, '+1 ~0 -0'), (2, '+1 ~0 -0'), (3, '+0 ~0 -1')]
>>> [r.name for r in cat.ls("runs@2/").files]
['runs/a.csv', 'runs/b.csv']
"""

from __future__ import annotations

from eoscatalog.catalog.commit import Committer
from eoscatalog.catalog.copyguard import check_restored_all
from eoscatalog.catalog.parser import Parser
from eoscatalog.catalog.reads import Reader
from eoscatalog.catalog.staging import Stager
from eoscatalog.catalog.transaction import active_transaction
from eoscatalog.core.errors import ConflictError, InvalidNameError, NotFoundError
from eoscatalog.core.folder_reference import FolderReference
from eoscatalog.core.names import Location, validate_tag
from eoscatalog.core.units import format_time
from eoscatalog.lock.active import active_lock, recording
from eoscatalog.lock.folder_pin import LockedFolder, snapshot_digest
from eoscatalog.lock.pin import LockedInput
from eoscatalog.log.folder_contents import FolderContents
from eoscatalog.log.folder_version import FolderVersion
from eoscatalog.log.records import Usage, VersionRecord
from eoscatalog.log.snapshot import Snapshot
from eoscatalog.rules.folder_planning import (
    plan_folder_rollback,
    plan_folder_tag,
    plan_folder_untag,
)
from eoscatalog.rules.listing import Listing, contents_of, group_listing

__all__ = ["Folders", "snapshot_digest"]

FolderArg = str | Location | FolderReference


class Folders:
    """Folder versions, snapshots and folder writes for one catalog."""

    def __init__(self, parser: Parser, reader: Reader, committer: Committer,
                 stager: Stager) -> None:
        self.parser = parser
        self.reader = reader
        self.committer = committer
        self.stager = stager
        self.index = committer.index

    # -- what a reference means ------------------------------------------------------------------

    def reference(self, text: FolderArg) -> tuple[FolderReference, str] | None:
        """The folder reference in ``text`` and the path after it, or None (a plain prefix):
        ``x.zarr@3``, ``x.zarr@3/`` and ``x.zarr@3/sub/`` all name folder version 3."""
        return self.parser.folder_reference(text, as_folder=True)

    def snapshot(self, text: FolderArg) -> Snapshot:
        """The folder version a folder reference means (a plain folder: its latest version, or
        under an active lock pinning it or a folder above it, its version as of that pin)."""
        found = self.reference(text)
        if found is None:
            if isinstance(text, FolderReference):
                raise InvalidNameError(f"internal error: {text!r} was not read as a folder")
            loc = self.parser.folder(text)
            self.reader.refresh_online(loc.namespace)
            lock = active_lock()
            pin = lock.folder_for(loc.namespace, loc.name) if lock is not None else None
            # Under a locked folder: the version there as of the lock's (not the latest).
            until = self.reader.folder_locks.snapshot(pin).seq if pin is not None else None
            count = len(self.index.folders.seqs(loc.namespace, loc.name, until=until))
            found = FolderReference(loc.namespace, loc.name, "version", max(count, 1)), ""
        ref, rest = found
        if rest.strip("/"):
            raise InvalidNameError(
                f"{text!r} names a path inside the folder version {ref.uri}, not the folder: "
                f"use {ref.uri}"
            )
        return self.reader.snapshots.resolve(ref)

    def records(self, snap: Snapshot, prefix: str | None = None) -> list[VersionRecord]:
        """The readable names' versions in a snapshot (under ``prefix``, default the folder)."""
        return self.index.folders.snapshot(snap.namespace, prefix or snap.prefix, snap.seq)

    def digest(self, snap: Snapshot) -> str:
        """:func:`snapshot_digest` of the snapshot."""
        return snapshot_digest(self.records(snap))

    def pin(self, text: FolderArg) -> LockedFolder:
        """The lock entry of the folder version ``text`` means (a plain folder: its latest
        version): ``LockFile.pin_folder(cat.folders.pin("eos://org/x.zarr/"))``; ``eos lock
        eos://org/x.zarr/`` writes it."""
        return self.reader.folder_locks.describe(self.snapshot(text))[0]

    def download_source(self, listed: str | Location) -> str | Location:
        """What a recursive download of ``listed`` (a folder, or a folder version's URI) lists:
        while ``record_inputs`` is open, the folder version it means, pinned, noted as ONE
        input (so the listing is the version recorded); otherwise ``listed`` itself."""
        if not recording():
            return listed
        found = self.reference(listed) if isinstance(listed, str) else None
        ref, rest = found if found is not None else (None, "")
        if ref is None:
            loc = self.parser.folder(listed)
            lock = active_lock()
            pin = lock.folder_for(loc.namespace, loc.name) if lock is not None else None
            if pin is not None:  # the lock's folder version: what the listing shows
                self.reader.folder_locks.note_pin(pin)
                return pin.uri_of(loc.name)
            try:
                snap = self.snapshot(loc)
            except NotFoundError:
                return listed  # nothing there: the listing says so
        else:
            snap = self.reader.snapshots.resolve(ref)
        self.reader.folder_locks.note(snap)
        return snap.uri_of(snap.prefix + rest)

    # -- reads -----------------------------------------------------------------------------------

    def ls(self, text: FolderArg, *, recursive: bool = False, versions: bool = False,
           deleted: bool = False) -> Listing:
        """``Catalog.ls``: a folder version's names (each at its version there), or a prefix's."""
        found = self.reference(text)
        if found is None:
            loc = self.parser.prefix(text) if not isinstance(
                text, FolderReference) else Location(text.namespace, text.prefix)
            lock = None if versions else active_lock()
            pin = lock.folder_for(loc.namespace, loc.name) if lock is not None else None
            if lock is not None and pin is not None:  # under a locked folder: its version
                snap = self.reader.folder_locks.snapshot(pin)
                records = [self._pinned(lock.lookup(loc.namespace, r.name), r) for r in
                           self.index.folders.snapshot(loc.namespace, loc.name, snap.seq,
                                                       deleted=deleted)]
                return group_listing(loc.namespace, loc.name, records, recursive=recursive,
                                     deleted=deleted)
            return self.reader.ls(loc, recursive=recursive, versions=versions, deleted=deleted)
        if versions:
            raise InvalidNameError(
                f"{found[0].uri} is one folder version: list every version of its names with "
                f"`eos ls --versions {found[0].uri.split('@')[0]}/`, or the folder's versions with "
                f"`eos versions {found[0].uri.split('@')[0]}/`"
            )
        ref, rest = found
        snap = self.reader.snapshots.resolve(ref)
        prefix = snap.prefix + rest
        if not recursive:  # sub-folders grouped by the index, not from every record
            folders, files = self.index.folders.children(snap.namespace, prefix, snap.seq,
                                                         deleted=deleted)
            return Listing(snap.namespace, prefix, tuple(folders), tuple(files))
        records = self.index.folders.snapshot(snap.namespace, prefix, snap.seq, deleted=deleted)
        return group_listing(snap.namespace, prefix, records, recursive=True, deleted=deleted)

    def contents(self, text: FolderArg) -> FolderContents:
        """What a folder holds one level down (``eos ui``'s tree): its sub-folders, each with
        how many names are under it and their bytes, and the names right under it. A plain
        folder shows each name's latest version, a folder version (``x.zarr@3/``,
        ``runs@<time>/``) each name's version there; names deleted there are left out.

        The same answer as grouping ``ls(text, recursive=True)`` by the next ``/``, but
        grouped by the index in SQL: a folder of 100,000 names in 1,000 sub-folders makes
        1,000 rows, not 100,000 records. While a transaction is open on the store, or a lock
        pins the folder, it is that grouping (the staged or pinned versions are not in SQL).
        """
        found = self.reference(text)
        if found is not None:
            ref, rest = found
            snap = self.reader.snapshots.resolve(ref)
            ns, prefix, seq = snap.namespace, snap.prefix + rest, snap.seq
            return FolderContents(ns, prefix, tuple(self.index.folders.subfolders(ns, prefix, seq)),
                                  tuple(self.index.folders.files(ns, prefix, seq)))
        loc = self.parser.folder(text) if not isinstance(text, FolderReference) else Location(
            text.namespace, text.prefix)
        lock = active_lock()
        if active_transaction(self.reader.store) is not None or (
                lock is not None and lock.folder_for(loc.namespace, loc.name) is not None):
            return contents_of(self.ls(loc, recursive=True))
        self.reader.refresh_online(loc.namespace)
        folders = self.index.subfolders_under(loc.namespace, loc.name)
        files = [r for r in self.index.latest_under(loc.namespace, loc.name, direct=True)
                 if not r.is_delete_marker]
        return FolderContents(loc.namespace, loc.name, tuple(folders), tuple(files))

    def _pinned(self, pin: LockedInput | None, record: VersionRecord) -> VersionRecord:
        """``record``, or the version a name pin inside a locked folder gives the name."""
        if pin is None or pin.version == record.version:
            return record
        return self.index.version(record.namespace, record.name, pin.version) or record

    def du(self, text: FolderArg) -> Usage:
        """``Catalog.du``: the space of a folder version's names (each blob counted once in
        ``stored``), or of a prefix's."""
        found = self.reference(text)
        if found is None:
            return self.reader.du(self.parser.prefix(text) if not isinstance(
                text, FolderReference) else Location(text.namespace, text.prefix))
        ref, rest = found
        snap = self.reader.snapshots.resolve(ref)
        records = self.records(snap, snap.prefix + rest)
        logical = sum(r.size or 0 for r in records)
        stored = sum({r.hash: r.size or 0 for r in records if r.hash}.values())
        return Usage(names=len(records), versions=len(records), logical=logical,
                     all_versions=logical, stored=stored)

    def versions(self, prefix: str | Location) -> list[FolderVersion]:
        """Every version of a folder, oldest first (``eos versions PREFIX/``)."""
        loc = self.parser.folder(prefix)
        self.reader.refresh_online(loc.namespace)
        found = self.index.folders.versions(loc.namespace, loc.name)
        if not found:
            raise NotFoundError(
                f"no folder {loc.uri}: no name was ever written under it (check the spelling "
                "and the namespace; `eos ls` lists what there is)"
            )
        return found

    # -- writes ----------------------------------------------------------------------------------

    def tag(self, text: FolderArg, tag: str, *, force: bool = False,
            message: str = "") -> Snapshot:
        """Point the folder tag ``tag`` at the folder version ``text`` means (``x.zarr@3/``, or
        a plain folder: its latest version); return that version."""
        self.stager.refuse("tag")
        validate_tag(tag)
        snap = self.snapshot(text)
        self.committer.check_write(snap.namespace)
        self.committer.commit(
            snap.namespace, lambda: plan_folder_tag(self.index, snap, tag, force=force), message)
        return snap

    def untag(self, prefix: str | Location, tag: str, *, message: str = "") -> None:
        """Remove a folder tag."""
        self.stager.refuse("untag")
        validate_tag(tag)
        loc = self.parser.folder(prefix)
        self.committer.check_write(loc.namespace)
        self.committer.commit(
            loc.namespace, lambda: plan_folder_untag(self.index, loc.namespace, loc.name, tag),
            message)

    def rollback(self, prefix: str | Location, to: int | str, *,
                 message: str = "") -> list[VersionRecord]:
        """Make the folder hold what its version ``to`` held (a number, a folder tag or a time),
        in ONE changeset; return the versions made (none if it holds that already)."""
        self.stager.refuse("rollback")
        loc = self.parser.folder(prefix)
        if not loc.name:
            raise InvalidNameError("rollback takes a folder, not a whole namespace: name the "
                                   "folder (eos://org/x.zarr/)")
        selector = str(to).lstrip("@").rstrip("/")
        snap = self.snapshot(f"{loc.uri[:-1]}@{selector}/")
        self.committer.check_write(loc.namespace)
        expires = self.committer.expiry(loc.namespace)
        changeset = self.committer.commit(
            loc.namespace,
            lambda: plan_folder_rollback(self.index, snap, expires=expires,
                                         now=format_time(self.committer.now())),
            message)
        if changeset is None:
            return []
        made = [self.index.version(loc.namespace, e.name, e.version or 0)
                for e in changeset.entries]
        if any(r is None for r in made):
            raise ConflictError(f"a version the rollback of {loc.uri} made was purged at the "
                                "same moment; see `eos versions` for what the log holds")
        records = [r for r in made if r is not None]
        check_restored_all(self.committer.store, [r for r in records if r.hash])
        return records
