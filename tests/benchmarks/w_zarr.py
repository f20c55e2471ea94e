"""Writing a Zarr store through ``eos://``, as one changeset, against s3fs and a plain folder.

The store: an xarray Dataset of one float64 variable of 500 x 1000, chunked 20 x 40 (625
chunks of 6,400 bytes before compression), written by ``Dataset.to_zarr`` in zarr format 3
(``consolidated=False``) with dask's threaded scheduler. Every contender gets a fresh place
(a new store prefix and catalog home for eoscatalog, a new key prefix or folder for the peer),
so nothing is skipped by dedup. Rows:

- in a transaction on S3 (one changeset) against s3fs writing ``s3://bucket/plain-N.zarr`` to
  the same server; the same on the local store against a plain folder (then ``sync``: a store
  must be durable, so the peer pays for the disk too, as in the local put row);
- the same store written again unchanged in a transaction: chunk bytes sent, counted at the
  server (PUTs to the keys of the chunks' blobs);
- without a transaction on S3 (one changeset per object), then every chunk read back by a
  fresh catalog and compared;
- from a ``dask.distributed`` LocalCluster of 2 worker processes, in a transaction;
- by URL (zarr 3 wraps ``eos://`` in fsspec's AsyncFileSystemWrapper) against
  ``fs.get_mapper(...)``, and the same objects put from 8 threads straight through
  ``Catalog.put_bytes`` (no zarr, no fsspec): what an async ``eos://`` could win at most.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import dask
import numpy as np
import xarray as xr
from harness import AWS_ENV, Bench, Contender, Row, alternate, flush_disk, median, ratio_row

from eoscatalog import Catalog, set_default_catalog

ZARR_FORMAT = 3
CHUNKS = (20, 40)
NS = "users/bench"
TARGET = f"{NS}/run.zarr"


def dataset(shape: tuple[int, int], seed: int = 14) -> xr.Dataset:
    """The benchmark's dataset: random float64 (compresses little), chunked 20 x 40."""
    values = np.random.default_rng(seed).standard_normal(shape)
    return xr.Dataset({"v": (("y", "x"), values)}).chunk(dict(zip(("y", "x"), CHUNKS, strict=True)))


def to_zarr(ds: xr.Dataset, store: Any, **options: Any) -> None:
    """``ds.to_zarr`` as every contender calls it."""
    ds.to_zarr(store, mode="w", zarr_format=ZARR_FORMAT, consolidated=False, **options)


def changesets(cat: Catalog) -> int:
    """The changesets in the store's log of the benchmark's namespace (counted in the store)."""
    return sum(1 for _ in cat.store.list(f"catalog/{NS}/log/"))


class ZarrRuns:
    """The contenders and what the server and the store counted for their last runs."""

    def __init__(self, bench: Bench, ds: xr.Dataset) -> None:
        self.bench, self.ds = bench, ds
        self.endpoint = bench.server.endpoint_url
        self.bucket = bench.bucket("zarr")
        self.s3fs_options = {"endpoint_url": self.endpoint, "key": AWS_ENV["AWS_ACCESS_KEY_ID"],
                             "secret": AWS_ENV["AWS_SECRET_ACCESS_KEY"],
                             "skip_instance_cache": True}
        self.catalog: Catalog | None = None
        self.counts: dict[str, str] = {}  # contender -> the server's counts of its last run
        self.made: dict[str, list[int]] = {}  # contender -> changesets made by each run

    # -- places ----------------------------------------------------------------------------

    def home(self, kind: str, i: int) -> Path:
        home = self.bench.work / "homes" / f"zarr-{kind}-{i}"
        shutil.rmtree(home, ignore_errors=True)
        return home

    def s3_settings(self, kind: str, i: int) -> dict[str, Any]:
        """Catalog settings (storage options of ``eos://``) for a fresh prefix of the bucket."""
        return {"home": str(self.home(kind, i)), "store": f"s3://{self.bucket}/{kind}-{i}",
                "endpoint_url": self.endpoint, "user": "bench"}

    def open_s3(self, kind: str) -> Callable[[int], None]:
        """A setup: a catalog on a fresh S3 prefix, made the default (``eos://`` URLs use it)."""
        def setup(i: int) -> None:
            self.use(Catalog.open(**self.s3_settings(kind, i)))
        return setup

    def open_local(self, i: int) -> None:
        store = self.bench.work / "zarr-local" / f"store-{i}"
        shutil.rmtree(store.parent, ignore_errors=True)
        self.use(Catalog.open(home=str(self.home("local", i)), store=str(store), create=True,
                              user="bench"))

    def use(self, cat: Catalog | None) -> None:
        if self.catalog is not None:
            self.catalog.close()
        self.catalog = cat
        set_default_catalog(cat)

    def cat(self) -> Catalog:
        assert self.catalog is not None
        return self.catalog

    def fresh_folder(self, i: int) -> None:
        shutil.rmtree(self.bench.work / "zarr-plain", ignore_errors=True)

    # -- contenders ------------------------------------------------------------------------

    @contextlib.contextmanager
    def counted(self, name: str, cat: Catalog | None = None) -> Iterator[None]:
        """Count the server's requests (and the store's new changesets) of one run."""
        before = changesets(cat) if cat is not None else 0
        self.bench.server.reset()
        yield
        self.counts[name] = self.bench.server.counts(self.bucket).describe()
        if cat is not None:
            self.made.setdefault(name, []).append(changesets(cat) - before)

    def s3fs(self, name: str) -> Callable[[int], None]:
        def write(i: int) -> None:
            with self.counted(name):
                to_zarr(self.ds, f"s3://{self.bucket}/plain-{name}-{i}.zarr",
                        storage_options=self.s3fs_options)
        return write

    def eos(self, name: str, *, transaction: bool = True,
            store: Callable[[], Any] = lambda: f"eos://{TARGET}") -> Callable[[int], None]:
        """Write the dataset to the default catalog (in a transaction unless told)."""
        def write(i: int) -> None:
            cat = self.cat()
            block = cat.transaction(name) if transaction else contextlib.nullcontext()
            with self.counted(name, cat), block:
                to_zarr(self.ds, store())
        return write

    def folder(self, i: int) -> None:
        to_zarr(self.ds, str(self.bench.work / "zarr-plain" / f"plain-{i}.zarr"))
        os.sync()

    # -- checks ----------------------------------------------------------------------------

    def chunk_hashes(self, cat: Catalog) -> set[str]:
        """The digests of the blobs the chunks of the written store name."""
        files = cat.ls(f"eos://{TARGET}/v/c/", recursive=True).files
        return {r.hash.split(":", 1)[1] for r in files if r.hash}

    def read_back(self, settings: dict[str, Any]) -> tuple[int, bool]:
        """With a fresh catalog on the same store: the chunk objects listed, and whether every
        value reads back equal."""
        fresh = Catalog.open(**{**settings, "home": str(self.home("check", 0))})
        try:
            set_default_catalog(fresh)
            chunks = len(fresh.ls(f"eos://{TARGET}/v/c/", recursive=True).files)
            back = xr.open_zarr(f"eos://{TARGET}", consolidated=False).compute()
            return chunks, bool(back.identical(self.ds.compute()))
        finally:
            set_default_catalog(self.catalog)
            fresh.close()


def s3_rows(z: ZarrRuns, runs: int, n_chunks: int) -> list[Row]:
    """In a transaction, unchanged again, and without a transaction; all on S3."""
    t = alternate(runs, [Contender("s3fs", z.s3fs("s3fs")),
                         Contender("eos", z.eos("eos"), setup=z.open_s3("txn"))])
    made = z.made["eos"]
    txn = ratio_row(f"write a {n_chunks}-chunk Zarr store to S3 in a transaction (dask threads)",
                    "s3fs (`s3://bucket/plain.zarr`)", t, "s3fs", "eos", 1.5,
                    "<= 1.5x, 1 changeset",
                    f"changesets made per run: {made}; eoscatalog: {z.counts['eos']}; s3fs: "
                    f"{z.counts['s3fs']}")
    txn = Row(txn.workload, txn.peer, txn.peer_value, txn.eos_value, txn.unit, txn.target,
              txn.met and set(made) == {1}, txn.detail)

    # the last store written, again, unchanged: the server counts PUTs to the chunks' blobs
    cat = z.cat()
    chunks = z.chunk_hashes(cat)
    sent: list[int] = []
    again: dict[str, list[float]] = {"s3fs": [], "eos": []}
    for _ in range(runs):
        again["s3fs"] += alternate(1, [Contender("s3fs", z.s3fs("s3fs again"))])["s3fs"]
        z.bench.server.reset()
        again["eos"] += alternate(1, [Contender("eos", z.eos("eos again"))])["eos"]
        counts = z.bench.server.counts(
            z.bucket, match=lambda path: path.rsplit("/", 1)[-1] in chunks, methods={"PUT"})
        sent.append(counts.received)
    rewrite = Row(f"write the same {n_chunks}-chunk Zarr store again, unchanged (S3, "
                  "transaction): chunk bytes sent", "", None, max(sent), "bytes",
                  "0 chunk bytes sent", max(sent) == 0,
                  f"{median(again['eos']):.3f} s (s3fs rewriting its copy: "
                  f"{median(again['s3fs']):.3f} s); changesets made: {z.made['eos again']} "
                  "(none when nothing changed); eoscatalog: "
                  f"{z.counts['eos again']} (each reused chunk blob of up to 1 MiB is read "
                  "back and hashed, one GET, before it is named again)")

    # without a transaction: one changeset per object; every chunk read back afterwards
    settings: list[dict[str, Any]] = []

    def open_plain(i: int) -> None:
        settings.append(z.s3_settings("plain", i))
        z.use(Catalog.open(**settings[-1]))

    t = alternate(runs, [Contender("s3fs", z.s3fs("s3fs plain")),
                         Contender("eos", z.eos("eos plain", transaction=False),
                                   setup=open_plain)])
    z.use(None)
    checks = [z.read_back(s) for s in settings]
    whole = all(n == n_chunks and equal for n, equal in checks)
    row = ratio_row(f"write a {n_chunks}-chunk Zarr store to S3 without a transaction",
                    "s3fs (`s3://bucket/plain.zarr`)", t, "s3fs", "eos", 3.0,
                    "<= 3x, no write lost",
                    f"changesets made per run: {z.made['eos plain']}; read back by a fresh "
                    f"catalog: {[n for n, _ in checks]} chunks, values equal: "
                    f"{[e for _, e in checks]}; eoscatalog: {z.counts['eos plain']}; s3fs: "
                    f"{z.counts['s3fs plain']}")
    plain = Row(row.workload, row.peer, row.peer_value, row.eos_value, row.unit, row.target,
                row.met and whole, row.detail)
    return [txn, rewrite, plain]


def local_row(z: ZarrRuns, runs: int, n_chunks: int) -> Row:
    t = alternate(runs, [Contender("folder", z.folder, setup=z.fresh_folder),
                         Contender("eos", z.eos("eos local"), setup=z.open_local)],
                  settle=flush_disk)
    z.use(None)
    made = z.made["eos local"]
    row = ratio_row(f"write a {n_chunks}-chunk Zarr store to the local store in a transaction",
                    "a plain folder, then `sync`", t, "folder", "eos", 2.0,
                    "<= 2x, 1 changeset", f"changesets made per run: {made}")
    return Row(row.workload, row.peer, row.peer_value, row.eos_value, row.unit, row.target,
               row.met and set(made) == {1}, row.detail)


def url_row(z: ZarrRuns, runs: int, n_chunks: int) -> Row:
    """By URL against ``fs.get_mapper``; and the floor: the objects put from threads."""
    import fsspec

    def mapper() -> Any:
        return fsspec.filesystem("eos").get_mapper(TARGET)

    objects = z.bench.work / "zarr-objects"  # the store's objects, as a plain folder holds them
    shutil.rmtree(objects, ignore_errors=True)
    to_zarr(z.ds, str(objects))
    payload = {p.relative_to(objects).as_posix(): p.read_bytes()
               for p in sorted(objects.rglob("*")) if p.is_file()}

    def threads(i: int) -> None:
        cat = z.cat()
        with z.counted("threads", cat), cat.transaction("threads"), \
                ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda kv: cat.put_bytes(kv[1], f"eos://{TARGET}/{kv[0]}"),
                          payload.items()))

    t = alternate(runs, [Contender("mapper", z.eos("mapper", store=mapper),
                                   setup=z.open_s3("mapper")),
                         Contender("url", z.eos("url"), setup=z.open_s3("url")),
                         Contender("threads", threads, setup=z.open_s3("threads"))])
    z.use(None)
    floor, url = median(t["threads"]), median(t["url"])
    return ratio_row(f"write a {n_chunks}-chunk Zarr store to S3 by `eos://` URL "
                     "(AsyncFileSystemWrapper), transaction",
                     "`fs.get_mapper(...)`", t, "mapper", "url", 1.1, "<= 1.1x",
                     f"the same {len(payload)} objects put straight from 8 threads with "
                     f"`Catalog.put_bytes` in a transaction (no zarr, no fsspec): {floor:.3f} s, "
                     f"so zarr and the wrapper add {url - floor:+.3f} s "
                     f"({(url - floor) / url:+.0%} of the URL write); changesets per run: "
                     f"URL {z.made['url']}, mapper {z.made['mapper']}, threads "
                     f"{z.made['threads']}")


def distributed_row(z: ZarrRuns, runs: int, n_chunks: int) -> Row:
    """A LocalCluster of 2 worker processes (no dashboard, 127.0.0.1 only) in a transaction.

    The workers get ``eos://`` by storage options (pickled inside the block, the filesystem
    carries the transaction's id; each worker opens the catalog the options describe)."""
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=None, host="127.0.0.1")
    client = Client(cluster)
    settings: list[dict[str, Any]] = []
    try:
        with dask.config.set(scheduler=client):
            def open_cluster(i: int) -> None:
                settings.append(z.s3_settings("cluster", i))
                z.use(Catalog.open(**settings[-1]))

            def eos(i: int) -> None:
                cat = z.cat()
                with z.counted("cluster", cat), cat.transaction("cluster"):
                    to_zarr(z.ds, f"eos://{TARGET}", storage_options=settings[-1])

            t = alternate(runs, [Contender("s3fs", z.s3fs("s3fs cluster")),
                                 Contender("eos", eos, setup=open_cluster)])
    finally:
        client.close()
        cluster.close()
    z.use(None)
    checks = [z.read_back(s) for s in settings]
    made = z.made["cluster"]
    return Row(f"write a {n_chunks}-chunk Zarr store to S3 from a dask.distributed LocalCluster "
               "(2 worker processes) in a transaction: changesets", "", None, max(made),
               "changesets", "1 changeset",
               set(made) == {1} and all(n == n_chunks and e for n, e in checks),
               f"eoscatalog {median(t['eos']):.3f} s, s3fs on the same cluster "
               f"{median(t['s3fs']):.3f} s ({median(t['eos']) / median(t['s3fs']):.2f}x); "
               f"changesets made per run: {made}; read back: {[n for n, _ in checks]} chunks, "
               f"values equal: {[e for _, e in checks]}; eoscatalog: {z.counts['cluster']}")


def run(bench: Bench) -> list[Row]:
    """The Zarr rows (zarr format 3)."""
    os.environ.update(AWS_ENV)  # s3fs, eoscatalog and the cluster's workers
    ds = dataset(bench.sizes.zarr_shape)
    n_chunks = int(np.prod([s // c for s, c in zip(bench.sizes.zarr_shape, CHUNKS, strict=True)]))
    z = ZarrRuns(bench, ds)
    runs = bench.sizes.runs
    before = load()
    try:
        with dask.config.set(scheduler="threads"):
            rows = s3_rows(z, runs, n_chunks)
            rows.append(local_row(z, runs, n_chunks))
            rows.append(url_row(z, runs, n_chunks))
        rows.append(distributed_row(z, runs, n_chunks))
    finally:
        z.use(None)
    bench.notes.append(f"Zarr rows: zarr format {ZARR_FORMAT}, consolidated=False, "
                       f"{bench.sizes.zarr_shape[0]} x {bench.sizes.zarr_shape[1]} float64 in "
                       f"{CHUNKS[0]} x {CHUNKS[1]} chunks; load averages (1, 5, 15 min) of the "
                       f"shared machine before them: {before}, after: {load()}")
    return rows


def load() -> str:
    """The 1, 5 and 15 minute load averages (the machine is shared)."""
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"
