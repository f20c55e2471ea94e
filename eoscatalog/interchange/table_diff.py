"""The table part of ``eos diff``: the schema and row count of two versions of a CSV, TSV or
Parquet file, and how they differ.

:func:`summarize_table` reads one version through a file object the caller opens (a verified
ranged reader, an open cache file): CSV and TSV streamed once in constant memory, Parquet from
its footer only. :func:`diff_tables` compares two summaries. Pure: no catalog, no store.

>>> import io
>>> old = summarize_table("t.csv", lambda: io.BytesIO(b"a,b\\n1,x\\n2,y\\n"), 14)
>>> new = summarize_table("t.csv", lambda: io.BytesIO(b"a,c\\n1.5,3\\n2,4\\n3,5\\n"), 20)
>>> for line in diff_tables(old, new).lines():
...     print(line)
columns added: c (int)
columns removed: b (string)
column a: int -> float
rows: 2 -> 3 (+1)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import BinaryIO

from eoscatalog.interchange.csv_table import summarize_text_table
from eoscatalog.interchange.parquet_table import summarize_parquet
from eoscatalog.interchange.table_change import TableDiff
from eoscatalog.interchange.table_summary import Column, TableSummary

__all__ = ["diff_tables", "summarize_table", "table_format"]

# Name endings (lower case) and what they are: (format, gzipped).
FORMATS: dict[str, tuple[str, bool]] = {
    ".csv": ("csv", False), ".csv.gz": ("csv", True),
    ".tsv": ("tsv", False), ".tsv.gz": ("tsv", True),
    ".parquet": ("parquet", False), ".pq": ("parquet", False), ".parq": ("parquet", False),
}
# Formats whose column types are named alike (ours for text tables, arrow's for Parquet).
TYPE_FAMILIES = {"csv": "text", "tsv": "text", "parquet": "arrow"}


def table_format(name: str) -> tuple[str, bool] | None:
    """The table format a name's ending calls for and whether it is gzipped; None for a name
    that is no table :func:`summarize_table` reads.

    >>> table_format("runs/Samples.TSV.gz"), table_format("t.parq"), table_format("t.txt")
    (('tsv', True), ('parquet', False), None)
    """
    lower = name.lower()
    for ending, found in FORMATS.items():
        if lower.endswith(ending):
            return found
    return None


def summarize_table(name: str, open_binary: Callable[[], BinaryIO],
                    size: int) -> TableSummary | None:
    """The columns and rows of one version of a table file, or None if ``name`` is no table.

    ``open_binary()`` returns a fresh seekable binary file object of the version's bytes (it is
    closed here); ``size`` is their length. The format comes from the name (``.csv``, ``.tsv``,
    either ``.gz``, ``.parquet``, ``.pq``, ``.parq``). A file that cannot be read as its format
    gives a summary whose ``error`` says why; errors of the reader itself propagate.

    >>> import io
    >>> s = summarize_table("t.tsv", lambda: io.BytesIO(b"x\\ty\\n1\\t2024-01-31\\n"), 18)
    >>> s.format, s.columns, s.rows, s.error
    ('tsv', (('x', 'int'), ('y', 'date')), 1, None)
    >>> summarize_table("notes.txt", lambda: io.BytesIO(b""), 0) is None
    True
    """
    found = table_format(name)
    if found is None:
        return None
    format, gzipped = found
    if format == "parquet":
        return summarize_parquet(open_binary, size)
    if size == 0:
        return TableSummary(format, rows=0)
    return summarize_text_table(open_binary, format, gzipped=gzipped)


def diff_tables(old: TableSummary, new: TableSummary) -> TableDiff:
    """How ``new`` differs from ``old``: columns added, removed, retyped and reordered, rows,
    row groups, format.

    Columns are matched by name. Types are compared only within a family of formats (CSV and
    TSV share ours; a CSV that became Parquet has arrow's types, named otherwise), and columns
    not at all when a version could not be read (its error is carried instead). ``reordered``
    means the columns both versions have come in a different order.

    >>> old = TableSummary("csv", (("a", "int"), ("b", "string")), rows=2)
    >>> diff_tables(old, TableSummary("csv", (("b", "string"), ("a", "int")), rows=2)).lines()
    ['columns reordered', 'rows: 2 (unchanged)']
    >>> d = diff_tables(old, TableSummary("parquet", (("a", "int64"), ("b", "string")), rows=2))
    >>> d.lines()
    ['format: csv -> parquet', 'schema unchanged', 'rows: 2 (unchanged)']
    """
    base = TableDiff(old.format, new.format, old_rows=old.rows, new_rows=new.rows,
                     old_row_groups=old.row_groups, new_row_groups=new.row_groups,
                     old_error=old.error, new_error=new.error)
    if not base.comparable:
        return base
    old_types, new_types = _by_name(old.columns), _by_name(new.columns)
    compare_types = TYPE_FAMILIES.get(old.format, old.format) == TYPE_FAMILIES.get(
        new.format, new.format)
    added = tuple(c for c in new.columns if c[0] not in old_types)
    removed = tuple(c for c in old.columns if c[0] not in new_types)
    retyped = tuple((name, old_types[name], kind) for name, kind in new_types.items()
                    if compare_types and name in old_types and old_types[name] != kind)
    in_old = [name for name in old_types if name in new_types]
    in_new = [name for name in new_types if name in old_types]
    return replace(base, added=added, removed=removed, retyped=retyped,
                   reordered=in_old != in_new)


def _by_name(columns: tuple[Column, ...]) -> dict[str, str]:
    """Each column name's type, in file order (the first of columns named alike)."""
    types: dict[str, str] = {}
    for name, kind in columns:
        types.setdefault(name, kind)
    return types
