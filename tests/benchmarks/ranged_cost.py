"""What verified ranged reads cost (docs/performance.md, "Verified ranged reads").

Not part of the benchmark suite: ``python tests/benchmarks/ranged_cost.py`` runs it against
the S3 test server on 127.0.0.1 and prints bytes and requests for a 64 KiB footer read of a
100 MiB blob (with an outboard, without one, and unverified as before), and what writing
outboards adds to an upload.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from conftest import TEST_ENV
from s3server import S3TestServer

from eoscatalog import BlobCache, Catalog
from eoscatalog.sdk.filesystem import EosFileSystem
from eoscatalog.store import S3Store, blob_key
from eoscatalog.store.outboard import ChunkHasher, Outboard, outboard_key

MiB = 1024 * 1024
SIZE = 100 * MiB
FOOTER = 64 * 1024


def moved(server: S3TestServer, key: str) -> tuple[int, int]:
    """(requests, body bytes sent) of GETs of ``key`` since the last clear."""
    gets = [r for r in server.requests.records if r.method == "GET" and r.path.endswith(key)]
    return len(gets), sum(r.sent for r in gets)


def best(run: object, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        run()  # type: ignore[operator]
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    os.environ.update(TEST_ENV)
    server = S3TestServer()
    server.start()
    try:
        client = boto3.client("s3", endpoint_url=server.endpoint_url, region_name="us-east-1")
        client.create_bucket(Bucket="cost")
        work = Path(tempfile.mkdtemp())
        store = S3Store("s3://cost/acme", endpoint_url=server.endpoint_url)
        cat = Catalog(store, work / "index.sqlite", user="ada", cache=BlobCache(work / "cache"))
        data = os.urandom(SIZE)
        path = work / "big.bin"
        path.write_bytes(data)
        server.requests.clear()
        record = cat.put(path, "eos://org/big.bin").record
        h = record.hash or ""
        ob_puts = [r for r in server.requests.records
                   if r.method == "PUT" and r.path.endswith(outboard_key(h))]
        ob_size = len(store.get(outboard_key(h)))
        print(f"outboard of a {SIZE // MiB} MiB blob: {ob_size} bytes, "
              f"{len(ob_puts)} extra PUT at upload")
        fs = EosFileSystem(catalog=cat)
        uri = "eos://org/big.bin"

        server.requests.clear()
        raw = b"".join(store.iter_chunks(blob_key(h), SIZE - FOOTER, SIZE))
        print("unverified (before):", moved(server, blob_key(h)), "blob GETs/bytes")
        server.requests.clear()
        got = fs.cat_file(uri, start=-FOOTER)
        if got != raw or got != data[-FOOTER:]:
            raise SystemExit("wrong bytes")
        print("cat_file footer, first read:", moved(server, blob_key(h)), "blob;",
              moved(server, outboard_key(h)), "outboard")
        server.requests.clear()
        with fs.open(uri, "rb") as f:
            f.seek(SIZE - FOOTER)
            f.read(FOOTER)
        print("open+seek+read footer (outboard remembered):", moved(server, blob_key(h)),
              "blob;", moved(server, outboard_key(h)), "outboard")

        store.delete(outboard_key(h))
        cat2 = Catalog(store, work / "index2.sqlite", user="ada",
                       cache=BlobCache(work / "cache2"))
        from eoscatalog.catalog import ranged
        ranged._MEMO = ranged._OutboardMemo()  # a new process: nothing remembered
        server.requests.clear()
        EosFileSystem(catalog=cat2).cat_file(uri, start=-FOOTER)
        print("no outboard (stored before outboards), first read:",
              moved(server, blob_key(h)), "blob;", "outboard written again:",
              store.exists(outboard_key(h)))

        # Upload-side cost: the extra hashing, in CPU seconds for 100 MiB.
        whole = best(lambda: Outboard.of_file(path, h))
        streamed = best(lambda: ChunkHasher(SIZE).update(data))
        print(f"Outboard.of_file (local store upload, extra pass): {whole * 1000:.0f} ms "
              f"per 100 MiB; ChunkHasher (S3 multipart, on the read thread): "
              f"{streamed * 1000:.0f} ms per 100 MiB")
        cat.close()
        cat2.close()
        store.close()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
