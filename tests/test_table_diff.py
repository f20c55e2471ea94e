"""The table part of ``eos diff`` (interchange/table_diff.py): CSV, TSV and Parquet summaries
and their differences, read in bounded memory and, for Parquet, from the footer only."""

from __future__ import annotations

import doctest
import gzip
import importlib
import io
import json
import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from eoscatalog.core.errors import StoreError
from eoscatalog.interchange.parquet_table import NO_PYARROW
from eoscatalog.interchange.table_change import TableDiff
from eoscatalog.interchange.table_diff import diff_tables, summarize_table, table_format
from eoscatalog.interchange.table_summary import TableSummary


def summarize(name: str, data: bytes) -> TableSummary:
    summary = summarize_table(name, lambda: io.BytesIO(data), len(data))
    assert summary is not None
    return summary


def summarize_path(name: str, path: Path) -> TableSummary:
    summary = summarize_table(name, lambda: path.open("rb"), path.stat().st_size)
    assert summary is not None
    return summary


class CountingFile(io.RawIOBase):
    """A file that counts the bytes read from it (what range reads would fetch)."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("rb")
        self.bytes_read = 0
        self.reads = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def readinto(self, buffer: Any) -> int:
        n = self._file.readinto(buffer)
        self.bytes_read += n
        self.reads += 1
        return n

    def read(self, size: int = -1) -> bytes:
        data = self._file.read(size)
        self.bytes_read += len(data)
        self.reads += 1
        return data

    def close(self) -> None:
        self._file.close()
        super().close()


# --- names -------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "expected"), [
    ("t.csv", ("csv", False)), ("dir/T.CSV.GZ", ("csv", True)), ("t.tsv", ("tsv", False)),
    ("t.tsv.gz", ("tsv", True)), ("t.parquet", ("parquet", False)), ("t.pq", ("parquet", False)),
    ("t.parq", ("parquet", False)), ("t.txt", None), ("t.csv.bz2", None), ("csv", None),
    ("t.json", None), ("x.zarr/.zattrs", None),
])
def test_the_format_comes_from_the_name(name: str, expected: tuple[str, bool] | None) -> None:
    assert table_format(name) == expected


def test_other_names_give_no_summary_and_open_nothing() -> None:
    def never() -> BinaryIO:
        raise AssertionError("opened")
    assert summarize_table("notes.txt", never, 10) is None
    assert summarize_table("data.json", never, 10) is None


# --- CSV and TSV ---------------------------------------------------------------------------

def test_csv_columns_added_removed_retyped_and_rows() -> None:
    old = summarize("t.csv", b"a,b,d\n" + b"".join(b"%d,x%d,1\n" % (i, i) for i in range(1000)))
    new = summarize("t.csv", b"a,d,c\n" + b"".join(b"%d.5,1,%d\n" % (i, i) for i in range(1250)))
    assert old.columns == (("a", "int"), ("b", "string"), ("d", "int"))
    assert (old.rows, new.rows, old.row_groups, old.error) == (1000, 1250, None, None)
    diff = diff_tables(old, new)
    assert diff.added == (("c", "int"),)
    assert diff.removed == (("b", "string"),)
    assert diff.retyped == (("a", "int", "float"),)
    assert not diff.reordered
    assert (diff.old_rows, diff.new_rows, diff.row_delta) == (1000, 1250, 250)
    assert diff.lines() == [
        "columns added: c (int)", "columns removed: b (string)", "column a: int -> float",
        "rows: 1,000 -> 1,250 (+250)",
    ]
    as_dict = json.loads(json.dumps(diff.to_dict()))
    assert as_dict["columns"] == {
        "added": [{"name": "c", "type": "int"}], "removed": [{"name": "b", "type": "string"}],
        "type_changed": [{"name": "a", "old": "int", "new": "float"}], "reordered": False}
    assert as_dict["rows"] == {"old": 1000, "new": 1250, "delta": 250}
    assert as_dict["schema_changed"] is True
    assert json.loads(json.dumps(old.to_dict()))["columns"][1] == {"name": "b", "type": "string"}


def test_an_unchanged_schema_and_fewer_rows() -> None:
    old = summarize("t.csv", b"a,b\n1,x\n2,y\n3,z\n")
    new = summarize("t.csv", b"a,b\n1,x\n")
    diff = diff_tables(old, new)
    assert not diff.schema_changed and diff.changed
    assert diff.lines() == ["schema unchanged", "rows: 3 -> 1 (-2)"]
    assert not diff_tables(old, old).changed
    assert diff_tables(old, old).lines() == ["schema unchanged", "rows: 3 (unchanged)"]


def test_reordered_columns() -> None:
    old = summarize("t.csv", b"a,b,c\n1,x,2\n")
    diff = diff_tables(old, summarize("t.csv", b"c,a,b\n2,1,x\n"))
    assert diff.reordered and not (diff.added or diff.removed or diff.retyped)
    assert diff.lines() == ["columns reordered", "rows: 1 (unchanged)"]
    # The columns both have, moved, beside an added one.
    assert diff_tables(old, summarize("t.csv", b"b,a,c,d\nx,1,2,3\n")).reordered
    assert not diff_tables(old, summarize("t.csv", b"a,c,d\n1,2,3\n")).reordered


def test_types_are_inferred_from_every_cell() -> None:
    data = (b"i,f,mixed,flag,day,when,text,empty,na_int,late\n"
            b"1,1.5,1,true,2024-01-31,2024-01-31T10:00:00Z,a,,NA,1\n"
            b"-2,2,2.5,False,2024-02-01,2024-02-01 11:30,b,,7,2\n"
            b"+3,1e3,3,TRUE,2024-02-02,2024-02-02,c,,null,x\n")
    summary = summarize("t.csv", data)
    assert dict(summary.columns) == {
        "i": "int", "f": "float", "mixed": "float", "flag": "bool", "day": "date",
        "when": "datetime", "text": "string", "empty": "null", "na_int": "int", "late": "string"}


def test_short_and_long_rows_count_and_do_not_break_inference() -> None:
    summary = summarize("t.csv", b"a,b\n1\n2,3,extra,more\n\n4,5\n")
    assert summary.columns == (("a", "int"), ("b", "int"))
    assert summary.rows == 3  # the blank line is no row


def test_tsv() -> None:
    old = summarize("t.tsv", b"name\tcount\nx, y\t3\n")
    new = summarize("t.tsv", b"name\tcount\tratio\nx, y\t3\t0.5\nz\t4\t1\n")
    assert old.format == "tsv" and old.columns == (("name", "string"), ("count", "int"))
    assert diff_tables(old, new).lines() == ["columns added: ratio (float)",
                                             "rows: 1 -> 2 (+1)"]


@pytest.mark.parametrize("name", ["t.csv.gz", "t.tsv.gz"])
def test_gzipped(name: str) -> None:
    sep = b"\t" if ".tsv" in name else b","
    plain = sep.join([b"a", b"b"]) + b"\n" + b"".join(
        sep.join([b"%d" % i, b"2024-01-01"]) + b"\n" for i in range(5000))
    summary = summarize(name, gzip.compress(plain))
    assert summary.columns == (("a", "int"), ("b", "date"))
    assert summary.rows == 5000 and summary.error is None


def test_a_gz_name_that_is_not_gzip_is_an_error() -> None:
    summary = summarize("t.csv.gz", b"a,b\n1,2\n")
    assert summary.error is not None and summary.error.startswith("not a valid gzip file")
    truncated = gzip.compress(b"a,b\n" + b"1,2\n" * 10000)[:-20]
    summary = summarize("t.csv.gz", truncated)
    assert summary.error is not None and "gzip" in summary.error


def test_a_byte_order_mark_is_no_part_of_the_first_column() -> None:
    summary = summarize("t.csv", b"\xef\xbb\xbfid,name\n1,x\n")
    assert summary.columns == (("id", "int"), ("name", "string"))
    assert diff_tables(summary, summarize("t.csv", b"id,name\n1,x\n")).lines() == [
        "schema unchanged", "rows: 1 (unchanged)"]


def test_rows_are_records_not_lines() -> None:
    data = (b'id,note\r\n1,"line one\r\nline two"\r\n2,"a ""quoted"" word, and\nmore"\r\n'
            b'3,plain\r\n')
    summary = summarize("t.csv", data)
    assert summary.rows == 3
    assert summary.columns == (("id", "int"), ("note", "string"))


def test_records_across_the_sniffed_sample_stay_whole() -> None:
    """The first 16 KiB are read ahead: a CRLF or a quoted field across that edge is one."""
    for pad in range(25):  # the edge at every offset of a row (24 bytes about the edge)
        head = b"id,note\r\n" + b"x" * pad + b"0,short\r\n"
        rows = [b'%d,"multi\r\nline, %d"\r\n' % (i, i) for i in range(1, 2000)]
        summary = summarize("t.csv", head + b"".join(rows))
        assert summary.rows == 2000, pad
        assert summary.columns == (("id", "int" if pad == 0 else "string"), ("note", "string"))


def test_single_quoted_fields_are_sniffed() -> None:
    summary = summarize("t.csv", b"a,b\n'1, 2',3\n'x, y',4\n")
    assert summary.columns == (("a", "string"), ("b", "int")) and summary.rows == 2
    # Apostrophes inside words quote nothing.
    summary = summarize("t.csv", b"name,n\nO'Brien,1\nit's,2\n")
    assert summary.columns == (("name", "string"), ("n", "int")) and summary.rows == 2


def test_a_file_that_is_not_utf8_is_an_error_not_an_exception() -> None:
    summary = summarize("t.csv", "name,n\nJosé,1\n".encode("latin-1"))
    assert summary.error == ("not UTF-8 text: byte 0xe9 cannot be decoded "
                             "(CSV and TSV files are read as UTF-8)")
    assert summary.columns == () and summary.rows is None
    diff = diff_tables(summarize("t.csv", b"name,n\nx,1\n"), summary)
    assert not diff.comparable and not diff.schema_changed
    assert diff.lines() == [f"new version unreadable: {summary.error}", "rows: 1 -> ?"]
    assert diff.to_dict()["errors"] == {"old": None, "new": summary.error}


def test_a_field_too_large_for_the_csv_module_is_an_error() -> None:
    summary = summarize("t.csv", b'a\n"' + b"x" * 200_000 + b'"\n')
    assert summary.error is not None and summary.error.startswith("not a readable CSV file")


def test_empty_files() -> None:
    zero = summarize("t.csv", b"")
    assert (zero.columns, zero.rows, zero.error) == ((), 0, None)
    header_only = summarize("t.csv", b"a,b\n")
    assert (header_only.columns, header_only.rows) == ((("a", "null"), ("b", "null")), 0)
    blank = summarize("t.csv.gz", gzip.compress(b"\n\n"))
    assert (blank.columns, blank.rows) == ((), 0)
    diff = diff_tables(zero, summarize("t.csv", b"a,b\n1,2\n"))
    assert diff.lines() == ["columns added: a (int), b (int)", "rows: 0 -> 1 (+1)"]


def test_the_file_is_closed(tmp_path: Path) -> None:
    opened: list[BinaryIO] = []
    path = tmp_path / "t.csv"
    path.write_bytes(b"a\n1\n")

    def open_binary() -> BinaryIO:
        opened.append(path.open("rb"))
        return opened[-1]

    assert summarize_table("t.csv", open_binary, 4) is not None
    assert summarize_table("t.csv.gz", open_binary, 4) is not None
    assert len(opened) == 2 and all(f.closed for f in opened)


def test_a_large_csv_is_summarized_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    pad = "x" * 250
    block = "".join(f'{i},{i * 0.5},"{pad}, {i}"\n' for i in range(10_000)).encode()
    with path.open("wb") as f:
        f.write(b"id,score,label\n")
        while f.tell() < 30_000_000:
            f.write(block)
    size = path.stat().st_size
    tracemalloc.start()
    try:
        summary = summarize_path("big.csv", path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert summary.columns == (("id", "int"), ("score", "float"), ("label", "string"))
    assert summary.rows == (size - len(b"id,score,label\n")) // len(block) * 10_000
    assert peak < 2_000_000 < size // 15, peak


# --- Parquet -------------------------------------------------------------------------------

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


def write_parquet(path: Path, columns: dict[str, Any], row_group_size: int | None = None) -> Path:
    pq.write_table(pa.table(columns), path, row_group_size=row_group_size)
    return path


def test_parquet_schema_change_and_rows(tmp_path: Path) -> None:
    old = summarize_path("t.parquet", write_parquet(
        tmp_path / "old.parquet", {"a": list(range(100)), "b": ["x"] * 100}))
    new = summarize_path("t.parquet", write_parquet(
        tmp_path / "new.parquet",
        {"a": [i / 2 for i in range(250)], "c": [True] * 250,
         "d": pa.array([None] * 250, pa.timestamp("us"))}, row_group_size=100))
    assert old.columns == (("a", "int64"), ("b", "string"))
    assert (old.rows, old.row_groups, old.error) == (100, 1, None)
    assert (new.rows, new.row_groups) == (250, 3)
    diff = diff_tables(old, new)
    assert diff.lines() == [
        "columns added: c (bool), d (timestamp[us])", "columns removed: b (string)",
        "column a: int64 -> double", "rows: 100 -> 250 (+150)", "row groups: 1 -> 3 (+2)"]
    assert diff.to_dict()["row_groups"] == {"old": 1, "new": 3}


def test_parquet_and_csv_compare_names_not_type_names(tmp_path: Path) -> None:
    csv = summarize("t.csv", b"a,b\n1,x\n2,y\n")
    parquet = summarize_path("t.parquet", write_parquet(
        tmp_path / "t.parquet", {"a": [1, 2], "b": ["x", "y"]}))
    diff = diff_tables(csv, parquet)
    assert diff.lines() == ["format: csv -> parquet", "schema unchanged", "rows: 2 (unchanged)"]
    assert diff.to_dict()["format"] == {"old": "csv", "new": "parquet"}


def test_a_truncated_parquet_file_is_an_error(tmp_path: Path) -> None:
    data = write_parquet(tmp_path / "t.parquet", {"a": list(range(1000))}).read_bytes()
    for cut in (data[:-1], data[: len(data) // 2], b"PAR1" + b"\0" * 100 + data[-8:]):
        summary = summarize("t.parquet", cut)
        assert summary.error is not None and summary.error.startswith(
            "not a valid Parquet file"), summary.error
        assert summary.columns == () and summary.rows is None
    assert summarize("t.pq", b"").error == (
        "not a Parquet file: 0 bytes, too short for a Parquet footer")
    assert summarize("t.pq", b"a,b\n1,2\n" * 10).error is not None


def test_parquet_is_read_from_its_footer_only(tmp_path: Path) -> None:
    import random
    rng = random.Random(15)
    n = 400_000
    path = write_parquet(tmp_path / "big.parquet", {
        "x": [rng.getrandbits(63) for _ in range(n)], "y": [rng.random() for _ in range(n)]},
        row_group_size=50_000)
    size = path.stat().st_size
    assert size > 4_000_000
    opened: list[CountingFile] = []

    def open_binary() -> BinaryIO:
        opened.append(CountingFile(path))
        return opened[-1]  # type: ignore[return-value]

    summary = summarize_table("big.parquet", open_binary, size)
    assert summary is not None and summary.rows == n and summary.row_groups == 8
    assert summary.columns == (("x", "int64"), ("y", "double"))
    assert len(opened) == 1 and opened[0].closed
    assert 0 < opened[0].bytes_read < size * 0.05, (opened[0].bytes_read, size)


def test_errors_of_the_reader_propagate(tmp_path: Path) -> None:
    path = write_parquet(tmp_path / "t.parquet", {"a": [1]})

    class Failing(CountingFile):
        def read(self, size: int = -1) -> bytes:
            raise StoreError("the store is down")

        def readinto(self, buffer: Any) -> int:
            raise StoreError("the store is down")

    opener: Callable[[], BinaryIO] = lambda: Failing(path)  # type: ignore[assignment,return-value]  # noqa: E731
    with pytest.raises(StoreError, match="store is down"):
        summarize_table("t.parquet", opener, path.stat().st_size)
    with pytest.raises(StoreError, match="store is down"):
        summarize_table("t.csv", opener, path.stat().st_size)


def test_parquet_without_pyarrow(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = write_parquet(tmp_path / "t.parquet", {"a": [1]})
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    summary = summarize_path("t.parquet", path)
    assert summary.error == NO_PYARROW
    assert "pip install 'eoscatalog[browse]'" in NO_PYARROW
    diff = diff_tables(summary, summary)
    assert diff.lines() == [f"old version unreadable: {NO_PYARROW}",
                            f"new version unreadable: {NO_PYARROW}"]


def test_a_diff_of_unknown_rows_says_nothing_of_rows() -> None:
    assert TableDiff("csv", "csv", old_error="x", new_error="y").lines() == [
        "old version unreadable: x", "new version unreadable: y"]


@pytest.mark.parametrize("module_name", [
    "eoscatalog.interchange.table_diff", "eoscatalog.interchange.table_summary",
    "eoscatalog.interchange.table_change", "eoscatalog.interchange.csv_table",
    "eoscatalog.interchange.parquet_table"])
def test_the_modules_have_examples_that_run(module_name: str) -> None:
    """tests/test_api.py runs every module's doctests; these modules do have some."""
    module = importlib.import_module(module_name)
    examples = sum(len(t.examples) for t in doctest.DocTestFinder().find(module))
    assert examples > 0
    assert doctest.testmod(module, verbose=False, report=False).failed == 0
