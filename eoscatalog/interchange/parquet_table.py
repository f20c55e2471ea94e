"""Parquet files summarized from their footer: the arrow schema, the row count and the number
of row groups, read by ``pyarrow.parquet.ParquetFile`` with a few range reads at the end of the
file (never the data pages).

pyarrow is optional (the ``browse`` extra): without it the summary says how to install it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import BinaryIO

from eoscatalog.core.errors import EosError
from eoscatalog.interchange.table_summary import TableSummary

__all__ = ["NO_PYARROW", "summarize_parquet"]

NO_PYARROW = "install pyarrow (pip install 'eoscatalog[browse]') to compare Parquet schemas"
MAGIC = b"PAR1"


def _pyarrow() -> tuple[ModuleType, ModuleType] | None:
    """``pyarrow`` and ``pyarrow.parquet``, or None when they are not installed (imported by
    name: pyarrow ships no type information)."""
    try:
        return importlib.import_module("pyarrow"), importlib.import_module("pyarrow.parquet")
    except ImportError:
        return None


def summarize_parquet(open_binary: Callable[[], BinaryIO], size: int) -> TableSummary:
    """The summary of a Parquet file of ``size`` bytes, from its footer only.

    >>> import io
    >>> summarize_parquet(lambda: io.BytesIO(b"a,b\\n1,2\\n"), 8).error
    'not a Parquet file: 8 bytes, too short for a Parquet footer'
    >>> summarize_parquet(lambda: io.BytesIO(b"PAR1" + b"x" * 20), 24).error  # doctest: +ELLIPSIS
    'not a valid Parquet file: Parquet magic bytes not found in footer...'
    """
    if size < 2 * len(MAGIC) + 4:
        return TableSummary("parquet", error=f"not a Parquet file: {size} bytes, too short "
                                             "for a Parquet footer")
    modules = _pyarrow()
    if modules is None:
        return TableSummary("parquet", error=NO_PYARROW)
    pa, pq = modules
    with open_binary() as raw:
        try:
            parquet = pq.ParquetFile(raw)
            try:
                metadata = parquet.metadata
                columns = tuple((field.name, str(field.type)) for field in parquet.schema_arrow)
                return TableSummary("parquet", columns, rows=int(metadata.num_rows),
                                    row_groups=int(metadata.num_row_groups))
            finally:
                parquet.close()
        except pa.ArrowException as exc:
            return TableSummary("parquet", error=f"not a valid Parquet file: {exc}")
        except OSError as exc:
            # pyarrow's own errors (a footer that does not deserialize) are OSErrors with no
            # errno; the reader's (a store, a disk) pass through as they were raised.
            if isinstance(exc, EosError) or exc.errno is not None:
                raise
            return TableSummary("parquet", error=f"not a valid Parquet file: {exc}")
