"""The index's read side: lookups of namespaces, versions, tags, listings, history and usage.

:class:`IndexQueries` reads one SQLite connection; :class:`~eoscatalog.log.index.Index`, which
owns the connection, the schema and the writes, makes one and answers its reads through it.
Every query runs under the connection's lock, so one ``Index`` can serve several threads.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

from eoscatalog.core.sqlite import lock_of, sqlite_utils
from eoscatalog.log.records import RECORD_COLUMNS, Event, Usage, VersionRecord
from eoscatalog.log.subfolder import SubFolder

__all__ = ["LIVE_AT", "IndexQueries"]

# Above every name starting with a prefix, in SQLite's text order (for range scans).
_TOP = "\U0010ffff"
_CHUNK = 500  # names per IN (...) list
# The one definition of a live version at an instant (the ``?``, fixed-width ISO text): not
# purged, and not a scratch version expired by then. gc keeps a blob some version names that is
# live at ``now - grace``; a writer reusing a blob asks at ``now`` whether it must mark the blob
# used. Both read this, so a blob gc may take is never one the writer trusted as live.
LIVE_AT = "(purged = 0 AND (expires IS NULL OR expires > ?))"


def _keys(cursor: sqlite3.Cursor) -> list[str]:
    return [d[0] for d in cursor.description]


class IndexQueries:
    """Read queries over the index tables of the connection ``db``.

    >>> from eoscatalog.core.sqlite import connect
    >>> from eoscatalog.log.index_schema import create_schema
    >>> db = connect(":memory:")
    >>> create_schema(db)
    >>> IndexQueries(db).applied_seq("org"), IndexQueries(db).namespaces()
    (0, [])
    """

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    def row(self, sql: str, params: list[Any] | None = None) -> dict[str, Any] | None:
        """The first row a query returns, as a dict by column name, or None."""
        with lock_of(self.db):
            cursor = self.db.conn.execute(sql, params or [])
            found = cursor.fetchone()
            return None if found is None else dict(zip(_keys(cursor), found, strict=True))

    def rows(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        """Every row a query returns, as dicts by column name."""
        # The connection's own cursor: sqlite-utils' query() parses each statement first,
        # which costs more than the lookup itself.
        with lock_of(self.db):
            cursor = self.db.conn.execute(sql, params or [])
            keys = _keys(cursor)
            return [dict(zip(keys, found, strict=True)) for found in cursor]

    # -- namespaces ------------------------------------------------------------------------------

    def applied_seq(self, namespace: str) -> int:
        """The seq of the last changeset applied for the namespace (0: none)."""
        row = self.row("SELECT applied_seq FROM namespaces WHERE namespace = ?", [namespace])
        return row["applied_seq"] if row else 0

    def last_created(self, namespace: str) -> str | None:
        """The ``created`` time of the last applied changeset (times grow with the seq)."""
        row = self.row(
            "SELECT created FROM changesets WHERE namespace = ? ORDER BY seq DESC LIMIT 1",
            [namespace],
        )
        return row["created"] if row else None

    def last_time(self, namespace: str) -> str | None:
        """The time of the last applied changeset as time references see it (its ``at``, see
        ``Index.apply``): every changeset still to come has a later one."""
        row = self.row(
            "SELECT coalesce(at, created) AS t FROM changesets WHERE namespace = ? "
            "ORDER BY seq DESC LIMIT 1",
            [namespace],
        )
        return row["t"] if row else None

    def namespaces(self) -> list[str]:
        """Every namespace the index holds rows for."""
        return [r["namespace"] for r in self.rows("SELECT namespace FROM namespaces")]

    def bad_changesets(self, namespace: str) -> list[tuple[int, str]]:
        """The changesets replay skipped in ``namespace``: (seq, reason), by seq."""
        return [(r["seq"], r["reason"]) for r in self.rows(
            "SELECT seq, reason FROM bad_changesets WHERE namespace = ? ORDER BY seq",
            [namespace],
        )]

    # -- versions --------------------------------------------------------------------------------

    def _record(self, row: dict[str, Any] | None) -> VersionRecord | None:
        if row is None:
            return None
        tags = tuple(
            r["tag"]
            for r in self.rows(
                "SELECT tag FROM tags WHERE namespace = ? AND name = ? AND version = ? "
                "ORDER BY tag",
                [row["namespace"], row["name"], row["version"]],
            )
        )
        return VersionRecord.from_row(row, tags)

    def next_version(self, namespace: str, name: str) -> int:
        """The number the name's next version gets (purged versions keep theirs)."""
        row = self.row(
            "SELECT max(version) AS v FROM versions WHERE namespace = ? AND name = ?",
            [namespace, name],
        )
        return (row["v"] or 0) + 1 if row else 1

    def next_versions(self, namespace: str, names: Iterable[str]) -> dict[str, int]:
        """:meth:`next_version` of many names at once (one query per 500 names).

        >>> from eoscatalog.log.index import Index
        >>> Index(":memory:").next_versions("org", ["a", "b"])
        {'a': 1, 'b': 1}
        """
        wanted = list(dict.fromkeys(names))
        found: dict[str, int] = {}
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start:start + _CHUNK]
            found.update(
                (r["name"], r["v"] + 1) for r in self.rows(
                    "SELECT name, max(version) AS v FROM versions WHERE namespace = ? "
                    f"AND name IN ({', '.join('?' * len(chunk))}) GROUP BY name",
                    [namespace, *chunk],
                )
            )
        return {name: found.get(name, 1) for name in wanted}

    def records_of(self, namespace: str, wanted: dict[str, int | None],
                   ) -> dict[str, VersionRecord]:
        """Many names' versions at once: for each name, the version ``wanted`` gives (purged
        or not, as :meth:`version`), or with None its latest non-purged one (as :meth:`latest`);
        names with no such version are left out. Two queries per 500 names, not two per name.

        >>> from eoscatalog.log.index import Index
        >>> Index(":memory:").queries.records_of("org", {"a": 1, "b": None})
        {}
        """
        names = list(wanted)
        found: dict[str, dict[str, Any]] = {}
        tags: dict[tuple[str, int], list[str]] = {}
        for start in range(0, len(names), _CHUNK):
            chunk = names[start:start + _CHUNK]
            marks = ", ".join("?" * len(chunk))
            for row in self.rows(f"SELECT * FROM versions WHERE namespace = ? AND name IN "
                                 f"({marks}) ORDER BY name, version", [namespace, *chunk]):
                version = wanted[row["name"]]
                if row["version"] == version or (version is None and not row["purged"]):
                    found[row["name"]] = row  # by version: the latest non-purged one wins
            for row in self.rows(f"SELECT name, version, tag FROM tags WHERE namespace = ? "
                                 f"AND name IN ({marks}) ORDER BY tag", [namespace, *chunk]):
                tags.setdefault((row["name"], row["version"]), []).append(row["tag"])
        return {name: VersionRecord.from_row(row, tuple(tags.get((name, row["version"]), ())))
                for name, row in found.items()}

    def latest(self, namespace: str, name: str) -> VersionRecord | None:
        """The newest version that is not purged (it may be a delete marker)."""
        return self._record(self.row(
            "SELECT * FROM versions WHERE namespace = ? AND name = ? AND purged = 0 "
            "ORDER BY version DESC LIMIT 1", [namespace, name],
        ))

    def version(self, namespace: str, name: str, version: int) -> VersionRecord | None:
        """One version of a name, purged or not, or None."""
        return self._record(self.row(
            "SELECT * FROM versions WHERE namespace = ? AND name = ? AND version = ?",
            [namespace, name, version],
        ))

    def versions(self, namespace: str, name: str) -> list[VersionRecord]:
        """Every version of a name, oldest first, with its tags."""
        tags: dict[int, list[str]] = {}
        for r in self.rows(
            "SELECT tag, version FROM tags WHERE namespace = ? AND name = ? ORDER BY tag",
            [namespace, name],
        ):
            tags.setdefault(r["version"], []).append(r["tag"])
        return [
            VersionRecord.from_row(r, tuple(tags.get(r["version"], ())))
            for r in self.rows(
                "SELECT * FROM versions WHERE namespace = ? AND name = ? ORDER BY version",
                [namespace, name],
            )
        ]

    def tagged(self, namespace: str, name: str, tag: str) -> VersionRecord | None:
        """The version a tag points at, or None."""
        row = self.row(
            "SELECT version FROM tags WHERE namespace = ? AND name = ? AND tag = ?",
            [namespace, name, tag],
        )
        return self.version(namespace, name, row["version"]) if row else None

    def by_hash_prefix(self, namespace: str, name: str, prefix: str) -> list[VersionRecord]:
        """Versions of ``name`` whose hash starts with ``prefix`` (``blake3:<hex>``)."""
        # "+hash": the name's versions (primary key) are few; the hash index is not for this.
        rows = self.rows(
            "SELECT * FROM versions WHERE namespace = ? AND name = ? AND +hash >= ? "
            "AND +hash < ? ORDER BY version",
            [namespace, name, prefix, prefix + _TOP],
        )
        return [r for r in map(self._record, rows) if r is not None]

    def at_time(self, namespace: str, name: str, when: str) -> VersionRecord | None:
        """The newest version whose time is at or before ``when`` (fixed-width ISO text).

        A version's time is its ``at`` (see ``Index.apply``): never before the store wrote its
        changeset. Rows applied before ``at`` existed use their ``created``.
        """
        return self._record(self.row(
            "SELECT * FROM versions WHERE namespace = ? AND name = ? "
            "AND coalesce(at, created) <= ? ORDER BY version DESC LIMIT 1",
            [namespace, name, when],
        ))

    def first_time(self, namespace: str, name: str) -> str | None:
        """The time (as ``at_time`` compares it) of the name's first version, or None."""
        row = self.row(
            "SELECT coalesce(at, created) AS t FROM versions WHERE namespace = ? AND name = ? "
            "ORDER BY version LIMIT 1", [namespace, name],
        )
        return row["t"] if row else None

    def latest_under(self, namespace: str, prefix: str, *,
                     direct: bool = False) -> list[VersionRecord]:
        """The latest (non-purged) version of every name starting with ``prefix``, by name;
        with ``direct``, only of the names with no ``/`` after the prefix."""
        columns = ", ".join(f"v.{c}" for c in RECORD_COLUMNS)
        right_under = " AND instr(substr(n.name, ?), '/') = 0" if direct else ""
        with lock_of(self.db):
            rows = self.db.conn.execute(
                f"SELECT {columns} FROM names n JOIN versions v ON v.namespace = n.namespace "
                "AND v.name = n.name AND v.version = n.latest "
                f"WHERE n.namespace = ? AND n.name >= ? AND n.name < ?{right_under} "
                "ORDER BY n.name",
                [namespace, prefix, prefix + _TOP, *([len(prefix) + 1] if direct else [])],
            ).fetchall()
        return [VersionRecord.from_values(r) for r in rows]

    def subfolders_under(self, namespace: str, prefix: str) -> list[SubFolder]:
        """The folders right under ``prefix`` (``prefix + "sub/"``, sorted), each with how many
        names under it have a latest (non-purged) version that is no delete marker, and their
        sizes added up: grouped in SQL, one row per sub-folder, no record per name."""
        start = len(prefix) + 1  # where a name's part after the prefix starts (characters)
        return [SubFolder(namespace, r["folder"], r["names"], r["bytes"]) for r in self.rows(
            "SELECT substr(n.name, 1, ? + instr(substr(n.name, ?), '/')) AS folder, "
            "count(*) AS names, coalesce(sum(v.size), 0) AS bytes FROM names n "
            "JOIN versions v ON v.namespace = n.namespace AND v.name = n.name "
            "AND v.version = n.latest WHERE n.namespace = ? AND n.name >= ? AND n.name < ? "
            "AND instr(substr(n.name, ?), '/') > 0 AND v.kind != 'delete' "
            "GROUP BY folder ORDER BY folder",
            [start - 1, start, namespace, prefix, prefix + _TOP, start])]

    def versions_under(self, namespace: str, prefix: str) -> list[VersionRecord]:
        """Every version of every name starting with ``prefix``, by name then version."""
        rows = self.rows(
            "SELECT * FROM versions WHERE namespace = ? AND name >= ? AND name < ? "
            "ORDER BY name, version",
            [namespace, prefix, prefix + _TOP],
        )
        return [VersionRecord.from_row(r) for r in rows]

    def events_under(self, namespace: str, prefix: str, limit: int) -> list[Event]:
        """The newest ``limit`` changes to names starting with ``prefix``, newest first.

        Every entry of every changeset is one event: new versions, tags, untags, purges and
        scratch expiry changes.
        """
        rows = self.rows(
            "SELECT * FROM events WHERE namespace = ? AND name >= ? AND name < ? "
            "ORDER BY seq DESC, pos DESC LIMIT ?",
            [namespace, prefix, prefix + _TOP, limit],
        )
        return [Event.from_row(r) for r in rows]

    def usage_under(self, namespace: str, prefix: str) -> Usage:
        """Space taken by the names starting with ``prefix``, added up in SQL.

        ``stored`` counts each distinct blob once; purged versions and delete markers hold none.
        """
        bounds = [namespace, prefix, prefix + _TOP]
        latest = self.row(
            "SELECT count(*) AS names, coalesce(sum(v.size), 0) AS logical FROM names n "
            "JOIN versions v ON v.namespace = n.namespace AND v.name = n.name "
            "AND v.version = n.latest WHERE n.namespace = ? AND n.name >= ? AND n.name < ? "
            "AND v.hash IS NOT NULL", bounds,
        ) or {}
        readable = ("FROM versions WHERE namespace = ? AND name >= ? AND name < ? "
                    "AND purged = 0 AND hash IS NOT NULL")
        every = self.row(
            f"SELECT count(*) AS versions, coalesce(sum(size), 0) AS total {readable}", bounds
        ) or {}
        stored = self.row(
            "SELECT coalesce(sum(size), 0) AS stored FROM "
            f"(SELECT hash, max(size) AS size {readable} GROUP BY hash)", bounds,
        ) or {}
        return Usage(
            names=latest.get("names", 0), versions=every.get("versions", 0),
            logical=latest.get("logical", 0), all_versions=every.get("total", 0),
            stored=stored.get("stored", 0),
        )

    def blob_states(self, expired_before: str) -> dict[str, str]:
        """Why each known blob is kept or may go, across every namespace in the index.

        ``live``: :data:`LIVE_AT` holds at ``expired_before`` for a version naming it (readable,
        or only deleted: ``@N`` still reads it); ``expired``: only scratch versions that
        expired by then; ``purged``: only purged versions. Blobs the index never saw are
        absent.
        """
        rows = self.rows(
            f"SELECT hash, max(CASE WHEN {LIVE_AT} THEN 2 "
            "WHEN purged = 0 THEN 1 ELSE 0 END) AS state FROM versions "
            "WHERE hash IS NOT NULL GROUP BY hash", [expired_before],
        )
        names = {2: "live", 1: "expired", 0: "purged"}
        return {r["hash"]: names[r["state"]] for r in rows}

    def hash_is_live(self, hash_string: str, at: str) -> bool:
        """Whether some version names this blob that is live at ``at`` (:data:`LIVE_AT`: not
        purged, not expired), in any namespace: the same test as :meth:`blob_states`."""
        return self.row(f"SELECT 1 AS live FROM versions WHERE hash = ? AND {LIVE_AT} LIMIT 1",
                         [hash_string, at]) is not None

    def readable_versions(self, namespace: str, prefix: str, now: str) -> list[VersionRecord]:
        """Versions with bytes under ``prefix`` that are neither purged nor expired at ``now``
        (what ``verify`` checks: gc may have collected an expired scratch version's blob)."""
        rows = self.rows(
            "SELECT * FROM versions WHERE namespace = ? AND name >= ? AND name < ? "
            f"AND hash IS NOT NULL AND {LIVE_AT} "
            "ORDER BY name, version",
            [namespace, prefix, prefix + _TOP, now],
        )
        return [VersionRecord.from_row(r) for r in rows]
