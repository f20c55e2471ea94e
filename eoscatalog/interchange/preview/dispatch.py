"""Which preview a file gets: by its name's extension (after ``.gz``/``.bgz``, decompressed
by streaming), else by sniffing its first bytes. Anything that cannot be shown, or that
does not parse, is kind "none" with the reason; only the reader's own errors propagate."""

from __future__ import annotations

import codecs
import dataclasses
import posixpath
import re
from collections.abc import Callable

from eoscatalog.interchange.preview.genomics import (
    preview_bed,
    preview_fasta,
    preview_fastq,
    preview_vcf,
)
from eoscatalog.interchange.preview.image import JPEG_MAGIC, PNG_MAGIC, preview_image
from eoscatalog.interchange.preview.parquet import MAGIC, preview_parquet
from eoscatalog.interchange.preview.result import Preview
from eoscatalog.interchange.preview.source import HEAD, Source
from eoscatalog.interchange.preview.tables import preview_delimited
from eoscatalog.interchange.preview.textual import preview_json, preview_markdown, preview_text

__all__ = ["FORMATS", "preview"]

Handler = Callable[[Source, str], Preview]
TEXT = ("txt", "log", "py", "r", "sh", "yaml", "yml", "toml", "ini")
# extension -> (format, handler)
FORMATS: dict[str, tuple[str, Handler]] = {
    "csv": ("csv", preview_delimited), "tsv": ("tsv", preview_delimited),
    "parquet": ("parquet", preview_parquet), "pq": ("parquet", preview_parquet),
    **{ext: (ext, preview_text) for ext in TEXT},
    "md": ("md", preview_markdown), "markdown": ("md", preview_markdown),
    "json": ("json", preview_json), "geojson": ("geojson", preview_json),
    "png": ("png", preview_image), "jpg": ("jpeg", preview_image),
    "jpeg": ("jpeg", preview_image),
    "vcf": ("vcf", preview_vcf),
    "fastq": ("fastq", preview_fastq), "fq": ("fastq", preview_fastq),
    "fasta": ("fasta", preview_fasta), "fa": ("fasta", preview_fasta),
    "fna": ("fasta", preview_fasta),
    "bed": ("bed", preview_bed),
}
COMPRESSED = (".gz", ".bgz")
EXTENSION = re.compile(r"[a-z0-9_+-]{1,16}")  # what may name a format (not a hostile name)
# first bytes of formats with no preview, named in the reason
BINARY = {
    b"\x89HDF\r\n\x1a\n": "an HDF5 file (also NetCDF-4, h5ad)",
    b"PK\x03\x04": "a ZIP archive",
    b"%PDF": "a PDF document",
    b"SQLite format 3\x00": "an SQLite database",
    b"CRAM": "a CRAM alignment file",
    b"CDF\x01": "a NetCDF (classic) file",
    b"CDF\x02": "a NetCDF (64-bit offset) file",
    b"BAM\x01": "a BAM alignment file (use samtools view)",
}


def preview(name: str, size: int, read: Callable[[int, int], bytes]) -> Preview:
    """The preview of the file ``name`` of ``size`` bytes, read only by ``read(start, end)``
    (bytes ``[start, end)``), a few ranges of it whatever its size.

    >>> data = b"a,b\\n1,x\\n"
    >>> p = preview("runs/t.csv", len(data), lambda a, b: data[a:b])
    >>> p.kind, p.columns, p.rows, p.bytes_read
    ('table', (('a', 'int'), ('b', 'string')), (('1', 'x'),), 8)
    """
    source = Source(name, size, read)
    try:
        result = _choose(source)
    except Exception as error:
        if source.failure is error:
            raise
        if source.failure is not None:  # the reader's error, wrapped by a parser
            raise source.failure from None
        result = Preview("none", _format_of(name)[0],
                         reason=f"cannot preview this file: {error}")
    return dataclasses.replace(result, bytes_read=source.bytes_read)


def _format_of(name: str) -> tuple[str, bool]:
    """The extension that names the format (lowercase, after a compression suffix), and
    whether the name says it is compressed."""
    base = posixpath.basename(name.rstrip("/")).lower()
    compressed = base.endswith(COMPRESSED)
    if compressed:
        base = base.rsplit(".", 1)[0]
    ext = base.rsplit(".", 1)[1] if "." in base.lstrip(".") else ""
    return (ext if EXTENSION.fullmatch(ext) else ""), compressed


def _choose(source: Source) -> Preview:
    ext, compressed = _format_of(source.name)
    format, handler = FORMATS.get(ext, (ext or "unknown", _sniff))
    if source.size == 0:
        return Preview("none", format, reason="empty file (0 bytes)")
    if source.is_gzip:
        if format == "parquet":
            return Preview("none", format, reason="a gzip-compressed Parquet file: Parquet "
                                                  "is read by range, which gzip does not allow")
        source.decompress()
    elif compressed:
        return Preview("none", format, reason="not gzip: the name ends in .gz but the file does "
                                              "not start with gzip's magic bytes")
    return handler(source, format)


def _sniff(source: Source, format: str) -> Preview:
    """A file whose name does not say its format: Parquet, PNG, JPEG, a few known binary
    formats (named in the reason), or text when its head is UTF-8 without NUL bytes."""
    if source.gzip is None:
        head = source.head(16)
        if head.startswith(MAGIC) and source.read(source.size - 4, source.size) == MAGIC:
            return preview_parquet(source, "parquet")
        if head.startswith((PNG_MAGIC, JPEG_MAGIC)):
            return preview_image(source, format)
    content, whole = source.content(HEAD)
    for magic, what in BINARY.items():
        if content.startswith(magic):
            return Preview("none", format, reason=f"{what}: no preview for this format")
    if content[257:262] == b"ustar":
        return Preview("none", format, reason="a tar archive: no preview for this format")
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(content, final=whole)
    except UnicodeDecodeError:
        text = "\x00"
    if "\x00" in text:
        return Preview("none", format, reason=f"binary file of unknown format "
                                              f"({source.size:,} bytes): no preview")
    return preview_text(source, format)
