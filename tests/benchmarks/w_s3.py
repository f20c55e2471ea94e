"""Putting a large file into S3 and getting it back, against boto3 and the aws CLI.

In-process: ``Catalog.put`` / ``Catalog.get`` against boto3's ``upload_file`` /
``download_file`` tuned as a careful user would (multipart, 8 MiB parts, 8 threads). As commands:
``eos put`` / ``eos get`` against ``aws s3 cp`` both ways (each pays its interpreter's start).
Every run writes to a fresh prefix and gets into a fresh cache, so nothing is skipped; the
server counts each contender's requests and bytes.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import boto3
from harness import (
    AWS_ENV,
    Bench,
    Contender,
    Row,
    alternate,
    credentials,
    eos_cli,
    flush_disk,
    median,
    ratio_row,
    read_into_page_cache,
    run_cli,
    write_file,
)
from peers import tuned_transfer_config

from eoscatalog import Catalog
from eoscatalog.cli.output import format_size


class S3Runs:
    """The contenders of this workload and the request counts of their last runs."""

    def __init__(self, bench: Bench, source: Path) -> None:
        self.bench, self.source = bench, source
        self.endpoint = bench.server.endpoint_url
        self.peer_bucket, self.eos_bucket = bench.bucket("peer"), bench.bucket("eos")
        self.client = boto3.client("s3", endpoint_url=self.endpoint, **credentials())
        self.config = tuned_transfer_config()
        self.out = bench.work / "s3-out"
        self.counts: dict[str, str] = {}
        self.catalog: Catalog | None = None

    def _counted(self, name: str, bucket: str, action: object) -> None:
        self.bench.server.reset()
        action()  # type: ignore[operator]
        self.counts[name] = self.bench.server.counts(bucket).describe()

    def fresh_out(self, i: int) -> None:
        shutil.rmtree(self.out, ignore_errors=True)
        self.out.mkdir(parents=True)

    def _catalog(self, i: int, kind: str) -> Catalog:
        home = self.bench.work / "homes" / f"{kind}-{i}"
        shutil.rmtree(home, ignore_errors=True)
        return Catalog.open(home=str(home), store=f"s3://{self.eos_bucket}/api-{i}",
                            endpoint_url=self.endpoint, user="bench")

    def _eos_env(self, i: int, kind: str) -> dict[str, str]:
        home = self.bench.work / "homes" / f"{kind}-{i}"
        return self.bench.env(EOS_HOME=str(home), EOS_STORE=f"s3://{self.eos_bucket}/cli-{i}",
                              EOS_USER="bench", AWS_ENDPOINT_URL=self.endpoint)

    # -- in-process ------------------------------------------------------------------------

    def boto3_up(self, i: int) -> None:
        self._counted("boto3 up", self.peer_bucket, lambda: self.client.upload_file(
            str(self.source), self.peer_bucket, f"api-{i}/big.bin", Config=self.config))

    def boto3_down(self, i: int) -> None:
        self._counted("boto3 down", self.peer_bucket, lambda: self.client.download_file(
            self.peer_bucket, f"api-{i}/big.bin", str(self.out / "big.bin"),
            Config=self.config))

    def open_up(self, i: int) -> None:
        """An open catalog on a fresh prefix (like boto3's client, made before the timing)."""
        self.close()
        self.catalog = self._catalog(i, "api-up")

    def open_down(self, i: int) -> None:
        """A new machine: an empty cache and index (the get brings the index up to date)."""
        self.fresh_out(i)
        self.close()
        self.catalog = self._catalog(i, "api-down")

    def open_down_uncached(self, i: int) -> None:
        """As open_down, for a catalog with no cache: the bytes go straight to the path."""
        self.open_down(i)
        assert self.catalog is not None
        self.catalog.cache = None

    def close(self) -> None:
        if self.catalog is not None:
            self.catalog.close()
            self.catalog = None

    def eos_up(self, i: int) -> None:
        cat = self.catalog
        assert cat is not None
        self._counted("eos up", self.eos_bucket, lambda: cat.put(self.source, "big.bin"))

    def eos_down(self, i: int) -> None:
        cat = self.catalog
        assert cat is not None
        self._counted("eos down", self.eos_bucket,
                      lambda: cat.get("big.bin", self.out / "big.bin"))

    def dedup(self) -> Row:
        """Put the same file again under another name, from another machine (a fresh home):
        the server shows that no blob byte moves, only a look and a changeset."""
        with self._catalog(0, "dedup") as cat:
            self.bench.server.reset()
            cat.put(self.source, "same-bytes-again.bin")
            blobs = self.bench.server.counts(self.eos_bucket, within="/blobs/")
            whole = self.bench.server.counts(self.eos_bucket)
        return Row(f"put the same {format_size(self.source.stat().st_size)} again under a new "
                   "name (S3)", "", None, blobs.received, "bytes",
                   "0 blob bytes sent (dedup)", blobs.received == 0,
                   f"blob requests: {blobs.describe()}; all requests: {whole.describe()}")

    # -- commands --------------------------------------------------------------------------

    def aws_cp(self, args: list[str], name: str) -> None:
        env = self.bench.env()
        self._counted(name, self.peer_bucket, lambda: run_cli(
            [self.bench.aws, "s3", "cp", *args, "--endpoint-url", self.endpoint,
             "--only-show-errors"], env))

    def aws_up(self, i: int) -> None:
        self.aws_cp([str(self.source), f"s3://{self.peer_bucket}/cli-{i}/big.bin"], "aws up")

    def aws_down(self, i: int) -> None:
        self.aws_cp([f"s3://{self.peer_bucket}/cli-{i}/big.bin", str(self.out / "big.bin")],
                    "aws down")

    def cli_up(self, i: int) -> None:
        env = self._eos_env(i, "cli-up")
        shutil.rmtree(env["EOS_HOME"], ignore_errors=True)
        self._counted("eos put", self.eos_bucket,
                      lambda: run_cli([*eos_cli(), "put", str(self.source), "big.bin"], env))

    def cli_down(self, i: int) -> None:
        env = self._eos_env(i, "cli-down")
        shutil.rmtree(env["EOS_HOME"], ignore_errors=True)
        self._counted("eos get", self.eos_bucket, lambda: run_cli(
            [*eos_cli(), "get", "big.bin", str(self.out / "big.bin")], env))


def run(bench: Bench) -> list[Row]:
    """Rows for put and get, in-process and as commands."""
    size = bench.sizes.big_file
    source = write_file(bench.work / "data" / "big.bin", size, seed=1)
    read_into_page_cache(source)
    os.environ.update(AWS_ENV)  # in-process boto3 and eoscatalog
    s3 = S3Runs(bench, source)
    runs = bench.sizes.runs
    up = alternate(runs, [Contender("boto3", s3.boto3_up),
                          Contender("eos", s3.eos_up, setup=s3.open_up)])
    down = alternate(runs, [Contender("boto3", s3.boto3_down, setup=s3.fresh_out),
                            Contender("eos", s3.eos_down, setup=s3.open_down),
                            Contender("eos, no cache", s3.eos_down, setup=s3.open_down_uncached)],
                     settle=flush_disk)
    s3.close()
    dedup = s3.dedup()
    cli_up = alternate(runs, [Contender("aws", s3.aws_up), Contender("eos", s3.cli_up)])
    cli_down = alternate(runs, [Contender("aws", s3.aws_down, setup=s3.fresh_out),
                                Contender("eos", s3.cli_down, setup=s3.fresh_out)],
                         settle=flush_disk)
    shutil.rmtree(s3.out, ignore_errors=True)
    what = format_size(size)
    c = s3.counts

    def mib_s(times: dict[str, list[float]], key: str) -> str:
        return f"{size / 2**20 / median(times[key]):.0f} MiB/s"

    return [
        dedup,
        ratio_row(f"put a {what} file into S3", "boto3 `upload_file`, tuned", up, "boto3",
                  "eos", 1.1, "<= 1.1x",
                  f"eoscatalog {mib_s(up, 'eos')}: {c['eos up']}; boto3 {mib_s(up, 'boto3')}: "
                  f"{c['boto3 up']}"),
        ratio_row(f"get a {what} file from S3", "boto3 `download_file`, tuned", down, "boto3",
                  "eos", 1.1, "<= 1.1x",
                  f"eoscatalog {mib_s(down, 'eos')}: {c['eos down']}; boto3 "
                  f"{mib_s(down, 'boto3')}: {c['boto3 down']}. A catalog without a cache, "
                  f"whose get writes the bytes once (straight to the path, not into the cache "
                  f"and then to the path): {median(down['eos, no cache']):.3f} s, "
                  f"{median(down['eos, no cache']) / median(down['boto3']):.2f}x"),
        ratio_row(f"`eos put` a {what} file (command)", "`aws s3 cp` up", cli_up, "aws", "eos",
                  0.999, "faster (< 1.0x)", f"eos put: {c['eos put']}; aws: {c['aws up']}"),
        ratio_row(f"`eos get` a {what} file (command)", "`aws s3 cp` down", cli_down, "aws",
                  "eos", 0.999, "faster (< 1.0x)",
                  f"eos get: {c['eos get']}; aws: {c['aws down']}"),
    ]
