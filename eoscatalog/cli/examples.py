"""The example catalogs in the repository's ``catalogs/`` folder, and how to rebuild them.

A small, deterministic dataset (fixed bytes, times and author) is put into a local store at
``catalogs/example-store/``; the exporters then write ``catalogs/example-intake.yaml`` (an
Intake catalog whose entries point into that store, relative to the file) and
``catalogs/example-catalog.yaml`` (the YAML catalog ``eos import`` loads). Run
``python -m eoscatalog.cli.examples catalogs``
to rebuild them; the tests rebuild them in a temporary
folder and compare.
"""

from __future__ import annotations

import base64
import gzip
import json
import shutil
import sys
import tempfile
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

from eoscatalog.catalog.catalog import Catalog

__all__ = ["EXAMPLE_FILES", "build_examples"]

EXAMPLE_FILES = ("example-intake.yaml", "example-catalog.yaml")
STORE = "example-store"
START = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)

SAMPLES_V1 = b"sample,reads,coverage\nS1,1200000,31.2\nS2,980000,27.9\n"
SAMPLES_V2 = SAMPLES_V1 + b"S3,1410000,35.0\n"


# A three-row Parquet table (gene, count), written once by pandas and pyarrow and kept as bytes:
# writing it again would embed the installed versions' names and change its hash.
COUNTS_PARQUET = base64.b64decode(
    "UEFSMRUEFTIVMkwVBhUAEgAABQAAAEJSQ0ExBAAAAFRQNTMEAAAARUdGUhUAFRQVFCwVBhUQFQYVBhw2ACgEVFA1"
    "MxgFQlJDQTEREQAAAAIAAAAGAQIDJAAVBBUwFTBMFQYVABIAAAwAAAAAAAAAKAAAAAAAAAAHAAAAAAAAABUAFRQV"
    "FCwVBhUQFQYVBhwYCCgAAAAAAAAAGAgHAAAAAAAAABYAKAgoAAAAAAAAABgIBwAAAAAAAAAREQAAAAIAAAAGAQID"
    "JAAVBBk8NQAYBnNjaGVtYRUEABUMJQIYBGdlbmUlAEwcAAAAFQQlAhgFY291bnQAFgYZHBksJgAcFQwZNQAGEBkY"
    "BGdlbmUVABYGFqoBFqoBJlYmCBw2ACgEVFA1MxgFQlJDQTEREQAZLBUEFQAVAgAVABUQFQIAPBYaGQYZJgAGAAAA"
    "JgAcFQQZNQAGEBkYBWNvdW50FQAWBhbeARbeASb+ASayARwYCCgAAAAAAAAAGAgHAAAAAAAAABYAKAgoAAAAAAAA"
    "ABgIBwAAAAAAAAAREQAZLBUEFQAVAgAVABUQFQIAPCkGGSYABgAAABaIAxYGJggWiAMAGSwYBnBhbmRhcxjwAnsi"
    "aW5kZXhfY29sdW1ucyI6IFtdLCAiY29sdW1uX2luZGV4ZXMiOiBbXSwgImNvbHVtbnMiOiBbeyJuYW1lIjogImdl"
    "bmUiLCAiZmllbGRfbmFtZSI6ICJnZW5lIiwgInBhbmRhc190eXBlIjogIm9iamVjdCIsICJudW1weV90eXBlIjog"
    "InN0ciIsICJtZXRhZGF0YSI6IG51bGx9LCB7Im5hbWUiOiAiY291bnQiLCAiZmllbGRfbmFtZSI6ICJjb3VudCIs"
    "ICJwYW5kYXNfdHlwZSI6ICJpbnQ2NCIsICJudW1weV90eXBlIjogImludDY0IiwgIm1ldGFkYXRhIjogbnVsbH1d"
    "LCAiYXR0cmlidXRlcyI6IHt9LCAiY3JlYXRvciI6IHsibGlicmFyeSI6ICJweWFycm93IiwgInZlcnNpb24iOiAi"
    "MjYuMC4xIn0sICJwYW5kYXNfdmVyc2lvbiI6ICIzLjEuMSJ9ABgMQVJST1c6c2NoZW1hGKwGLy8vLy8xZ0NBQUFR"
    "QUFBQUFBQUtBQTRBQmdBRkFBZ0FDZ0FBQUFBQkJBQVFBQUFBQUFBS0FBd0FBQUFFQUFnQUNnQUFBS2dCQUFBRUFB"
    "QUFBUUFBQUF3QUFBQUlBQXdBQkFBSUFBZ0FBQUNBQVFBQUJBQUFBSEFCQUFCN0ltbHVaR1Y0WDJOdmJIVnRibk1p"
    "T2lCYlhTd2dJbU52YkhWdGJsOXBibVJsZUdWeklqb2dXMTBzSUNKamIyeDFiVzV6SWpvZ1czc2libUZ0WlNJNklD"
    "Sm5aVzVsSWl3Z0ltWnBaV3hrWDI1aGJXVWlPaUFpWjJWdVpTSXNJQ0p3WVc1a1lYTmZkSGx3WlNJNklDSnZZbXBs"
    "WTNRaUxDQWliblZ0Y0hsZmRIbHdaU0k2SUNKemRISWlMQ0FpYldWMFlXUmhkR0VpT2lCdWRXeHNmU3dnZXlKdVlX"
    "MWxJam9nSW1OdmRXNTBJaXdnSW1acFpXeGtYMjVoYldVaU9pQWlZMjkxYm5RaUxDQWljR0Z1WkdGelgzUjVjR1Vp"
    "T2lBaWFXNTBOalFpTENBaWJuVnRjSGxmZEhsd1pTSTZJQ0pwYm5RMk5DSXNJQ0p0WlhSaFpHRjBZU0k2SUc1MWJH"
    "eDlYU3dnSW1GMGRISnBZblYwWlhNaU9pQjdmU3dnSW1OeVpXRjBiM0lpT2lCN0lteHBZbkpoY25raU9pQWljSGxo"
    "Y25KdmR5SXNJQ0oyWlhKemFXOXVJam9nSWpJMkxqQXVNU0o5TENBaWNHRnVaR0Z6WDNabGNuTnBiMjRpT2lBaU15"
    "NHhMakVpZlFBQUFBQUdBQUFBY0dGdVpHRnpBQUFDQUFBQVVBQUFBQVFBQUFESS8vLy9BQUFCQWhBQUFBQWdBQUFB"
    "QkFBQUFBQUFBQUFGQUFBQVkyOTFiblFBQUFBSUFBd0FDQUFIQUFnQUFBQUFBQUFCUUFBQUFCQUFGQUFJQUFZQUJ3"
    "QU1BQUFBRUFBUUFBQUFBQUFCRkJBQUFBQWNBQUFBQkFBQUFBQUFBQUFFQUFBQVoyVnVaUUFBQUFBRUFBUUFCQUFB"
    "QUFBQUFBQT0AGCBwYXJxdWV0LWNwcC1hcnJvdyB2ZXJzaW9uIDI2LjAuMRksHAAAHAAAAN4FAABQQVIx"
)


def _clock() -> Iterator[datetime]:
    moment = START
    while True:
        yield moment
        moment += timedelta(minutes=7)


def build_examples(folder: str | Path) -> list[Path]:
    """Write the example store and catalogs into ``folder``; return the catalog files.

    >>> import tempfile
    >>> [p.name for p in build_examples(tempfile.mkdtemp())]
    ['example-intake.yaml', 'example-catalog.yaml']
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(folder / STORE, ignore_errors=True)
    ticks = _clock()
    with tempfile.TemporaryDirectory() as work:
        cat = Catalog.at(folder / STORE, Path(work) / "index.sqlite", create=True,
                         user="example", clock=lambda: next(ticks))
        cat.put_bytes(SAMPLES_V1, "eos://org/example/samples.csv", message="first run")
        cat.tag("eos://org/example/samples.csv@1", "paper-2026")
        cat.put_bytes(SAMPLES_V2, "eos://org/example/samples.csv", message="add S3")
        cat.put_bytes(gzip.compress(b"region\tstart\tend\nchr1\t100\t200\n", mtime=0),
                      "eos://org/example/regions.tsv.gz")
        cat.put_bytes(json.dumps({"reference": "GRCh38", "min_quality": 30}).encode(),
                      "eos://org/example/config.json")
        cat.put_bytes(b"Example data for the eoscatalog docs.\n", "eos://org/example/README.txt")
        cat.put_bytes(COUNTS_PARQUET, "eos://org/example/counts.parquet")
        cat.put_bytes(b"\x89HDF\r\n\x1a\nnot really HDF5", "eos://org/example/raw/scan.h5")
        cat.put_bytes(b"draft", "eos://org/example/draft.txt")
        cat.rm("eos://org/example/draft.txt")  # deleted: in the YAML catalog, not in Intake's
        intake = folder / EXAMPLE_FILES[0]
        cat.to_intake("eos://org/example/", intake,
                      description="eoscatalog example data (rebuild: python -m "
                                  "eoscatalog.cli.examples catalogs)")
        full = folder / EXAMPLE_FILES[1]
        cat.to_yaml("eos://org/example/", full)
        cat.close()
    # The example store carries blobs only: its log would differ on every rebuild (writer ids),
    # and `eos import example-catalog.yaml` recreates the catalog from the YAML file.
    shutil.rmtree(folder / STORE / "catalog", ignore_errors=True)
    return [intake, full]


if __name__ == "__main__":  # pragma: no cover - a maintenance command
    for path in build_examples(sys.argv[1] if len(sys.argv) > 1 else "catalogs"):
        print(f"wrote {path}")
