"""Catalog lookups at scale: pinned resolves, ``latest`` against S3, and ``ls`` of a big prefix.

The catalog (``catalog_versions`` versions of ``catalog_names`` names in namespace ``org``,
``ls_names`` names per folder ``dNNNN/``) is written through the catalog's own writer: one
changeset of 10,000 entries at a time, appended and applied by ``Replay.append`` (a checkpoint
every 100 changesets, as in real use). The entries name a few hundred small blobs, stored first
(DESIGN.md's invariant 1). The same changesets go to an S3 bucket on the benchmark's server,
and the S3 client starts from a copy of the local index, as a warm client would.

Timed: ``Catalog.resolve`` of random ``name@N`` (local and S3), ``@tag`` and ``@blake3:`` prefix;
the requests one ``latest`` and one pinned resolve make, counted at the server; ``Catalog.ls``
and ``eos ls`` of one folder. Also reported: the build, and a cold replay (checkpoint + tail).
"""

from __future__ import annotations

import os
import random
import sqlite3
import statistics
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from harness import AWS_ENV, Bench, Row, eos_cli, median, run_cli

from eoscatalog import Catalog
from eoscatalog.core.units import format_time
from eoscatalog.local.config import Config
from eoscatalog.log.changesets import Changeset, Entry, Log
from eoscatalog.log.index import Index
from eoscatalog.log.replay import Replay

BATCH = 10_000  # entries per changeset
BLOBS = 256  # distinct blobs the versions name
TAGGED = 1_000  # names with a tag "prod"
NS = "org"


def _name(i: int, per_folder: int) -> str:
    return f"d{i // per_folder:04d}/f{i:07d}.csv"


def _config(bench: Bench, home: str, store: str) -> tuple[Config, dict[str, str]]:
    env = bench.env(EOS_HOME=str(bench.work / home), EOS_STORE=store, EOS_USER="ada",
                    AWS_ENDPOINT_URL_S3=bench.server.endpoint_url)
    return Config.load(env, default_namespace=NS), env


def _build(bench: Bench, local: Catalog, s3: Catalog) -> tuple[float, float]:
    """Write the catalog to both stores; return the seconds of the local build and the S3 log
    upload."""
    sizes = bench.sizes
    names = sizes.catalog_names
    rounds = max(1, sizes.catalog_versions // names)
    data = [f"row,{i}\n".encode() for i in range(BLOBS)]
    hashes = [local.store.put_blob_bytes(d) for d in data]
    for d in data:
        s3.store.put_blob_bytes(d)
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    changesets: list[Changeset] = []
    build = upload = 0.0
    seq = 0
    for r in range(1, rounds + 1):
        for first in range(0, names, BATCH):
            seq += 1
            entries = tuple(
                Entry("put", _name(i, sizes.ls_names), r, hashes[(i * 7 + r) % BLOBS],
                      len(data[(i * 7 + r) % BLOBS]))
                for i in range(first, min(names, first + BATCH))
            )
            created = format_time(start + timedelta(seconds=seq))
            changesets.append(Changeset(NS, seq, created, "bench", entries))
    tags = tuple(Entry("tag", _name(i, sizes.ls_names), version=1, tag="prod")
                 for i in range(0, names, max(1, names // TAGGED)))
    changesets.append(Changeset(NS, seq + 1, format_time(start + timedelta(seconds=seq + 1)),
                                "bench", tags))
    log = Log(s3.store, NS)
    for changeset in changesets:
        t = time.perf_counter()
        local.replay.append(changeset)
        build += time.perf_counter() - t
        t = time.perf_counter()
        log.append(changeset)
        upload += time.perf_counter() - t
    return build, upload


def _timed(calls: list[Callable[[], object]]) -> list[float]:
    times = []
    for call in calls:
        t = time.perf_counter()
        call()
        times.append(time.perf_counter() - t)
    return times


def _ms(times: list[float]) -> str:
    q = statistics.quantiles(times, n=100) if len(times) > 1 else times * 99
    return f"median {median(times) * 1e3:.3f} ms, p90 {q[89] * 1e3:.3f}, p99 {q[98] * 1e3:.3f}"


def run(bench: Bench) -> list[Row]:
    """Both the resolve and the ls workloads of this module."""
    sizes = bench.sizes
    os.environ.update(AWS_ENV)  # boto3 in this process talks to the benchmark's server
    bucket = bench.bucket("eos-catalog")
    local_config, local_env = _config(bench, "home-local",
                                      (bench.work / "catalog-store").as_uri())
    s3_config, _ = _config(bench, "home-s3", f"s3://{bucket}")
    local = Catalog.open(local_config, create=True)
    s3 = Catalog.open(s3_config)
    bench.say(f"catalog: writing {sizes.catalog_versions:,} versions of "
              f"{sizes.catalog_names:,} names")
    build, upload = _build(bench, local, s3)
    s3.close()
    # The S3 client starts warm, from a copy of the same replay (an index names no store).
    target = sqlite3.connect(s3_config.index_path)
    local.index.db.conn.backup(target)
    target.close()
    s3 = Catalog.open(s3_config)
    total = local.index.applied_seq(NS)
    size = (f"{sizes.catalog_versions:,} versions of {sizes.catalog_names:,} names, "
            f"{total} changesets; build {build:.1f} s (write + apply + checkpoints), S3 log "
            f"upload {upload:.1f} s")

    cold_index = Index(bench.work / "cold.sqlite")
    t = time.perf_counter()
    Replay(local.store, cold_index).refresh(NS)
    cold = time.perf_counter() - t
    cold_index.close()
    size += f"; cold replay (checkpoint + tail) {cold:.1f} s"
    bench.say(size)

    rng = random.Random(7)
    samples = 20_000 if bench.mode == "full" else 2_000
    rounds = max(1, sizes.catalog_versions // sizes.catalog_names)
    picks = [(_name(rng.randrange(sizes.catalog_names), sizes.ls_names), rng.randint(1, rounds))
             for _ in range(samples)]
    refs = [f"eos://{NS}/{n}@{v}" for n, v in picks]
    for cat in (local, s3):  # warm up: first queries, imports
        cat.resolve(refs[0])
        cat.resolve(f"eos://{NS}/{picks[0][0]}")
    local_pinned = _timed([lambda r=r: local.resolve(r) for r in refs])
    s3_pinned = _timed([lambda r=r: s3.resolve(r) for r in refs])
    by_hash = [f"{r.split('@')[0]}@{local.resolve(r).hash[:15]}" for r in refs[:2_000]]
    hashed = _timed([lambda r=r: local.resolve(r) for r in by_hash])
    tagged = _timed([lambda i=i: local.resolve(f"eos://{NS}/{_name(i, sizes.ls_names)}@prod")
                     for i in range(0, sizes.catalog_names,
                                    max(1, sizes.catalog_names // TAGGED))][:1_000])

    bench.server.reset()
    s3.resolve(f"eos://{NS}/{picks[1][0]}")
    latest = bench.server.counts(bucket)
    bench.server.reset()
    s3.resolve(refs[1])
    s3.resolve(by_hash[2])
    pinned = bench.server.counts(bucket)

    folder = f"eos://{NS}/d{(sizes.catalog_names // sizes.ls_names) // 2:04d}/"
    listing = local.ls(folder)
    assert len(listing.files) == min(sizes.ls_names, sizes.catalog_names), len(listing.files)
    ls_api = [_timed([lambda: local.ls(folder)])[0] for _ in range(max(3, sizes.runs))]
    ls_cli = [_timed([lambda: run_cli([*eos_cli(), "ls", folder], local_env)])[0]
              for _ in range(max(3, sizes.runs))]
    local.close()
    s3.close()

    med = median(local_pinned) * 1e3
    return [
        Row("resolve name@N (local store)", "", None, med, "ms", "median < 0.5 ms", med < 0.5,
            f"{_ms(local_pinned)} over {samples:,} calls; {size}"),
        Row("resolve name@N (S3 store)", "", None, median(s3_pinned) * 1e3, "ms",
            "median < 0.5 ms", median(s3_pinned) * 1e3 < 0.5,
            _ms(s3_pinned)),
        Row("resolve name@blake3:<8 hex>", "", None, median(hashed) * 1e3, "ms",
            "median < 0.5 ms", median(hashed) * 1e3 < 0.5,
            _ms(hashed)),
        Row("resolve name@tag (local store)", "", None, median(tagged) * 1e3, "ms",
            "(tags move: one log listing)", True, _ms(tagged)),
        Row("resolve latest (S3): requests", "", None, latest.requests, "requests",
            "exactly 1 request", latest.requests == 1, latest.describe()),
        Row("resolve name@N, name@blake3:… (S3): requests", "", None, pinned.requests,
            "requests", "0 requests", pinned.requests == 0,
            f"for one @N and one @blake3: resolve: {pinned.describe()}"),
        Row(f"ls of {len(listing.files):,} names (Catalog.ls)", "", None, median(ls_api), "s",
            "< 1 s", median(ls_api) < 1, f"runs: {', '.join(f'{x:.3f}' for x in ls_api)}"),
        Row(f"ls of {len(listing.files):,} names (eos ls)", "", None, median(ls_cli), "s",
            "< 1 s", median(ls_cli) < 1, f"runs: {', '.join(f'{x:.3f}' for x in ls_cli)}"),
    ]
