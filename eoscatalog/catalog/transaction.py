"""Transactions: every write made in a block, by any thread or face of the process, staged
and published at the end of the block as ONE changeset (or not at all).

A transaction belongs to a store (its URL): while one is open, every catalog of the process on
that store stages its writes in it instead of committing them, and reads ``latest`` and listings
through it (a block reads its own writes). Blocks opened while one is open join it; the
outermost block's end publishes. Other processes (dask workers) join by the transaction's id:
their writes are staged as objects under ``transactions/<id>/`` (:mod:`eoscatalog.log.staged`)
that the committing process collects.

>>> from eoscatalog import Catalog
>>> cat = Catalog.at("memory://", user="ada")
>>> with cat.transaction(message="two files") as txn:
...     _ = cat.put_bytes(b"1", "d/a.txt"); _ = cat.put_bytes(b"2", "d/b.txt")
...     cat.cat("d/a.txt")
b'1'
>>> [r.uri for r in txn.records], cat.resolve("d/b.txt").seq
(['eos://users/ada/d/a.txt@1', 'eos://users/ada/d/b.txt@1'], 1)
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from types import TracebackType

from eoscatalog.core.errors import ConflictError, EosError, InvalidNameError, NotFoundError
from eoscatalog.log.records import VersionRecord
from eoscatalog.log.staged import (
    StagedWrite,
    decode_staged,
    encode_staged,
    new_token,
    open_key,
    split_token,
    staging_key,
    staging_prefix,
)
from eoscatalog.store import Store

__all__ = ["Transaction", "active_transaction"]

# Objects other processes staged are read and removed this many at a time (a Zarr store
# written by dask workers makes one per chunk).
STAGED_THREADS = 16
_ACTIVE: dict[str, Transaction] = {}
_REGISTRY = threading.Lock()

Publish = Callable[["Transaction", list[StagedWrite]], list[VersionRecord]]


def active_transaction(store: Store) -> Transaction | None:
    """The transaction open on ``store`` in this process, if any."""
    return _ACTIVE.get(store.url)


class Transaction:
    """Writes staged until the block ends (see the module's description).

    Made by :meth:`Catalog.transaction <eoscatalog.catalog.catalog.Catalog.transaction>`;
    ``publish`` commits the collected writes (the opening catalog's, as one changeset).
    With ``joined``, this process takes part in the transaction of that id opened elsewhere:
    its writes are stored under ``transactions/<id>/`` at once, and it publishes nothing.
    """

    def __init__(self, store: Store, publish: Publish, *, started: datetime, message: str = "",
                 namespace: str | None = None, joined: str | None = None) -> None:
        self.store = store
        self.started = started
        self.message = message
        self.namespace = namespace
        self.token = joined or new_token()
        self.id = split_token(self.token)[0]
        self.remote = joined is not None
        self.records: list[VersionRecord] = []  # the published versions, once committed
        self._publish = publish
        self._lock = threading.RLock()
        self._depth = 0
        self._staged: dict[str, StagedWrite] = {}
        self._participant = uuid.uuid4().hex
        self._objects = 0
        self._announced = False
        self._closed = False
        self._joined_to: Transaction | None = None
        # What this process staged before others could join: any write of theirs came later.
        self._before_others: dict[str, StagedWrite] = {}

    def __repr__(self) -> str:
        return f"Transaction(id={self.id!r}, namespace={self.namespace!r})"

    # -- the block ------------------------------------------------------------------------------

    def __enter__(self) -> Transaction:
        if self._closed and not self.remote:
            # Its block ended while this one was opening (another thread's): this block is a
            # new transaction.
            fresh = Transaction(self.store, self._publish, started=self.started,
                                message=self.message)
            self._joined_to = fresh
            return fresh.__enter__()
        with _REGISTRY:
            current = _ACTIVE.get(self.store.url)
            if current is not None and current is not self:
                # Another thread opened one since this block was made: join it.
                if self.remote and current.id != self.id:
                    raise ConflictError(
                        f"cannot join transaction {self.id} on {self.store.url}: this process "
                        f"has transaction {current.id} open there")
                self._joined_to = current
                current._depth += 1
                return current
            _ACTIVE[self.store.url] = self
            self._depth += 1
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if self._joined_to is not None:
            joined, self._joined_to = self._joined_to, None
            joined.__exit__(kind, value, traceback)
            return
        with _REGISTRY:
            self._depth -= 1
            if self._depth:
                return
            del _ACTIVE[self.store.url]
        if self.remote:
            return
        if kind is None:
            self.commit()
        else:
            self.abort()

    def commit(self) -> list[VersionRecord]:
        """Publish every staged write as one changeset (the block's end does this)."""
        with self._lock:
            if self._closed:
                raise ConflictError(f"transaction {self.id} has ended already")
            self._closed = True
        try:
            writes = self._collect()
            self.records = self._publish(self, writes) if writes else []
        finally:  # published, or refused as a whole: the staged objects serve no one now
            self._clean()
        return self.records

    def abort(self) -> None:
        """Publish nothing; remove what other processes staged. Blobs already stored are named
        by no version: gc collects them after its grace period."""
        with self._lock:
            self._closed = True
            self._staged.clear()
        if self._announced:
            self._clean()

    # -- staging ----------------------------------------------------------------------------------

    def stage(self, namespace: str, writes: list[StagedWrite]) -> None:
        """Stage writes to ``namespace`` (of two writes to one name, the later one wins)."""
        with self._lock:
            if self._closed:
                raise ConflictError(f"transaction {self.id} has ended: its writes were "
                                    "published or dropped; write outside it, or open another")
            if self.namespace is None:
                self.namespace = namespace
            elif namespace != self.namespace:
                raise InvalidNameError(
                    f"a transaction writes to one namespace: this one writes to "
                    f"eos://{self.namespace}/, not eos://{namespace}/ (one changeset per "
                    "namespace: use a transaction for each)")
            for write in writes:
                self._staged[write.name] = write
            if self.remote:
                self._send(namespace, writes)

    def staged(self, namespace: str, name: str) -> StagedWrite | None:
        """This process's staged write of a name, if any."""
        if namespace != self.namespace:
            return None
        return self._staged.get(name)

    def staged_under(self, namespace: str, prefix: str) -> list[StagedWrite]:
        """This process's staged writes of names starting with ``prefix``."""
        if namespace != self.namespace:
            return []
        with self._lock:
            return [w for name, w in sorted(self._staged.items()) if name.startswith(prefix)]

    def record_of(self, namespace: str, write: StagedWrite, version: int,
                  author: str) -> VersionRecord:
        """The version a staged write will be: ``version`` is a forecast (numbers are assigned
        at commit, on the freshest log); ``seq`` 0 says it is not published yet."""
        return VersionRecord(namespace, write.name, version, write.op, write.hash, write.size,
                             write.at, author, self.message, 0, source=write.source,
                             meta=dict(write.meta))

    def missing(self, namespace: str, name: str) -> NotFoundError:
        """The error for a name this transaction deleted."""
        return NotFoundError(f"eos://{namespace}/{name} is deleted in the open transaction "
                             f"{self.id}")

    # -- other processes ------------------------------------------------------------------------

    def announce(self) -> str:
        """Let other processes join (the ``open.json`` marker); return the token they join by
        (``Catalog.transaction(join=token)``; it holds the key their writes are signed with:
        hand it only to processes that may write in this transaction)."""
        with self._lock:
            if self._closed:
                raise ConflictError(f"transaction {self.id} has ended")
            if not self._announced and not self.remote:
                self.store.put(open_key(self.id), b"{}")
                self._announced = True
                self._before_others = dict(self._staged)
        return self.token

    def _send(self, namespace: str, writes: list[StagedWrite]) -> None:
        self._objects += 1
        key = staging_key(self.id, self._participant, self._objects)
        self.store.put(key, encode_staged(namespace, self.token, writes), if_absent=True)
        if not self.store.exists(open_key(self.id)):
            raise ConflictError(
                f"transaction {self.id} was no longer open when this process staged "
                f"{len(writes)} write(s): they may be missing from its changeset; write them "
                "again (outside it, or in a new transaction)")

    def _collect(self) -> list[StagedWrite]:
        """Every write staged for this transaction, here and (after closing the door to other
        processes) in the store; a name's latest write wins. A write staged elsewhere beats
        one staged here before others could join (``to_zarr(mode="w")`` deletes the old chunks
        here, then workers write them), whatever the machines' clocks say; otherwise the times
        staged decide."""
        if not self._announced:
            return list(self._staged.values())
        if not self.store.exists(open_key(self.id)):
            raise ConflictError(
                f"transaction {self.id} was no longer open to other processes when it ended "
                f"(its {open_key(self.id)} was removed: by gc with a grace period shorter than "
                "the transaction?): what they staged may be gone, so nothing was published; "
                "run the transaction again")
        self.store.delete(open_key(self.id))
        keys = [info.key for info in self.store.list(staging_prefix(self.id))]
        latest = dict(self._staged)
        with ThreadPoolExecutor(min(STAGED_THREADS, max(1, len(keys)))) as pool:
            objects = list(pool.map(self.store.get, keys))  # one per participant's write
        for raw in objects:
            namespace, writes = decode_staged(raw, self.token)
            if writes and self.namespace not in (None, namespace):
                raise InvalidNameError(
                    f"transaction {self.id} got writes to eos://{namespace}/ from another "
                    f"process, but it writes to eos://{self.namespace}/: nothing was published")
            self.namespace = namespace if writes else self.namespace
            for write in writes:
                held = latest.get(write.name)
                if (held is None or held is self._before_others.get(write.name)
                        or held.at <= write.at):
                    latest[write.name] = write
        self._check_blobs({w.hash for w in latest.values()
                           if w.hash and w is not self._staged.get(w.name)})
        return sorted(latest.values(), key=lambda w: w.name)

    def _check_blobs(self, hashes: set[str]) -> None:
        """Refuse to publish versions naming blobs another process said it stored but the
        store does not have (this process checked its own as it stored them)."""
        ordered = sorted(hashes)
        with ThreadPoolExecutor(min(STAGED_THREADS, max(1, len(ordered)))) as pool:
            missing = [h for h, there in zip(ordered, pool.map(self.store.has_blob, ordered),
                                             strict=True) if not there]
        if missing:
            raise ConflictError(
                f"{len(missing)} blob(s) another process staged in transaction {self.id} are "
                f"not in {self.store.url} (e.g. {missing[0]}): nothing was published; run the "
                "transaction again")

    def _clean(self) -> None:
        """Remove the transaction's objects (best effort: gc removes what is left)."""
        if not self._announced:
            return
        try:
            self.store.delete(open_key(self.id))  # first: a participant staging now is told
            keys = [info.key for info in self.store.list(staging_prefix(self.id))]
            with ThreadPoolExecutor(min(STAGED_THREADS, max(1, len(keys)))) as pool:
                list(pool.map(self.store.delete, keys))
        except EosError:  # published already; gc removes what is left
            pass
