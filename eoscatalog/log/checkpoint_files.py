"""Checkpoint files: one namespace of the index written to a SQLite file of its own, and read
back into an index (replacing that namespace's rows).

A checkpoint file has the index's tables (:func:`~eoscatalog.log.index_schema.create_schema`)
and holds one namespace at one seq. Files written by older versions may lack tables or columns:
what they lack is derived or left NULL, as an old index file is upgraded.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from eoscatalog.core.errors import StoreError
from eoscatalog.core.sqlite import immediate, lock_of, sqlite_utils
from eoscatalog.log.index_schema import (
    COPIED_TABLES,
    EVENTS_FROM_TAGS,
    EVENTS_FROM_VERSIONS,
    NAMES_FROM_VERSIONS,
    SCHEMA,
    columns,
    create_schema,
    set_applied_seq,
)
from eoscatalog.log.queries import IndexQueries

__all__ = ["export_namespace", "import_namespace"]


def export_namespace(db: sqlite_utils.Database, namespace: str, seq: int,
                     path: str | os.PathLike[str]) -> bool:
    """Write the namespace's state in ``db`` to a new SQLite file if ``db`` is exactly at
    ``seq``; False (and a file holding no namespace) otherwise."""
    checkpoint = sqlite_utils.Database(os.fspath(path))
    create_schema(checkpoint)
    checkpoint.close()
    with _attached(db, path) as alias, immediate(db):
        if IndexQueries(db).applied_seq(namespace) != seq:
            return False
        for table in COPIED_TABLES:
            cols = columns(table)
            db.execute(
                f"INSERT INTO {alias}.{table} ({cols}) SELECT {cols} FROM main.{table} "
                "WHERE namespace = ?", [namespace],
            )
        db.execute(f"INSERT INTO {alias}.namespaces VALUES (?, ?)", [namespace, seq])
    return True


def import_namespace(db: sqlite_utils.Database, namespace: str, path: str | os.PathLike[str],
                     seq: int | None = None) -> int:
    """Replace the namespace's rows in ``db`` with a checkpoint's; return the checkpoint's seq
    (or the seq ``db`` is at, when that is not behind it: then nothing changes).

    ``seq``: the seq the checkpoint is stored under, which it must claim as its own.
    """
    queries = IndexQueries(db)
    with _attached(db, path) as alias:
        row = queries.row(f"SELECT namespace, applied_seq FROM {alias}.namespaces")
        if not row or row["namespace"] != namespace:
            raise StoreError(f"checkpoint {path} does not hold namespace {namespace!r}")
        if seq is not None and row["applied_seq"] != seq:
            raise StoreError(f"checkpoint #{seq} of {namespace} claims to be at "
                             f"#{row['applied_seq']}")
        seq = row["applied_seq"]
        if not isinstance(seq, int):
            raise StoreError(f"checkpoint {path} has no valid seq for {namespace!r}: {seq!r}")
        with immediate(db):
            if queries.applied_seq(namespace) >= seq:
                return queries.applied_seq(namespace)
            has_events = queries.row(
                f"SELECT 1 AS found FROM {alias}.sqlite_master WHERE name = 'events'"
            )
            for table in COPIED_TABLES:
                cols = columns(table)
                db.execute(f"DELETE FROM main.{table} WHERE namespace = ?", [namespace])
                if table in ("bad_changesets", "folder_tags") and not queries.row(
                    f"SELECT 1 AS found FROM {alias}.sqlite_master WHERE name = ?", [table]
                ):
                    continue  # a checkpoint from before skipped changesets (folder tags) were kept
                if table == "events" and not has_events:
                    # A checkpoint written before events were kept: derive what it shows.
                    for derive in (EVENTS_FROM_VERSIONS, EVENTS_FROM_TAGS):
                        db.execute(derive.format(into="main.", source=f"{alias}."))
                    continue
                db.execute(
                    f"INSERT INTO main.{table} ({cols}) SELECT {_found(queries, alias, table)} "
                    f"FROM {alias}.{table} WHERE namespace = ?", [namespace],
                )
            db.execute("DELETE FROM names WHERE namespace = ?", [namespace])
            db.execute(NAMES_FROM_VERSIONS + " AND namespace = ? GROUP BY name", [namespace])
            set_applied_seq(db, namespace, seq)
    return seq


def _found(queries: IndexQueries, alias: str, table: str) -> str:
    """The checkpoint's columns of ``table`` in our order, NULL for those it predates."""
    have = {r["name"] for r in queries.rows(f"PRAGMA {alias}.table_info({table})")}
    return ", ".join(f'"{c}"' if c in have else "NULL" for c in SCHEMA[table][0])


@contextlib.contextmanager
def _attached(db: sqlite_utils.Database, path: str | os.PathLike[str]) -> Iterator[str]:
    # The connection's thread lock is held from ATTACH to DETACH: another thread's
    # transaction would otherwise take in the attached file (and fail on its removal), and
    # a DETACH inside it fails ("database checkpoint is locked"), leaving it attached.
    alias = "checkpoint"
    with lock_of(db):
        db.execute(f"ATTACH DATABASE ? AS {alias}", [os.fspath(path)])
        try:
            yield alias
        finally:
            db.execute(f"DETACH DATABASE {alias}")
