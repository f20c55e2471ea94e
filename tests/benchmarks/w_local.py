"""Hashing a large file, and putting it into the local store.

Hashing: eoscatalog's ``hash_file`` against the BLAKE3 library's own multi-threaded
``update_mmap`` and against hashlib's sha256 (what many tools, DVC among them for its md5,
use), on a file read into the page cache first, so the disk is out of it.

Local put: ``Catalog.put`` into the embedded store (hash, copy, fsync, changeset) against
``cp`` of the same file followed by ``sync`` of the copy: a store must be durable, so the peer
pays for the disk too. Dirty pages are written out before every timed run.
"""

from __future__ import annotations

import hashlib
import os
import shutil

import blake3
from harness import (
    Bench,
    Contender,
    Row,
    alternate,
    flush_disk,
    median,
    ratio_row,
    read_into_page_cache,
    run_cli,
    write_file,
)

from eoscatalog import Catalog
from eoscatalog.cli.output import format_size
from eoscatalog.core.hashing import hash_file


def _sha256(path: os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb", buffering=0) as f:
        while chunk := f.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def hashing(bench: Bench) -> list[Row]:
    """eoscatalog's hash_file against blake3's update_mmap and hashlib sha256."""
    size = bench.sizes.big_file
    path = write_file(bench.work / "data" / "big.bin", size, seed=1)
    read_into_page_cache(path)
    hash_file(path)  # warm up the thread pool and the code
    what = f"hash a {format_size(size)} file in the page cache"
    times = alternate(max(bench.sizes.runs, 5), [
        Contender("mmap", lambda i: blake3.blake3(max_threads=blake3.blake3.AUTO)
                  .update_mmap(path).hexdigest()),
        Contender("eos", lambda i: hash_file(path)),
    ])
    sha = alternate(bench.sizes.runs, [Contender("sha256", lambda i: _sha256(path)),
                                       Contender("eos", lambda i: hash_file(path))])
    mib = size / 2**20
    through = {k: mib / median(v) for k, v in {**times, "sha256": sha["sha256"]}.items()}
    share = through["eos"] / through["mmap"]
    return [
        Row(what, "blake3 `update_mmap`, all cores", median(times["mmap"]),
            median(times["eos"]), "s", ">= 90% of its throughput", share >= 0.9,
            f"{through['eos']:.0f} MiB/s vs {through['mmap']:.0f} MiB/s: {share:.0%}"),
        ratio_row(what, "hashlib sha256", {**sha}, "sha256", "eos", 0.5,
                  "at least 2x faster (ratio <= 0.5)",
                  f"{mib / median(sha['eos']):.0f} MiB/s vs {through['sha256']:.0f} MiB/s"),
    ]


def local_put(bench: Bench) -> list[Row]:
    """Catalog.put into the local store against cp + sync."""
    size = bench.sizes.big_file
    source = write_file(bench.work / "data" / "big.bin", size, seed=1)
    read_into_page_cache(source)
    root = bench.work / "local"
    copies = bench.work / "copies"
    catalogs: list[Catalog] = []

    def fresh_store(i: int) -> None:
        for c in catalogs:
            c.close()
        catalogs.clear()
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(copies, ignore_errors=True)
        copies.mkdir(parents=True)
        cat = Catalog.open(store=str(root / "store"), create=True)
        cat.put_bytes(b"warm-up", "warm")  # the store exists: only the put is timed
        catalogs.append(cat)

    def eos(i: int) -> None:
        catalogs[0].put(source, "big.bin")

    def cp_sync(i: int) -> None:
        target = copies / "big.bin"
        run_cli(["cp", str(source), str(target)], os.environ.copy())
        run_cli(["sync", str(target)], os.environ.copy())

    times = alternate(bench.sizes.runs, [
        Contender("cp", cp_sync, setup=fresh_store),
        Contender("eos", eos, setup=fresh_store),
    ], settle=flush_disk)
    for c in catalogs:
        c.close()
    shutil.rmtree(root, ignore_errors=True)
    shutil.rmtree(copies, ignore_errors=True)
    return [ratio_row(f"put a {format_size(size)} file into the local store",
                      "`cp` then `sync` of the copy", times, "cp", "eos", 1.5, "<= 1.5x",
                      "eoscatalog: hash, kernel copy, hash of the copy during fsync, changeset")]


def run(bench: Bench) -> list[Row]:
    """Both workloads of this module."""
    return hashing(bench) + local_put(bench)
