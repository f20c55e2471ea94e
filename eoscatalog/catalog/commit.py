"""The commit path every write of a catalog takes: check the writer may write, plan on the
freshest state, append at the next seq, plan again after a lost race, read the result back.

:class:`Committer` is owned by :class:`~eoscatalog.catalog.catalog.Catalog` and used by its
writes (:mod:`~eoscatalog.catalog.writes`), the YAML import
(:mod:`~eoscatalog.catalog.exports`) and gc's retention pruning
(:mod:`~eoscatalog.catalog.maintenance`). The race itself is run by :meth:`Replay.commit`.
Writes that make versions go through :meth:`Committer.commit_shared`, which lets concurrent
threads share changesets (:mod:`~eoscatalog.catalog.group_commit`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Protocol

from eoscatalog.catalog.group_commit import GroupCommit
from eoscatalog.core.errors import ConflictError
from eoscatalog.core.names import Location
from eoscatalog.core.units import format_time
from eoscatalog.log.changesets import VERSION_OPS, Changeset, Entry, no_conditional_writes_error
from eoscatalog.log.index import Index
from eoscatalog.log.records import VersionRecord
from eoscatalog.log.replay import Replay
from eoscatalog.rules.permissions import check_write
from eoscatalog.rules.planning import PutItem
from eoscatalog.store import Store

__all__ = ["Committer", "Settings"]


class Settings(Protocol):
    """Who is writing, and how: read from the owner at every call, so a change to it
    (``cat.admin = True``) holds for the next write. :class:`Catalog` is one."""

    @property
    def user(self) -> str: ...
    @property
    def admin(self) -> bool: ...
    @property
    def offline(self) -> bool: ...
    @property
    def single_writer(self) -> bool: ...
    @property
    def scratch_ttl(self) -> float: ...


class Committer:
    """Commits planned changesets to a store's log and reads their versions back.

    ``plan`` callables run again on every attempt, on the freshest state of the namespace;
    ``clock`` stamps changesets and scratch expiries.
    """

    def __init__(self, store: Store, index: Index, replay: Replay, settings: Settings,
                 clock: Callable[[], datetime]) -> None:
        self.store = store
        self.index = index
        self.replay = replay
        self.settings = settings
        self.clock = clock
        self.group = GroupCommit(self._append)

    def now(self) -> datetime:
        """The time by this catalog's clock."""
        return self.clock()

    def expiry(self, namespace: str) -> str | None:
        """When a version written to ``namespace`` now expires: ``scratch_ttl`` on, in scratch
        namespaces only."""
        if not namespace.startswith("scratch/"):
            return None
        return format_time(self.now() + timedelta(seconds=self.settings.scratch_ttl))

    def check_write(self, namespace: str, *, probe: bool = True) -> None:
        """Raise the error a write to ``namespace`` would raise now (permission, offline, a
        store without conditional writes), so plans and dry runs refuse what runs would.

        ``probe=False`` leaves out the store's conditional-write probe (writes, on S3): a sync
        checks the rest before planning and probes only once it has something to write.
        """
        if self.settings.offline:
            raise ConflictError("cannot write while offline: unset EOS_OFFLINE to publish changes")
        check_write(namespace, user=self.settings.user, admin=self.settings.admin)
        if (probe and not self.settings.single_writer
                and not self.store.supports_conditional_writes):
            raise no_conditional_writes_error(self.store.url)  # before any byte is stored

    def commit(
        self, namespace: str, plan: Callable[[], list[Entry]], message: str
    ) -> Changeset | None:
        """Append the planned entries at the next seq, replanning after every lost race."""
        self.check_write(namespace)
        return self._append(namespace, plan, message)

    def commit_shared(
        self, namespace: str, plan: Callable[[], list[Entry]], message: str,
        names: Iterable[str],
    ) -> Changeset | None:
        """As :meth:`commit`, for a plan that writes entries of ``names`` only: writes of
        other threads arriving meanwhile may share the changeset (group commit), which is
        returned once it is in the store. Read the plan's own results with :meth:`read_back`.
        """
        self.check_write(namespace)
        return self.group.commit(namespace, plan, message, names)

    def _append(
        self, namespace: str, plan: Callable[[], list[Entry]], message: str
    ) -> Changeset | None:
        return self.replay.commit(
            namespace, plan, author=self.settings.user, message=message,
            now=lambda: format_time(self.now()),
        )

    def commit_one(
        self, loc: Location, plan: Callable[[], list[Entry]], message: str
    ) -> VersionRecord:
        """Commit a plan that adds one version of ``loc``; return that version (or, when the
        plan had nothing to write, the latest)."""
        changeset = self.commit(loc.namespace, plan, message)
        record = (
            self.index.version(loc.namespace, loc.name, changeset.entries[0].version or 0)
            if changeset
            else self.index.latest(loc.namespace, loc.name)
        )
        if record is None:
            raise ConflictError(f"{loc.uri} was purged by another writer at the same moment; "
                                "see `eos versions` for what the log holds")
        return record

    def read_back(
        self, namespace: str, changeset: Changeset | None, items: list[PutItem]
    ) -> list[tuple[VersionRecord, bool]]:
        """Each item's version after a commit, and whether the changeset made it.

        Versions are read back by number: another process sharing the index may have added
        newer ones since this changeset was applied. All items are read in a few queries
        (:meth:`Index.records_of`), not one per item.
        """
        new = {
            e.name: e.version for e in (changeset.entries if changeset else ())
            if e.op in VERSION_OPS
        }
        found = self.index.records_of(namespace, {item.name: new.get(item.name) for item in items})
        out = []
        for item in items:
            record = found.get(item.name)
            if record is None:
                raise ConflictError(
                    f"eos://{namespace}/{item.name} was written, but this client's index no "
                    "longer shows it (rebuilt or purged by another thread or process at the "
                    "same moment); see `eos versions` for what the log holds"
                )
            out.append((record, item.name in new))
        return out
