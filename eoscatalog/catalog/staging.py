"""The writes of a catalog while a transaction is open on its store: staged in the transaction
(blobs stored, verified, at once; names published at its end), and the commit that publishes
them as one changeset.

:class:`Stager` is owned by :class:`~eoscatalog.catalog.writes.Writer`, which hands it every
put, copy and delete made while :func:`~eoscatalog.catalog.transaction.active_transaction`
finds one. What a staged write returns is a forecast: the version number a name will get is
assigned at commit, against the freshest log, as every write's is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from eoscatalog.catalog.commit import Committer
from eoscatalog.catalog.copyguard import HEAD_THREADS, check_copied, check_sources
from eoscatalog.catalog.ingest import StoredBlob
from eoscatalog.catalog.parser import Parser
from eoscatalog.catalog.reads import Reader
from eoscatalog.catalog.transaction import Transaction, active_transaction
from eoscatalog.core.errors import ConflictError, InvalidNameError, NameExistsError, NotFoundError
from eoscatalog.core.names import Location
from eoscatalog.core.units import format_time, parse_time
from eoscatalog.log.records import VersionRecord
from eoscatalog.log.staged import StagedWrite
from eoscatalog.rules.planning import PutItem

__all__ = ["Stager"]

# Each item's index, and its (version, whether new); see Writer._publish.
Publish = Callable[
    [dict[str, list[tuple[int, PutItem]]], dict[str, list[str]], str,
     Callable[[str], None] | None],
    list[tuple[int, tuple[VersionRecord, bool]]],
]
# Blobs named by a transaction open this long are looked for before it publishes: gc, whose
# grace period is at least this, may have taken a reused one since it was staged.
CHECK_BLOBS_AFTER = timedelta(hours=1)


class Stager:
    """Stages writes in the open transaction and publishes transactions (see the module)."""

    def __init__(self, committer: Committer, reader: Reader, parser: Parser,
                 publish: Publish) -> None:
        self.committer = committer
        self.reader = reader
        self.parser = parser
        self.store = committer.store
        self.index = committer.index
        self._publish = publish

    def transaction(self, message: str = "", *, namespace: str | None = None,
                    join: str | None = None) -> Transaction:
        """The transaction open on the store (joined), or a new one; ``join``: take part in
        the transaction of that id opened by another process."""
        current = active_transaction(self.store)
        if current is not None and (join is None or join == current.id):
            return current
        ns = None if namespace is None else self.parser.namespace(namespace)
        if ns is not None:
            self.committer.check_write(ns)
        return Transaction(self.store, self.publish, message=message, namespace=ns,
                           joined=join, started=self.committer.now())

    # -- staging ----------------------------------------------------------------------------------

    def put(self, txn: Transaction, locs: Sequence[Location], blobs: Sequence[StoredBlob],
            meta: dict[str, object], removals: Sequence[Location] = ()) -> list[
                tuple[VersionRecord, bool]]:
        """Stage new versions of ``locs`` (their blobs stored) and delete markers."""
        at = self._now()
        by_namespace: dict[str, list[StagedWrite]] = {}
        for loc, blob in zip(locs, blobs, strict=True):
            by_namespace.setdefault(loc.namespace, []).append(
                StagedWrite(loc.name, "put", blob.hash, blob.size, at, dict(meta)))
        for loc in removals:
            by_namespace.setdefault(loc.namespace, []).append(StagedWrite(loc.name, "delete",
                                                                          at=at))
        return self._stage(txn, by_namespace, list(locs))

    def copies(self, txn: Transaction, planned: Sequence[tuple[Location, PutItem]],
               removals: Sequence[Location]) -> list[tuple[VersionRecord, bool]]:
        """Stage copies (no byte moves) and delete markers."""
        at = self._now()
        by_namespace: dict[str, list[StagedWrite]] = {}
        for loc, item in planned:
            by_namespace.setdefault(loc.namespace, []).append(StagedWrite(
                item.name, "copy", item.hash, item.size, at, dict(item.meta), item.source))
        for loc in removals:
            by_namespace.setdefault(loc.namespace, []).append(StagedWrite(loc.name, "delete",
                                                                          at=at))
        return self._stage(txn, by_namespace, [loc for loc, _ in planned])

    def put_if_absent(self, txn: Transaction, loc: Location, blob: StoredBlob,
                      meta: dict[str, object]) -> tuple[VersionRecord, bool]:
        """Stage the first version of a name that holds none (checked again at commit)."""
        staged = txn.staged(loc.namespace, loc.name)
        current = self._current(txn, loc, fresh=True)
        if current is not None:
            raise NameExistsError(
                f"{loc.uri} already exists (version {current.version}): a create-only write "
                "makes only the first version; write without it to add a version")
        write = StagedWrite(loc.name, "put", blob.hash, blob.size, self._now(), dict(meta),
                            create_only=staged is None)  # deleted in this block: a new version
        return self._stage(txn, {loc.namespace: [write]}, [loc])[0]

    def rm(self, txn: Transaction, loc: Location) -> VersionRecord:
        """Stage a delete marker on a name's readable latest version."""
        if self._current(txn, loc, fresh=True) is None:
            raise NotFoundError(f"{loc.uri} has no readable version to delete")
        write = StagedWrite(loc.name, "delete", at=self._now())
        txn.stage(loc.namespace, [write])
        return txn.record_of(loc.namespace, write, self._forecast(loc), self._user())

    def refuse(self, what: str) -> None:
        """Refuse an operation that cannot be staged, while a transaction is open."""
        txn = active_transaction(self.store)
        if txn is not None:
            raise ConflictError(f"{what} cannot run inside a transaction (open: {txn.id}): its "
                                "writes are staged until the block ends; run it after the block")

    def _stage(self, txn: Transaction, by_namespace: dict[str, list[StagedWrite]],
               locs: list[Location]) -> list[tuple[VersionRecord, bool]]:
        if len(by_namespace) > 1:
            raise InvalidNameError(
                f"a transaction writes to one namespace, not {len(by_namespace)} "
                f"({', '.join(sorted(by_namespace))}): use a transaction for each")
        forecasts = {}
        for namespace, writes in by_namespace.items():
            self.committer.check_write(namespace, probe=False)
            for write in writes:
                if write.op != "delete":
                    forecasts[write.name] = self._forecast_write(txn, namespace, write)
            txn.stage(namespace, writes)
        return [forecasts[loc.name] for loc in locs]

    def _forecast_write(self, txn: Transaction, namespace: str,
                        write: StagedWrite) -> tuple[VersionRecord, bool]:
        """The version a staged write will be, and whether it will be new (unchanged bytes and
        metadata make none)."""
        loc = Location(namespace, write.name)
        current = self._current(txn, loc)
        if current is not None and current.hash == write.hash and current.meta == write.meta:
            return current, False
        return txn.record_of(namespace, write, self._forecast(loc), self._user()), True

    def _current(self, txn: Transaction, loc: Location, *,
                 fresh: bool = False) -> VersionRecord | None:
        """The readable latest version of a name, as this transaction sees it (``fresh``: with
        the log read first; a forecast does without, the commit plans on the freshest log)."""
        staged = txn.staged(loc.namespace, loc.name)
        if staged is not None:
            return (None if staged.op == "delete" else
                    txn.record_of(loc.namespace, staged, self._forecast(loc), self._user()))
        if fresh:
            self.reader.refresh_online(loc.namespace)
        latest = self.index.latest(loc.namespace, loc.name)
        return None if latest is None or latest.is_delete_marker else latest

    def _forecast(self, loc: Location) -> int:
        return self.index.next_version(loc.namespace, loc.name)

    def _now(self) -> str:
        return format_time(self.committer.now())

    def _user(self) -> str:
        return self.committer.settings.user

    # -- publishing -------------------------------------------------------------------------------

    def publish(self, txn: Transaction, writes: list[StagedWrite]) -> list[VersionRecord]:
        """Publish a transaction's writes as ONE changeset; return the versions it made (names
        whose bytes and metadata were unchanged make none). Refused as a whole, nothing
        published, when a create-only name exists by then, a copied source was purged, or a
        blob is missing."""
        namespace = txn.namespace
        if namespace is None:
            return []
        puts = [w for w in writes if w.op != "delete"]
        doomed = [w.name for w in writes if w.op == "delete"]
        if self.committer.now() - txn.started > CHECK_BLOBS_AFTER:
            self._check_blobs(namespace, puts)
        origins = [self.reader.resolve_exact(self.parser.reference(w.source))
                   for w in puts if w.source is not None]
        create_only = [w.name for w in puts if w.create_only]

        def check(ns: str) -> None:
            for name in create_only:
                latest = self.index.latest(ns, name)
                if latest is not None and not latest.is_delete_marker:
                    raise NameExistsError(
                        f"eos://{ns}/{name} was created by another writer while transaction "
                        f"{txn.id} was open: nothing was published")
            if origins:
                check_sources(self.index, self.committer.replay.refresh, self.parser.reference,
                              self.committer.now(), ns, origins)

        items = [PutItem(w.name, w.hash or "", w.size or 0, dict(w.meta), source=w.source)
                 for w in puts]
        results = self._publish({namespace: list(enumerate(items))}, {namespace: doomed},
                                txn.message, check)
        made = [record for _, (record, created) in results if created]
        if origins:
            by_uri = {o.uri: o for o in origins}
            check_copied(self.store, [(by_uri[r.source], r) for r in made
                                      if r.source in by_uri])
        markers = [self.index.latest(namespace, name) for name in doomed]
        made += [m for m in markers if m is not None and m.is_delete_marker
                 and parse_time(m.created) >= txn.started]
        return sorted(made, key=lambda r: r.name)

    def _check_blobs(self, namespace: str, puts: list[StagedWrite]) -> None:
        hashes = sorted({w.hash for w in puts if w.hash})
        with ThreadPoolExecutor(min(HEAD_THREADS, max(1, len(hashes)))) as pool:
            present = dict(zip(hashes, pool.map(self.store.has_blob, hashes), strict=True))
        lost = [w.name for w in puts if w.hash and not present[w.hash]]
        if lost:
            raise ConflictError(
                f"{len(lost)} name(s) staged in eos://{namespace}/ name bytes no longer in "
                f"{self.store.url} (collected while the transaction was open), e.g. "
                f"{lost[0]}: nothing was published; run the transaction again")
