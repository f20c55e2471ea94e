"""A preview of a large Parquet file (``eos ui``'s, eoscatalog/interchange/preview) on the local
store: the bytes it reads, against the issue's target of < 10 MiB for a 1 GiB file.

The file (``big_file`` bytes: 1 GiB in full mode) is written once by pyarrow with its defaults
(snappy, 1 MiB pages, dictionary encoding) in row groups of about 256 MiB, four columns a table
of measurements has (a sequential int64 id, a random float64, a string of a few values, a
timestamp), and put into a fresh catalog on a local store. The preview reads it only through
``Catalog.open_ranges(record).read`` (verified ranges: every byte checked against the blob's
outboard), counted twice: the bytes the preview asks for, and the bytes read from the store
(whole outboard chunks of 256 KiB or more). The row's figure is the store's count.
"""

from __future__ import annotations

import shutil
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness import Bench, MiB, Row

from eoscatalog import Catalog
from eoscatalog.cli.output import format_size
from eoscatalog.interchange.preview import preview

LIMIT = 10 * MiB
BYTES_PER_ROW = 17  # what pyarrow's defaults make of a row of these columns (measured)
ROW_GROUP = 256 * MiB


def write_parquet(path: Path, size: int) -> Path:
    """A Parquet file of ``size`` bytes or a little more, in row groups of about 256 MiB
    (fewer bytes in the last one), written once."""
    if path.exists():
        return path
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    group = max(1_000, min(size // BYTES_PER_ROW // 4, ROW_GROUP // BYTES_PER_ROW))
    schema = pa.schema([("id", pa.int64()), ("value", pa.float64()), ("site", pa.string()),
                        ("time", pa.timestamp("ms"))])
    rng = np.random.default_rng(17)
    sites = pa.array(["north", "south", "east", "west", "centre"])
    tmp = path.with_suffix(".part")
    path.parent.mkdir(parents=True, exist_ok=True)
    with pq.ParquetWriter(tmp, schema) as writer:
        start = 0
        while tmp.stat().st_size < size:  # each row group is written out whole
            rows = min(group, max(1_000, (size - tmp.stat().st_size) // BYTES_PER_ROW))
            ids = np.arange(start, start + rows)
            site = pa.DictionaryArray.from_arrays(pa.array((ids % 5).astype("int8")), sites)
            writer.write_table(pa.table({
                "id": ids, "value": rng.standard_normal(rows), "site": site.cast(pa.string()),
                "time": pa.array(1_780_000_000_000 + ids * 1000, pa.timestamp("ms"))},
                schema=schema), row_group_size=group)
            start += rows
    tmp.rename(path)
    return path


class CountingStore:
    """A store that counts the blob bytes read from it (every other call passes through)."""

    def __init__(self, store: Any) -> None:
        self.store, self.bytes = store, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def iter_chunks(self, *args: Any, **kwargs: Any) -> Iterator[bytes]:
        for chunk in self.store.iter_chunks(*args, **kwargs):
            self.bytes += len(chunk)
            yield chunk


def run(bench: Bench) -> list[Row]:
    """The row: bytes read from the store by a preview of the large Parquet file."""
    size = bench.sizes.big_file
    bench.say(f"preview: writing a {format_size(size)} Parquet file (once)")
    path = write_parquet(bench.work / "data" / f"preview-{size}.parquet", size)
    home, store = bench.work / "homes" / "preview", bench.work / "preview-store"
    shutil.rmtree(home, ignore_errors=True)
    shutil.rmtree(store, ignore_errors=True)
    cat = Catalog.open(home=str(home), store=str(store), create=True, user="bench")
    try:
        record = cat.put(path, "users/bench/measurements.parquet").record
        cache = cat.download_cache()
        times, cpu, asked, stored = [], [], [], []
        result = None
        for _ in range(max(1, bench.sizes.runs)):
            cache.prune(0)  # the store is read, not a cached copy
            ranges = cat.open_ranges(record)
            counting = CountingStore(ranges.store)
            ranges.store = counting
            start, start_cpu = time.perf_counter(), time.process_time()
            result = preview(record.name, record.size or 0, ranges.read)
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
            asked.append(result.bytes_read)
            stored.append(counting.bytes)
    finally:
        cat.close()
        shutil.rmtree(store, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)
    assert result is not None and result.kind == "parquet", result
    groups = result.details["num_row_groups"]
    first = result.details["row_groups"][0]["compressed"]
    read, actual = max(stored), path.stat().st_size
    return [Row(
        f"a preview of a {format_size(actual)} Parquet file: bytes read from the store",
        "", None, read / MiB, "MiB", f"< {LIMIT // MiB} MiB", read < LIMIT,
        f"the file: {actual:,} bytes, {result.details['num_rows']:,} rows in "
        f"{groups} row groups (the first {format_size(first)}); the preview (schema, row "
        f"groups with statistics, the first {len(result.rows)} rows) asked "
        f"{format_size(max(asked))} of `Catalog.open_ranges(record).read`, which read "
        f"{format_size(read)} from the local store (whole verified chunks) in "
        f"{statistics.median(times):.3f} s ({statistics.median(cpu):.3f} s CPU), median of "
        f"{len(times)}", limit=f"{read / MiB:.1f} MiB read" if read >= LIMIT else "")]
