"""The SQLite index (through sqlite-utils): this client's replay of the catalog log.

It holds every version and tag seen, the changesets applied and the last applied seq per
namespace. It never talks to the store: the catalog feeds it changesets and checkpoint files.
Losing it loses nothing; ``Catalog.reindex`` rebuilds it.

Every write runs in ``BEGIN IMMEDIATE`` with a busy timeout, so processes sharing one index file
queue up instead of failing with "database is locked", and a changeset is applied whole or not
at all, exactly once.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from eoscatalog.core.errors import InvalidChangesetError, StoreError
from eoscatalog.core.sqlite import connect, immediate, lock_of, set_aside, sqlite_utils
from eoscatalog.log.changesets import VERSION_OPS, Changeset
from eoscatalog.log.queries import IndexQueries

__all__ = ["Index"]

logger = logging.getLogger("eoscatalog")

SCHEMA = {
    "namespaces": (
        {"namespace": str, "applied_seq": int},
        ["namespace"],
    ),
    "versions": (
        {
            "namespace": str, "name": str, "version": int, "kind": str, "hash": str,
            "size": int, "created": str, "author": str, "message": str, "seq": int,
            "source_version": int, "source": str, "expires": str, "purged": int, "meta": str,
            # The time `name@<time>` compares against: its changeset's (see Index.apply).
            "at": str,
        },
        ["namespace", "name", "version"],
    ),
    "tags": (
        {"namespace": str, "name": str, "tag": str, "version": int, "created": str,
         "author": str, "seq": int},
        ["namespace", "name", "tag"],
    ),
    "changesets": (
        {"namespace": str, "seq": int, "created": str, "author": str, "message": str,
         "writer": str, "entries": int, "at": str},
        ["namespace", "seq"],
    ),
    # Every entry of every changeset, for `eos log` (who tagged, untagged, purged what, when).
    "events": (
        {"namespace": str, "seq": int, "pos": int, "name": str, "op": str, "version": int,
         "source_version": int, "tag": str, "versions": str, "hash": str, "size": int,
         "expires": str, "created": str, "author": str, "message": str},
        ["namespace", "seq", "pos"],
    ),
    # Changesets replay skipped (malformed, crafted or inconsistent): their seq is used, their
    # entries never happened (`eos admin changesets`).
    "bad_changesets": (
        {"namespace": str, "seq": int, "reason": str},
        ["namespace", "seq"],
    ),
    # Derived from versions (newest non-purged version per name), so listings need no GROUP BY
    # over every version; rebuilt after checkpoint imports, not copied into checkpoints.
    "names": (
        {"namespace": str, "name": str, "latest": int},
        ["namespace", "name"],
    ),
}
SCHEMA_VERSION = 5
CACHE_KIB = 64 * 1024  # the index connection's page cache, at most
COPIED_TABLES = ("versions", "tags", "changesets", "events", "bad_changesets")


# Events for indexes and checkpoints written before the events table existed: the version
# entries and the tags still standing (earlier untags and purges left no trace there).
_EVENTS_FROM_VERSIONS = (
    "INSERT OR IGNORE INTO {into}events (namespace, seq, pos, name, op, version, source_version, "
    "hash, size, expires, created, author, message) SELECT namespace, seq, -version, name, kind, "
    "version, source_version, hash, size, expires, created, author, message FROM {source}versions"
)
_EVENTS_FROM_TAGS = (
    "INSERT OR IGNORE INTO {into}events (namespace, seq, pos, name, op, version, tag, created, "
    "author, message) SELECT namespace, seq, -1000000 - rowid, name, 'tag', version, tag, created, "
    "author, '' FROM {source}tags"
)

_NAMES_FROM_VERSIONS = (
    "INSERT OR REPLACE INTO names (namespace, name, latest) "
    "SELECT namespace, name, max(version) FROM versions WHERE purged = 0"
)


def _columns(table: str) -> str:
    return ", ".join(f'"{c}"' for c in SCHEMA[table][0])


class Index(IndexQueries):
    """The local replay of one store's catalog.

    >>> idx = Index(":memory:")
    >>> idx.applied_seq("org")
    0
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        try:
            self.db = connect(path)
            self._create_schema(self.db)
            self._tune()
        except sqlite3.DatabaseError as e:
            if os.fspath(path) == ":memory:":
                raise
            # The index is a cache of the store: a damaged one is set aside and rebuilt.
            aside = set_aside(path)
            logger.warning("the index %s was unreadable (%s); moved it to %s", path, e, aside)
            self.db = connect(path)
            self._create_schema(self.db)
            self._tune()

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
        self.db = connect(self.path)
        self._create_schema(self.db)
        self._tune()
        return aside

    def _tune(self) -> None:
        # A changeset of 10,000 versions dirties thousands of pages of the hash index (its keys
        # are random); the default 2 MB page cache would spill them before the commit.
        self.db.execute(f"PRAGMA cache_size = -{CACHE_KIB}")

    @staticmethod
    def _create_schema(db: sqlite_utils.Database) -> None:
        with immediate(db):
            for table, (columns, pk) in SCHEMA.items():
                db.table(table).create(columns, pk=pk, if_not_exists=True)
                for column, kind in columns.items():
                    # Columns added since the table was made (``at``: schema 5). Rows applied
                    # before keep NULL there, which reads as their ``created``.
                    if column not in db.table(table).columns_dict:
                        db.table(table).add_column(column, kind)
            db.table("versions").create_index(["hash"], if_not_exists=True)
            db.table("versions").create_index(["namespace", "name", "created"], if_not_exists=True)
            db.table("events").create_index(["namespace", "name"], if_not_exists=True)
            found = db.execute("PRAGMA user_version").fetchone()[0]
            if found < 2:
                # An index written before the names table existed: derive it once.
                db.execute("DELETE FROM names")
                db.execute(_NAMES_FROM_VERSIONS + " GROUP BY namespace, name")
            if found < 3:
                # ... or before the events table: derive what the versions and tags still show.
                db.execute(_EVENTS_FROM_VERSIONS.format(into="", source=""))
                db.execute(_EVENTS_FROM_TAGS.format(into="", source=""))
            if found < 4:
                # (namespace, hash) served no query but led hash-prefix lookups into a scan of
                # the namespace, and every insert paid for it (random keys: a page per row).
                db.execute("DROP INDEX IF EXISTS idx_versions_namespace_hash")
            if found < SCHEMA_VERSION:
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def close(self) -> None:
        """Close the database connection."""
        self.db.close()

    # -- namespaces ------------------------------------------------------------------------------

    def applied_seq(self, namespace: str) -> int:
        """The seq of the last changeset applied for the namespace (0: none)."""
        row = self._one("SELECT applied_seq FROM namespaces WHERE namespace = ?", [namespace])
        return row["applied_seq"] if row else 0

    def last_created(self, namespace: str) -> str | None:
        """The ``created`` time of the last applied changeset (times grow with the seq)."""
        row = self._one(
            "SELECT created FROM changesets WHERE namespace = ? ORDER BY seq DESC LIMIT 1",
            [namespace],
        )
        return row["created"] if row else None

    def last_time(self, namespace: str) -> str | None:
        """The time of the last applied changeset as time references see it (its ``at``, see
        :meth:`apply`): every changeset still to come has a later one."""
        row = self._one(
            "SELECT coalesce(at, created) AS t FROM changesets WHERE namespace = ? "
            "ORDER BY seq DESC LIMIT 1",
            [namespace],
        )
        return row["t"] if row else None

    def namespaces(self) -> list[str]:
        """Every namespace the index holds rows for."""
        return [r["namespace"] for r in self._all("SELECT namespace FROM namespaces")]

    def _set_namespace(self, namespace: str, seq: int) -> None:
        self.db.execute(
            "INSERT INTO namespaces (namespace, applied_seq) VALUES (?, ?) "
            "ON CONFLICT(namespace) DO UPDATE SET applied_seq = excluded.applied_seq",
            [namespace, seq],
        )

    def drop_namespace(self, namespace: str) -> None:
        """Forget a namespace's rows (reindex rebuilds them from the store)."""
        with immediate(self.db):
            for table in (*COPIED_TABLES, "names", "namespaces"):
                self.db.execute(f"DELETE FROM {table} WHERE namespace = ?", [namespace])

    def skip(self, namespace: str, seq: int, reason: str) -> bool:
        """Record changeset ``seq`` as skipped (its seq is used, nothing it says happened);
        False if the index is past it already (another process decided first)."""
        with immediate(self.db):
            applied = self.applied_seq(namespace)
            if seq <= applied:
                return False
            if seq != applied + 1:
                raise StoreError(
                    f"cannot skip {namespace}#{seq}: the index is at #{applied}; changesets "
                    "must be applied in order (run `eos reindex`)"
                )
            self.db.execute("INSERT INTO bad_changesets VALUES (?, ?, ?)",
                            [namespace, seq, reason])
            self._set_namespace(namespace, seq)
        return True

    def bad_changesets(self, namespace: str) -> list[tuple[int, str]]:
        """The changesets replay skipped in ``namespace``: (seq, reason), by seq."""
        return [(r["seq"], r["reason"]) for r in self._all(
            "SELECT seq, reason FROM bad_changesets WHERE namespace = ? ORDER BY seq",
            [namespace],
        )]

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
            applied = self.applied_seq(ns)
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
            at = max(filter(None, [changeset.created, committed, self.last_time(ns)]))
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
                f"INSERT INTO changesets ({_columns('changesets')}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [ns, changeset.seq, changeset.created, changeset.author, changeset.message,
                 changeset.writer, len(changeset.entries), at],
            )
            self._set_namespace(ns, changeset.seq)
        return True

    def _insert_events(self, changeset: Changeset) -> None:
        self.db.conn.executemany(
            f"INSERT INTO events ({_columns('events')}) "
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
        columns = list(SCHEMA["versions"][0])
        self.db.conn.executemany(
            f"INSERT INTO versions ({_columns('versions')}) "
            f"VALUES ({', '.join('?' * len(columns))})",
            [tuple(r[c] for c in columns) for r in rows],
        )
        latest = {(r["namespace"], r["name"]): r["version"] for r in rows}
        self.db.conn.executemany(
            "INSERT OR REPLACE INTO names (namespace, name, latest) VALUES (?, ?, ?)",
            [(ns, name, version) for (ns, name), version in latest.items()],
        )

    def _rederive_name(self, namespace: str, name: str) -> None:
        self.db.execute("DELETE FROM names WHERE namespace = ? AND name = ?", [namespace, name])
        self.db.execute(_NAMES_FROM_VERSIONS + " AND namespace = ? AND name = ? GROUP BY name",
                        [namespace, name])

    def check(self, changeset: Changeset) -> None:
        """Raise StoreError unless the changeset's version numbers continue each name's history.

        Run by writers before a changeset is published, and by every reader before applying.
        """
        ns = changeset.namespace
        named = [e.name for e in changeset.entries]
        next_version = self.next_versions(ns, named)  # one query per 500 names, not per entry
        for entry in changeset.entries:
            expected = next_version[entry.name]
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
        checkpoint = sqlite_utils.Database(os.fspath(path))
        self._create_schema(checkpoint)
        checkpoint.close()
        with self._attached(path) as alias, immediate(self.db):
            if self.applied_seq(namespace) != seq:
                return False
            for table in COPIED_TABLES:
                cols = _columns(table)
                self.db.execute(
                    f"INSERT INTO {alias}.{table} ({cols}) SELECT {cols} FROM main.{table} "
                    "WHERE namespace = ?", [namespace],
                )
            self.db.execute(
                f"INSERT INTO {alias}.namespaces VALUES (?, ?)", [namespace, seq]
            )
        return True

    def import_namespace(self, namespace: str, path: str | os.PathLike[str],
                         seq: int | None = None) -> int:
        """Replace the namespace's rows with a checkpoint's; return the checkpoint's seq.

        ``seq``: the seq the checkpoint is stored under, which it must claim as its own.
        """
        with self._attached(path) as alias:
            row = self._one(f"SELECT namespace, applied_seq FROM {alias}.namespaces")
            if not row or row["namespace"] != namespace:
                raise StoreError(f"checkpoint {path} does not hold namespace {namespace!r}")
            if seq is not None and row["applied_seq"] != seq:
                raise StoreError(f"checkpoint #{seq} of {namespace} claims to be at "
                                 f"#{row['applied_seq']}")
            seq = row["applied_seq"]
            if not isinstance(seq, int):
                raise StoreError(f"checkpoint {path} has no valid seq for {namespace!r}: {seq!r}")
            with immediate(self.db):
                if self.applied_seq(namespace) >= seq:
                    return self.applied_seq(namespace)
                has_events = self._one(
                    f"SELECT 1 AS found FROM {alias}.sqlite_master WHERE name = 'events'"
                )
                for table in COPIED_TABLES:
                    cols = _columns(table)
                    self.db.execute(f"DELETE FROM main.{table} WHERE namespace = ?", [namespace])
                    if table == "bad_changesets" and not self._one(
                        f"SELECT 1 AS found FROM {alias}.sqlite_master WHERE name = ?", [table]
                    ):
                        continue  # a checkpoint from before skipped changesets were kept
                    if table == "events" and not has_events:
                        # A checkpoint written before events were kept: derive what it shows.
                        for derive in (_EVENTS_FROM_VERSIONS, _EVENTS_FROM_TAGS):
                            self.db.execute(derive.format(into="main.", source=f"{alias}."))
                        continue
                    self.db.execute(
                        f"INSERT INTO main.{table} ({cols}) SELECT {self._found(alias, table)} "
                        f"FROM {alias}.{table} WHERE namespace = ?", [namespace],
                    )
                self.db.execute("DELETE FROM names WHERE namespace = ?", [namespace])
                self.db.execute(_NAMES_FROM_VERSIONS + " AND namespace = ? GROUP BY name",
                                [namespace])
                self._set_namespace(namespace, seq)
        return seq

    def _found(self, alias: str, table: str) -> str:
        """The checkpoint's columns of ``table`` in our order, NULL for those it predates."""
        have = {r["name"] for r in self._all(f"PRAGMA {alias}.table_info({table})")}
        return ", ".join(f'"{c}"' if c in have else "NULL" for c in SCHEMA[table][0])

    @contextlib.contextmanager
    def _attached(self, path: str | os.PathLike[str]) -> Iterator[str]:
        # The connection's thread lock is held from ATTACH to DETACH: another thread's
        # transaction would otherwise take in the attached file (and fail on its removal), and
        # a DETACH inside it fails ("database checkpoint is locked"), leaving it attached.
        alias = "checkpoint"
        with lock_of(self.db):
            self.db.execute(f"ATTACH DATABASE ? AS {alias}", [os.fspath(path)])
            try:
                yield alias
            finally:
                self.db.execute(f"DETACH DATABASE {alias}")
