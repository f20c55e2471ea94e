"""Catalog: names and their versions over a content-addressed store, the one entry point.

It combines the store (where the truth lives: blobs and the log) with the index (this client's
replay of the log). Every write checks what can be refused, stores the blobs, verified, and then
commits a changeset planned on the freshest state (:meth:`Replay.commit`).

>>> from eoscatalog.store import MemoryStore
>>> cat = Catalog(MemoryStore(), ":memory:", user="ada")
>>> cat.put_bytes(b"a,b\\n1,2\\n", "tables/t.csv").record.uri
'eos://users/ada/tables/t.csv@1'
>>> cat.read_bytes("tables/t.csv@1")
b'a,b\\n1,2\\n'
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar

from .config import Config
from .errors import ConflictError, InvalidNameError, NotFoundError
from .hashcache import HashCache
from .index import Index
from .ingest import Source, store_sources
from .log import VERSION_OPS, Changeset, Entry, no_conditional_writes_error
from .names import (
    Location,
    Reference,
    format_time,
    parse_duration,
    parse_location,
    parse_reference,
    split_reference,
    validate_tag,
)
from .permissions import check_write
from .planning import (
    PutItem,
    normalize_meta,
    plan_purge,
    plan_put,
    plan_rm,
    plan_rollback,
    plan_tag,
    plan_undelete,
    plan_untag,
)
from .records import VersionRecord
from .replay import Replay
from .resolution import resolve_in_index
from .store import Store, blob_key, open_store

__all__ = ["Catalog", "PutResult"]

T = TypeVar("T")
Meta = dict[str, Any] | None


@dataclass(frozen=True)
class PutResult:
    """What a put did for one name: its current version, and whether anything was new."""

    record: VersionRecord
    created: bool  # a new version was recorded
    uploaded: bool  # the blob's bytes were sent to the store (False: deduplicated)


class Catalog:
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
        options = {"endpoint_url": config.endpoint_url, "region": config.region} if s3 else {}
        store = open_store(config.store_root, create=create or config.is_embedded, **options)
        return cls(
            store,
            config.index_path,
            user=config.user,
            default_namespace=config.default_namespace,
            admin=config.admin,
            offline=config.offline,
            hash_cache=HashCache(config.hashcache_path),
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
        if isinstance(ref, Reference):
            return ref
        return parse_reference(ref, user=self.user, default_namespace=self.default_namespace)

    def location(self, name: str | Location) -> Location:
        """Parse a name or URI (no ``@`` selector allowed)."""
        if isinstance(name, Location):
            return name
        if "@" in name:
            raise InvalidNameError(
                f"{name!r} has an '@' selector, but this operation takes a name: drop the "
                "'@...' part"
            )
        return parse_location(name, user=self.user, default_namespace=self.default_namespace)

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

        Returns the seq each namespace is at afterwards.
        """
        return self.replay.reindex(namespaces)

    def _refresh_online(self, namespace: str) -> None:
        if not self.offline:
            self.refresh(namespace)

    # -- reading ---------------------------------------------------------------------------------

    def resolve(self, ref: str | Reference) -> VersionRecord:
        """The readable version a reference means.

        ``latest`` and tags are checked against the store (one LIST request); pinned references
        (``@N``, ``@blake3:...``, ``@<time>``) are served from the index, which is brought up to
        date only when it cannot answer.
        """
        ref = self.reference(ref)
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
        last = self.index.last_created(ref.namespace)
        assert isinstance(ref.value, datetime)
        return last is None or last <= format_time(ref.value)

    def versions(self, name: str | Location) -> list[VersionRecord]:
        """Every version of a name, oldest first, delete markers and purged ones included."""
        loc = self.location(name)
        self._refresh_online(loc.namespace)
        history = self.index.versions(loc.namespace, loc.name)
        if not history:
            resolve_in_index(self.index, Reference(loc.namespace, loc.name), self._now())
        return history

    def info(self, ref: str | Reference) -> dict[str, Any]:
        """The resolved version as a dict, with where its bytes live."""
        record = self.resolve(ref)
        data = record.to_dict()
        data["blob"] = f"{self.store.url}/{blob_key(record.hash)}" if record.hash else None
        data["versions"] = self.index.next_version(record.namespace, record.name) - 1
        return data

    def get(self, ref: str | Reference, dest: str | os.PathLike[str] | None = None) -> Path:
        """Download the bytes ``ref`` means to ``dest`` (a file, or a folder to put it in).

        The download is verified while it streams; ``dest`` is replaced only by complete,
        verified bytes.
        """
        record = self.resolve(ref)
        target = Path(dest) if dest is not None else Path.cwd()
        if dest is None or target.is_dir() or os.fspath(dest).endswith(("/", os.sep)):
            target = target / record.name.rsplit("/", 1)[-1]
        return self._with_blob(ref, record, lambda h: self.store.download_blob(h, target))

    def read_bytes(self, ref: str | Reference) -> bytes:
        """The verified bytes ``ref`` means, in memory."""
        record = self.resolve(ref)
        return self._with_blob(ref, record, self.store.read_blob)

    def _with_blob(
        self, ref: str | Reference, record: VersionRecord, use: Callable[[str], T]
    ) -> T:
        """Run ``use(hash)``; a missing blob may mean another client purged the version since
        this index last looked, so look again before blaming the store."""
        assert record.hash is not None
        try:
            return use(record.hash)
        except NotFoundError:
            if self.offline:
                raise
            self.refresh(record.namespace)
            again = self.resolve(ref)  # raises "was purged" if it was
            if again.hash == record.hash:
                raise
            assert again.hash is not None
            return use(again.hash)

    # -- writing ---------------------------------------------------------------------------------

    def put(self, path: Source, name: str | Location, *, meta: Meta = None,
            message: str = "") -> PutResult:
        """Store a local file under ``name``; no new version if bytes and metadata are unchanged."""
        return self.put_many([(path, name)], meta=meta, message=message)[0]

    def put_bytes(self, data: bytes, name: str | Location, *, meta: Meta = None,
                  message: str = "") -> PutResult:
        """Store an in-memory buffer under ``name``."""
        return self.put_many([(data, name)], meta=meta, message=message)[0]

    def put_many(self, items: Iterable[tuple[Source, str | Location]], *, meta: Meta = None,
                 message: str = "") -> list[PutResult]:
        """Store many files (paths or bytes) in one changeset per namespace.

        All blobs are stored before any changeset is written, and each namespace's names appear
        together or not at all.
        """
        pairs = [(source, self.location(name)) for source, name in items]
        seen: set[Location] = set()
        for _, loc in pairs:
            if loc in seen:
                raise InvalidNameError(f"{loc.uri} is given twice in one put")
            seen.add(loc)
            self._check_write(loc.namespace)
        # Everything that can be refused is checked before the first byte is stored.
        meta = normalize_meta(meta)
        stored = store_sources(self.store, self.hash_cache, [source for source, _ in pairs])
        by_namespace: dict[str, list[tuple[int, PutItem]]] = {}
        for i, ((_, loc), blob) in enumerate(zip(pairs, stored, strict=True)):
            item = PutItem(loc.name, blob.hash, blob.size, dict(meta))
            by_namespace.setdefault(loc.namespace, []).append((i, item))
        results: list[PutResult | None] = [None] * len(pairs)
        for namespace, indexed in by_namespace.items():
            put_items = [item for _, item in indexed]
            expires = self._expiry(namespace)
            changeset = self._commit(
                namespace,
                lambda ns=namespace, its=put_items, ex=expires: plan_put(
                    self.index, ns, its, expires=ex
                ),
                message,
            )
            # Versions are read back by number: another process sharing the index may have
            # added newer ones since this changeset was applied.
            new = {
                e.name: e.version for e in (changeset.entries if changeset else ())
                if e.op in VERSION_OPS
            }
            for i, item in indexed:
                version = new.get(item.name)
                record = (
                    self.index.version(namespace, item.name, version)
                    if version is not None
                    else self.index.latest(namespace, item.name)
                )
                assert record is not None
                results[i] = PutResult(record, version is not None, stored[i].uploaded)
        return [r for r in results if r is not None]

    def _expiry(self, namespace: str) -> str | None:
        if not namespace.startswith("scratch/"):
            return None
        return format_time(self._now() + timedelta(seconds=self.scratch_ttl))

    def rm(self, name: str | Location, *, message: str = "") -> VersionRecord:
        """Delete a name by adding a delete marker; every earlier version stays readable."""
        loc = self._writable(name)
        return self._commit_one(loc, lambda: plan_rm(self.index, loc.namespace, loc.name), message)

    def undelete(self, name: str | Location, *, message: str = "") -> VersionRecord:
        """Add a version restoring the newest readable version before the delete marker."""
        loc = self._writable(name)
        expires = self._expiry(loc.namespace)
        return self._commit_one(
            loc,
            lambda: plan_undelete(self.index, loc.namespace, loc.name, expires=expires),
            message,
        )

    def rollback(
        self, name: str | Location, to: int | str, *, message: str = ""
    ) -> VersionRecord:
        """Add a version carrying the bytes of version ``to`` (a number, tag or hash prefix)."""
        loc = self._writable(name)
        selector = str(to).lstrip("@")
        target = self.reference(f"{loc.uri}@{selector}")
        expires = self._expiry(loc.namespace)
        return self._commit_one(
            loc, lambda: plan_rollback(self.index, target, self._now(), expires=expires), message
        )

    def tag(
        self, ref: str | Reference, tag: str, *, force: bool = False, message: str = ""
    ) -> VersionRecord:
        """Point ``tag`` at the version ``ref`` means; return that version."""
        target = self.reference(ref)
        validate_tag(tag)
        self._check_write(target.namespace)
        self._commit(
            target.namespace,
            lambda: plan_tag(self.index, target, tag, force=force, now=self._now()),
            message,
        )
        record = self.index.tagged(target.namespace, target.name, tag)
        assert record is not None
        return record

    def untag(self, name: str | Location, tag: str, *, message: str = "") -> None:
        """Remove a tag from a name."""
        loc = self._writable(name)
        validate_tag(tag)
        self._commit(
            loc.namespace, lambda: plan_untag(self.index, loc.namespace, loc.name, tag), message
        )

    def purge(self, ref: str | Reference, *, message: str = "") -> list[int]:
        """Make a version (``name@N``) or every version (``name``) unreadable, for good.

        Their blobs become collectable by garbage collection once nothing else references them.
        Returns the versions purged.
        """
        target = self.reference(ref)
        selector = split_reference(ref)[1] if isinstance(ref, str) else target.selector[1:]
        if target.kind not in ("latest", "version") or selector == "latest":
            raise InvalidNameError(
                f"purge takes a name (all versions) or name@N (one version), not {target.uri}"
            )
        self._check_write(target.namespace)
        version = target.value if target.kind == "version" else None
        assert version is None or isinstance(version, int)
        changeset = self._commit(
            target.namespace,
            lambda: plan_purge(self.index, target.namespace, target.name, version),
            message,
        )
        return list(changeset.entries[0].versions) if changeset else []

    # -- the write path --------------------------------------------------------------------------

    def _writable(self, name: str | Location) -> Location:
        loc = self.location(name)
        self._check_write(loc.namespace)
        return loc

    def _check_write(self, namespace: str) -> None:
        if self.offline:
            raise ConflictError("cannot write while offline: unset EOS_OFFLINE to publish changes")
        check_write(namespace, user=self.user, admin=self.admin)
        if not self.single_writer and not self.store.supports_conditional_writes:
            raise no_conditional_writes_error(self.store.url)  # before any byte is stored

    def _commit_one(
        self, loc: Location, plan: Callable[[], list[Entry]], message: str
    ) -> VersionRecord:
        changeset = self._commit(loc.namespace, plan, message)
        record = (
            self.index.version(loc.namespace, loc.name, changeset.entries[0].version or 0)
            if changeset
            else self.index.latest(loc.namespace, loc.name)
        )
        assert record is not None
        return record

    def _commit(
        self, namespace: str, plan: Callable[[], list[Entry]], message: str
    ) -> Changeset | None:
        """Append the planned entries at the next seq, replanning after every lost race."""
        self._check_write(namespace)
        return self.replay.commit(
            namespace, plan, author=self.user, message=message,
            now=lambda: format_time(self._now()),
        )
