"""Catalog: names and their versions over a content-addressed store, the one entry point.

It combines the store (where the truth lives: blobs and the log) with the index (this client's
replay of the log). Every write checks what can be refused, stores the blobs, verified, and then
commits a changeset planned on the freshest state (:meth:`Replay.commit`).

Its methods are the API, each said in a line; the work is in what it owns (``eoscatalog.catalog``):
``Parser``, ``Reader``, ``Writer``, the one commit path ``Committer``, exports, maintenance, diffs.

>>> from eoscatalog.store import MemoryStore
>>> cat = Catalog(MemoryStore(), ":memory:", user="ada")
>>> cat.put_bytes(b"a,b\\n1,2\\n", "tables/t.csv").record.uri
'eos://users/ada/tables/t.csv@1'
>>> cat.cat("tables/t.csv@1")
b'a,b\\n1,2\\n'
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from eoscatalog.catalog import exports, maintenance, opening
from eoscatalog.catalog.commit import Committer
from eoscatalog.catalog.folders import Folders
from eoscatalog.catalog.ingest import Source
from eoscatalog.catalog.parser import Parser
from eoscatalog.catalog.ranged import VerifiedRanges
from eoscatalog.catalog.reads import Reader, link_seconds
from eoscatalog.catalog.reports import GcReport, VerifyReport
from eoscatalog.catalog.transaction import Transaction, active_transaction
from eoscatalog.catalog.writes import Meta, PutResult, Writer
from eoscatalog.core.names import Location, Reference
from eoscatalog.core.units import parse_duration
from eoscatalog.local.blob_cache import BlobCache
from eoscatalog.local.config import Config
from eoscatalog.local.hash_cache import HashCache
from eoscatalog.log.changesets import changeset_key, changesets_written, list_namespaces
from eoscatalog.log.index import Index
from eoscatalog.log.records import Event, SearchHit, Usage, VersionRecord
from eoscatalog.log.replay import Replay
from eoscatalog.log.search import search_index
from eoscatalog.rules.listing import Listing
from eoscatalog.rules.retention import RetentionRule
from eoscatalog.store import Store

if TYPE_CHECKING:
    from eoscatalog.catalog.diffing import Diff

__all__ = ["Catalog", "PutResult", "Transaction"]


class Catalog:
    """Versioned names over a store, replayed into a local SQLite index.

    ``index`` is a path (``":memory:"`` for a throwaway index) or an :class:`Index`.
    """

    def __init__(self, store: Store, index: Index | str | os.PathLike[str], *, user: str,
                 default_namespace: str = "users/me", admin: bool = False, offline: bool = False,
                 hash_cache: HashCache | None = None, cache: BlobCache | None = None,
                 checkpoint_every: int = 100, scratch_ttl: str | float = "7d",
                 single_writer: bool = False, clock: Callable[[], datetime] | None = None) -> None:
        self.store = store
        self.index = index if isinstance(index, Index) else Index(index)
        self.user = user
        self.default_namespace = default_namespace
        self.admin = admin
        self.offline = offline
        self.hash_cache = hash_cache or HashCache(":memory:")
        self.cache = cache
        self.single_writer = single_writer
        self.replay = Replay(store, self.index, checkpoint_every=checkpoint_every,
                             single_writer=single_writer)
        self.scratch_ttl = parse_duration(scratch_ttl)
        # The collaborators read user, admin, offline... from this catalog at every call.
        self._parser = Parser(self)
        self._parser.location("x")  # the user and default namespace, checked early
        now = clock or (lambda: datetime.now(timezone.utc))
        self._committer = Committer(store, self.index, self.replay, self, now)
        self._reader = Reader(store, self.index, self.replay, self, now)
        self._writer = Writer(self._committer, self._reader, self._parser, self.hash_cache)
        # Folders as datasets (catalog/folders.py): .versions, .snapshot, .tag, .rollback...
        self.folders = Folders(self._parser, self._reader, self._committer, self._writer.stager)

    @classmethod
    def open(cls, config: Config | None = None, *, create: bool = False,
             **overrides: Any) -> Catalog:
        """The catalog the environment and ``$EOS_HOME/config.yaml`` describe (the embedded
        store is made on first use, a local folder only with ``create`` as ``eos init`` does;
        an S3 bucket must exist)."""
        store, options = opening.from_config(config or Config.load(**overrides), create=create)
        return cls(store, **options)

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
        return self._parser.reference(ref)

    def location(self, name: str | Location) -> Location:
        """Parse a name or URI (no ``@`` selector allowed)."""
        return self._parser.location(name)

    def folder(self, uri: str | Location) -> Location:
        """A URI or prefix as a folder: ``eos://org/p`` -> ``("org", "p/")``; the root is ``""``."""
        return self._parser.folder(uri)

    def prefix(self, uri: str | Location) -> Location:
        """Parse a prefix: a bare one or an ``eos://`` URI ending anywhere, matched as text."""
        return self._parser.prefix(uri)

    def _prefix(self, uri: str | Location) -> Location:
        loc = self.prefix(uri)
        self._reader.refresh_online(loc.namespace)
        return loc

    # -- keeping the index up to date ------------------------------------------------------------

    def refresh(self, namespace: str) -> int:
        """Apply the namespace's new changesets to the index; return how many were applied."""
        return self.replay.refresh(namespace)

    def reindex(self, namespaces: Iterable[str] | None = None) -> dict[str, int]:
        """Rebuild the index from the store; return the seq each namespace is at afterwards."""
        return self._reader.reindex(namespaces)

    def bad_changesets(self, namespaces: Iterable[str] | None = None) -> list[tuple[str, str]]:
        """The changesets replay skipped as malformed, crafted or inconsistent: (key, reason)."""
        return self._reader.bad_changesets(
            None if namespaces is None else [self._parser.namespace(ns) for ns in namespaces])

    def stored_changeset(self, namespace: str, seq: int) -> bytes:
        """The bytes of changeset ``seq`` of ``namespace`` as the store holds them."""
        return self.store.get(changeset_key(self._parser.namespace(namespace), seq))

    # -- reading ---------------------------------------------------------------------------------

    def resolve(self, ref: str | Reference) -> VersionRecord:
        """The readable version a reference means (pinned by the active lock, if any)."""
        return self._reader.resolve(self.reference(ref))

    def versions(self, name: str | Location) -> list[VersionRecord]:
        """Every version of a name, oldest first, delete markers and purged ones included."""
        return self._reader.versions(self.location(name))

    def ls(self, prefix: str | Location = "", *, recursive: bool = False, versions: bool = False,
           deleted: bool = False) -> Listing:
        """Names under a prefix (a bare prefix, an ``eos://`` URI ending anywhere, or a folder
        version, ``eos://org/x.zarr@3/``: each name at its version there)."""
        return self.folders.ls(prefix, recursive=recursive, versions=versions, deleted=deleted)

    def log(self, prefix: str | Location = "", limit: int = 20) -> list[Event]:
        """The newest ``limit`` changes to names under a prefix, newest first (``eos log``)."""
        return self._reader.log(self.prefix(prefix), limit)

    def du(self, prefix: str | Location = "") -> Usage:
        """The space names under a prefix (or in a folder version) take (``eos du``)."""
        return self.folders.du(prefix)

    def diff(self, a: str, b: str, *, tables: bool = True) -> Diff:
        """How B differs from A: two names, or two folders ending with ``/`` (``eos diff``)."""
        from eoscatalog.catalog import diffing  # with its table readers: not on a sync's path
        return diffing.Differ(self._reader, self.folders, self.cache).diff(a, b, tables=tables)

    def cached(self, ref: str | Reference) -> tuple[VersionRecord, Path]:
        """The verified cache entry holding the bytes ``ref`` means (fetched if missing)."""
        return self._reader.cached(self.reference(ref), self.cache)

    def info(self, ref: str | Reference) -> dict[str, Any]:
        """The resolved version as a dict, with where its bytes live."""
        return self._reader.info(self.resolve(ref))

    def get(self, ref: str | Reference, dest: str | os.PathLike[str] | None = None, *,
            on_bytes: Callable[[int], None] | None = None) -> Path:
        """Download the verified bytes ``ref`` means to ``dest`` (a file, or a folder), once."""
        return self._reader.get(self.reference(ref), dest, self.cache, on_bytes=on_bytes)

    def fetch_to(self, ref: str | Reference | VersionRecord, dest: str | os.PathLike[str], *,
                 on_bytes: Callable[[int], None] | None = None, follow_lock: bool = True,
                 via_cache: bool = False) -> VersionRecord:
        """Put the verified bytes ``ref`` means (a listing's VersionRecord: as it is) at ``dest``,
        once (``via_cache``: kept in the download cache too); return the version they are."""
        parsed = ref if isinstance(ref, VersionRecord) else self.reference(ref)
        return self._reader.fetch_to(parsed, Path(dest), self.cache, on_bytes=on_bytes,
                                     follow_lock=follow_lock, via_cache=via_cache)

    def cat(self, ref: str | Reference) -> bytes:
        """The verified bytes ``ref`` means, in memory (``eos cat`` streams them instead)."""
        parsed = self.reference(ref)
        return self._reader.with_blob(parsed, self._reader.resolve(parsed), self.store.read_blob)

    def url(self, ref: str | Reference, *, expires: str | float = "48h",
            on_warning: Callable[[str], None] | None = None) -> str:
        """A link to ``ref``'s bytes that works without credentials until ``expires`` (<= 7d)."""
        seconds = link_seconds(expires)
        return self._reader.link(self.resolve(ref), seconds, on_warning)

    def search(self, text: str, prefix: str | Location = "", limit: int = 200) -> list[SearchHit]:
        """Latest versions under ``prefix`` (``""``: all) whose name, tags or metadata hold text."""
        places = [prefix] if prefix else [f"eos://{ns}/" for ns in self.namespaces()]
        return search_index(self.index.db, [self._prefix(p) for p in places], text, limit)

    # Their names before they took those of `eos log`, `eos du` and `eos cat`; kept.
    history, usage, read_bytes = log, du, cat

    # -- writing ---------------------------------------------------------------------------------

    def put(self, path: Source, name: str | Location, *, meta: Meta = None,
            message: str = "", on_bytes: Callable[[int], None] | None = None) -> PutResult:
        """Store a local file under ``name``; no new version if bytes and metadata are unchanged."""
        return self.put_many([(path, name)], meta=meta, message=message, on_bytes=on_bytes)[0]

    def put_bytes(self, data: bytes, name: str | Location, *, meta: Meta = None,
                  message: str = "") -> PutResult:
        """Store an in-memory buffer under ``name``."""
        return self.put_many([(data, name)], meta=meta, message=message)[0]

    def put_many(self, items: Iterable[tuple[Source, str | Location]], *, meta: Meta = None,
                 message: str = "", deletes: Iterable[str | Location] = (),
                 on_bytes: Callable[[int], None] | None = None,
                 on_file: Callable[[], None] | None = None) -> list[PutResult]:
        """Store many files (paths or bytes) in one changeset per namespace."""
        return self._writer.put_many(items, meta=meta, message=message, deletes=deletes,
                                     on_bytes=on_bytes, on_file=on_file)

    def put_if_absent(self, source: Source, name: str | Location, *, meta: Meta = None,
                      message: str = "") -> PutResult:
        """Store a file (path or bytes) under ``name`` only if it has no readable version."""
        return self._writer.put_if_absent(source, name, meta=meta, message=message)

    def copy(self, source: str | Reference, name: str | Location, *,
             message: str = "") -> VersionRecord:
        """Make ``name`` hold the bytes ``source`` means, without moving any byte."""
        return self.copy_many([(source, name)], message=message)[0].record

    def copy_many(self, pairs: Iterable[tuple[str | Reference, str | Location]], *,
                  message: str = "", deletes: Iterable[str | Location] = ()) -> list[PutResult]:
        """Copy many sources to names, one changeset per destination namespace; no byte moves."""
        return self._writer.copy_many(pairs, message=message, deletes=deletes)

    def rm_prefix(self, prefix: str | Location, *, message: str = "",
                  whole_namespace: bool = False) -> list[str]:
        """Delete every name under a folder (``aws s3 rm --recursive``) in ONE changeset."""
        return self._writer.rm_prefix(prefix, message=message, whole_namespace=whole_namespace)

    def rm(self, name: str | Location, *, message: str = "") -> VersionRecord:
        """Delete a name by adding a delete marker; every earlier version stays readable."""
        return self._writer.rm(name, message=message)

    def undelete_prefix(self, prefix: str | Location, *, message: str = "") -> list[VersionRecord]:
        """Undelete every deleted name under a folder in ONE changeset (``eos undelete -r``)."""
        return self._writer.undelete_folder(prefix, message=message)

    def undelete(self, name: str | Location, *, message: str = "") -> VersionRecord:
        """Add a version restoring the newest readable version before the delete marker."""
        return self._writer.undelete(name, message=message)

    def rollback(self, name: str | Location, to: int | str, *, message: str = "") -> VersionRecord:
        """Add a version carrying the bytes of version ``to`` (a number, tag or hash prefix)."""
        return self._writer.rollback(name, to, message=message)

    def tag(self, ref: str | Reference, tag: str, *, force: bool = False,
            message: str = "") -> VersionRecord:
        """Point ``tag`` at the version ``ref`` means; return that version."""
        return self._writer.tag(ref, tag, force=force, message=message)

    def untag(self, name: str | Location, tag: str, *, message: str = "") -> None:
        """Remove a tag from a name."""
        self._writer.untag(name, tag, message=message)

    def purge(self, ref: str | Reference, *, message: str = "") -> list[int]:
        """Make a version (``name@N``) or every version (``name``) unreadable, for good."""
        return self._writer.purge(ref, message=message)

    def transaction(self, message: str = "", *, namespace: str | None = None,
                    join: str | None = None) -> Transaction:
        """``with cat.transaction("msg"):`` every write to the store in the block (any thread or
        catalog of the process; ``join``: a token from ``txn.announce()``, another process)
        publishes at its end as ONE changeset, or none if it raises (docs/browsing.md)."""
        return self._writer.stager.transaction(message, namespace=namespace, join=join)

    def open_transaction(self) -> Transaction | None:
        """The transaction open on this catalog's store in this process, if any."""
        return active_transaction(self.store)

    def check_writable(self, namespace: str, *, probe: bool = True) -> None:
        """Raise the error a write to ``namespace`` would raise now, so plans and dry runs
        refuse what runs would (``probe=False``: leave out the conditional-write probe)."""
        self._committer.check_write(namespace, probe=probe)

    # -- catalogs out and in ---------------------------------------------------------------------

    def to_intake(self, prefix: str | Location = "", path: str | os.PathLike[str] | None = None,
                  *, latest_only: bool = False, tag: str | None = None,
                  description: str | None = None) -> str:
        """An Intake catalog (YAML text, also written to ``path``) of the names under ``prefix``
        or in a folder version, for intake 0.6, 0.7 and 2; a Zarr or Parquet folder is ONE entry."""
        return exports.to_intake(self.store, self.folders, prefix, path,
                                 latest_only=latest_only, tag=tag, description=description)

    def to_yaml(self, prefix: str | Location = "",
                path: str | os.PathLike[str] | None = None) -> str:
        """Every name and version under ``prefix`` (deleted and purged ones too) as a YAML
        catalog, also written to ``path`` when given; ``import_yaml`` loads it back."""
        return exports.to_yaml(self.index, self._prefix(prefix), path)

    def import_yaml(self, path: str | os.PathLike[str], *, message: str = "") -> list[str]:
        """Load a YAML catalog (``to_yaml``) in ONE changeset, checked first; return the names."""
        return exports.import_yaml(self._committer, path, message=message)

    # -- keeping the store healthy ---------------------------------------------------------------

    def verify(self, prefix: str | Location = "", *, all_namespaces: bool = False,
               repair_from: str | os.PathLike[str] | None = None,
               quarantine: bool = True) -> VerifyReport:
        """Check that every readable version's blob under ``prefix`` (or in every namespace)
        exists and hashes to its key; report exactly the missing and corrupt ones."""
        return maintenance.verify(self._committer, self.hash_cache,
                                  None if all_namespaces else self._prefix(prefix),
                                  repair_from=repair_from, quarantine=quarantine)

    def retention_rules(self) -> list[RetentionRule]:
        """The store's retention rules (``eos admin retention list``)."""
        return maintenance.retention_rules(self.store)

    def set_retention(self, prefix: str | Location, *, keep_last: int | None = None,
                      keep_tagged: bool = True, keep_days: float | None = None,
                      remove: bool = False) -> list[RetentionRule]:
        """Add, replace or (``remove``) the retention rule of a prefix; admins only."""
        return maintenance.set_retention(
            self._committer, lambda: self._prefix(prefix), keep_last=keep_last,
            keep_tagged=keep_tagged, keep_days=keep_days, remove=remove)

    def gc(self, *, grace: str | float = "24h", dry_run: bool = False,
           recheck: bool = True, prune: bool = False) -> GcReport:
        """Delete blobs that nothing live references and that are older than ``grace``;
        abort or remove what interrupted uploads left behind. Needs admin rights."""
        return maintenance.gc(self._committer, grace=grace, dry_run=dry_run, recheck=recheck,
                              prune=prune)

    # -- what the faces (transfer, sdk, cli) need from the layers below ----------------------

    @classmethod
    def at(cls, store: str | os.PathLike[str], index: Index | str | os.PathLike[str] = ":memory:",
           *, create: bool = False, **options: Any) -> Catalog:
        """A catalog over a store URL or local folder (``create`` makes a missing folder), its
        index at ``index`` (in memory by default); ``options`` as the constructor's.

        >>> Catalog.at("memory://", user="ada").put_bytes(b"x", "a.txt").record.uri
        'eos://users/ada/a.txt@1'
        """
        return cls(opening.store_at(store, create=create), index, **options)

    def namespaces(self) -> list[str]:
        """Every namespace that has a log in the store, e.g. ``['org', 'users/ada']``."""
        return list_namespaces(self.store)

    def open_ranges(self, record: VersionRecord) -> VerifiedRanges:
        """Verified ranged reads (``.read(start, end)``) of a version's blob, cache first."""
        return VerifiedRanges.of(self.store, record, self.cache)

    def open_cached(self, record: VersionRecord) -> BinaryIO | None:
        """The cache entry holding a version's bytes, open, in use, hashed again; or None."""
        return self._reader.open_cached(record, self.cache)

    def download_cache(self) -> BlobCache:
        """The download cache (``.info()``, ``.prune(max_size)``); a StoreError if there is none."""
        return self._reader.download_cache(self.cache)

    def s3_options(self) -> dict[str, Any] | None:
        """The S3 store's endpoint and region (to reach plain ``s3://`` URLs); None off S3."""
        return self.store.s3_options()

    @staticmethod
    def changesets_written() -> int:
        """The changesets this process wrote (a command that failed after one must not rerun)."""
        return changesets_written()
