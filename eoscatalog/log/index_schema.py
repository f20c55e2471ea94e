"""The index's tables: their columns, the upgrades of files written by older versions, and the
few statements that the index's writes and its checkpoint files share.

A checkpoint file is an index file holding one namespace, so :func:`create_schema` makes both.
"""

from __future__ import annotations

from eoscatalog.core.sqlite import immediate, sqlite_utils

__all__ = [
    "COPIED_TABLES", "EVENTS_FROM_TAGS", "EVENTS_FROM_VERSIONS", "NAMES_FROM_VERSIONS",
    "SCHEMA", "SCHEMA_VERSION", "columns", "create_schema", "set_applied_seq",
]

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
    # Folder tags (`eos tag eos://org/x.zarr@3/ paper`): the folder version and the seq of the
    # changeset that made it (``target_seq``), set by changeset ``seq``.
    "folder_tags": (
        {"namespace": str, "prefix": str, "tag": str, "version": int, "target_seq": int,
         "created": str, "author": str, "seq": int},
        ["namespace", "prefix", "tag"],
    ),
    # Derived from versions (newest non-purged version per name), so listings need no GROUP BY
    # over every version; rebuilt after checkpoint imports, not copied into checkpoints.
    "names": (
        {"namespace": str, "name": str, "latest": int},
        ["namespace", "name"],
    ),
}
SCHEMA_VERSION = 6
COPIED_TABLES = ("versions", "tags", "changesets", "events", "bad_changesets",
                 "folder_tags")


# Events for indexes and checkpoints written before the events table existed: the version
# entries and the tags still standing (earlier untags and purges left no trace there).
EVENTS_FROM_VERSIONS = (
    "INSERT OR IGNORE INTO {into}events (namespace, seq, pos, name, op, version, source_version, "
    "hash, size, expires, created, author, message) SELECT namespace, seq, -version, name, kind, "
    "version, source_version, hash, size, expires, created, author, message FROM {source}versions"
)
EVENTS_FROM_TAGS = (
    "INSERT OR IGNORE INTO {into}events (namespace, seq, pos, name, op, version, tag, created, "
    "author, message) SELECT namespace, seq, -1000000 - rowid, name, 'tag', version, tag, created, "
    "author, '' FROM {source}tags"
)

# The names table's rows, from the versions (callers add the WHERE terms and GROUP BY).
NAMES_FROM_VERSIONS = (
    "INSERT OR REPLACE INTO names (namespace, name, latest) "
    "SELECT namespace, name, max(version) FROM versions WHERE purged = 0"
)


def columns(table: str) -> str:
    """The table's columns, quoted, in schema order (for INSERT and SELECT lists).

    >>> columns("namespaces")
    '"namespace", "applied_seq"'
    """
    return ", ".join(f'"{c}"' for c in SCHEMA[table][0])


def create_schema(db: sqlite_utils.Database) -> None:
    """Create the tables and indexes ``db`` lacks, and bring a file of an older schema up to
    :data:`SCHEMA_VERSION` (in one write transaction)."""
    with immediate(db):
        for table, (table_columns, pk) in SCHEMA.items():
            db.table(table).create(table_columns, pk=pk, if_not_exists=True)
            for column, kind in table_columns.items():
                # Columns added since the table was made (``at``: schema 5). Rows applied
                # before keep NULL there, which reads as their ``created``.
                if column not in db.table(table).columns_dict:
                    db.table(table).add_column(column, kind)
        db.table("versions").create_index(["hash"], if_not_exists=True)
        db.table("versions").create_index(["namespace", "name", "created"], if_not_exists=True)
        # Folder versions, snapshots and listings (log/folder_queries.py) read only these
        # columns of every version under a prefix: from this index, not the table's rows.
        db.table("versions").create_index(
            ["namespace", "name", "version", "seq", "kind", "size"],
            index_name="idx_versions_folders", if_not_exists=True)
        db.table("events").create_index(["namespace", "name"], if_not_exists=True)
        found = db.execute("PRAGMA user_version").fetchone()[0]
        if found < 2:
            # An index written before the names table existed: derive it once.
            db.execute("DELETE FROM names")
            db.execute(NAMES_FROM_VERSIONS + " GROUP BY namespace, name")
        if found < 3:
            # ... or before the events table: derive what the versions and tags still show.
            db.execute(EVENTS_FROM_VERSIONS.format(into="", source=""))
            db.execute(EVENTS_FROM_TAGS.format(into="", source=""))
        if found < 4:
            # (namespace, hash) served no query but led hash-prefix lookups into a scan of
            # the namespace, and every insert paid for it (random keys: a page per row).
            db.execute("DROP INDEX IF EXISTS idx_versions_namespace_hash")
        if found < 6:
            # Releases before folder tags skipped their changesets as bad ("unknown op"):
            # forget those namespaces, which replay then rebuilds with the tags.
            for row in db.execute(
                "SELECT DISTINCT namespace FROM bad_changesets WHERE reason LIKE ?",
                ["%unknown op 'folder-%"],
            ).fetchall():
                for table in (*COPIED_TABLES, "names", "namespaces"):
                    db.execute(f"DELETE FROM {table} WHERE namespace = ?", [row[0]])
        if found < SCHEMA_VERSION:
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def set_applied_seq(db: sqlite_utils.Database, namespace: str, seq: int) -> None:
    """Record ``seq`` as the namespace's last applied changeset (inside the caller's write)."""
    db.execute(
        "INSERT INTO namespaces (namespace, applied_seq) VALUES (?, ?) "
        "ON CONFLICT(namespace) DO UPDATE SET applied_seq = excluded.applied_seq",
        [namespace, seq],
    )
