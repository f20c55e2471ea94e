"""Catalog: names and their versions over a content-addressed store, the one entry point.

It combines the store (where the truth lives: blobs and the log) with the index (this client's
replay of the log). Every write checks what can be refused, stores the blobs, verified, and then
commits a changeset planned on the freshest state (:meth:`Replay.commit`).

>>> from eoscatalog.store import MemoryStore
>>> cat = Catalog(MemoryStore(), ":memory:", user="ada")
>>> cat.put_bytes(b"a,b\\n1,2\\n", "tables/t.csv").record.uri
'eos://users/ada/tables/t.csv@1'
>>> cat.cat("tables/t.csv@1")
b'a,b\\n1,2\\n'
"""

from __future__ import annotations

import math
import os
import sqlite3
import time
import warnings
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar

from eoscatalog.catalog.exports import CatalogExports
from eoscatalog.catalog.maintenance import CatalogMaintenance
from eoscatalog.catalog.ranged import VerifiedRanges
from eoscatalog.catalog.writes import CatalogWrites, PutResult
from eoscatalog.core.errors import (
    ConflictError,
    EosWarning,
    InvalidNameError,
    NotFoundError,
    StoreError,
)
from eoscatalog.core.names import (
    Location,
    Reference,
    parse_location,
    parse_reference,
    validate_name,
    validate_namespace,
)
from eoscatalog.core.tempfiles import clean_stale_once
from eoscatalog.core.units import format_time, parse_duration
from eoscatalog.local.blob_cache import BlobCache
from eoscatalog.local.cache_prune import CacheInfo, PruneResult
from eoscatalog.local.config import Config
from eoscatalog.local.hash_cache import HashCache
from eoscatalog.local.home import check_database, is_damage
from eoscatalog.local.materialize import materialize
from eoscatalog.lock.active import active_lock, note_resolved, pin_for
from eoscatalog.log.changesets import changeset_key, changesets_written, list_namespaces
from eoscatalog.log.index import Index
from eoscatalog.log.records import Event, Usage, VersionRecord
from eoscatalog.log.replay import Replay
from eoscatalog.rules.listing import Listing, group_listing
from eoscatalog.rules.resolution import check_settled, resolve_in_index
from eoscatalog.store import Store, blob_key, open_store

__all__ = ["Catalog", "PutResult"]

T = TypeVar("T")
MAX_LINK_SECONDS = 7 * 24 * 3600


class Catalog(CatalogWrites, CatalogExports, CatalogMaintenance):
    """Versioned names over a store, replayed into a local SQLite index.

    ``index`` is a path (``":memory:"`` for a throwaway index) or an :class:`Index`.
    """

    def __init__(
        self,
        store: Store,
        index: Index | str | os.PathLike[str],
        *,
        user: str,
        default_namespace: str = "users/me",
        admin: bool = False,
        offline: bool = False,
        hash_cache: HashCache | None = None,
        cache: BlobCache | None = None,
        checkpoint_every: int = 100,
        scratch_ttl: str | float = "7d",
        single_writer: bool = False,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.store = store
        self.index = index if isinstance(index, Index) else Index(index)
        self.user = user
        self.default_namespace = default_namespace
        self.admin = admin
        self.offline = offline
        self.hash_cache = hash_cache or HashCache(":memory:")
        self.cache = cache
        self.single_writer = single_writer
        self.replay = Replay(
            store, self.index, checkpoint_every=checkpoint_every, single_writer=single_writer
        )
        self.scratch_ttl = parse_duration(scratch_ttl)
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        parse_location("x", user=user, default_namespace=default_namespace)  # validate early

    @classmethod
    def open(
        cls, config: Config | None = None, *, create: bool = False, **overrides: Any
    ) -> Catalog:
        """The catalog the environment and ``$EOS_HOME/config.yaml`` describe.

        The embedded store is created on first use; a local folder given as the store is
        created only with ``create`` (as ``eos init`` does); an S3 bucket must exist.
        """
        config = config or Config.load(**overrides)
        s3 = config.store_root.startswith("s3://")
        options: dict[str, Any] = {}
        if s3:
            options = {"endpoint_url": config.endpoint_url, "region": config.region,
                       "max_attempts": config.max_attempts}
        store = open_store(config.store_root, create=create or config.is_embedded, **options)
        return cls(
            store,
            config.index_path,
            user=config.user,
            default_namespace=config.default_namespace,
            admin=config.admin,
            offline=config.offline,
            hash_cache=HashCache(config.hashcache_path),
            cache=BlobCache(config.cache_dir, max_size=config.cache_max_bytes),
            checkpoint_every=config.checkpoint_every,
            scratch_ttl=config.scratch_ttl,
            single_writer=config.single_writer,
        )

    def check_store(self) -> None:
        """Make one listing request, so a missing bucket or a bad endpoint fails now, clearly."""
        self.store.list_dirs("catalog/")

    def close(self) -> None:
        """Close the index, the hash cache and the store's connections."""
        self.index.close()
        self.hash_cache.close()
        self.store.close()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Catalog(store={self.store.url!r}, user={self.user!r})"

    # -- parsing ---------------------------------------------------------------------------------

    def reference(self, ref: str | Reference) -> Reference:
        """Parse a reference with this catalog's user and default namespace."""
        if isinstance(ref, Reference):  # built by callers: check it as a parsed one would be
            return Reference(validate_namespace(ref.namespace, user=self.user),
                             validate_name(ref.name), ref.kind, ref.value)
        return parse_reference(ref, user=self.user, default_namespace=self.default_namespace)

    def location(self, name: str | Location) -> Location:
        """Parse a name or URI (no ``@`` selector allowed)."""
        if isinstance(name, Location):
            # Built by callers: check both parts, as parsing would.
            return Location(validate_namespace(name.namespace, user=self.user),
                            validate_name(name.name))
        if "@" in name:
            raise InvalidNameError(
                f"{name!r} has an '@' selector, but this operation takes a name: drop the "
                "'@...' part"
            )
        return parse_location(name, user=self.user, default_namespace=self.default_namespace)

    def folder(self, uri: str | Location) -> Location:
        """A URI or prefix as a folder: ``eos://org/p`` -> ``("org", "p/")``; the root is ``""``.

        >>> from eoscatalog.store import MemoryStore
        >>> Catalog(MemoryStore(), ":memory:", user="ada").folder("eos://org/p")
        Location(namespace='org', name='p/')
        """
        loc = uri if isinstance(uri, Location) else parse_location(
            uri, user=self.user, default_namespace=self.default_namespace, allow_prefix=True
        )
        name = loc.name if not loc.name or loc.name.endswith("/") else loc.name + "/"
        return Location(loc.namespace, name)

    def _now(self) -> datetime:
        return self._clock()

    # -- keeping the index up to date ------------------------------------------------------------

    def refresh(self, namespace: str) -> int:
        """Apply the namespace's new changesets to the index; return how many were applied.

        A warm index costs one LIST request; a cold one starts from the newest checkpoint.
        """
        return self.replay.refresh(namespace)

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

    def bad_changesets(self, namespaces: Iterable[str] | None = None) -> list[tuple[str, str]]:
        """The changesets replay skipped as malformed, crafted or inconsistent: (key, reason).

        ``namespaces`` (default: every namespace in the store) are brought up to date first.
        A skipped changeset's seq stays used and none of its changes happened; redo what it
        meant with new writes (docs/admin.md).
        """
        chosen = (list_namespaces(self.store) if namespaces is None
                  else [validate_namespace(ns, user=self.user) for ns in namespaces])
        found = []
        for namespace in chosen:
            self._refresh_online(namespace)
            found += [(changeset_key(namespace, seq), reason)
                      for seq, reason in self.index.bad_changesets(namespace)]
        return found

    def stored_changeset(self, namespace: str, seq: int) -> bytes:
        """The bytes of changeset ``seq`` of ``namespace`` as the store holds them."""
        return self.store.get(changeset_key(validate_namespace(namespace, user=self.user), seq))

    def _refresh_online(self, namespace: str) -> None:
        if not self.offline:
            self.refresh(namespace)

    # -- reading ---------------------------------------------------------------------------------

    def resolve(self, ref: str | Reference) -> VersionRecord:
        """The readable version a reference means.

        ``latest`` and tags are checked against the store (one LIST request); pinned references
        (``@N``, ``@blake3:...``, ``@<time>``) are served from the index, which is brought up to
        date only when it cannot answer. While a lock file is active (``use_lock``,
        ``EOS_LOCK``) every name resolves to its pinned version, and a name the lock lacks is
        an error; every resolution is reported to open ``record_inputs`` blocks.
        """
        ref = self.reference(ref)
        lock = active_lock()
        if lock is None:
            record = self._resolve(ref)
        else:
            pin = pin_for(lock, ref.namespace, ref.name)
            pinned = Reference(ref.namespace, ref.name, "version", pin.version)
            # Names and tags move over time: the lock says where they pointed. Pinned
            # references must agree with it (a hash prefix by its bytes alone).
            moving = ref.kind in ("latest", "tag")
            record = self._resolve(pinned if moving else ref)
            if ref.kind == "hash" and record.hash == pin.hash:
                record = self._resolve(pinned)
            if record.version != pin.version or record.hash != pin.hash:
                raise ConflictError(
                    f"{ref.uri} means {record.uri} ({record.hash}), but the active lock pins "
                    f"{pin.uri} ({pin.hash}): drop the '@...' part to use the locked version, "
                    "or update the lock file"
                )
        note_resolved(record)
        return record

    def _resolve(self, ref: Reference) -> VersionRecord:
        wait = check_settled(ref, self._now())
        if wait and not self.offline:
            time.sleep(wait)  # a time this recent is answered once it is settled (resolution.py)
        if not ref.is_pinned or (ref.kind == "time" and self._stale_for(ref)):
            self._refresh_online(ref.namespace)
            return resolve_in_index(self.index, ref, self._now())
        try:
            return resolve_in_index(self.index, ref, self._now())
        except KeyError:
            if self.offline:
                raise
            self.refresh(ref.namespace)
            return resolve_in_index(self.index, ref, self._now())

    def _stale_for(self, ref: Reference) -> bool:
        # Changeset times grow with the log's order, so once a changeset made after the
        # instant is applied, nothing still to come can change the answer.
        last = self.index.last_time(ref.namespace)
        if not isinstance(ref.value, datetime):
            raise InvalidNameError(
                f"{ref.uri}: a time reference needs a datetime, not {ref.value!r}"
            )
        return last is None or last <= format_time(ref.value)

    def versions(self, name: str | Location) -> list[VersionRecord]:
        """Every version of a name, oldest first, delete markers and purged ones included."""
        loc = self.location(name)
        self._refresh_online(loc.namespace)
        history = self.index.versions(loc.namespace, loc.name)
        if not history:
            resolve_in_index(self.index, Reference(loc.namespace, loc.name), self._now())
        return history

    def ls(
        self,
        prefix: str | Location = "",
        *,
        recursive: bool = False,
        versions: bool = False,
        deleted: bool = False,
    ) -> Listing:
        """Names under a prefix (a bare prefix, or an ``eos://`` URI ending anywhere).

        Like ``aws s3 ls``: the prefix is matched as text, and names continue as folders at the
        next ``/`` unless ``recursive``. Each name shows its latest version; ``versions`` shows
        every version (delete markers included); deleted names appear only with ``deleted``.
        """
        loc = self._prefix(prefix)
        if versions:
            records = self.index.versions_under(loc.namespace, loc.name)
            return group_listing(loc.namespace, loc.name, records, recursive=recursive,
                                 deleted=True)
        records = self.index.latest_under(loc.namespace, loc.name)
        return group_listing(loc.namespace, loc.name, records, recursive=recursive,
                             deleted=deleted)

    def prefix(self, uri: str | Location) -> Location:
        """Parse a prefix: a bare one or an ``eos://`` URI ending anywhere, matched as text.

        >>> from eoscatalog.store import MemoryStore
        >>> Catalog(MemoryStore(), ":memory:", user="ada").prefix("eos://org/tables/t")
        Location(namespace='org', name='tables/t')
        """
        if isinstance(uri, Location):
            return Location(validate_namespace(uri.namespace, user=self.user), uri.name)
        return parse_location(
            uri, user=self.user, default_namespace=self.default_namespace, allow_prefix=True
        )

    def _prefix(self, uri: str | Location) -> Location:
        loc = self.prefix(uri)
        self._refresh_online(loc.namespace)
        return loc

    def log(self, prefix: str | Location = "", limit: int = 20) -> list[Event]:
        """The newest ``limit`` changes to names under a prefix, newest first (``eos log``).

        Each entry of each changeset is one :class:`Event`: new versions, delete markers,
        rollbacks, tags and untags, purges.

        >>> from eoscatalog.store import MemoryStore
        >>> cat = Catalog(MemoryStore(), ":memory:", user="ada")
        >>> _ = cat.put_bytes(b"x", "a.txt"); _ = cat.tag("a.txt@1", "v1")
        >>> [e.what for e in cat.log()]
        ['tag v1', 'put']
        """
        loc = self._prefix(prefix)
        return self.index.events_under(loc.namespace, loc.name, limit)

    def history(self, prefix: str | Location = "", limit: int = 20) -> list[Event]:
        """Alias of :meth:`log` (its name before it took the name of ``eos log``); kept."""
        return self.log(prefix, limit)

    def du(self, prefix: str | Location = "") -> Usage:
        """The space names under a prefix take (``eos du``), added up by the index.

        >>> from eoscatalog.store import MemoryStore
        >>> cat = Catalog(MemoryStore(), ":memory:", user="ada")
        >>> _ = cat.put_bytes(b"xy", "a.txt"); _ = cat.put_bytes(b"xy", "b.txt")
        >>> u = cat.du(); (u.names, u.all_versions, u.stored, u.saved)
        (2, 4, 2, 2)
        """
        loc = self._prefix(prefix)
        return self.index.usage_under(loc.namespace, loc.name)

    def usage(self, prefix: str | Location = "") -> Usage:
        """Alias of :meth:`du` (its name before it took the name of ``eos du``); kept."""
        return self.du(prefix)

    def cached(self, ref: str | Reference) -> tuple[VersionRecord, Path]:
        """The verified cache entry holding the bytes ``ref`` means (fetched if missing)."""
        record = self.resolve(ref)
        if self.cache is None:
            raise StoreError("this catalog has no cache: use get() or read_bytes()")
        cache = self.cache
        return record, self._with_blob(ref, record,
                                       lambda h: cache.fetch(h, self.store, verify=True))

    def info(self, ref: str | Reference) -> dict[str, Any]:
        """The resolved version as a dict, with where its bytes live."""
        record = self.resolve(ref)
        data = record.to_dict()
        data["blob"] = f"{self.store.url}/{blob_key(record.hash)}" if record.hash else None
        data["versions"] = self.index.next_version(record.namespace, record.name) - 1
        return data

    def get(self, ref: str | Reference, dest: str | os.PathLike[str] | None = None, *,
            on_bytes: Callable[[int], None] | None = None) -> Path:
        """Download the bytes ``ref`` means to ``dest`` (a file, or a folder to put it in).

        The bytes are verified while they stream (into the shared cache when this catalog has
        one); ``dest`` is replaced only by complete, verified bytes.
        """
        record = self.resolve(ref)
        target = Path(dest) if dest is not None else Path.cwd()
        if dest is None or target.is_dir() or os.fspath(dest).endswith(("/", os.sep)):
            target = target / record.name.rsplit("/", 1)[-1]
        self.fetch_to(record.uri, target, on_bytes=on_bytes)
        return target

    def fetch_to(self, ref: str | Reference, dest: str | os.PathLike[str], *,
                 on_bytes: Callable[[int], None] | None = None,
                 follow_lock: bool = True) -> VersionRecord:
        """Put the verified bytes ``ref`` means at ``dest``; return the version they are.

        With a cache, the blob is fetched into it once and ``dest`` is a reflink, hardlink or
        copy of the cache entry; without, the blob streams straight to ``dest``.
        ``follow_lock=False`` reads exactly ``ref`` even while a lock file is active, and
        records no input: ``eos sync`` and ``eos cp -r`` copy the versions a listing showed.
        """
        def resolve(r: str | Reference) -> VersionRecord:
            return self.resolve(r) if follow_lock else self._resolve(self.reference(r))

        record = resolve(ref)
        target = Path(dest)
        clean_stale_once(target.parent)  # what a killed download left there
        cache = self.cache
        if cache is None:
            self._with_blob(ref, record,
                            lambda h: self.store.download_blob(h, target, on_bytes=on_bytes),
                            resolve)
        else:
            entry = self._with_blob(ref, record,
                                    lambda h: cache.fetch(h, self.store, on_bytes=on_bytes,
                                                          verify=True),
                                    resolve)
            try:
                materialize(entry, target)
            except FileNotFoundError:  # another process pruned the entry just now
                if record.hash is None:
                    raise RuntimeError(
                        f"internal error: {record.uri} has no hash (a delete marker where bytes "
                        "were expected); please report it"
                    ) from None
                materialize(cache.fetch(record.hash, self.store), target)
        return record

    def cat(self, ref: str | Reference) -> bytes:
        """The verified bytes ``ref`` means, in memory (``eos cat`` streams them instead)."""
        record = self.resolve(ref)
        return self._with_blob(ref, record, self.store.read_blob)

    def read_bytes(self, ref: str | Reference) -> bytes:
        """Alias of :meth:`cat` (its name before it took the name of ``eos cat``); kept."""
        return self.cat(ref)

    def _with_blob(
        self, ref: str | Reference, record: VersionRecord, use: Callable[[str], T],
        resolve: Callable[[str | Reference], VersionRecord] | None = None,
    ) -> T:
        """Run ``use(hash)``; a missing blob may mean another client purged the version since
        this index last looked, so look again before blaming the store."""
        if record.hash is None:
            raise RuntimeError(
                f"internal error: {record.uri} has no hash (a delete marker where bytes were "
                "expected); please report it"
            )
        try:
            return use(record.hash)
        except NotFoundError:
            if self.offline:
                raise
            self.refresh(record.namespace)
            again = (resolve or self.resolve)(ref)  # raises "was purged" if it was
            if again.hash == record.hash:
                raise
            if again.hash is None:
                raise RuntimeError(
                    f"internal error: {again.uri} has no hash (a delete marker where bytes were "
                    "expected); please report it"
                ) from None
            return use(again.hash)

    def url(self, ref: str | Reference, *, expires: str | float = "48h",
            on_warning: Callable[[str], None] | None = None) -> str:
        """A link to the bytes ``ref`` means that works without credentials until it expires.

        On S3 a presigned GET of the one blob (at most 7 days, the SigV4 limit) that tells
        browsers, ``wget`` and ``curl -OJ`` to save it under the name's last segment; on a
        local store a ``file://`` URL. ``expires`` is a duration (``30m``, ``48h``, ``7d``) or
        seconds. Warns when the signing credentials expire before the link (or passes the
        message to ``on_warning``, for a caller that warns later or not at all).
        """
        seconds = parse_duration(expires)
        if seconds > MAX_LINK_SECONDS:
            raise InvalidNameError(
                f"invalid expiry {expires!r}: links last at most 7 days (the S3 SigV4 limit)"
            )
        record = self.resolve(ref)
        if record.hash is None:
            raise RuntimeError(
                f"internal error: {record.uri} has no hash (a delete marker where bytes were "
                "expected); please report it"
            )
        link = self.store.presigned_url(blob_key(record.hash), max(1, math.ceil(seconds)),
                                        filename=record.name.rsplit("/", 1)[-1])
        ends = self.store.credentials_expire_at()
        if ends is not None and ends < self._now() + timedelta(seconds=seconds):
            message = (f"the link to {record.uri} stops working at {format_time(ends)}, when "
                       "the credentials that signed it expire, before its requested expiry")
            if on_warning is not None:
                on_warning(message)
            else:
                warnings.warn(message, EosWarning, stacklevel=2)
        return link

    # What the faces need from below (transfer, sdk and cli reach the store, the log and the
    # caches through these methods only).

    @classmethod
    def at(cls, store: str | os.PathLike[str], index: Index | str | os.PathLike[str] = ":memory:",
           *, create: bool = False, **options: Any) -> Catalog:
        """A catalog over the store at ``store``, with its index at ``index`` (default: a
        throwaway one in memory); ``options`` go to the constructor (``user`` is required).

        ``store`` is a store URL (``file:///path``, ``memory://``, ``s3://bucket/prefix``) or a
        local folder (``create`` makes it when missing). :meth:`open` reads the settings from
        the environment and ``$EOS_HOME/config.yaml`` instead.

        >>> cat = Catalog.at("memory://", user="ada")
        >>> cat.put_bytes(b"x", "a.txt").record.uri
        'eos://users/ada/a.txt@1'
        """
        url = store if isinstance(store, str) else str(Path(store).resolve())
        return cls(open_store(url, create=create), index, **options)

    def namespaces(self) -> list[str]:
        """Every namespace that has a log in the store, e.g. ``['org', 'users/ada']``.

        >>> cat = Catalog.at("memory://", user="ada")
        >>> _ = cat.put_bytes(b"x", "eos://org/a.txt"); _ = cat.put_bytes(b"y", "b.txt")
        >>> cat.namespaces()
        ['org', 'users/ada']
        """
        return list_namespaces(self.store)

    def open_ranges(self, record: VersionRecord) -> VerifiedRanges:
        """Verified ranged reads of a version's blob (``.read(start, end)``): each range is
        checked before it is returned, through the download cache when it holds the blob.

        A version with no bytes (a delete marker) is a NotFoundError.

        >>> cat = Catalog.at("memory://", user="ada")
        >>> record = cat.put_bytes(b"hello world", "a.txt").record
        >>> cat.open_ranges(record).read(6, 11)
        b'world'
        """
        return VerifiedRanges.of(self.store, record, self.cache)

    def cached_path(self, record: VersionRecord) -> Path | None:
        """The download cache's entry holding a version's bytes, hashed again just now (entries
        can be edited); None when the cache does not hold them, or there is no cache. Nothing
        is downloaded: :meth:`cached` fetches a missing blob.

        >>> import tempfile
        >>> cat = Catalog.at("memory://", user="ada", cache=BlobCache(tempfile.mkdtemp()))
        >>> record = cat.put_bytes(b"x", "a.txt").record
        >>> cat.cached_path(record) is None
        True
        >>> cat.cached(record.uri)[1] == cat.cached_path(record)
        True
        """
        cache = self.cache
        if cache is None or record.hash is None:
            return None
        entry = cache.lookup(record.hash)
        if entry is None or not cache.check_entry(entry, record.hash):
            return None
        return entry

    def cache_info(self) -> CacheInfo:
        """Where the download cache is, how many blobs it holds and their size (``eos cache
        info``); a StoreError when this catalog has no cache.

        >>> import tempfile
        >>> cat = Catalog.at("memory://", user="ada", cache=BlobCache(tempfile.mkdtemp()))
        >>> cat.cache_info().entries
        0
        """
        return self._download_cache().info()

    def prune_cache(self, max_size: int) -> PruneResult:
        """Remove the least recently used blobs until the download cache holds at most
        ``max_size`` bytes (``eos cache prune``); a StoreError when this catalog has no cache.

        >>> import tempfile
        >>> cat = Catalog.at("memory://", user="ada", cache=BlobCache(tempfile.mkdtemp()))
        >>> _, entry = cat.cached(cat.put_bytes(b"x", "a.txt").record.uri)
        >>> result = cat.prune_cache(0); (len(result.removed), result.size)
        (1, 0)
        """
        return self._download_cache().prune(max_size)

    def _download_cache(self) -> BlobCache:
        if self.cache is None:
            raise StoreError("this catalog has no download cache: open it with "
                             "Catalog.open(), or pass cache=BlobCache(folder)")
        return self.cache

    def s3_options(self) -> dict[str, Any] | None:
        """The endpoint and region of the catalog's S3 store (plain ``s3://`` URLs are reached
        with them); None when the store is not on S3.

        >>> Catalog.at("memory://", user="ada").s3_options() is None
        True
        """
        if not self.store.url.startswith("s3://"):
            return None
        from eoscatalog.store.s3.store import S3Store  # imported already: the store is one

        if not isinstance(self.store, S3Store):
            return None
        return {"endpoint_url": self.store.endpoint_url, "region": self.store.region}

    @staticmethod
    def changesets_written() -> int:
        """How many changesets this process has written so far, through any catalog: a
        command that failed after one landed has made its change, and must not be run again.

        >>> Catalog.changesets_written() >= 0
        True
        """
        return changesets_written()
