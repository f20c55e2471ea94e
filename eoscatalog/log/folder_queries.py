"""The index's folder reads and folder-tag writes: versions, snapshots and tags of prefixes.

A folder (a prefix ending with ``/``; ``""`` is the namespace's root) has one version per
changeset that added a version to a name under it, numbered 1..N in the log's order. Every
client replays the same log, so every client numbers them the same. The snapshot of folder
version N is, for each name under it, the newest version made by changeset ``seq(N)`` or
before (names whose version there is a delete marker are not in it).

:class:`FolderQueries` reads one connection, as :class:`~eoscatalog.log.queries.IndexQueries`
does (``Index.folders``); :func:`check_folder_entry` and :func:`apply_folder_entry` are the
folder-tag part of ``Index.check`` and ``Index.apply``.
"""

from __future__ import annotations

import bisect
from typing import Any

from eoscatalog.core.errors import InvalidChangesetError
from eoscatalog.core.sqlite import sqlite_utils
from eoscatalog.log.changesets import FOLDER_OPS, Changeset, Entry
from eoscatalog.log.folder_version import FolderVersion
from eoscatalog.log.queries import IndexQueries
from eoscatalog.log.records import VersionRecord
from eoscatalog.log.subfolder import SubFolder

__all__ = ["FOLDER_OPS", "FolderQueries", "apply_folder_entry", "check_folder_entry"]

_TOP = "\U0010ffff"  # above every name starting with a prefix, in SQLite's text order


# Each name's newest version as of a seq (arguments: namespace, the prefix's bounds, seq), with
# that version's kind and size: SQLite takes a bare column from the row max() picks.
_NEWEST = ("SELECT name, kind, size, max(version) AS mv FROM versions WHERE namespace = ? "
           "AND name >= ? AND name < ? AND seq <= ? GROUP BY name")


def _bounds(namespace: str, prefix: str) -> list[str]:
    return [namespace, prefix, prefix + _TOP]


class FolderQueries:
    """Folder reads over the index connection ``db``.

    >>> from eoscatalog.log.index import Index
    >>> Index(":memory:").folders.seqs("org", "x.zarr/")
    []
    """

    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db
        self.queries = IndexQueries(db)
        # (namespace, prefix) -> (the index's state when read, the folder's seqs): every name
        # read in a folder version (``x.zarr@3/c/0.0``) numbers the folder's versions, a scan
        # of every version under it (0.1 s for 100,000 names).
        self._seqs: dict[tuple[str, str], tuple[tuple[int, int], list[int]]] = {}

    def seqs(self, namespace: str, prefix: str, *, until: int | None = None) -> list[int]:
        """The seqs of the changesets that changed names under ``prefix`` (its versions 1..N,
        oldest first); with ``until``, only those up to that seq.

        Remembered until the index changes (a write by this connection or another).
        """
        found = self._all_seqs(namespace, prefix)
        return list(found) if until is None else found[:bisect.bisect_right(found, until)]

    def _all_seqs(self, namespace: str, prefix: str) -> list[int]:
        conn = self.db.conn
        state = (conn.total_changes, (self.queries.row("PRAGMA data_version") or {}).get(
            "data_version", 0))
        held = self._seqs.get((namespace, prefix))
        if held is not None and held[0] == state and not conn.in_transaction:
            return held[1]
        found = [r["seq"] for r in self.queries.rows(
            "SELECT DISTINCT seq FROM versions WHERE namespace = ? AND name >= ? AND name < ? "
            "ORDER BY seq", _bounds(namespace, prefix))]
        if not conn.in_transaction:  # a write under way may yet be rolled back
            if len(self._seqs) >= 256:
                self._seqs.clear()
            self._seqs[(namespace, prefix)] = (state, found)
        return found

    def versions(self, namespace: str, prefix: str) -> list[FolderVersion]:
        """Every version of the folder, oldest first, with what it changed.

        A name is *added* when its previous version was none or a delete marker, *changed*
        when it had bytes before, *removed* by a delete marker over bytes; ``bytes`` adds up
        the sizes of the versions with bytes the changeset wrote.
        """
        rows = self.queries.rows(
            "SELECT s.seq, s.added, s.changed, s.removed, s.bytes, s.names, "
            "coalesce(c.at, c.created) AS at, c.created, c.author, c.message FROM ("
            " SELECT seq, count(*) AS names,"
            " sum(kind != 'delete' AND (prev IS NULL OR prev = 'delete')) AS added,"
            " sum(kind != 'delete' AND prev IS NOT NULL AND prev != 'delete') AS changed,"
            " sum(kind = 'delete' AND prev IS NOT NULL AND prev != 'delete') AS removed,"
            " sum(CASE WHEN kind != 'delete' THEN coalesce(size, 0) ELSE 0 END) AS bytes"
            " FROM (SELECT seq, kind, size, lag(kind) OVER (PARTITION BY name ORDER BY version)"
            "  AS prev FROM versions WHERE namespace = ? AND name >= ? AND name < ?)"
            " GROUP BY seq) s LEFT JOIN changesets c ON c.namespace = ? AND c.seq = s.seq "
            "ORDER BY s.seq", [*_bounds(namespace, prefix), namespace])
        tags = self.tags(namespace, prefix)
        return [FolderVersion(
            namespace=namespace, prefix=prefix, version=number, seq=r["seq"],
            created=r["created"] or "", at=r["at"] or "", author=r["author"] or "",
            message=r["message"] or "", added=r["added"], changed=r["changed"],
            removed=r["removed"], bytes_added=r["bytes"], entries=r["names"],
            tags=tuple(sorted(t for t, (v, _) in tags.items() if v == number)),
        ) for number, r in enumerate(rows, 1)]

    def snapshot(self, namespace: str, prefix: str, seq: int, *, deleted: bool = False,
                 changed: tuple[int, int] | None = None) -> list[VersionRecord]:
        """The version of every name under ``prefix`` as of changeset ``seq``, by name; names
        whose version there is a delete marker only with ``deleted``. With ``changed=(lo,
        hi)``, only the names a changeset after ``lo`` and up to ``hi`` changed (what can
        differ between the folder at ``lo`` and at ``hi``)."""
        # Each name's newest version first (from the covering index), then its row by primary
        # key: CROSS JOIN keeps that order (SQLite otherwise scanned the whole namespace).
        if changed is None:
            newest = ("SELECT name, max(version) AS mv FROM versions WHERE namespace = ? "
                      "AND name >= ? AND name < ? AND seq <= ? GROUP BY name")
            args: list[Any] = [*_bounds(namespace, prefix), seq]
        else:
            newest = ("SELECT w.name, max(w.version) AS mv FROM (SELECT DISTINCT name FROM "
                      "versions WHERE namespace = ? AND name >= ? AND name < ? AND seq > ? "
                      "AND seq <= ?) c CROSS JOIN versions w ON w.namespace = ? "
                      "AND w.name = c.name AND w.seq <= ? GROUP BY w.name")
            args = [*_bounds(namespace, prefix), *changed, namespace, seq]
        rows = self.queries.rows(
            f"SELECT v.* FROM ({newest}) m CROSS JOIN versions v "
            "ON v.namespace = ? AND v.name = m.name AND v.version = m.mv "
            + ("" if deleted else "WHERE v.kind != 'delete' ") + "ORDER BY v.name",
            [*args, namespace])
        return [VersionRecord.from_row(r) for r in rows]

    def count(self, namespace: str, prefix: str, seq: int) -> int:
        """How many names under ``prefix`` are in the folder as of changeset ``seq`` (their
        version there is no delete marker)."""
        row = self.queries.row(
            "SELECT count(*) AS n FROM (SELECT name, max(version) AS mv FROM versions "
            "WHERE namespace = ? AND name >= ? AND name < ? AND seq <= ? GROUP BY name) m "
            "CROSS JOIN versions v ON v.namespace = ? AND v.name = m.name "
            "AND v.version = m.mv WHERE v.kind != 'delete'",
            [*_bounds(namespace, prefix), seq, namespace])
        return (row or {}).get("n") or 0

    def children(self, namespace: str, prefix: str, seq: int, *,
                 deleted: bool = False) -> tuple[list[str], list[VersionRecord]]:
        """What a non-recursive ``ls`` of ``prefix`` shows as of changeset ``seq``: the
        sub-folders holding a name there (``prefix + "sub/"``, sorted) and the versions of the
        names right under it (as :meth:`snapshot`). Grouped in SQL from the covering index:
        the top of a folder of 100,000 names makes 1,000 rows, not 100,000 records.
        """
        start = len(prefix) + 1  # where a name's part after the prefix starts (characters)
        keep = "" if deleted else " AND kind != 'delete'"
        folders = [r["folder"] for r in self.queries.rows(
            f"SELECT DISTINCT substr(name, 1, ? + instr(substr(name, ?), '/')) AS folder "
            f"FROM ({_NEWEST}) WHERE instr(substr(name, ?), '/') > 0{keep} ORDER BY folder",
            [start - 1, start, *_bounds(namespace, prefix), seq, start])]
        return folders, self.files(namespace, prefix, seq, deleted=deleted)

    def files(self, namespace: str, prefix: str, seq: int, *,
              deleted: bool = False) -> list[VersionRecord]:
        """The versions as of changeset ``seq`` of the names right under ``prefix`` (no ``/``
        after it), by name, as :meth:`snapshot` gives them."""
        keep = "" if deleted else " AND m.kind != 'delete'"
        rows = self.queries.rows(
            f"SELECT v.* FROM ({_NEWEST}) m CROSS JOIN versions v ON v.namespace = ? "
            "AND v.name = m.name AND v.version = m.mv WHERE instr(substr(m.name, ?), '/') = 0"
            f"{keep} ORDER BY v.name",
            [*_bounds(namespace, prefix), seq, namespace, len(prefix) + 1])
        return [VersionRecord.from_row(r) for r in rows]

    def subfolders(self, namespace: str, prefix: str, seq: int) -> list[SubFolder]:
        """The folders right under ``prefix`` as of changeset ``seq`` (``prefix + "sub/"``,
        sorted), each with how many names under it are in the folder then (as :meth:`snapshot`:
        their version there is no delete marker) and those versions' sizes added up. Grouped
        in SQL from the covering index: one row per sub-folder, no record per name."""
        start = len(prefix) + 1
        rows = self.queries.rows(
            "SELECT substr(name, 1, ? + instr(substr(name, ?), '/')) AS folder, "
            "count(*) AS names, coalesce(sum(size), 0) AS bytes "
            f"FROM ({_NEWEST}) WHERE instr(substr(name, ?), '/') > 0 AND kind != 'delete' "
            "GROUP BY folder ORDER BY folder",
            [start - 1, start, *_bounds(namespace, prefix), seq, start])
        return [SubFolder(namespace, r["folder"], r["names"], r["bytes"]) for r in rows]

    def name_at(self, namespace: str, name: str, seq: int) -> VersionRecord | None:
        """The newest version of ``name`` made by changeset ``seq`` or before, or None."""
        row = self.queries.row(
            "SELECT * FROM versions WHERE namespace = ? AND name = ? AND seq <= ? "
            "ORDER BY version DESC LIMIT 1", [namespace, name, seq])
        return None if row is None else VersionRecord.from_row(row)

    def seq_at_time(self, namespace: str, when: str) -> int:
        """The seq of the newest changeset whose time (``at``) is at or before ``when``; 0 if
        none (times grow with the seq, see ``Index.apply``)."""
        row = self.queries.row(
            "SELECT max(seq) AS seq FROM changesets WHERE namespace = ? "
            "AND coalesce(at, created) <= ?", [namespace, when])
        return (row or {}).get("seq") or 0

    def changeset_time(self, namespace: str, seq: int) -> str:
        """The time of changeset ``seq`` as time references compare it (its ``at``)."""
        row = self.queries.row(
            "SELECT coalesce(at, created) AS t FROM changesets WHERE namespace = ? AND seq = ?",
            [namespace, seq])
        return (row or {}).get("t") or ""

    def tags(self, namespace: str, prefix: str) -> dict[str, tuple[int, int]]:
        """The folder's tags: tag -> (folder version, seq of that version)."""
        return {r["tag"]: (r["version"], r["target_seq"]) for r in self.queries.rows(
            "SELECT tag, version, target_seq FROM folder_tags WHERE namespace = ? "
            "AND prefix = ? ORDER BY tag", [namespace, prefix])}

    def tags_under(self, namespace: str, prefix: str) -> list[dict[str, Any]]:
        """Every folder tag of the folder ``prefix`` and the folders under it, by folder."""
        return self.queries.rows(
            "SELECT prefix, tag, version, target_seq, created, author FROM folder_tags "
            "WHERE namespace = ? AND prefix >= ? AND prefix < ? ORDER BY prefix, tag",
            _bounds(namespace, prefix))


def check_folder_entry(queries: FolderQueries, namespace: str, seq: int, entry: Entry) -> None:
    """Raise InvalidChangesetError unless a folder-tag entry names a version the folder has
    (the state the log before ``seq`` gives, the same on every client)."""
    if entry.op != "folder-tag":
        return
    count = len(queries.seqs(namespace, entry.name, until=seq - 1))
    if not entry.version or entry.version > count:
        raise InvalidChangesetError(
            f"changeset {namespace}#{seq} tags version {entry.version} of the folder "
            f"{entry.name!r}, which has {count}: the log is inconsistent"
        )


def apply_folder_entry(db: sqlite_utils.Database, queries: FolderQueries, changeset: Changeset,
                       entry: Entry) -> None:
    """Apply a folder-tag or folder-untag entry (inside ``Index.apply``'s write)."""
    ns = changeset.namespace
    if entry.op == "folder-untag":
        db.execute("DELETE FROM folder_tags WHERE namespace = ? AND prefix = ? AND tag = ?",
                   [ns, entry.name, entry.tag])
        return
    target = queries.seqs(ns, entry.name, until=changeset.seq - 1)[(entry.version or 1) - 1]
    db.execute(
        "INSERT OR REPLACE INTO folder_tags VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [ns, entry.name, entry.tag, entry.version, target, changeset.created,
         changeset.author, changeset.seq],
    )
