"""What one version of a table file holds, as ``eos diff`` compares it: its columns, their
types, its row count, or why it could not be read.

Pure: :func:`~eoscatalog.interchange.table_diff.summarize_table` makes these from a file's
bytes, :func:`~eoscatalog.interchange.table_diff.diff_tables` compares two.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Column", "TableSummary"]

Column = tuple[str, str]
"""A column: its name and its type as text (``int``, ``string``... for CSV; arrow's for Parquet)."""


@dataclass(frozen=True)
class TableSummary:
    """The schema and size of one table file, read from its header (CSV, TSV) or its footer
    (Parquet).

    ``format`` is ``"csv"``, ``"tsv"`` or ``"parquet"``; ``columns`` the (name, type) pairs in
    file order; ``rows`` the data rows (the header row not counted), ``row_groups`` Parquet's
    (None for CSV and TSV). A file that could not be read has ``error`` saying why (and no
    columns or rows).

    >>> s = TableSummary("csv", (("a", "int"), ("b", "string")), rows=2)
    >>> s.to_dict()["columns"]
    [{'name': 'a', 'type': 'int'}, {'name': 'b', 'type': 'string'}]
    >>> s.column_names
    ('a', 'b')
    >>> TableSummary("parquet", error="not a Parquet file").ok
    False
    """

    format: str
    columns: tuple[Column, ...] = ()
    rows: int | None = None
    row_groups: int | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the file could be read (no ``error``)."""
        return self.error is None

    @property
    def column_names(self) -> tuple[str, ...]:
        """The names of the columns, in file order."""
        return tuple(name for name, _ in self.columns)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``format``, ``columns`` (``name``, ``type``), ``rows``, ``row_groups``,
        ``error``."""
        return {
            "format": self.format,
            "columns": [{"name": name, "type": kind} for name, kind in self.columns],
            "rows": self.rows,
            "row_groups": self.row_groups,
            "error": self.error,
        }
