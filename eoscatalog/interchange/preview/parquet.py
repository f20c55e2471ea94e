"""Parquet from its footer and the first pages: the schema, the row groups with their column
statistics, created_by, and the first rows, read by pyarrow through ranged reads. Only the
first pages of the first row group's column chunks are read (``pre_buffer`` off, a small
buffer), never whole column chunks, so a file of any size previews with a few MiB.

pyarrow is optional (the ``ui`` extra) and imported only here, when a Parquet file is shown.
"""

from __future__ import annotations

import importlib
import io
from typing import Any

from eoscatalog.interchange.preview.range_file import RangeFile
from eoscatalog.interchange.preview.result import MAX_ROWS, Preview
from eoscatalog.interchange.preview.source import Source
from eoscatalog.interchange.preview.tables import MAX_COLUMNS, cell

__all__ = ["MAGIC", "NO_PYARROW", "preview_parquet"]

MAGIC = b"PAR1"
NO_PYARROW = "Parquet previews need pyarrow: install eoscatalog[ui]"
BUFFER = 64 * 1024  # pyarrow's read buffer per column chunk, and the file's
MAX_ROW_GROUPS = 100  # row groups listed with their statistics
MAX_STAT = 200  # characters of a min or max shown


def _stat(value: Any) -> str | None:
    return None if value is None else cell(value)[:MAX_STAT]


def _min_max(stats: Any) -> tuple[str | None, str | None]:
    """A column chunk's min and max as text; as stored (the physical value) when Python cannot
    hold the logical one (a timestamp past year 9999)."""
    try:
        return _stat(stats.min), _stat(stats.max)
    except (ValueError, OverflowError, ArithmeticError):
        return _stat(stats.min_raw), _stat(stats.max_raw)


def _texts(column: Any) -> list[str]:
    """A column's values as cells; values Python cannot hold (a timestamp past year 9999)
    as arrow prints them."""
    try:
        return [cell(value) for value in column.to_pylist()]
    except (ValueError, OverflowError, ArithmeticError):
        pa = importlib.import_module("pyarrow")
        try:
            return [cell(value) for value in column.cast(pa.string()).to_pylist()]
        except pa.ArrowException:
            return ["?"] * len(column)


def _row_group(metadata: Any, index: int) -> dict[str, Any]:
    group = metadata.row_group(index)
    columns, compressed = [], 0
    for j in range(group.num_columns):
        chunk = group.column(j)
        compressed += int(chunk.total_compressed_size)
        if j >= MAX_COLUMNS:
            continue
        stats = chunk.statistics
        low, high = _min_max(stats) if stats is not None and stats.has_min_max else (None, None)
        columns.append({
            "name": chunk.path_in_schema,
            "min": low,
            "max": high,
            "nulls": int(stats.null_count) if stats is not None and stats.has_null_count
            else None,
        })
    return {"rows": int(group.num_rows), "compressed": compressed,
            "uncompressed": int(group.total_byte_size), "columns": columns}


def preview_parquet(source: Source, format: str) -> Preview:
    """A Parquet file's schema, row groups, statistics and first :data:`MAX_ROWS` rows."""
    if source.size < 2 * len(MAGIC) + 4:
        return Preview("none", format, reason=f"not a Parquet file: {source.size} bytes, too "
                                              "short for a Parquet footer")
    if source.head(4) != MAGIC or source.read(source.size - 4, source.size) != MAGIC:
        return Preview("none", format, reason="not a Parquet file: it does not start and end "
                                              "with PAR1")
    try:
        pq = importlib.import_module("pyarrow.parquet")
    except ImportError:
        return Preview("none", format, reason=NO_PYARROW)
    try:
        return _read(pq, source, format)
    except Exception as error:
        if source.failure is not None:  # the reader's own error, wrapped by pyarrow
            raise source.failure from None
        return Preview("none", format, reason=f"not a valid Parquet file: {error}")


def _read(pq: Any, source: Source, format: str) -> Preview:
    raw = io.BufferedReader(RangeFile(source.read, source.size), BUFFER)
    parquet = pq.ParquetFile(raw, pre_buffer=False, buffer_size=BUFFER)
    try:
        metadata = parquet.metadata
        schema = parquet.schema_arrow
        names = schema.names[:MAX_COLUMNS]
        columns = [(field.name, str(field.type)) for field in schema][:MAX_COLUMNS]
        rows: list[list[str]] = []
        if metadata.num_row_groups and metadata.row_group(0).num_rows:
            wide = len(schema.names) > MAX_COLUMNS  # else all: names may repeat
            batches = parquet.iter_batches(batch_size=MAX_ROWS, row_groups=[0],
                                           columns=names if wide else None, use_threads=False)
            batch = next(iter(batches))
            values = [_texts(batch.column(i)) for i in range(batch.num_columns)]
            rows = [[column[r] for column in values] for r in range(batch.num_rows)]
        details = {
            "num_rows": int(metadata.num_rows),
            "num_row_groups": int(metadata.num_row_groups),
            "num_columns": len(schema.names),
            "row_groups": [_row_group(metadata, i)
                           for i in range(min(metadata.num_row_groups, MAX_ROW_GROUPS))],
            "created_by": str(metadata.created_by or ""),
            "format_version": str(metadata.format_version),
        }
    finally:
        parquet.close()
    return Preview.table("parquet", format, columns, rows,
                         truncated=int(metadata.num_rows) > len(rows), details=details)
