"""CSV and TSV files summarized in one streamed pass: the header's column names, a type per
column inferred from every cell, and the number of data rows, in constant memory.

- The delimiter comes from the format (``,`` for CSV, a tab for TSV); the quote character is
  sniffed from the first 16 KiB (``"`` unless the sample clearly quotes with ``'``).
- Text is UTF-8; a byte order mark is skipped. ``.gz`` files are decompressed as they stream.
- Rows are records, not lines: a quoted field may hold line breaks. Blank lines are no rows.
- Types, narrowest first: ``int``, ``float``, ``bool`` (true/false), ``date`` (ISO
  ``2024-05-01``), ``datetime`` (ISO, ``T`` or space, optional zone), else ``string``. A column
  whose cells are all ``int`` or ``float`` is ``float``, ``date`` and ``datetime`` is
  ``datetime``, anything else mixed is ``string``. Empty cells and the usual missing-value
  markers (``NA``, ``N/A``, ``null``, ``None``, ``NaN``...) decide nothing; a column with no
  other cell is ``null``.

A file that is not UTF-8, not gzip (for ``.gz``) or that the csv module cannot parse gives a
summary with an ``error``; errors of reading the bytes themselves propagate.
"""

from __future__ import annotations

import csv
import gzip
import io
import itertools
import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from typing import BinaryIO

from eoscatalog.interchange.table_summary import TableSummary

__all__ = ["cell_type", "summarize_text_table", "widen"]

# What the quote sniffer sees (it takes quadratic time on some text), completed to a line break.
SAMPLE_CHARS = 16 * 1024
MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "#n/a", "-nan"})

_INT = re.compile(r"[+-]?\d+", re.ASCII)
_FLOAT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?inf(?:inity)?",
                    re.ASCII | re.IGNORECASE)
_DATE = r"\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])"
_DATE_RE = re.compile(_DATE, re.ASCII)
_DATETIME = re.compile(
    _DATE + r"[T ](?:[01]\d|2[0-3]):[0-5]\d(?::(?:[0-5]\d|60)(?:\.\d{1,9})?)?"
    r"(?:Z|[+-](?:[01]\d|2[0-3]):?[0-5]\d)?", re.ASCII)
_BOOLS = frozenset({"true", "false"})

# What two kinds of cells make together (either order); any other mix is a string column.
_JOINS = {frozenset({"int", "float"}): "float", frozenset({"date", "datetime"}): "datetime"}


def cell_type(text: str) -> str | None:
    """The narrowest type one cell fits; None for an empty or missing one.

    >>> [cell_type(t) for t in ["12", "-1.5e3", "True", "2024-05-01", "2024-05-01T10:00Z", "x"]]
    ['int', 'float', 'bool', 'date', 'datetime', 'string']
    >>> cell_type(" NA "), cell_type("2024-13-01")
    (None, 'string')
    """
    text = text.strip()
    if text.lower() in MISSING:
        return None
    if _INT.fullmatch(text):
        return "int"
    if _FLOAT.fullmatch(text):
        return "float"
    if text.lower() in _BOOLS:
        return "bool"
    if _DATE_RE.fullmatch(text):
        return "date"
    if _DATETIME.fullmatch(text):
        return "datetime"
    return "string"


def widen(current: str, kind: str) -> str:
    """The type of a column so far (``current``, ``null`` before any value) with one more cell
    of type ``kind``.

    >>> widen("null", "int"), widen("int", "float"), widen("date", "datetime")
    ('int', 'float', 'datetime')
    >>> widen("float", "int"), widen("int", "bool")
    ('float', 'string')
    """
    if current == kind or current == "null":
        return kind
    return _JOINS.get(frozenset({current, kind}), "string")


def _fits(current: str, text: str) -> bool:
    """Whether a cell leaves a column of type ``current`` as it is (the fast path)."""
    if current == "string":
        return True
    text = text.strip()
    if current == "int":
        return _INT.fullmatch(text) is not None
    if current == "float":
        return _FLOAT.fullmatch(text) is not None or _INT.fullmatch(text) is not None
    if current == "bool":
        return text.lower() in _BOOLS
    if current == "date":
        return _DATE_RE.fullmatch(text) is not None
    if current == "datetime":
        return _DATETIME.fullmatch(text) is not None or _DATE_RE.fullmatch(text) is not None
    return False


def summarize_text_table(
    open_binary: Callable[[], BinaryIO], format: str, *, gzipped: bool = False,
) -> TableSummary:
    """The summary of a CSV (``format="csv"``) or TSV (``"tsv"``) file, streamed once.

    >>> data = b'\\xef\\xbb\\xbfid,name,when\\n1,"a, b",2024-05-01\\n2,,2024-05-02\\n'
    >>> s = summarize_text_table(lambda: io.BytesIO(data), "csv")
    >>> s.columns, s.rows
    ((('id', 'int'), ('name', 'string'), ('when', 'date')), 2)
    >>> summarize_text_table(lambda: io.BytesIO(b"a\\n\\xff\\n"), "csv").error
    'not UTF-8 text: byte 0xff cannot be decoded (CSV and TSV files are read as UTF-8)'
    """
    delimiter = "\t" if format == "tsv" else ","
    with open_binary() as raw:
        stream: BinaryIO | gzip.GzipFile = gzip.GzipFile(fileobj=raw, mode="rb") if gzipped else raw
        try:
            return _summarize(stream, format, delimiter)
        except UnicodeDecodeError as exc:
            byte = f"byte 0x{exc.object[exc.start]:02x}" if exc.start < len(exc.object) else (
                "a truncated character")
            return TableSummary(format, error=f"not UTF-8 text: {byte} cannot be decoded "
                                              "(CSV and TSV files are read as UTF-8)")
        except (gzip.BadGzipFile, zlib.error, EOFError) as exc:
            return TableSummary(format, error=f"not a valid gzip file: {exc}")
        except csv.Error as exc:
            return TableSummary(format, error=f"not a readable {format.upper()} file: {exc}")
        finally:
            if stream is not raw:
                stream.close()


def _summarize(stream: BinaryIO | gzip.GzipFile, format: str, delimiter: str) -> TableSummary:
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="strict", newline="")
    try:
        sample = text.read(SAMPLE_CHARS)
        if len(sample) == SAMPLE_CHARS:
            sample += text.readline()  # the sample ends at a line break: csv reads whole lines
        rows = csv.reader(_chain(sample, text), delimiter=delimiter,
                          quotechar=_quotechar(sample, delimiter))
        return _count(rows, format)
    finally:
        text.detach()  # the caller closes the binary stream


def _chain(sample: str, rest: Iterable[str]) -> Iterator[str]:
    return itertools.chain(io.StringIO(sample, newline=""), rest)


def _quotechar(sample: str, delimiter: str) -> str:
    """The quote character the sample uses: ``'`` if the sniffer finds fields quoted with it,
    else ``"`` (the sniffer often fails on ordinary files: it only gets to say ``'``)."""
    if re.search(f"(?:^|{re.escape(delimiter)})'", sample, re.MULTILINE):
        try:
            sniffed = csv.Sniffer().sniff(sample, delimiters=delimiter)
        except csv.Error:
            return '"'
        if sniffed.quotechar == "'" and sniffed.delimiter == delimiter:
            return "'"
    return '"'


def _count(rows: Iterator[list[str]], format: str) -> TableSummary:
    header: list[str] | None = None
    for row in rows:
        if row:
            header = row
            break
    if header is None:
        return TableSummary(format, rows=0)
    types = ["null"] * len(header)
    width = len(header)
    count = 0
    for row in rows:
        if not row:
            continue
        count += 1
        for i, cell in enumerate(row[:width] if len(row) > width else row):
            current = types[i]
            if current == "string" or _fits(current, cell):
                continue
            kind = cell_type(cell)
            if kind is not None:
                types[i] = widen(current, kind)
    return TableSummary(format, tuple(zip(header, types, strict=True)), rows=count)

