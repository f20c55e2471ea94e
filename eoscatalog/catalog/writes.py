"""The catalog's write operations: :class:`Writer`, owned by
:class:`~eoscatalog.catalog.catalog.Catalog`, whose public write methods delegate here.

Every write checks what can be refused before any I/O, stores the blobs (verified) first, and
then commits a changeset planned on the freshest state
(:class:`~eoscatalog.catalog.commit.Committer`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from eoscatalog.catalog.commit import Committer
from eoscatalog.catalog.copyguard import (
    check_copied,
    check_restored,
    check_restored_all,
    check_sources,
    mark_sources,
)
from eoscatalog.catalog.ingest import Source, store_sources
from eoscatalog.catalog.parser import Parser
from eoscatalog.catalog.reads import Reader
from eoscatalog.catalog.reuse_guard import ReuseGuard
from eoscatalog.catalog.staging import Stager
from eoscatalog.catalog.transaction import active_transaction
from eoscatalog.core.errors import ConflictError, InvalidNameError, NameExistsError, NotFoundError
from eoscatalog.core.faults import crash_point
from eoscatalog.core.names import Location, Reference, split_reference, validate_tag
from eoscatalog.core.units import format_time
from eoscatalog.local.hash_cache import HashCache
from eoscatalog.log.changesets import Entry
from eoscatalog.log.records import VersionRecord
from eoscatalog.rules.planning import (
    PutItem,
    normalize_meta,
    plan_deletes,
    plan_purge,
    plan_put,
    plan_rm,
    plan_rollback,
    plan_tag,
    plan_undelete,
    plan_undelete_folder,
    plan_untag,
)

__all__ = ["Meta", "PutResult", "Writer"]

Meta = dict[str, Any] | None


@dataclass(frozen=True)
class PutResult:
    """What a put did for one name: its current version, and whether anything was new."""

    record: VersionRecord
    created: bool  # a new version was recorded
    uploaded: bool  # the blob's bytes were sent to the store (False: deduplicated)


class Writer:
    """put, copy, rm, undelete, rollback, tag, untag and purge, for :class:`Catalog` (whose
    methods of the same names say what each does), committed through ``committer``."""

    def __init__(self, committer: Committer, reader: Reader, parser: Parser,
                 hash_cache: HashCache) -> None:
        self.committer = committer
        self.reader = reader
        self.parser = parser
        self.hash_cache = hash_cache
        self.store = committer.store
        self.index = committer.index
        self.reuse = ReuseGuard(self.store, self.index, committer.now)
        self.stager = Stager(committer, reader, parser, self._publish)

    def writable(self, name: str | Location) -> Location:
        """``name`` parsed, once the writer may write to its namespace."""
        loc = self.parser.location(name)
        self.committer.check_write(loc.namespace)
        return loc

    def put_many(self, items: Iterable[tuple[Source, str | Location]], *, meta: Meta = None,
                 message: str = "", deletes: Iterable[str | Location] = (),
                 on_bytes: Callable[[int], None] | None = None,
                 on_file: Callable[[], None] | None = None) -> list[PutResult]:
        """Store many files (paths or bytes) in one changeset per namespace.

        All blobs are stored before any changeset is written, and each namespace's names appear
        together or not at all; no new version where bytes and metadata are unchanged.
        ``deletes`` names get delete markers in the same changeset (a sync's ``--delete``);
        names already deleted are skipped. ``on_bytes`` is told the bytes as they are stored and
        ``on_file`` of each file stored (for progress lines).
        """
        pairs = [(source, self.parser.location(name)) for source, name in items]
        removals = [self.parser.location(name) for name in deletes]
        seen: set[Location] = set()
        every = [loc for _, loc in pairs] + removals
        for loc in every:
            if loc in seen:
                raise InvalidNameError(f"{loc.uri} is given twice in one put")
            seen.add(loc)
        for namespace in dict.fromkeys(loc.namespace for loc in every):
            self.committer.check_write(namespace)
        # Everything that can be refused is checked before the first byte is stored.
        meta = normalize_meta(meta)
        with self.committer.group.coming({loc.namespace for _, loc in pairs}
                                         | {loc.namespace for loc in removals}):
            return self._store_and_publish(pairs, removals, meta, message, on_bytes, on_file)

    def _store_and_publish(self, pairs: list[tuple[Source, Location]], removals: list[Location],
                           meta: dict[str, Any], message: str,
                           on_bytes: Callable[[int], None] | None,
                           on_file: Callable[[], None] | None) -> list[PutResult]:
        stored = store_sources(
            self.store, self.hash_cache, [source for source, _ in pairs],
            on_bytes=on_bytes, is_live=self.reuse.is_live_now, on_file=on_file,
        )
        self.reuse.mark(pairs, stored)
        crash_point("put.blobs-stored")
        if (txn := active_transaction(self.store)) is not None:
            staged = self.stager.put(txn, [loc for _, loc in pairs], stored, meta, removals)
            return [PutResult(r, c, b.uploaded) for (r, c), b in zip(staged, stored, strict=True)]
        by_namespace: dict[str, list[tuple[int, PutItem]]] = {}
        for i, ((_, loc), blob) in enumerate(zip(pairs, stored, strict=True)):
            item = PutItem(loc.name, blob.hash, blob.size, dict(meta))
            by_namespace.setdefault(loc.namespace, []).append((i, item))
        doomed: dict[str, list[str]] = {}
        for loc in removals:
            doomed.setdefault(loc.namespace, []).append(loc.name)
            by_namespace.setdefault(loc.namespace, [])
        results = [PutResult(record, created, stored[i].uploaded)
                   for i, (record, created) in self._publish(by_namespace, doomed, message)]
        # A renewed scratch name (no new version, a new expiry) names its reused blob anew too.
        self.reuse.restore([(pairs[i][0], stored[i].hash) for i, r in enumerate(results)
                              if not r.uploaded and (r.created or r.record.expires)])
        return results

    def put_if_absent(self, source: Source, name: str | Location, *, meta: Meta = None,
                      message: str = "") -> PutResult:
        """Store a file (a path or bytes) under ``name`` only if the name holds no readable
        version (a deleted name counts as absent); otherwise raise :class:`NameExistsError`.

        The check is part of the plan, which runs again on the freshest state at every commit
        attempt: of two writers creating the same name at once, exactly one succeeds.
        """
        loc = self.writable(name)
        meta = normalize_meta(meta)
        if (txn := active_transaction(self.store)) is not None:
            blobs = store_sources(self.store, self.hash_cache, [source],
                                  is_live=self.reuse.is_live_now)
            self.reuse.mark([(source, loc)], blobs)
            return PutResult(*self.stager.put_if_absent(txn, loc, blobs[0], meta),
                             blobs[0].uploaded)

        def refuse_existing() -> None:
            latest = self.index.latest(loc.namespace, loc.name)
            if latest is not None and not latest.is_delete_marker:
                raise NameExistsError(
                    f"{loc.uri} already exists (version {latest.version}): a create-only write "
                    "makes only the first version; write without it to add a version"
                )

        self.committer.replay.refresh(loc.namespace)
        refuse_existing()  # before any byte is stored, when it can be told already
        stored = store_sources(self.store, self.hash_cache, [source],
                               is_live=self.reuse.is_live_now)
        self.reuse.mark([(source, loc)], stored)
        item = PutItem(loc.name, stored[0].hash, stored[0].size, dict(meta))
        expires = self.committer.expiry(loc.namespace)

        def plan() -> list[Entry]:
            refuse_existing()
            return plan_put(self.index, loc.namespace, [item], expires=expires)

        changeset = self.committer.commit_shared(loc.namespace, plan, message, [loc.name])
        record, created = self.committer.read_back(loc.namespace, changeset, [item])[0]
        if created and not stored[0].uploaded:
            self.reuse.restore([(source, stored[0].hash)])
        return PutResult(record, created, stored[0].uploaded)

    def copy_many(
        self, pairs: Iterable[tuple[str | Reference, str | Location]], *, message: str = "",
        deletes: Iterable[str | Location] = (),
    ) -> list[PutResult]:
        """Copy many sources to names, one changeset per destination namespace; no byte moves.

        Each new version records where it came from (``source``, a pinned URI). Returns, for
        each pair, the destination's current version and whether the copy made it (a
        destination already holding those bytes keeps its version: ``created`` False).
        ``deletes`` names get delete markers in the same changesets (an ``eos://`` to
        ``eos://`` sync's ``--delete``); names already deleted are skipped.
        """
        # The sources are this process's own data more often than inputs (promote): they are
        # resolved past any active lock and not recorded as inputs.
        planned = []
        origins: list[VersionRecord] = []
        for source, name in pairs:
            origin = self.reader.resolve_exact(self.parser.reference(source))
            loc = self.writable(name)
            origins.append(origin)
            planned.append((loc, PutItem(loc.name, origin.hash or "", origin.size or 0,
                                         dict(origin.meta), source=origin.uri)))
        by_namespace: dict[str, list[tuple[int, PutItem]]] = {}
        taken: set[Location] = set()
        for i, (loc, item) in enumerate(planned):
            if loc in taken:
                raise InvalidNameError(f"{loc.uri} is the destination of two copies")
            taken.add(loc)
            by_namespace.setdefault(loc.namespace, []).append((i, item))
        doomed: dict[str, list[str]] = {}
        for loc in map(self.writable, deletes):
            if loc in taken:
                raise InvalidNameError(f"{loc.uri} is both copied to and deleted")
            taken.add(loc)
            doomed.setdefault(loc.namespace, []).append(loc.name)
            by_namespace.setdefault(loc.namespace, [])
        mark_sources(self.store, origins, self.reuse.is_live_now)
        if (txn := active_transaction(self.store)) is not None:
            gone = [Location(ns, name) for ns, names in doomed.items() for name in names]
            return [PutResult(r, c, uploaded=False)
                    for r, c in self.stager.copies(txn, planned, gone)]
        results = [PutResult(record, created, uploaded=False)
                   for _, (record, created) in self._publish(
                       by_namespace, doomed, message,
                       check=lambda ns: check_sources(self.index, self.committer.replay.refresh,
                                                      self.parser.reference, self.committer.now(),
                                                      ns, origins))]
        check_copied(self.store, [(origin, r.record) for origin, r
                                  in zip(origins, results, strict=True)
                                  if r.created or r.record.expires])
        return results

    def _publish(self, by_namespace: dict[str, list[tuple[int, PutItem]]],
                 doomed: dict[str, list[str]], message: str,
                 check: Callable[[str], None] | None = None,
                 ) -> list[tuple[int, tuple[VersionRecord, bool]]]:
        """One changeset per namespace: new versions for the items, delete markers for the
        doomed names; return, in the items' order, each one's version and whether it is new.
        ``check(namespace)`` runs first in every plan (it may refuse)."""
        results: dict[int, tuple[VersionRecord, bool]] = {}
        for namespace, indexed in by_namespace.items():
            items = [item for _, item in indexed]
            expires = self.committer.expiry(namespace)
            gone = doomed.get(namespace, [])

            def plan(ns: str = namespace, its: list[PutItem] = items, ex: str | None = expires,
                     dl: list[str] = gone) -> list[Entry]:
                if check is not None:
                    check(ns)
                return plan_put(self.index, ns, its, expires=ex) + plan_deletes(self.index, ns, dl)

            changeset = self.committer.commit_shared(
                namespace, plan, message, [item.name for item in items] + gone)
            read_back = self.committer.read_back(namespace, changeset, items)
            results.update(zip((i for i, _ in indexed), read_back, strict=True))
        return sorted(results.items())

    def rm_prefix(self, prefix: str | Location, *, message: str = "",
                  whole_namespace: bool = False) -> list[str]:
        """Delete every name under a folder (``aws s3 rm --recursive``) in ONE changeset.

        ``p/a`` means the folder ``p/a/`` (never ``p/ab``). Emptying a whole namespace needs
        ``whole_namespace``. Returns the names deleted; earlier versions stay readable.
        """
        folder = self.parser.folder(prefix)
        if not folder.name and not whole_namespace:
            raise InvalidNameError(
                f"that would delete every name in eos://{folder.namespace}/: confirm with --yes"
            )
        listing = self.reader.ls(self.parser.prefix(folder), recursive=True)
        names = [Location(listing.namespace, r.name) for r in listing.files]
        if not names:
            raise NotFoundError(f"nothing to delete under eos://{listing.namespace}/"
                                f"{listing.prefix}")
        self.put_many([], deletes=names, message=message)
        return [loc.name for loc in names]

    def rm(self, name: str | Location, *, message: str = "") -> VersionRecord:
        """Delete a name by adding a delete marker; every earlier version stays readable."""
        loc = self.writable(name)
        if (txn := active_transaction(self.store)) is not None:
            return self.stager.rm(txn, loc)
        return self.committer.commit_one(
            loc, lambda: plan_rm(self.index, loc.namespace, loc.name), message)

    def undelete(self, name: str | Location, *, message: str = "") -> VersionRecord:
        """Add a version restoring the newest readable version before the delete marker."""
        self.stager.refuse("undelete")
        loc = self.writable(name)
        expires = self.committer.expiry(loc.namespace)
        record = self.committer.commit_one(
            loc,
            lambda: plan_undelete(self.index, loc.namespace, loc.name, expires=expires,
                                  now=format_time(self.committer.now())),
            message,
        )
        check_restored(self.store, record)
        return record

    def undelete_folder(self, prefix: str | Location, *, message: str = "") -> list[VersionRecord]:
        """Undelete every deleted name under a folder (``eos undelete -r``) in ONE changeset;
        return the versions made."""
        self.stager.refuse("undelete")
        folder = self.parser.folder(prefix)
        self.committer.check_write(folder.namespace)
        expires = self.committer.expiry(folder.namespace)
        changeset = self.committer.commit(
            folder.namespace,
            lambda: plan_undelete_folder(self.index, folder.namespace, folder.name,
                                         expires=expires, now=format_time(self.committer.now())),
            message)
        made = [self.index.version(folder.namespace, e.name, e.version or 0)
                for e in (changeset.entries if changeset else ())]
        records = [r for r in made if r is not None]
        check_restored_all(self.store, records)
        return records

    def rollback(
        self, name: str | Location, to: int | str, *, message: str = ""
    ) -> VersionRecord:
        """Add a version carrying the bytes of version ``to`` (a number, tag or hash prefix)."""
        self.stager.refuse("rollback")
        loc = self.writable(name)
        selector = str(to).lstrip("@")
        target = self.parser.reference(f"{loc.uri}@{selector}")
        expires = self.committer.expiry(loc.namespace)
        record = self.committer.commit_one(
            loc, lambda: plan_rollback(self.index, target, self.committer.now(), expires=expires),
            message,
        )
        check_restored(self.store, record)
        return record

    def tag(
        self, ref: str | Reference, tag: str, *, force: bool = False, message: str = ""
    ) -> VersionRecord:
        """Point ``tag`` at the version ``ref`` means; return that version."""
        self.stager.refuse("tag")
        target = self.parser.reference(ref)
        validate_tag(tag)
        self.committer.check_write(target.namespace)
        changeset = self.committer.commit(
            target.namespace,
            lambda: plan_tag(self.index, target, tag, force=force, now=self.committer.now()),
            message,
        )
        # The version this call tagged, not where the tag is now: another thread or process
        # may have moved or removed it since.
        record = (
            self.index.version(target.namespace, target.name, changeset.entries[0].version or 0)
            if changeset
            else self.index.tagged(target.namespace, target.name, tag)
        )
        if record is None:
            raise ConflictError(f"tag {tag!r} of {target.uri} was changed by another writer at "
                                "the same moment; see `eos versions` for where it is now")
        return record

    def untag(self, name: str | Location, tag: str, *, message: str = "") -> None:
        """Remove a tag from a name."""
        self.stager.refuse("untag")
        loc = self.writable(name)
        validate_tag(tag)
        self.committer.commit(
            loc.namespace, lambda: plan_untag(self.index, loc.namespace, loc.name, tag), message
        )

    def purge(self, ref: str | Reference, *, message: str = "") -> list[int]:
        """Make a version (``name@N``) or every version (``name``) unreadable, for good.

        Their blobs become collectable by garbage collection once nothing else references them.
        Returns the versions purged.
        """
        self.stager.refuse("purge")
        target = self.parser.reference(ref)
        selector = split_reference(ref)[1] if isinstance(ref, str) else target.selector[1:]
        if target.kind not in ("latest", "version") or selector == "latest":
            raise InvalidNameError(
                f"purge takes a name (all versions) or name@N (one version), not {target.uri}"
            )
        self.committer.check_write(target.namespace)
        version = target.value if target.kind == "version" else None
        if version is not None and not isinstance(version, int):
            raise InvalidNameError(f"purge takes name@N with N a number, not {target.uri}")
        changeset = self.committer.commit(
            target.namespace,
            lambda: plan_purge(self.index, target.namespace, target.name, version),
            message,
        )
        return list(changeset.entries[0].versions) if changeset else []
