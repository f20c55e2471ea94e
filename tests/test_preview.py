"""Previews read a file by range only (eoscatalog/interchange/preview): real files of every
format, hostile content that must stay text, corrupt input that must say why, and a count of
the bytes read (a large Parquet file previews from its footer and first pages)."""

from __future__ import annotations

import gzip
import json
import os
import struct
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from eoscatalog.interchange.preview import Preview, preview, preview_zarr

MiB = 1024 * 1024


class Counted:
    """A reader over bytes (or a file) that counts the bytes and calls asked of it."""

    def __init__(self, data: bytes | None = None, path: Path | None = None) -> None:
        self.data, self.fd = data, os.open(path, os.O_RDONLY) if path is not None else None
        self.size = len(data) if data is not None else os.fstat(self.fd or 0).st_size
        self.bytes, self.calls = 0, 0

    def read(self, start: int, end: int) -> bytes:
        self.calls += 1
        self.bytes += max(0, min(end, self.size) - start)
        if self.data is not None:
            return self.data[start:end]
        assert self.fd is not None
        return os.pread(self.fd, max(0, min(end, self.size) - start), start)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)


def show(name: str, data: bytes) -> Preview:
    """The preview of ``data`` named ``name``, checking that bytes_read counts the reads."""
    reader = Counted(data)
    result = preview(name, len(data), reader.read)
    assert result.bytes_read == reader.bytes
    assert json.loads(json.dumps(result.to_json())) == result.to_json()
    return result


def bgzf(data: bytes, block: int = 60_000) -> bytes:
    """``data`` as BGZF: gzip members of at most 64 KiB, each with its BC extra field, and the
    empty end-of-file member."""
    out = []
    for i in [*range(0, len(data), block), len(data)]:
        piece = data[i:i + block] if i < len(data) else b""
        packer = zlib.compressobj(6, zlib.DEFLATED, -15)
        deflated = packer.compress(piece) + packer.flush()
        size = 18 + len(deflated) + 8
        out.append(b"\x1f\x8b\x08\x04\0\0\0\0\0\xff" + struct.pack("<H", 6) + b"BC"
                   + struct.pack("<HH", 2, size - 1) + deflated
                   + struct.pack("<II", zlib.crc32(piece), len(piece)))
    return b"".join(out)


# -- tables ------------------------------------------------------------------------------------

def test_a_csv_head_infers_column_types_and_keeps_hostile_cells_as_text() -> None:
    hostile = "<img src=x onerror=alert(1)>"
    lines = ["id,score,ok,day,label"] + [
        f"{i},{i / 3:.3f},{i % 2 == 0},2026-06-{1 + i % 28:02d},"
        f"\"{hostile if i == 1 else f'n{i}'}\"" for i in range(200)]
    result = show("org/runs/t.csv", "\n".join(lines).encode())
    assert result.kind == "table" and result.format == "csv" and result.truncated
    assert result.columns == (("id", "int"), ("score", "float"), ("ok", "bool"),
                              ("day", "date"), ("label", "string"))
    assert len(result.rows) == 50 and result.rows[1][4] == hostile
    assert result.html == "" and result.reason == ""


def test_a_large_csv_reads_only_its_head() -> None:
    data = b"a,b\n" + b"".join(b"%d,%d\n" % (i, i * i) for i in range(1_000_000))
    result = show("big.CSV", data)
    assert result.rows[0] == ("0", "0") and result.truncated
    assert result.bytes_read <= 64 * 1024 < len(data) // 100


def test_a_tsv_splits_on_tabs() -> None:
    result = show("x.tsv", "\ufeffa\tb\n1\tx,y\n".encode())
    assert result.columns == (("a", "int"), ("b", "string")) and result.rows == (("1", "x,y"),)
    assert not result.truncated


def test_a_gzip_csv_is_decompressed() -> None:
    result = show("x.csv.gz", gzip.compress(b"a,b\n1,2.5\n"))
    assert result.columns == (("a", "int"), ("b", "float")) and result.rows == (("1", "2.5"),)


# -- Parquet -----------------------------------------------------------------------------------

def write_parquet(path: Path, rows: int, row_group: int) -> Path:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([("id", pa.int64()), ("x", pa.float64()), ("label", pa.string())])
    rng = np.random.default_rng(17)
    with pq.ParquetWriter(path, schema) as writer:
        for start in range(0, rows, row_group):
            ids = np.arange(start, min(rows, start + row_group))
            labels = pa.DictionaryArray.from_arrays(  # not numpy strings: 100 bytes each
                pa.array((ids % 3).astype("int8")),
                pa.array(["alpha", "beta", "<script>alert(1)</script>"])).cast(pa.string())
            writer.write_table(pa.table({"id": ids, "x": rng.standard_normal(len(ids)),
                                         "label": labels}, schema=schema),
                               row_group_size=row_group)
    return path


def test_parquet_shows_schema_row_groups_statistics_and_first_rows(tmp_path: Path) -> None:
    path = write_parquet(tmp_path / "t.parquet", 400_000, 100_000)
    reader = Counted(path=path)
    result = preview("org/t.parquet", reader.size, reader.read)
    reader.close()
    assert result.kind == "parquet" and result.reason == "" and result.truncated
    assert result.columns == (("id", "int64"), ("x", "double"), ("label", "string"))
    assert [row[0] for row in result.rows] == [str(i) for i in range(50)]
    assert result.rows[2][2] == "<script>alert(1)</script>"
    details = result.details
    assert details["num_rows"] == 400_000 and details["num_row_groups"] == 4
    assert details["created_by"].startswith("parquet-cpp-arrow")
    second = details["row_groups"][1]
    assert second["rows"] == 100_000 and second["compressed"] > 0
    assert second["columns"][0] == {"name": "id", "min": "100000", "max": "199999", "nulls": 0}
    assert result.bytes_read == reader.bytes < reader.size / 4, (result.bytes_read, reader.size)


@pytest.mark.slow
def test_a_large_parquet_file_previews_with_a_small_fraction_of_its_bytes(
        tmp_path: Path) -> None:
    """Row groups of ~110 MB: only the footer and the first pages of the first one are read."""
    path = write_parquet(tmp_path / "big.parquet", 18_000_000, 9_000_000)
    reader = Counted(path=path)
    result = preview("big.parquet", reader.size, reader.read)
    reader.close()
    assert reader.size > 200 * MiB and result.details["num_row_groups"] == 2
    assert len(result.rows) == 50 and result.rows[49][0] == "49"
    assert result.bytes_read < 10 * MiB and result.bytes_read < reader.size / 50


@pytest.mark.parametrize("cut", ["footer", "magic", "short"])
def test_a_corrupt_parquet_file_says_why(tmp_path: Path, cut: str) -> None:
    data = write_parquet(tmp_path / "t.parquet", 1000, 500).read_bytes()
    if cut == "footer":  # the footer's length points before the file's start
        data = data[:4] + data[-(len(data) // 3):]
    elif cut == "magic":
        data = data[:-1]
    else:
        data = b"PAR1PAR1"
    result = show("t.parquet", data)
    assert result.kind == "none" and "Parquet" in result.reason, result.reason


def test_parquet_without_pyarrow_says_what_to_install(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = write_parquet(tmp_path / "t.parquet", 1000, 500).read_bytes()
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)  # import fails
    result = show("t.pq", data)
    assert result.kind == "none" and "install eoscatalog[ui]" in result.reason


def test_a_parquet_file_is_sniffed_without_its_extension(tmp_path: Path) -> None:
    data = write_parquet(tmp_path / "t.parquet", 100, 100).read_bytes()
    result = show("part-0000", data)
    assert result.kind == "parquet" and result.details["num_rows"] == 100


# -- text, Markdown, JSON ----------------------------------------------------------------------

def test_text_shows_its_head() -> None:
    data = "".join(f"line {i} é\n" for i in range(100_000)).encode()
    result = show("run.LOG", data)
    assert result.kind == "text" and result.format == "log" and result.truncated
    assert result.text.startswith("line 0 é\n") and len(result.text) <= 64 * 1024
    assert result.bytes_read <= 64 * 1024
    assert show("x.py", b"print(1)\n").text == "print(1)\n"


def test_markdown_renders_without_raw_html_or_script_links() -> None:
    source = ("# Title\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n"
              "[bad](javascript:alert(1)) [good](https://example.org/a)\n")
    result = show("README.md", source.encode())
    assert result.kind == "markdown" and result.text == source
    assert "<h1>Title</h1>" in result.html
    assert "<script" not in result.html and "<img" not in result.html
    assert "&lt;script&gt;" in result.html
    assert 'href="javascript' not in result.html
    assert '<a href="https://example.org/a">good</a>' in result.html


def test_json_is_pretty_printed_or_shown_as_its_head() -> None:
    result = show("a.geojson", b'{"type": "Feature", "n": [1, 2]}')
    assert result.kind == "json" and json.loads(result.text)["n"] == [1, 2]
    assert result.text.startswith('{\n  "type"') and not result.truncated
    big = json.dumps([{"i": i, "v": "x" * 50} for i in range(100_000)]).encode()
    head = show("big.json", big)
    assert head.kind == "json" and head.truncated and head.bytes_read <= 64 * 1024
    bad = show("bad.json", b'{"a": 1,')
    assert bad.kind == "none" and bad.reason.startswith("not valid JSON")


# -- images ------------------------------------------------------------------------------------

def png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body)))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"".join(b"\0" + b"\x80" * width for _ in range(height)))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", pixels)
            + chunk(b"IEND", b""))


def jpeg(width: int, height: int) -> bytes:
    app0 = b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"
    exif = b"Exif\0\0" + b"\0" * 65_000  # a large APP1 before the frame header
    sof = struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\0"
    return (b"\xff\xd8" + b"\xff\xe0" + struct.pack(">H", len(app0) + 2) + app0
            + b"\xff\xe1" + struct.pack(">H", len(exif) + 2) + exif
            + b"\xff\xc0" + struct.pack(">H", len(sof) + 2) + sof + b"\xff\xda" + b"\0" * 100
            + b"\xff\xd9")


def test_png_and_jpeg_sizes_come_from_their_headers() -> None:
    result = show("a.png", png(7, 3))
    assert (result.kind, result.details) == ("image", {"width": 7, "height": 3,
                                                       "mime": "image/png"})
    result = show("b.JPG", jpeg(640, 480))
    assert result.format == "jpeg"
    assert result.details == {"width": 640, "height": 480, "mime": "image/jpeg"}
    assert show("c.png", b"GIF89a....").kind == "none"


# -- genomics ----------------------------------------------------------------------------------

def vcf(records: int, contigs: int = 3) -> bytes:
    header = ["##fileformat=VCFv4.2", *(f"##contig=<ID=chr{i},length=1000>"
                                        for i in range(contigs)),
              "##INFO=<ID=DP,Number=1,Type=Integer,Description=\"Depth\">",
              "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tNA1\tNA2"]
    body = [f"chr1\t{100 + i}\trs{i}\tA\tG\t50\tPASS\tDP={i}\tGT\t0/1\t1/1"
            for i in range(records)]
    return ("\n".join(header + body) + "\n").encode()


@pytest.mark.parametrize("wrap", ["plain", "gzip", "bgzf"])
def test_a_vcf_shows_its_header_samples_and_first_records(wrap: str) -> None:
    data = vcf(100_000, contigs=2000)
    packed = {"plain": data, "gzip": gzip.compress(data), "bgzf": bgzf(data)}[wrap]
    name = "calls.vcf" if wrap == "plain" else f"calls.vcf.{'bgz' if wrap == 'bgzf' else 'gz'}"
    result = show(name, packed)
    assert result.kind == "sequence" and result.format == "vcf" and result.truncated
    assert result.details["samples"] == ["NA1", "NA2"]
    assert result.details["header_lines"] == 2002
    assert [c[0] for c in result.columns][:3] == ["CHROM", "POS", "ID"]
    assert result.columns[1] == ("POS", "int")
    assert len(result.rows) == 50 and result.rows[0][:2] == ("chr1", "100")
    assert result.bytes_read < len(packed) / 4, (result.bytes_read, len(packed))


def test_fastq_fasta_and_bed_heads() -> None:
    fastq = "".join(f"@r{i} extra\nACGT{'A' * i}\n+\n{'I' * (4 + i)}\n" for i in range(80))
    result = show("reads.fq.gz", bgzf(fastq.encode(), block=1000))
    assert result.format == "fastq" and result.truncated
    assert result.rows[1] == ("r1", "5", "ACGTA", "IIIII")
    fasta = ">chr1 the first\nACGT\nAC\n>chr2\n" + "N" * 60 + "\n"
    result = show("ref.fa", fasta.encode())
    assert result.rows == (("chr1", "the first", "6", "ACGTAC"), ("chr2", "", "60", "N" * 60))
    long = show("genome.fasta", (">chr1\n" + ("ACGT" * 15 + "\n") * 100_000).encode())
    assert long.rows[0][2] == "" and long.truncated and long.bytes_read <= 64 * 1024
    bed = show("peaks.bed", b"track name=x\nchr1\t10\t20\tp1\t5\t+\nchr2\t30\t40\tp2\t1\t-\n")
    assert [c for c, _ in bed.columns] == ["chrom", "chromStart", "chromEnd", "name", "score",
                                           "strand"]
    assert bed.rows[1] == ("chr2", "30", "40", "p2", "1", "-")


@pytest.mark.parametrize(("name", "data"), [
    ("x.vcf", b"chr1\t1\n"), ("x.fastq", b"r1\nACGT\n+\nIIII\n"), ("x.fasta", b"ACGT\n"),
    ("x.bed", b"chr1\tten\t20\n")])
def test_genomics_files_that_are_not_their_format_say_why(name: str, data: bytes) -> None:
    result = show(name, data)
    assert result.kind == "none" and result.reason.startswith("not "), result.reason


# -- Zarr --------------------------------------------------------------------------------------

@pytest.mark.parametrize("zarr_format", [2, 3])
def test_zarr_metadata_lists_arrays_and_groups(tmp_path: Path, zarr_format: int) -> None:
    import zarr

    root = zarr.open_group(tmp_path / "x.zarr", mode="w", zarr_format=zarr_format)
    root.attrs["title"] = "<b>run</b>"
    sub = root.create_group("sub")
    sub.create_array("t", shape=(100, 20), chunks=(10, 20), dtype="float32")
    root.create_array("v", shape=(5,), chunks=(5,), dtype="int64")
    docs = {"zarr.json", ".zgroup", ".zarray", ".zattrs"}
    files = {p.relative_to(tmp_path / "x.zarr").as_posix(): p.read_bytes()
             for p in (tmp_path / "x.zarr").rglob("*") if p.name in docs}
    result = preview_zarr("org/x.zarr/", files)
    assert result.kind == "zarr" and result.bytes_read == sum(map(len, files.values()))
    arrays = {a["path"]: a for a in result.details["arrays"]}
    assert sorted(arrays) == ["sub/t", "v"] and result.details["groups"] == ["", "sub"]
    t = arrays["sub/t"]
    assert (t["shape"], t["chunks"], t["zarr_format"]) == ([100, 20], [10, 20], zarr_format)
    assert t["dtype"] in ("<f4", "float32")
    assert result.details["attributes"] == {"title": "<b>run</b>"}


def test_consolidated_zarr_metadata_and_bad_documents() -> None:
    consolidated = {"zarr_consolidated_format": 1, "metadata": {
        ".zgroup": {"zarr_format": 2},
        "a/.zarray": {"shape": [3], "chunks": [3], "dtype": "<i8", "zarr_format": 2,
                      "compressor": {"id": "blosc"}}}}
    result = preview_zarr("x.zarr/", {".zmetadata": json.dumps(consolidated).encode()})
    assert result.details["arrays"][0]["path"] == "a" and result.rows == (("a", "3", "<i8", "3"),)
    bad = preview_zarr("x.zarr/", {"a/.zarray": b"{not json"})
    assert bad.kind == "none" and "a/.zarray is not valid JSON" in bad.reason
    assert preview_zarr("x.zarr/", {}).kind == "none"


# -- anything else -----------------------------------------------------------------------------

def test_unknown_files_are_sniffed() -> None:
    assert show("notes", b"plain words\n").kind == "text"
    binary = show("blob.dat", bytes(range(256)) * 10)
    assert binary.kind == "none" and binary.reason.startswith("binary file of unknown format")
    hdf5 = show("a.h5", b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
    assert hdf5.kind == "none" and "HDF5" in hdf5.reason
    assert show("empty.csv", b"").reason == "empty file (0 bytes)"
    assert show("x.txt.gz", gzip.compress(b"hi\n")).text == "hi\n"
    assert show("a.<img src=x onerror=alert(1)>", b"hi\n").format == "unknown"


@pytest.mark.parametrize(("name", "data"), [
    ("x.csv.gz", b"\x1f\x8b\x08\0garbage-not-deflate" * 3),
    ("x.csv.gz", gzip.compress(b"a,b\n1,2\n" * 1000)[:-30]),
    ("x.vcf.gz", b"plain text, not gzip\n")])
def test_bad_gzip_says_why(name: str, data: bytes) -> None:
    result = show(name, data)
    assert result.kind == "none" and "gzip" in result.reason, result.reason


@pytest.mark.parametrize("name", ["t.csv", "t.parquet"])
def test_the_readers_own_errors_propagate(name: str, tmp_path: Path) -> None:
    """A store's error is not a corrupt file: the caller sees it."""
    data = write_parquet(tmp_path / "t.parquet", 100, 100).read_bytes()

    def failing(start: int, end: int) -> bytes:
        if end - start > 4:
            raise OSError(5, "the store is down")
        return data[start:end]

    read: Callable[[int, int], bytes] = failing
    with pytest.raises(OSError, match="the store is down"):
        preview(name, len(data), read)


def test_a_catalogs_verified_ranges_preview_a_parquet_file_and_raise_on_damage(
        tmp_path: Path) -> None:
    """Through ``Catalog.open_ranges(record).read``, as ``eos ui`` reads: few bytes; a damaged
    blob is an IntegrityError for the caller, not a "corrupt file" preview."""
    from eoscatalog import Catalog
    from eoscatalog.core.errors import IntegrityError
    from eoscatalog.store import LocalStore, blob_key

    store = LocalStore(tmp_path / "store", create=True)
    cat = Catalog(store, tmp_path / "index.sqlite", user="ada")
    try:
        path = write_parquet(tmp_path / "t.parquet", 400_000, 100_000)
        record = cat.put(path, "org/t.parquet").record
        assert (record.size or 0) > 4 * MiB  # read through its outboard, chunk by chunk
        result = preview(record.name, record.size or 0, cat.open_ranges(record).read)
        assert result.kind == "parquet" and result.details["num_rows"] == 400_000
        assert result.bytes_read < (record.size or 0) / 4
        blob = tmp_path / "store" / blob_key(record.hash or "")
        damaged = bytearray(blob.read_bytes())
        damaged[-100] ^= 0xFF  # in the footer
        blob.chmod(0o644)
        blob.write_bytes(bytes(damaged))
        with pytest.raises(IntegrityError):
            preview(record.name, record.size or 0, cat.open_ranges(record).read)
    finally:
        cat.close()


def test_edge_cases_say_why_or_show_what_they_can() -> None:
    import io
    import tarfile

    import pyarrow as pa
    import pyarrow.parquet as pq

    one_line = show("x.csv", b"x" * (5 * MiB))
    assert one_line.reason == "not CSV: no line ends in the first 4 MiB"
    assert one_line.bytes_read <= 4 * MiB
    packed = io.BytesIO()
    with tarfile.open(fileobj=packed, mode="w:gz") as tar:
        tar.addfile(tarfile.TarInfo("a.txt"))
    assert show("x.tar.gz", packed.getvalue()).reason.startswith("a tar archive")
    late = pa.table({"t": pa.array([253402300800000000, 0], pa.timestamp("us"))})
    packed = io.BytesIO()
    pq.write_table(late, packed)  # a timestamp past year 9999: Python's datetime cannot hold it
    result = show("late.parquet", packed.getvalue())
    assert result.kind == "parquet" and result.rows[0][0].startswith("10000-01-01")
    assert result.details["row_groups"][0]["columns"][0]["max"] == "253402300800000000"
