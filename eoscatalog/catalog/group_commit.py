"""Group commit: writes that arrive together from threads of one process share changesets.

Threads of a process commit to a namespace one at a time (:meth:`Replay.commit` holds a lock
per namespace), so without this N threads writing N names (dask's threaded scheduler writing
the chunks of a Zarr store) would make N changesets, one after the other. Here a write hands
its *intent* (its plan, the names it touches, its message) to a queue per namespace instead:

* a write that finds no commit in flight for its namespace leads at once: a lone writer
  commits exactly as before, with no timer;
* writes that arrive while a commit is in flight queue behind it. When it ends, the oldest
  queued write leads the next batch: it takes every queued intent with the same message and
  names disjoint from those already taken (one that conflicts waits for the next batch, and so
  does every later intent touching its names, so writes of one name keep their order), and
  commits ONE changeset whose plan is the concatenation of theirs. Each plan runs again on
  every attempt, on the freshest state, as a lone commit's does;
* every intent of the batch is answered with that changeset only once it is in the store and
  applied to the index: no write is reported before it is durable;
* when one intent's plan refuses (a create-only write of a name that exists, a copy whose
  source was purged), each intent of the batch is committed on its own, so only the guilty one
  gets the error. A store error on the append fails every intent of the batch with that error,
  as it would have failed each alone.

:class:`~eoscatalog.catalog.commit.Committer` owns one, for the writes of
:class:`~eoscatalog.catalog.writes.Writer` that make versions (put, put_if_absent, copy).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from eoscatalog.core.errors import ConflictError
from eoscatalog.log.changesets import Changeset, Entry

__all__ = ["MAX_BATCH_NAMES", "GroupCommit"]

# A batch stops taking intents past this many names (its first intent is always taken):
# changesets stay of the size a large sync makes.
MAX_BATCH_NAMES = 10_000
# How long a leader waits, at most, for announced writes still storing their blobs.
LINGER = 0.05

Plan = Callable[[], list[Entry]]


@dataclass(eq=False)
class _Intent:
    """One write waiting to be committed, and what became of it."""

    plan: Plan
    message: str
    names: frozenset[str]
    state: str = "queued"  # then "lead" (commit a batch), "alone" (commit itself) or "done"
    changeset: Changeset | None = None
    error: BaseException | None = None
    woken: threading.Event = field(default_factory=threading.Event)


class GroupCommit:
    """Leader/follower batching of commits, per namespace.

    ``commit(namespace, plan, message)`` appends one changeset (``Replay.commit``: plan on
    the freshest state, replan after a lost race) and returns it, or None when the plan had
    nothing to write.

    >>> from eoscatalog.log.changesets import Entry
    >>> made = []
    >>> def commit(namespace, plan, message):
    ...     made.append([e.name for e in plan()])
    ...     return None
    >>> group = GroupCommit(commit)
    >>> group.commit("users/ada", lambda: [Entry(op="delete", name="a", version=2)], "", {"a"})
    >>> made
    [['a']]
    """

    def __init__(self, commit: Callable[[str, Plan, str], Changeset | None], *,
                 max_names: int = MAX_BATCH_NAMES) -> None:
        self._commit = commit
        self._max_names = max_names
        self._guard = threading.Lock()
        self._arrived = threading.Condition(self._guard)
        self._queues: dict[str, list[_Intent]] = {}  # a namespace is here while it has a leader
        self._coming: dict[str, int] = {}  # writes storing their blobs, to commit next
        self.linger = LINGER
        self._mine = threading.local()  # the namespaces this thread's write will commit to

    @contextmanager
    def coming(self, namespaces: Iterable[str]) -> Iterator[None]:
        """Announce a write that is storing its blobs and will then commit to ``namespaces``:
        a leader about to commit waits for it (at most ``linger`` seconds) so that both
        share the changeset. Only announced writes are waited for: a lone write commits at
        once."""
        mine = set(namespaces)
        with self._guard:
            for namespace in mine:
                self._coming[namespace] = self._coming.get(namespace, 0) + 1
        self._mine.namespaces = mine
        try:
            yield
        finally:
            with self._guard:
                for namespace in mine:  # those it never committed to (refused, or failed)
                    self._arrive(namespace)
            self._mine.namespaces = set()

    def _arrive(self, namespace: str) -> None:
        """Count an announced write as arrived (under the guard)."""
        left = self._coming.get(namespace, 0) - 1
        if left > 0:
            self._coming[namespace] = left
        else:
            self._coming.pop(namespace, None)
        self._arrived.notify_all()

    def commit(self, namespace: str, plan: Plan, message: str,
               names: Iterable[str]) -> Changeset | None:
        """Commit ``plan`` (which touches only ``names``), alone or with concurrent writes;
        return the changeset holding its entries (shared with other writes), or None when
        nothing was written. Returns once that changeset is in the store and applied.

        ``plan`` must write entries for ``names`` only, and read nothing another intent's
        entries would change: plans run one after the other on the same state.
        """
        intent = _Intent(plan, message, frozenset(names))
        mine: set[str] = getattr(self._mine, "namespaces", set())
        with self._guard:
            if namespace in mine:
                mine.discard(namespace)
                self._arrive(namespace)
            queue = self._queues.get(namespace)
            if queue is None:
                self._queues[namespace] = [intent]
                intent.state = "lead"
            else:
                queue.append(intent)
        if intent.state == "queued":
            intent.woken.wait()  # a leader committed it, or made it lead, or sent it alone
        if intent.state == "lead":
            self._lead(namespace)
        if intent.state == "alone":
            return self._commit(namespace, plan, message)
        if intent.error is not None:
            raise intent.error
        return intent.changeset

    def queued(self, namespace: str) -> int:
        """How many writes to ``namespace`` wait behind the commit in flight.

        >>> GroupCommit(lambda namespace, plan, message: None).queued("org")
        0
        """
        with self._guard:
            return len(self._queues.get(namespace, ()))

    def _lead(self, namespace: str) -> None:
        """Commit a batch of the namespace's queue (headed by this thread's own intent), then
        hand the lead to the oldest intent still queued."""
        with self._guard:
            # Writes still storing their blobs commit next: take them along rather than
            # leave them to wait a whole commit behind this one.
            deadline = time.monotonic() + self.linger
            while self._coming.get(namespace) and (left := deadline - time.monotonic()) > 0:
                self._arrived.wait(left)
            batch = self._take(self._queues[namespace])
        try:
            self._run(namespace, batch)
        finally:
            with self._guard:
                queue = self._queues[namespace]
                if queue:
                    queue[0].state = "lead"
                    queue[0].woken.set()
                else:
                    del self._queues[namespace]
            for intent in batch[1:]:
                intent.woken.set()

    def _take(self, queue: list[_Intent]) -> list[_Intent]:
        """Remove and return the next batch: the head of the queue and every later intent of
        its message whose names meet neither the batch's nor a skipped intent's."""
        batch: list[_Intent] = []
        taken: set[str] = set()
        skipped: set[str] = set()
        rest: list[_Intent] = []
        for intent in queue:
            if not batch or (
                intent.message == batch[0].message
                and taken.isdisjoint(intent.names) and skipped.isdisjoint(intent.names)
                and len(taken) + len(intent.names) <= self._max_names
            ):
                batch.append(intent)
                taken |= intent.names
            else:
                rest.append(intent)
                skipped |= intent.names
        queue[:] = rest
        return batch

    def _run(self, namespace: str, batch: list[_Intent]) -> None:
        """Commit the batch as one changeset and settle each intent's state."""
        refused: list[_Intent] = []

        def plan() -> list[Entry]:
            entries: list[Entry] = []
            for intent in batch:
                try:
                    entries.extend(intent.plan())
                except Exception:
                    refused.append(intent)
                    raise
            return entries

        try:
            changeset = self._commit(namespace, batch[0].plan if len(batch) == 1 else plan,
                                     batch[0].message)
        except Exception as e:
            for intent in batch:
                if refused:  # one plan refused: each is committed on its own
                    intent.state = "alone"
                else:
                    intent.state, intent.error = "done", e
            return
        except BaseException as e:  # interrupted (KeyboardInterrupt): the leader raises it
            batch[0].state, batch[0].error = "done", e
            for intent in batch[1:]:
                intent.state = "done"
                intent.error = ConflictError(
                    "the thread committing this write together with others was interrupted "
                    f"({type(e).__name__}): it may or may not be recorded; see `eos versions`")
            return
        for intent in batch:
            intent.state, intent.changeset = "done", changeset
