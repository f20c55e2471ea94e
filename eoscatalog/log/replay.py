"""Replay: keeping the local index in step with the logs in the store.

A warm index costs one LIST per refresh. A cold one (or one more than two checkpoint intervals
behind) starts from the newest checkpoint and replays only the tail, so a new client never reads
the whole history. Writers append changesets through :meth:`Replay.append`, which also writes a
checkpoint every ``checkpoint_every`` changesets.
"""

from __future__ import annotations

import logging
import random
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from datetime import timedelta
from pathlib import Path

from eoscatalog.core.errors import (
    ConflictError,
    EosError,
    InvalidChangesetError,
    NotFoundError,
    PreconditionFailedError,
    StoreError,
)
from eoscatalog.core.faults import crash_point
from eoscatalog.core.units import format_time, parse_time
from eoscatalog.log.changesets import (
    Changeset,
    Entry,
    Log,
    changeset_key,
    checkpoint_key,
    list_namespaces,
)
from eoscatalog.log.index import Index
from eoscatalog.log.validation import parse_changeset
from eoscatalog.store import Store

__all__ = ["MAX_COMMIT_ATTEMPTS", "Replay"]

MAX_COMMIT_ATTEMPTS = 200
logger = logging.getLogger("eoscatalog")


def _after(now: str, last: str | None) -> str:
    """``now``, or just after ``last`` when a clock lags: times grow with the log's order.

    >>> _after("2026-01-01T00:00:00.000000Z", "2026-01-01T00:00:05.000000Z")
    '2026-01-01T00:00:05.000001Z'
    """
    if last is None or now > last:
        return now
    return format_time(parse_time(last) + timedelta(microseconds=1))


class Replay:
    """Brings an :class:`Index` up to date with a store's logs, and appends to them.

    >>> from eoscatalog.store import MemoryStore
    >>> replay = Replay(MemoryStore(), Index(":memory:"))
    >>> replay.refresh("org")
    0
    """

    def __init__(
        self,
        store: Store,
        index: Index,
        *,
        checkpoint_every: int = 100,
        single_writer: bool = False,
    ) -> None:
        self.store = store
        self.index = index
        self.checkpoint_every = checkpoint_every
        self.single_writer = single_writer
        self._cold_checked: set[str] = set()
        self._commit_locks: dict[str, threading.Lock] = {}
        self._commit_locks_guard = threading.Lock()
        # The seq this replay last appended, per namespace: while it is still the index's
        # newest, the next commit plans without listing the log first (see _commit).
        self._own_tip: dict[str, int] = {}

    def _commit_lock(self, namespace: str) -> threading.Lock:
        with self._commit_locks_guard:
            return self._commit_locks.setdefault(namespace, threading.Lock())

    def refresh(self, namespace: str) -> int:
        """Apply the namespace's new changesets to the index; return how many were applied."""
        log = Log(self.store, namespace)
        applied = self.index.applied_seq(namespace)
        if applied == 0 and namespace not in self._cold_checked:
            self.load_checkpoint(log)
            self._cold_checked.add(namespace)  # an empty namespace costs one LIST after this
            applied = self.index.applied_seq(namespace)
        new = log.changesets_after(applied)
        if len(new) > 2 * self.checkpoint_every and self.load_checkpoint(log):
            applied = self.index.applied_seq(namespace)
            new = [(s, t) for s, t in new if s > applied]
        count = 0
        expected = applied + 1
        for seq, committed in new:
            if seq != expected:
                # Writers append at the seq after the last they read, so a changeset past a
                # gap was put there out of order (crafted, or its predecessors deleted). It is
                # not there yet: writers fill the log from the gap, and it is read (and checked)
                # when the log reaches it. It never stops the namespace.
                logger.warning("%s is past a gap in the log (the next changeset is #%d): not "
                               "read until the log reaches it", changeset_key(log.namespace, seq),
                               expected)
                break
            if self._apply_stored(log, seq, committed):
                count += 1
            expected += 1
        return count

    def _apply_stored(self, log: Log, seq: int, committed: str | None) -> bool:
        """Apply changeset ``seq`` from the store, or skip it if it breaks the rules.

        Every field is checked (validation.py) and its versions must continue the log; a
        changeset that fails is skipped with a warning naming its key, its seq stays used, and
        the changesets after it apply on the state before it. Every client decides alike.
        """
        key = changeset_key(log.namespace, seq)
        try:
            changeset = parse_changeset(self.store.get(key), namespace=log.namespace, seq=seq,
                                        key=key)
            return self.index.apply(changeset, committed)
        except InvalidChangesetError as e:
            if self.index.skip(log.namespace, seq, str(e)):
                logger.warning("skipped %s: %s; its changes were not applied (see `eos admin "
                               "changesets --bad`)", key, e)
            return False

    def commit(
        self,
        namespace: str,
        plan: Callable[[], list[Entry]],
        *,
        author: str,
        message: str,
        now: Callable[[], str],
    ) -> Changeset | None:
        """Plan on the freshest state and append at the next seq; replan after a lost race.

        ``plan`` is called again on every attempt, so a writer that lost seq N to another
        replays N and recomputes its version numbers on top of it (optimistic concurrency).
        Returns None when the plan has nothing to write.

        Threads of this process commit to a namespace one at a time: they share the index, so
        racing each other for the next seq would only cost wasted writes and retries (with
        enough threads, a thread could lose every attempt). Other processes still race through
        the store's create-if-absent.
        """
        with self._commit_lock(namespace):
            return self._commit(namespace, plan, author=author, message=message, now=now)

    def _commit(
        self,
        namespace: str,
        plan: Callable[[], list[Entry]],
        *,
        author: str,
        message: str,
        now: Callable[[], str],
    ) -> Changeset | None:
        for attempt in range(MAX_COMMIT_ATTEMPTS):
            # After this replay's own append, the index is the freshest state it knows: plan
            # on it without a LIST. Had another writer appended since, the append below would
            # find its seq taken, and the next attempt lists, replays and plans again; a plan
            # that refuses, or finds nothing to do, is also made again on the listed log.
            # (Not on a store without conditional writes: nothing would find the seq taken.)
            unlisted = not (attempt or self.single_writer
                            or self._own_tip.get(namespace) != self.index.applied_seq(namespace))
            if not unlisted:
                self.refresh(namespace)
            # Read seq BEFORE planning. The index holds only changesets the store has, so if a
            # process sharing the index applies more while we plan, the store already has
            # `seq` and the append below fails safely. Read after planning, a plan made on an
            # older state could be written at a newer seq with wrong version numbers.
            seq = self.index.applied_seq(namespace) + 1
            last_created = self.index.last_created(namespace)
            try:
                entries = plan()
            except EosError:
                if unlisted:
                    continue
                raise
            if not entries:
                if unlisted:
                    continue
                return None
            changeset = Changeset(
                namespace=namespace,
                seq=seq,
                created=_after(now(), last_created),
                author=author,
                entries=tuple(entries),
                message=message,
            )
            try:
                self.index.check(changeset)  # a planning mistake must never reach the store
            except StoreError:
                if self.index.applied_seq(namespace) >= seq:
                    continue  # overtaken while planning (a shared index): the seq is taken
                raise
            try:
                self.append(changeset)
            except PreconditionFailedError:
                if self._is_ours(changeset):
                    # Our write landed but its answer was lost and a retry was refused.
                    self._applied(changeset)
                    return changeset
                # Another writer owns this seq: back off a little, replay it, plan again.
                time.sleep(random.uniform(0, min(0.5, 0.005 * 2 ** min(attempt, 7))))
                continue
            return changeset
        raise ConflictError(
            f"gave up writing to {namespace} after {MAX_COMMIT_ATTEMPTS} attempts: other "
            "writers kept winning the race; nothing was recorded, retry later"
        )

    def _is_ours(self, changeset: Changeset) -> bool:
        try:
            stored = Log(self.store, changeset.namespace).read(changeset.seq)
        except (NotFoundError, StoreError):  # gone, or not a changeset we could have written
            return False
        return stored.writer == changeset.writer

    def append(self, changeset: Changeset) -> None:
        """Write the changeset at its seq (PreconditionFailedError if taken), then apply it."""
        Log(self.store, changeset.namespace).append(changeset, single_writer=self.single_writer)
        crash_point("commit.changeset-written")
        self._applied(changeset)
        self._own_tip[changeset.namespace] = changeset.seq

    def _applied(self, changeset: Changeset) -> None:
        """Apply a changeset that is in the store, and checkpoint when it is time."""
        log = Log(self.store, changeset.namespace)
        try:
            # The store's write time, exactly as readers take it from their LIST (whole
            # seconds), so this index and its checkpoints agree with every other client's.
            committed = log.committed(changeset.seq)
        except EosError as e:
            logger.warning("could not read the time of %s#%d (%s); reading the log instead",
                           changeset.namespace, changeset.seq, e)
            self.refresh(changeset.namespace)
            committed = None
        self.index.apply(changeset, committed)
        crash_point("commit.applied")
        if changeset.seq % self.checkpoint_every == 0:
            try:
                self.write_checkpoint(changeset.namespace, changeset.seq)
            except EosError as e:
                # Checkpoints only speed up new clients; the change itself is recorded.
                logger.warning("could not write checkpoint %s#%d: %s",
                               changeset.namespace, changeset.seq, e)

    def load_checkpoint(self, log: Log) -> bool:
        """Load the newest checkpoint if it is ahead of the index; True if one was loaded."""
        applied = self.index.applied_seq(log.namespace)
        for seq in reversed(log.checkpoint_seqs()):
            if seq <= applied:
                return False
            # A checkpoint is any client's summary of the log up to its seq: one past the end of
            # the log (crafted, or from a log since removed) summarizes nothing that happened.
            if self.store.exists(changeset_key(log.namespace, seq)):
                break
            logger.warning("ignoring checkpoint %s: the log has no changeset #%d",
                           checkpoint_key(log.namespace, seq), seq)
        else:
            return False
        key = checkpoint_key(log.namespace, seq)
        with tempfile.TemporaryDirectory(prefix="eos-checkpoint-") as tmp:
            path = Path(tmp) / "checkpoint.sqlite"
            try:
                path.write_bytes(self.store.get(key))
                self.index.import_namespace(log.namespace, path, seq)
            except (sqlite3.Error, StoreError) as e:
                # The log is the truth: a damaged checkpoint only costs a longer replay.
                logger.warning("ignoring unreadable checkpoint %s: %s", key, e)
                return False
        return True

    def write_checkpoint(self, namespace: str, seq: int) -> None:
        """Upload the namespace's state at ``seq`` (skipped if the index moved past it)."""
        with tempfile.TemporaryDirectory(prefix="eos-checkpoint-") as tmp:
            path = Path(tmp) / "checkpoint.sqlite"
            if self.index.export_namespace(namespace, seq, path):
                crash_point("commit.checkpoint-temp")
                try:
                    self.store.put(checkpoint_key(namespace, seq), path.read_bytes(),
                                   if_absent=True)
                except PreconditionFailedError:
                    pass  # another client wrote the same state

    def reindex(self, namespaces: Iterable[str] | None = None) -> dict[str, int]:
        """Rebuild the index's rows from the store; return each namespace's seq.

        With ``namespaces``, only those are rebuilt; without, every namespace in the store is,
        and namespaces the store no longer has are dropped.
        """
        chosen = list(namespaces) if namespaces is not None else list_namespaces(self.store)
        dropped = set(chosen) if namespaces is not None else set(chosen) | set(
            self.index.namespaces()
        )
        for namespace in dropped:
            self.index.drop_namespace(namespace)
            self._cold_checked.discard(namespace)
        result = {}
        for namespace in chosen:
            self.refresh(namespace)
            result[namespace] = self.index.applied_seq(namespace)
        return result
