"""Resolving references, fetching verified bytes, listing, and keeping the index up to date:
the reads of :class:`~eoscatalog.catalog.catalog.Catalog`, which parses what callers give and
delegates here.

``latest`` and tags are checked against the store; pinned references are served from the index,
brought up to date only when it cannot answer. A blob found missing is looked for again after a
refresh (another client may have purged its version) before the store is blamed.
"""

from __future__ import annotations

import math
import os
import sqlite3
import time
import warnings
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from eoscatalog.catalog.commit import Settings
from eoscatalog.catalog.folder_locks import FolderLocks
from eoscatalog.catalog.snapshots import Snapshots
from eoscatalog.catalog.transaction import active_transaction
from eoscatalog.core.errors import (
    ConflictError,
    EosWarning,
    InvalidNameError,
    NotFoundError,
    StoreError,
)
from eoscatalog.core.folder_reference import FolderReference
from eoscatalog.core.names import Location, Reference
from eoscatalog.core.tempfiles import clean_stale_once
from eoscatalog.core.units import format_time, parse_duration
from eoscatalog.local.blob_cache import BlobCache
from eoscatalog.local.home import check_database, is_damage
from eoscatalog.local.materialize import materialize, materialize_cached
from eoscatalog.lock.active import active_lock, note_resolved, pin_for
from eoscatalog.log.changesets import changeset_key, list_namespaces
from eoscatalog.log.index import Index
from eoscatalog.log.records import Event, Usage, VersionRecord
from eoscatalog.log.replay import Replay
from eoscatalog.rules.listing import Listing, group_listing
from eoscatalog.rules.resolution import check_settled, resolve_in_index
from eoscatalog.store import Store, blob_key

__all__ = ["MAX_LINK_SECONDS", "Reader", "link_seconds"]

MAX_LINK_SECONDS = 7 * 24 * 3600
T = TypeVar("T")
Resolve = Callable[[Reference], VersionRecord]


def _no_hash(record: VersionRecord) -> RuntimeError:
    return RuntimeError(
        f"internal error: {record.uri} has no hash (a delete marker where bytes were "
        "expected); please report it"
    )


def link_seconds(expires: str | float) -> float:
    """How long a link is asked to last (``30m``, ``48h``, ``7d`` or seconds): 7 days at most.

    >>> link_seconds("48h")
    172800.0
    """
    seconds = parse_duration(expires)
    if seconds > MAX_LINK_SECONDS:
        raise InvalidNameError(
            f"invalid expiry {expires!r}: links last at most 7 days (the S3 SigV4 limit)"
        )
    return seconds


class Reader:
    """Resolves parsed references over the index, reads the blobs they mean, lists names."""

    def __init__(self, store: Store, index: Index, replay: Replay, settings: Settings,
                 clock: Callable[[], datetime]) -> None:
        self.store = store
        self.index = index
        self.replay = replay
        self.settings = settings
        self.clock = clock
        self.snapshots = Snapshots(index, self.refresh_online, settings, clock)
        self.folder_locks = FolderLocks(index, self.snapshots)

    def refresh_online(self, namespace: str) -> None:
        """Bring the namespace's index up to date, unless this catalog is offline."""
        if not self.settings.offline:
            self.replay.refresh(namespace)

    # -- keeping the index up to date ------------------------------------------------------------

    def reindex(self, namespaces: Iterable[str] | None = None) -> dict[str, int]:
        """Rebuild the index from the store (newest checkpoint plus the log's tail).

        Returns the seq each namespace is at afterwards. A damaged index file is set aside
        (``<file>.damaged-<time>``) and rebuilt whole.
        """
        on_disk = self.index.path != ":memory:"
        if on_disk and check_database(self.index.path) is not None:
            self.index.reset()
        try:
            return self.replay.reindex(namespaces)
        except sqlite3.DatabaseError as e:
            if not (on_disk and is_damage(e)):
                raise
            self.index.reset()
            return self.replay.reindex(namespaces)

    def bad_changesets(self, namespaces: list[str] | None = None) -> list[tuple[str, str]]:
        """The changesets replay skipped as malformed, crafted or inconsistent: (key, reason).

        ``namespaces`` (default: every namespace in the store) are brought up to date first.
        A skipped changeset's seq stays used and none of its changes happened; redo what it
        meant with new writes (docs/admin.md).
        """
        found = []
        for namespace in list_namespaces(self.store) if namespaces is None else namespaces:
            self.refresh_online(namespace)
            found += [(changeset_key(namespace, seq), reason)
                      for seq, reason in self.index.bad_changesets(namespace)]
        return found

    # -- resolving -------------------------------------------------------------------------------

    def resolve(self, ref: Reference) -> VersionRecord:
        """The readable version a reference means.

        ``latest`` and tags are checked against the store (one LIST request); pinned references
        (``@N``, ``@blake3:...``, ``@<time>``) are served from the index, which is brought up to
        date only when it cannot answer. While a lock file is active (``use_lock``,
        ``EOS_LOCK``) every name resolves to its pinned version, and a name the lock lacks is
        an error; every resolution is reported to open ``record_inputs`` blocks. A name under a
        folder the lock pins (and no name pin of it names) resolves in the pinned folder version;
        a read through a folder (version) is reported as that one folder.
        """
        lock = active_lock()
        folder = None if lock is None or lock.lookup(ref.namespace, ref.name) else (
            lock.folder_for(ref.namespace, ref.name))
        if folder is not None:
            record = self.folder_locks.resolve(folder, ref, self.resolve_exact)
            self.folder_locks.note_pin(folder)
            return record
        if lock is None:
            record = self.resolve_exact(ref)
            if isinstance(ref.value, FolderReference):  # x.zarr@3/a: one folder entry
                self.folder_locks.note(ref.value)
                return record
        else:
            pin = pin_for(lock, ref.namespace, ref.name)
            pinned = Reference(ref.namespace, ref.name, "version", pin.version)
            # Names and tags move over time: the lock says where they pointed. Pinned
            # references must agree with it (a hash prefix by its bytes alone).
            moving = ref.kind in ("latest", "tag")
            record = self.resolve_exact(pinned if moving else ref)
            if ref.kind == "hash" and record.hash == pin.hash:
                record = self.resolve_exact(pinned)
            if record.version != pin.version or record.hash != pin.hash:
                raise ConflictError(
                    f"{ref.uri} means {record.uri} ({record.hash}), but the active lock pins "
                    f"{pin.uri} ({pin.hash}): drop the '@...' part to use the locked version, "
                    "or update the lock file"
                )
        note_resolved(record)
        return record

    def resolve_exact(self, ref: Reference) -> VersionRecord:
        """The readable version ``ref`` means, past any active lock and recording no input.

        While a transaction is open on the store, a name it wrote means its staged version
        (``latest``, or the number the staged version forecasts).
        """
        if ref.kind == "snapshot":  # a name in a folder version: x.zarr@3/.zgroup
            return self.snapshots.record(ref)
        txn = active_transaction(self.store)
        staged = txn.staged(ref.namespace, ref.name) if txn is not None else None
        if txn is not None and staged is not None and ref.kind in ("latest", "version"):
            forecast = self.index.next_version(ref.namespace, ref.name)
            if ref.kind == "latest" and staged.op == "delete":
                raise txn.missing(ref.namespace, ref.name)
            if ref.kind == "latest" or (ref.value == forecast and staged.op != "delete"):
                return txn.record_of(ref.namespace, staged, forecast, self.settings.user)
        wait = check_settled(ref, self.clock())
        if wait and not self.settings.offline:
            time.sleep(wait)  # a time this recent is answered once it is settled (resolution.py)
        if not ref.is_pinned or (ref.kind == "time" and self._stale_for(ref)):
            self.refresh_online(ref.namespace)
            return resolve_in_index(self.index, ref, self.clock())
        try:
            return resolve_in_index(self.index, ref, self.clock())
        except KeyError:
            if self.settings.offline:
                raise
            self.replay.refresh(ref.namespace)
            return resolve_in_index(self.index, ref, self.clock())

    def _stale_for(self, ref: Reference) -> bool:
        # Changeset times grow with the log's order, so once a changeset made after the
        # instant is applied, nothing still to come can change the answer.
        last = self.index.last_time(ref.namespace)
        if not isinstance(ref.value, datetime):
            raise InvalidNameError(
                f"{ref.uri}: a time reference needs a datetime, not {ref.value!r}"
            )
        return last is None or last <= format_time(ref.value)

    # -- listing ---------------------------------------------------------------------------------

    def versions(self, loc: Location) -> list[VersionRecord]:
        """Every version of a name, oldest first, delete markers and purged ones included."""
        self.refresh_online(loc.namespace)
        history = self.index.versions(loc.namespace, loc.name)
        if not history:
            resolve_in_index(self.index, Reference(loc.namespace, loc.name), self.clock())
        return history

    def ls(self, loc: Location, *, recursive: bool = False, versions: bool = False,
           deleted: bool = False) -> Listing:
        """Names under a prefix, its namespace brought up to date first.

        Like ``aws s3 ls``: the prefix is matched as text, and names continue as folders at the
        next ``/`` unless ``recursive``. Each name shows its latest version; ``versions`` shows
        every version (delete markers included); deleted names appear only with ``deleted``.
        """
        self.refresh_online(loc.namespace)
        if versions:
            records = self.index.versions_under(loc.namespace, loc.name)
            records = sorted([*records, *self._staged(loc)], key=lambda r: r.name)
            return group_listing(loc.namespace, loc.name, records, recursive=recursive,
                                 deleted=True)
        records = self.index.latest_under(loc.namespace, loc.name)
        staged = self._staged(loc)
        if staged:  # an open transaction's writes replace the names' latest versions
            names = {r.name for r in staged}
            records = sorted([r for r in records if r.name not in names] + staged,
                             key=lambda r: r.name)
        return group_listing(loc.namespace, loc.name, records, recursive=recursive,
                             deleted=deleted)

    def _staged(self, loc: Location) -> list[VersionRecord]:
        """The versions an open transaction on the store has staged under ``loc``."""
        txn = active_transaction(self.store)
        if txn is None:
            return []
        return [txn.record_of(loc.namespace, w, self.index.next_version(loc.namespace, w.name),
                              self.settings.user)
                for w in txn.staged_under(loc.namespace, loc.name)]

    def log(self, loc: Location, limit: int = 20) -> list[Event]:
        """The newest ``limit`` changes to names under a prefix, newest first (``eos log``).

        >>> from eoscatalog import Catalog
        >>> cat = Catalog.at("memory://", user="ada")
        >>> _ = cat.put_bytes(b"x", "a.txt"); _ = cat.tag("a.txt@1", "v1")
        >>> [e.what for e in cat.log()]
        ['tag v1', 'put']
        """
        self.refresh_online(loc.namespace)
        return self.index.events_under(loc.namespace, loc.name, limit)

    def du(self, loc: Location) -> Usage:
        """The space names under a prefix take (``eos du``), added up by the index.

        >>> from eoscatalog import Catalog
        >>> cat = Catalog.at("memory://", user="ada")
        >>> _ = cat.put_bytes(b"xy", "a.txt"); _ = cat.put_bytes(b"xy", "b.txt")
        >>> u = cat.du(); (u.names, u.all_versions, u.stored, u.saved)
        (2, 4, 2, 2)
        """
        self.refresh_online(loc.namespace)
        return self.index.usage_under(loc.namespace, loc.name)

    def info(self, record: VersionRecord) -> dict[str, Any]:
        """A resolved version as a dict, with where its bytes live."""
        data = record.to_dict()
        data["blob"] = f"{self.store.url}/{blob_key(record.hash)}" if record.hash else None
        data["versions"] = self.index.next_version(record.namespace, record.name) - 1
        return data

    # -- reading bytes ---------------------------------------------------------------------------

    def with_blob(self, ref: Reference, record: VersionRecord, use: Callable[[str], T],
                  resolve: Resolve | None = None) -> T:
        """Run ``use(hash)``; a missing blob may mean another client purged the version since
        this index last looked, so look again (``resolve``, by default :meth:`resolve`) before
        blaming the store."""
        if record.hash is None:
            raise _no_hash(record)
        try:
            return use(record.hash)
        except NotFoundError:
            if self.settings.offline:
                raise
            self.replay.refresh(record.namespace)
            again = (resolve or self.resolve)(ref)  # raises "was purged" if it was
            if again.hash == record.hash:
                raise
            if again.hash is None:
                raise _no_hash(again) from None
            return use(again.hash)

    def cached(self, ref: Reference, cache: BlobCache | None) -> tuple[VersionRecord, Path]:
        """The verified ``cache`` entry holding the bytes ``ref`` means (fetched if missing)."""
        record = self.resolve(ref)
        if cache is None:
            raise StoreError("this catalog has no cache: use get() or read_bytes()")
        return record, self.with_blob(ref, record,
                                      lambda h: cache.fetch(h, self.store, verify=True))

    def open_cached(self, record: VersionRecord, cache: BlobCache | None) -> BinaryIO | None:
        """The ``cache`` entry holding a version's bytes, open, marked in use and hashed again
        just now (``BlobCache.open_checked``); None when the cache lacks them, or there is no
        cache. Nothing is downloaded: :meth:`cached` fetches a missing blob."""
        return None if cache is None or not record.hash else cache.open_checked(record.hash)

    @staticmethod
    def download_cache(cache: BlobCache | None) -> BlobCache:
        """``cache``, or a StoreError saying how to open a catalog that has one."""
        if cache is None:
            raise StoreError("this catalog has no download cache: open it with "
                             "Catalog.open(), or pass cache=BlobCache(folder)")
        return cache

    def fetch_to(self, ref: Reference | VersionRecord, target: Path, cache: BlobCache | None, *,
                 on_bytes: Callable[[int], None] | None = None, follow_lock: bool = True,
                 via_cache: bool = False) -> VersionRecord:
        """Put the verified bytes ``ref`` means at ``target``; return the version they are.

        Written once: streamed into a temp file beside ``target`` (a small blob on S3: read
        whole and hashed in memory first), hashed, renamed over it if they match (or a verified
        copy of the ``cache`` entry, if it holds the blob); nothing enters the cache unless
        ``via_cache`` (``File.download``: fetched into the cache, then copied).
        ``follow_lock=False`` reads exactly ``ref`` even while a lock file is active, and
        records no input: ``eos sync`` and ``eos cp -r`` copy what a listing showed, and pass
        its versions themselves (a VersionRecord: no lookup, as if ``follow_lock=False``).
        """
        resolve = self.resolve if follow_lock else self.resolve_exact
        if isinstance(ref, VersionRecord):
            record, resolve = ref, self.resolve_exact
            ref = Reference(record.namespace, record.name, "version", record.version)
        else:
            record = resolve(ref)
        clean_stale_once(target.parent)  # what a killed download left there
        if cache is None or not via_cache:
            if record.hash is None or materialize_cached(cache, record.hash, target) is None:
                self.with_blob(ref, record, lambda h: self.store.download_blob(
                    h, target, on_bytes=on_bytes, size=record.size), resolve)
            return record
        entry = self.with_blob(ref, record,
                               lambda h: cache.fetch(h, self.store, on_bytes=on_bytes,
                                                     verify=True),
                               resolve)
        try:
            materialize(entry, target)
        except FileNotFoundError:  # another process pruned the entry just now
            if record.hash is None:
                raise _no_hash(record) from None
            materialize(cache.fetch(record.hash, self.store), target)
        return record

    def get(self, ref: Reference, dest: str | os.PathLike[str] | None, cache: BlobCache | None,
            *, on_bytes: Callable[[int], None] | None = None) -> Path:
        """Download the bytes ``ref`` means to ``dest`` (a file, or a folder to put it in; None:
        the working folder), verified, written once (see :meth:`fetch_to`)."""
        record = self.resolve(ref)
        target = Path(dest) if dest is not None else Path.cwd()
        if dest is None or target.is_dir() or os.fspath(dest).endswith(("/", os.sep)):
            target = target / record.name.rsplit("/", 1)[-1]
        pinned = Reference(record.namespace, record.name, "version", record.version)
        self.fetch_to(pinned, target, cache, on_bytes=on_bytes)
        return target

    def link(self, record: VersionRecord, seconds: float,
             on_warning: Callable[[str], None] | None = None) -> str:
        """A link to ``record``'s bytes that works without credentials for ``seconds``.

        On S3 a presigned GET of the one blob (at most 7 days, the SigV4 limit) that tells
        browsers, ``wget`` and ``curl -OJ`` to save it under the name's last segment; on a
        local store a ``file://`` URL. Warns when the signing credentials expire before the
        link (or passes the message to ``on_warning``, for a caller that warns later or not at
        all).
        """
        if record.hash is None:
            raise _no_hash(record)
        link = self.store.presigned_url(blob_key(record.hash), max(1, math.ceil(seconds)),
                                        filename=record.name.rsplit("/", 1)[-1])
        ends = self.store.credentials_expire_at()
        if ends is not None and ends < self.clock() + timedelta(seconds=seconds):
            message = (f"the link to {record.uri} stops working at {format_time(ends)}, when "
                       "the credentials that signed it expire, before its requested expiry")
            if on_warning is not None:
                on_warning(message)
            else:
                warnings.warn(message, EosWarning, stacklevel=3)
        return link
