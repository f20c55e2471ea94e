"""What every workload shares: the run's settings, timing in alternation, and result rows.

A workload is a function ``run(bench: Bench) -> list[Row]``. It builds its data under
``bench.work`` (deterministic: :func:`random_bytes` with a fixed seed), times eoscatalog and each
peer with :func:`alternate` (peer, eoscatalog, peer, eoscatalog, ...: a slow spell of the machine
hits both), and returns one :class:`Row` per figure in docs/performance.md.
"""

from __future__ import annotations

import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from server import BenchServer

ROOT = Path(__file__).resolve().parent.parent.parent  # the working tree
MiB = 1024 * 1024
GiB = 1024 * MiB

# Fake credentials for the local server; never real ones.
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


@dataclass(frozen=True)
class Sizes:
    """How big each workload is in one mode (full, quick, tiny)."""

    big_file: int  # hash, local put, S3 put and get
    sync_files: int  # small files in the sync tree
    catalog_versions: int  # versions in the resolve catalog
    catalog_names: int
    ls_names: int  # names under one prefix for ls
    memory_file: int  # the peak-memory upload and download
    runs: int  # timed runs per contender (medians are reported)
    zarr_shape: tuple[int, int] = (500, 1000)  # the Zarr dataset (chunks of 20 x 40)
    folder_names: int = 100_000  # names in the versioned folder (20 folder versions)
    few_files: int = 2_000  # the smaller small-file upload of the peers' table
    ui_names: int = 10_000  # names in the folder eos ui renders
    ui_upload: int = GiB  # the file uploaded through eos ui's page


FULL = Sizes(GiB, 10_000, 1_000_000, 100_000, 10_000, 4 * GiB, 3)
QUICK = Sizes(256 * MiB, 1_000, 100_000, 10_000, 10_000, 512 * MiB, 3, folder_names=20_000,
              few_files=200, ui_upload=256 * MiB)
TINY = Sizes(4 * MiB, 40, 2_000, 200, 100, 24 * MiB, 1, zarr_shape=(60, 120), folder_names=500,
             few_files=10, ui_names=200, ui_upload=4 * MiB)


@dataclass(frozen=True)
class Endpoint:
    """An S3-compatible server that a per-server workload runs against."""

    name: str  # "moto" or "seaweedfs"
    url: str


@dataclass
class Bench:
    """One benchmark run: its sizes, folders, server and peers."""

    sizes: Sizes
    mode: str  # "full", "quick" or "tiny"
    work: Path  # scratch space, removed at the end
    server: BenchServer
    aws: str  # the aws CLI executable
    quiet: bool = False
    notes: list[str] = field(default_factory=list)  # facts worth printing under the table
    endpoint: Endpoint | None = None  # the server of a per-server workload's run

    def say(self, text: str) -> None:
        """A progress line on stderr."""
        if not self.quiet:
            print(f"[bench] {text}", file=sys.stderr, flush=True)

    def env(self, **extra: str) -> dict[str, str]:
        """The environment for a peer's or eoscatalog's process, pointed at the server.

        eoscatalog runs from this working tree, and every process keeps its bytecode (under
        ``work/pycache``) even where ``PYTHONDONTWRITEBYTECODE`` is set: a command compiling
        its modules on every start is not what users run.
        """
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("EOS_", "AWS_")) and k != "PYTHONDONTWRITEBYTECODE"}
        env.update(AWS_ENV)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        env["PYTHONPYCACHEPREFIX"] = str(self.work / "pycache")
        env.update(extra)
        return env

    def bucket(self, name: str, url: str | None = None) -> str:
        """Create a bucket (once) on the server (or the one at ``url``) and return its name."""
        import boto3

        client = boto3.client("s3", endpoint_url=url or self.server.endpoint_url,
                              **credentials())
        try:
            client.create_bucket(Bucket=name)
        except (client.exceptions.BucketAlreadyOwnedByYou,
                client.exceptions.BucketAlreadyExists):
            pass
        return name


def credentials() -> dict[str, str]:
    """boto3 client arguments with the fake credentials."""
    return {"aws_access_key_id": AWS_ENV["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": AWS_ENV["AWS_SECRET_ACCESS_KEY"],
            "region_name": AWS_ENV["AWS_DEFAULT_REGION"]}


@dataclass(frozen=True)
class Row:
    """One line of the results table.

    ``peer_value`` and ``eos_value`` are in ``unit`` (seconds unless said); ``ratio`` is
    eoscatalog's over the peer's when both exist. ``met`` says whether the target held.
    """

    workload: str
    peer: str
    peer_value: float | None
    eos_value: float
    unit: str
    target: str
    met: bool
    detail: str = ""
    server: str = ""  # set for the per-server table's rows: "moto" or "seaweedfs"
    peers: dict[str, float] = field(default_factory=dict)  # every tool's value, by tool
    limit: str = ""  # what limits eoscatalog here, as measured by the run (shown if missed)

    @property
    def ratio(self) -> float | None:
        if self.peer_value in (None, 0):
            return None
        return self.eos_value / self.peer_value


@dataclass
class Contender:
    """Something to time: ``run(i)`` for run number ``i``; ``setup(i)`` before it, untimed."""

    name: str
    run: Callable[[int], object]
    setup: Callable[[int], object] | None = None


def alternate(runs: int, contenders: Sequence[Contender],
              settle: Callable[[], None] | None = None) -> dict[str, list[float]]:
    """Time each contender ``runs`` times, taking turns; ``settle()`` runs before each timing.

    >>> t = alternate(2, [Contender("a", lambda i: None), Contender("b", lambda i: None)])
    >>> sorted(t), [len(v) for v in t.values()]
    (['a', 'b'], [2, 2])
    """
    times: dict[str, list[float]] = {c.name: [] for c in contenders}
    for i in range(runs):
        for c in contenders:
            if c.setup is not None:
                c.setup(i)
            if settle is not None:
                settle()
            start = time.perf_counter()
            c.run(i)
            times[c.name].append(time.perf_counter() - start)
    return times


def median(values: Sequence[float]) -> float:
    """The median (the middle run of 3)."""
    return statistics.median(values)


def ratio_row(workload: str, peer: str, times: dict[str, list[float]], peer_key: str,
              eos_key: str, limit: float, target: str, detail: str = "") -> Row:
    """A row whose target is ``eos time / peer time <= limit``."""
    p, e = median(times[peer_key]), median(times[eos_key])
    return Row(workload, peer, p, e, "s", target, e / p <= limit, detail)


def flush_disk() -> None:
    """Write dirty pages out, so one contender's writes are not paid by the next one."""
    os.sync()


def random_bytes(size: int, seed: int) -> bytes:
    """Deterministic bytes (the same on every machine for the same seed)."""
    return random.Random(seed).randbytes(size)


def write_file(path: Path, size: int, seed: int) -> Path:
    """A file of ``size`` deterministic bytes, written once (kept if already right)."""
    if path.exists() and path.stat().st_size == size:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    block = random_bytes(min(size, 64 * MiB), seed)
    tmp = path.with_suffix(".part")
    with open(tmp, "wb") as f:
        written, n = 0, 0
        while written < size:
            # Each block is rotated, so no two blocks of a large file are equal.
            piece = (block[n % len(block):] + block[: n % len(block)])[: size - written]
            f.write(piece)
            written += len(piece)
            n += 4099
    tmp.rename(path)
    return path


def read_into_page_cache(path: Path) -> None:
    """Read a file once so the timed runs find it in the page cache."""
    with open(path, "rb", buffering=0) as f:
        while f.read(8 * MiB):
            pass


def run_cli(argv: Sequence[str], env: dict[str, str], cwd: Path | None = None) -> str:
    """Run a command; raise with its output if it fails; return its stdout."""
    done = subprocess.run(list(argv), env=env, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}):\n"
                           f"{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return done.stdout


@dataclass(frozen=True)
class Usage:
    """What one command cost: wall time, CPU time (user + system) and peak resident memory."""

    wall: float
    cpu: float
    max_rss: int  # bytes


# Runs the command for run_measured and writes what it cost. It is a small process of its own
# (no site, no imports but os) because a child's ru_maxrss starts at its parent's resident size
# when it forks (Linux keeps the high-water mark across the exec): a command forked from the
# benchmark's own process would show the benchmark's memory as its floor.
MEASURE = (
    "import os, sys, time\n"
    "start = time.perf_counter()\n"
    "pid = os.posix_spawnp(sys.argv[2], sys.argv[2:], os.environ)\n"
    "_, status, use = os.wait4(pid, 0)\n"
    "with open(sys.argv[1], 'w') as f:\n"
    "    f.write(f'{time.perf_counter() - start} {use.ru_utime + use.ru_stime} '\n"
    "            f'{use.ru_maxrss * 1024}')\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)


def run_measured(argv: Sequence[str], env: dict[str, str], cwd: Path | None = None) -> Usage:
    """Run a command as :func:`run_cli` does and return what it cost, as ``wait4`` reports it
    for that one process (its own peak memory; see ``MEASURE``)."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "usage"
        run_cli([sys.executable, "-S", "-c", MEASURE, str(report), *argv], env, cwd)
        wall, cpu, rss = report.read_text().split()
    return Usage(float(wall), float(cpu), int(rss))


def eos_cli() -> list[str]:
    """How to run ``eos`` with this interpreter."""
    return [sys.executable, "-m", "eoscatalog"]
