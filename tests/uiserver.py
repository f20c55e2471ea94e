"""What the browser tests of ``eos ui`` and the screenshot script share: a catalog filled with
what the pages show, the real web app on uvicorn in a thread, and Debian's chromium.

Used by tests/test_ui_browser.py and tests/ui_screenshots.py.
"""

from __future__ import annotations

import io
import json
import struct
import threading
import time
import zlib
from pathlib import Path
from types import TracebackType
from typing import Any

from eoscatalog import Catalog

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium calls home at start, and a closed network
# refuses it; --disable-quic for the same reason.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
HOSTILE_NAME = "<img src=x onerror=alert(1)>.csv"
HOSTILE_META = "<script>window.pwned=1</script>"
HOSTILE_MARKDOWN = (b"# Hello\n\n<img src=x onerror=\"window.pwned=1\">\n\n"
                    b"[click](javascript:window.pwned=1) <script>window.pwned=1</script>\n")
GONE_MESSAGE = "superseded by dot.png"  # why org/media/gone.txt was deleted
ODD_NAME = "50% a&b=ü c.csv"  # characters a URL or a fragment must escape
CSV_V1 = b"sample,reads,tissue\ns1,10,liver\ns2,20,lung\n"
CSV_V2 = b"sample,reads,tissue\ns1,10,liver\ns2,25,lung\ns3,30,kidney\n"
README = (b"# Sequencing runs\n\nOne folder per run; `a.csv` lists the samples.\n\n"
          b"- reads\n- scores\n")


def parquet_bytes() -> bytes:
    """A small Parquet file of two row groups (genes and scores)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"gene": ["BRCA1", "TP53", "EGFR"], "score": [0.5, 1.5, 2.5],
                      "chrom": ["17", "17", "7"]})
    out = io.BytesIO()
    pq.write_table(table, out, row_group_size=2)
    return out.getvalue()


def fill(cat: Catalog) -> dict[str, str]:
    """Fill ``cat``: a first changeset (org/runs/a.csv alone), a second version of a.csv with
    metadata and a tag, a Parquet file, a README, notes.txt through put, put, rollback, delete
    and undelete, a hostile name with hostile metadata and message, org/runs/later/, and in
    org/media/ a PNG image, a Zarr store's metadata, bytes of no known format and a deleted
    name, and in org/odd/ ODD_NAME and a Markdown file with raw HTML and a javascript: link.
    Return the times the tests pick: ``first`` (the first changeset) and ``last``."""
    first = cat.put_bytes(CSV_V1, "eos://org/runs/a.csv", message="first run").record.created
    cat.put_bytes(CSV_V2, "eos://org/runs/a.csv", meta={"instrument": "novaseq"},
                  message="second run: s3 added")
    cat.tag("eos://org/runs/a.csv@2", "paper-2026")
    cat.put_bytes(parquet_bytes(), "eos://org/runs/genes.parquet", message="scores")
    cat.put_bytes(README, "eos://org/runs/README.md", message="describe the runs")
    cat.put_bytes(b"one\n", "eos://org/runs/notes.txt")
    cat.put_bytes(b"two\n", "eos://org/runs/notes.txt")
    cat.rollback("eos://org/runs/notes.txt", 1)
    cat.rm("eos://org/runs/notes.txt")
    cat.undelete("eos://org/runs/notes.txt")
    cat.put_bytes(b"a,b\n1,2\n", f"eos://org/runs/{HOSTILE_NAME}",
                  meta={"note": HOSTILE_META}, message=HOSTILE_META)
    last = cat.put_bytes(b"later\n", "eos://org/runs/later/added.txt",
                         message="later").record.created
    cat.put_bytes(png_bytes(), "eos://org/media/dot.png", message="an image")
    cat.put_bytes(b'{"zarr_format": 3, "node_type": "group", "attributes": {}}',
                  "eos://org/media/cube.zarr/zarr.json")
    cat.put_bytes(json.dumps({
        "zarr_format": 3, "node_type": "array", "shape": [10, 20], "data_type": "float32",
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [5, 10]}},
        "chunk_key_encoding": {"name": "default"}, "fill_value": 0,
        "codecs": [{"name": "bytes"}], "attributes": {}}).encode(),
        "eos://org/media/cube.zarr/temp/zarr.json")
    cat.put_bytes(b"k,v\n1,2\n", f"eos://org/odd/{ODD_NAME}")
    cat.put_bytes(HOSTILE_MARKDOWN, "eos://org/odd/evil.md")
    cat.put_bytes(b"\x00\x01\x02 not text", "eos://org/media/blob.bin")
    cat.put_bytes(b"gone\n", "eos://org/media/gone.txt")
    cat.rm("eos://org/media/gone.txt", message=GONE_MESSAGE)
    return {"first": first, "last": last}


def png_bytes(width: int = 4, height: int = 3) -> bytes:
    """A small red PNG image."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


class UiServer:
    """The real app of ``eos ui`` on uvicorn, in a thread, on a free port of 127.0.0.1
    (``with UiServer(app) as server: server.url``)."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = ""

    def __enter__(self) -> UiServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/"
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def launch_chromium(playwright: Any) -> Any:
    """Debian's chromium, headless, through Playwright (no browser download)."""
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: apt-get install chromium")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
