"""Tables from the first lines of a file: CSV and TSV heads with a type inferred for each
column from the rows shown (int, float, bool, date, datetime, string, as ``eos diff`` infers
them), and the cell and column limits every table shares."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from typing import Any

from eoscatalog.interchange.csv_table import cell_type, widen
from eoscatalog.interchange.preview.result import MAX_ROWS, Preview
from eoscatalog.interchange.preview.source import Source

__all__ = ["MAX_CELL", "MAX_COLUMNS", "cell", "infer_type", "preview_delimited", "table"]

MAX_CELL = 1000  # characters of one cell shown
MAX_COLUMNS = 200  # columns shown of a wide table (VCF of 2,504 samples, wide CSV)


def cell(value: Any) -> str:
    """One value as the text of a cell (None as ``null``), cut at :data:`MAX_CELL`.

    >>> cell(None), cell(b"ab"), cell("x" * 1001)[-2:]
    ('null', 'ab', 'x…')
    """
    if value is None:
        return "null"
    if isinstance(value, (bytes, bytearray)):
        text = bytes(value).decode("utf-8", errors="backslashreplace")
    else:
        text = str(value)
    return text if len(text) <= MAX_CELL else text[:MAX_CELL] + "…"


def infer_type(values: Sequence[str]) -> str:
    """The type of a column from the cells shown, as ``eos diff`` infers it from every cell
    (:func:`~eoscatalog.interchange.csv_table.cell_type`): int, float, bool, date, datetime
    or string; ``null`` when every cell is empty or a missing-value marker.

    >>> infer_type(["1", "-2", ""]), infer_type(["1", "2.5e3", "NaN"]), infer_type(["True"])
    ('int', 'float', 'bool')
    >>> infer_type(["2026-06-01"]), infer_type(["1_000"]), infer_type(["NA"])
    ('date', 'string', 'null')
    """
    kind = "null"
    for value in values:
        found = cell_type(value)
        if found is not None:
            kind = widen(kind, found)
    return kind


def table(kind: str, format: str, names: Sequence[str], rows: Sequence[Sequence[str]],
          truncated: bool, types: Sequence[str] | None = None,
          details: dict[str, Any] | None = None) -> Preview:
    """A table preview of the first rows: cells cut to :data:`MAX_CELL`, columns to
    :data:`MAX_COLUMNS` (``details["columns_total"]`` then says how many there are), types
    inferred from the rows shown unless given."""
    rows = [list(row) for row in rows[:MAX_ROWS]]
    width = max([len(names), *(len(row) for row in rows)])
    names = [*names, *(f"column_{i + 1}" for i in range(len(names), width))]
    details = dict(details or {})
    if width > MAX_COLUMNS:
        details["columns_total"] = width
    names = names[:MAX_COLUMNS]
    rows = [[cell(v) for v in row[:MAX_COLUMNS]] + [""] * (len(names) - len(row))
            for row in rows]
    types = list(types or [infer_type([row[i] for row in rows]) for i in range(len(names))])
    return Preview.table(kind, format, list(zip(names, types[:len(names)], strict=True)), rows,
                         truncated=truncated, details=details)


def preview_delimited(source: Source, format: str) -> Preview:
    """A CSV (``format`` "csv") or TSV ("tsv") head: the first line names the columns."""
    lines, more = source.lines(MAX_ROWS + 1)
    if any("\x00" in line for line in lines):
        return Preview("none", format, reason=f"not {format.upper()}: the file holds NUL bytes "
                                              "(binary data)")
    delimiter = "\t" if format == "tsv" else ","
    parsed = list(csv.reader([line + "\n" for line in lines], delimiter=delimiter))
    if not parsed:
        why = "no line ends in the first 4 MiB" if more else "no header line"
        return Preview("none", format, reason=f"not {format.upper()}: {why}")
    header, body = parsed[0], parsed[1:]
    return table("table", format, header, body, truncated=more or len(body) > MAX_ROWS)
