"""Tables from the first lines of a file: CSV and TSV heads with a type inferred for each
column (int, float, bool, date, string), and the cell and column limits every table shares."""

from __future__ import annotations

import csv
import datetime
import re
from collections.abc import Sequence
from typing import Any

from eoscatalog.interchange.preview.result import MAX_ROWS, Preview
from eoscatalog.interchange.preview.source import Source

__all__ = ["MAX_CELL", "MAX_COLUMNS", "cell", "infer_type", "preview_delimited", "table"]

MAX_CELL = 1000  # characters of one cell shown
MAX_COLUMNS = 200  # columns shown of a wide table (VCF of 2,504 samples, wide CSV)
INT = re.compile(r"[+-]?\d+")
FLOAT = re.compile(r"[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|nan|inf|infinity)",
                   re.IGNORECASE)
DATE = re.compile(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?")
BOOLS = {"true", "false"}


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


def _is_date(value: str) -> bool:
    if not DATE.fullmatch(value):
        return False
    try:
        datetime.date.fromisoformat(value[:10])
    except ValueError:
        return False
    return True


def infer_type(values: Sequence[str]) -> str:
    """The narrowest of int, float, bool, date and string that every non-empty value fits.

    >>> infer_type(["1", "-2", ""]), infer_type(["1", "2.5e3", "NaN"]), infer_type(["True"])
    ('int', 'float', 'bool')
    >>> infer_type(["2026-06-01", "2026-06-02T10:00:00Z"]), infer_type(["1_000"]), infer_type([])
    ('date', 'string', 'string')
    """
    present = [v.strip() for v in values if v.strip()]
    if not present:
        return "string"
    for name, fits in (("int", INT.fullmatch), ("float", FLOAT.fullmatch),
                       ("bool", lambda v: v.lower() in BOOLS), ("date", _is_date)):
        if all(fits(v) for v in present):
            return name
    return "string"


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
        return Preview("none", format, reason="empty file: no header line")
    header, body = parsed[0], parsed[1:]
    return table("table", format, header, body, truncated=more or len(body) > MAX_ROWS)
