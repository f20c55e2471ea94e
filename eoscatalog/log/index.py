"""The SQLite index (through sqlite-utils): this client's replay of the catalog log.

It holds every version and tag seen, the changesets applied and the last applied seq per
namespace. It never talks to the store: the catalog feeds it changesets and checkpoint files.
Losing it loses nothing; ``Catalog.reindex`` rebuilds it.

Every write runs in ``BEGIN IMMEDIATE`` with a busy timeout, so processes sharing one index file
queue up instead of failing with "database is locked", and a changeset is applied whole or not
at all, exactly once.

:class:`Index` owns the connection and the writes; it has collaborators for the rest: its reads
are :class:`~eoscatalog.log.queries.IndexQueries` (``index.queries``; every read method of
``Index`` passes through to it), its tables are :mod:`eoscatalog.log.index_schema`, and
checkpoint files are written and read by :mod:`eoscatalog.log.checkpoint_files`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from eoscatalog.core.errors import InvalidChangesetError, StoreError
from eoscatalog.core.sqlite import connect, immediate, set_aside, sqlite_utils
from eoscatalog.log import checkpoint_files
from eoscatalog.log.changesets import FOLDER_OPS, VERSION_OPS, Changeset
from eoscatalog.log.folder_queries import FolderQueries, apply_folder_entry, check_folder_entry
from eoscatalog.log.index_schema import (
    COPIED_TABLES,
    NAMES_FROM_VERSIONS,
    SCHEMA,
    columns,
    create_schema,
    set_applied_seq,
)
from eoscatalog.log.queries import IndexQueries
from eoscatalog.log.records import Event, Usage, VersionRecord
from eoscatalog.log.subfolder import SubFolder

__all__ = ["Index"]

logger = logging.getLogger("eoscatalog")

CACHE_KIB = 64 * 1024  # the index connection's page cache, at most


class Index:
    """The local replay of one store's catalog.

    >>> idx = Index(":memory:")
    >>> idx.applied_seq("org")
    0
    """

    db: sqlite_utils.Database
    queries: IndexQueries  # the reads, over ``db``
    folders: FolderQueries  # the folder reads (versions, snapshots, folder tags)

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        try:
            self._open()
        except sqlite3.DatabaseError as e:
            if self.path == ":memory:":
                raise
            # The index is a cache of the store: a damaged one is set aside and rebuilt.
            aside = set_aside(path)
            logger.warning("the index %s was unreadable (%s); moved it to %s", path, e, aside)
            self._open()

    def _open(self) -> None:
        self.db = connect(self.path)
        create_schema(self.db)
        # A changeset of 10,000 versions dirties thousands of pages of the hash index (its keys
        # are random); the default 2 MB page cache would spill them before the commit.
        self.db.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        self.queries = IndexQueries(self.db)
        self.folders = FolderQueries(self.db)

    def reset(self) -> Path:
        """Set this index's file aside (``<file>.damaged-<time>``) and go on with an empty one,
        which a refresh or :meth:`~eoscatalog.catalog.catalog.Catalog.reindex` fills from the
        store."""
        if self.path == ":memory:":
            raise ValueError("an in-memory index has no file to set aside")
        with contextlib.suppress(sqlite3.Error):
            self.db.close()
        aside = set_aside(self.path)
        logger.warning("the index %s was damaged; moved it to %s and rebuilding it from the "
                       "store", self.path, aside)
        self._open()
        return aside

    def close(self) -> None:
        """Close the database connection."""
        self.db.close()

    # -- namespaces ------------------------------------------------------------------------------

    def applied_seq(self, namespace: str) -> int:
        """The seq of the last changeset applied for the namespace (0: none)."""
        return self.queries.applied_seq(namespace)

    def last_created(self, namespace: str) -> str | None:
        """The ``created`` time of the last applied changeset (times grow with the seq)."""
        return self.queries.last_created(namespace)

    def last_time(self, namespace: str) -> str | None:
        """The time of the last applied changeset as time references see it (its ``at``, see
        :meth:`apply`): every changeset still to come has a later one."""
        return self.queries.last_time(namespace)

    def namespaces(self) -> list[str]:
        """Every namespace the index holds rows for."""
        return self.queries.namespaces()

    def bad_changesets(self, namespace: str) -> list[tuple[int, str]]:
        """The changesets replay skipped in ``namespace``: (seq, reason), by seq."""
        return self.queries.bad_changesets(namespace)

    def drop_namespace(self, namespace: str) -> None:
        """Forget a namespace's rows (reindex rebuilds them from the store)."""
        with immediate(self.db):
            for table in (*COPIED_TABLES, "names", "namespaces"):
                self.db.execute(f"DELETE FROM {table} WHERE namespace = ?", [namespace])

    def skip(self, namespace: str, seq: int, reason: str) -> bool:
        """Record changeset ``seq`` as skipped (its seq is used, nothing it says happened);
        False if the index is past it already (another process decided first)."""
        with immediate(self.db):
            applied = self.queries.applied_seq(namespace)
            if seq <= applied:
                return False
            if seq != applied + 1:
                raise StoreError(
                    f"cannot skip {namespace}#{seq}: the index is at #{applied}; changesets "
                    "must be applied in order (run `eos reindex`)"
                )
            self.db.execute("INSERT INTO bad_changesets VALUES (?, ?, ?)",
                            [namespace, seq, reason])
            set_applied_seq(self.db, namespace, seq)
        return True

    # -- applying the log ------------------------------------------------------------------------

    def apply(self, changeset: Changeset, committed: str | None = None) -> bool:
        """Apply one changeset atomically; False if it was already applied (by anyone).

        ``committed`` is the time the store wrote it (``log.store_time``). Its versions' time
        for ``name@<time>`` (``at``) is the latest of its ``created``, ``committed`` and the
        previous changeset's ``at``: a client whose clock is slow, or an import of old versions,
        cannot place a version before the moment it could first be seen, so an answer once
        given never changes.

        Raises StoreError if it does not follow the last applied seq or if its version numbers
        do not continue each name's history: the log would be inconsistent.
        """
        ns = changeset.namespace
        with immediate(self.db):
            applied = self.queries.applied_seq(ns)
            if changeset.seq <= applied:
                return False
            if changeset.seq != applied + 1:
                raise StoreError(
                    f"cannot apply {ns}#{changeset.seq}: the index is at #{applied}; "
                    "changesets must be applied in order (run `eos reindex`)"
                )
            self.check(changeset)
            # Not its entries' own ``created`` (an import's): a time they claim, past or to
            # come, would move every later version's time in the namespace with it.
            at = max(filter(None, [changeset.created, committed, self.queries.last_time(ns)]))
            versions: list[dict[str, Any]] = []
            self._insert_events(changeset)
            for entry in changeset.entries:
                # A purge may name a version added earlier in this changeset: flush them first.
                if entry.op not in VERSION_OPS and versions:
                    self._insert_versions(versions)
                    versions = []
                if entry.op in VERSION_OPS:
                    versions.append({
                        "namespace": ns, "name": entry.name, "version": entry.version,
                        "kind": entry.op, "hash": entry.hash, "size": entry.size,
                        "created": entry.created or changeset.created,
                        "author": entry.author or changeset.author,
                        "message": changeset.message if entry.message is None
                        else entry.message, "seq": changeset.seq,
                        "source_version": entry.source_version, "source": entry.source,
                        "expires": entry.expires, "purged": 0,
                        "meta": json.dumps(entry.meta, sort_keys=True) if entry.meta else None,
                        "at": at,
                    })
                elif entry.op == "tag":
                    self.db.execute(
                        "INSERT OR REPLACE INTO tags VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [ns, entry.name, entry.tag, entry.version, changeset.created,
                         changeset.author, changeset.seq],
                    )
                elif entry.op == "untag":
                    self.db.execute(
                        "DELETE FROM tags WHERE namespace = ? AND name = ? AND tag = ?",
                        [ns, entry.name, entry.tag],
                    )
                elif entry.op in FOLDER_OPS:
                    apply_folder_entry(self.db, self.folders, changeset, entry)
                elif entry.op == "expire":
                    self.db.execute(
                        "UPDATE versions SET expires = ? WHERE namespace = ? AND name = ? "
                        "AND version = ?", [entry.expires, ns, entry.name, entry.version],
                    )
                elif entry.op == "purge":
                    marks = ",".join("?" * len(entry.versions))
                    args = [ns, entry.name, *entry.versions]
                    self.db.execute(
                        "UPDATE versions SET purged = 1 WHERE namespace = ? AND name = ? "
                        f"AND version IN ({marks})", args
                    )
                    self.db.execute(
                        "DELETE FROM tags WHERE namespace = ? AND name = ? "
                        f"AND version IN ({marks})", args,
                    )
                    self._rederive_name(ns, entry.name)
            if versions:
                self._insert_versions(versions)
            self.db.execute(
                f"INSERT INTO changesets ({columns('changesets')}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [ns, changeset.seq, changeset.created, changeset.author, changeset.message,
                 changeset.writer, len(changeset.entries), at],
            )
            set_applied_seq(self.db, ns, changeset.seq)
        return True

    def _insert_events(self, changeset: Changeset) -> None:
        self.db.conn.executemany(
            f"INSERT INTO events ({columns('events')}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (changeset.namespace, changeset.seq, pos, e.name, e.op, e.version,
                 e.source_version, e.tag, ",".join(map(str, e.versions)) or None, e.hash,
                 e.size, e.expires, changeset.created, changeset.author, changeset.message)
                for pos, e in enumerate(changeset.entries)
            ],
        )

    def _insert_versions(self, rows: list[dict[str, Any]]) -> None:
        # One executemany: sqlite-utils' insert_all costs more in Python than SQLite does.
        order = list(SCHEMA["versions"][0])
        self.db.conn.executemany(
            f"INSERT INTO versions ({columns('versions')}) "
            f"VALUES ({', '.join('?' * len(order))})",
            [tuple(r[c] for c in order) for r in rows],
        )
        latest = {(r["namespace"], r["name"]): r["version"] for r in rows}
        self.db.conn.executemany(
            "INSERT OR REPLACE INTO names (namespace, name, latest) VALUES (?, ?, ?)",
            [(ns, name, version) for (ns, name), version in latest.items()],
        )

    def _rederive_name(self, namespace: str, name: str) -> None:
        self.db.execute("DELETE FROM names WHERE namespace = ? AND name = ?", [namespace, name])
        self.db.execute(NAMES_FROM_VERSIONS + " AND namespace = ? AND name = ? GROUP BY name",
                        [namespace, name])

    def check(self, changeset: Changeset) -> None:
        """Raise StoreError unless the changeset's version numbers continue each name's history.

        Run by writers before a changeset is published, and by every reader before applying.
        """
        ns = changeset.namespace
        named = [e.name for e in changeset.entries]
        # One query per 500 names, not one per entry.
        next_version = self.queries.next_versions(ns, named)
        for entry in changeset.entries:
            expected = next_version[entry.name]
            if entry.op in FOLDER_OPS:
                check_folder_entry(self.folders, ns, changeset.seq, entry)
                continue
            if entry.op not in VERSION_OPS:
                # Tags, expiries and purges act on versions the name has.
                wanted = [*entry.versions, *([entry.version] if entry.version else [])]
                if any(v >= expected for v in wanted):
                    raise InvalidChangesetError(
                        f"changeset {ns}#{changeset.seq} {entry.op}s version(s) "
                        f"{', '.join(map(str, wanted))} of {entry.name!r}, which has "
                        f"{expected - 1}: the log is inconsistent"
                    )
                continue
            if entry.version != expected:
                raise InvalidChangesetError(
                    f"changeset {ns}#{changeset.seq} gives {entry.name!r} version "
                    f"{entry.version}, but the log's order makes it {expected}: "
                    "the log is inconsistent"
                )
            next_version[entry.name] = expected + 1

    # -- checkpoints -----------------------------------------------------------------------------

    def export_namespace(self, namespace: str, seq: int, path: str | os.PathLike[str]) -> bool:
        """Write the namespace's state to a new SQLite file if the index is exactly at ``seq``."""
        return checkpoint_files.export_namespace(self.db, namespace, seq, path)

    def import_namespace(self, namespace: str, path: str | os.PathLike[str],
                         seq: int | None = None) -> int:
        """Replace the namespace's rows with a checkpoint's; return the checkpoint's seq.

        ``seq``: the seq the checkpoint is stored under, which it must claim as its own.
        """
        return checkpoint_files.import_namespace(self.db, namespace, path, seq)

    # -- reads (answered by ``self.queries``) ----------------------------------------------------

    def next_version(self, namespace: str, name: str) -> int:
        """The number the name's next version gets (purged versions keep theirs)."""
        return self.queries.next_version(namespace, name)

    def next_versions(self, namespace: str, names: Iterable[str]) -> dict[str, int]:
        """:meth:`next_version` of many names at once (one query per 500 names)."""
        return self.queries.next_versions(namespace, names)

    def latest(self, namespace: str, name: str) -> VersionRecord | None:
        """The newest version that is not purged (it may be a delete marker)."""
        return self.queries.latest(namespace, name)

    def records_of(self, namespace: str, wanted: dict[str, int | None],
                   ) -> dict[str, VersionRecord]:
        """Many names' versions (None: the latest) in a few queries; missing ones left out."""
        return self.queries.records_of(namespace, wanted)

    def version(self, namespace: str, name: str, version: int) -> VersionRecord | None:
        """One version of a name, purged or not, or None."""
        return self.queries.version(namespace, name, version)

    def versions(self, namespace: str, name: str) -> list[VersionRecord]:
        """Every version of a name, oldest first, with its tags."""
        return self.queries.versions(namespace, name)

    def tagged(self, namespace: str, name: str, tag: str) -> VersionRecord | None:
        """The version a tag points at, or None."""
        return self.queries.tagged(namespace, name, tag)

    def by_hash_prefix(self, namespace: str, name: str, prefix: str) -> list[VersionRecord]:
        """Versions of ``name`` whose hash starts with ``prefix`` (``blake3:<hex>``)."""
        return self.queries.by_hash_prefix(namespace, name, prefix)

    def at_time(self, namespace: str, name: str, when: str) -> VersionRecord | None:
        """The newest version whose time is at or before ``when`` (fixed-width ISO text)."""
        return self.queries.at_time(namespace, name, when)

    def first_time(self, namespace: str, name: str) -> str | None:
        """The time (as ``at_time`` compares it) of the name's first version, or None."""
        return self.queries.first_time(namespace, name)

    def latest_under(self, namespace: str, prefix: str, *,
                     direct: bool = False) -> list[VersionRecord]:
        """The latest (non-purged) version of every name starting with ``prefix`` (with
        ``direct``: right under it), by name."""
        return self.queries.latest_under(namespace, prefix, direct=direct)

    def subfolders_under(self, namespace: str, prefix: str) -> list[SubFolder]:
        """The folders right under ``prefix`` with their latest names' count and bytes (SQL)."""
        return self.queries.subfolders_under(namespace, prefix)

    def versions_under(self, namespace: str, prefix: str) -> list[VersionRecord]:
        """Every version of every name starting with ``prefix``, by name then version."""
        return self.queries.versions_under(namespace, prefix)

    def events_under(self, namespace: str, prefix: str, limit: int) -> list[Event]:
        """The newest ``limit`` changes to names starting with ``prefix``, newest first."""
        return self.queries.events_under(namespace, prefix, limit)

    def usage_under(self, namespace: str, prefix: str) -> Usage:
        """Space taken by the names starting with ``prefix``, added up in SQL."""
        return self.queries.usage_under(namespace, prefix)

    def blob_states(self, expired_before: str) -> dict[str, str]:
        """Why each known blob is kept or may go, across every namespace in the index."""
        return self.queries.blob_states(expired_before)

    def hash_is_live(self, hash_string: str, at: str) -> bool:
        """Whether some version names this blob that is live at ``at`` (not purged, not
        expired), in any namespace: the same test as :meth:`blob_states`."""
        return self.queries.hash_is_live(hash_string, at)

    def readable_versions(self, namespace: str, prefix: str, now: str) -> list[VersionRecord]:
        """Versions with bytes under ``prefix`` that are neither purged nor expired at ``now``
        (what ``verify`` checks)."""
        return self.queries.readable_versions(namespace, prefix, now)
