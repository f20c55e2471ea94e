"""Previews of files read by range only, whatever their size: what a browser shows before
anyone downloads 100 GB. Pure: no catalog, only ``read(start, end) -> bytes``.

- :func:`preview` (``dispatch.py``): by the name's extension (``.gz``/``.bgz`` decompressed by
  streaming, BGZF included), else by sniffing the first bytes.
- Formats: CSV/TSV heads with inferred column types (``tables.py``); Parquet's footer and
  first pages (``parquet.py``, through ``range_file.py``); text, Markdown, JSON
  (``textual.py``); PNG/JPEG sizes (``image.py``); VCF, FASTQ, FASTA, BED heads
  (``genomics.py``); Zarr metadata (:func:`preview_zarr`, ``zarr_meta.py``).
- Every answer is a :class:`Preview` (``result.py``) and counts its ``bytes_read``.
"""

from eoscatalog.interchange.preview.dispatch import preview
from eoscatalog.interchange.preview.result import Preview
from eoscatalog.interchange.preview.zarr_meta import preview_zarr

__all__ = ["Preview", "preview", "preview_zarr"]
