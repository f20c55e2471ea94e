"""The benchmark's one entry point: ``python tests/benchmarks/run.py [--quick]``.

It starts the S3-compatible servers on 127.0.0.1 (moto in its own process, and SeaweedFS),
makes deterministic data, runs every workload for eoscatalog and its peers in alternation
(medians of 3 runs or more) and writes docs/performance.md. The per-server workload (``peers``:
eos beside s5cmd, the aws CLI and boto3) runs once on each server of ``--server``; the others
run on moto, which counts every request. ``--quick`` uses smaller sizes; ``--tiny`` is for the
test suite (seconds; the figures mean nothing). Nothing here is collected by pytest.
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent), str(HERE.parent.parent)]  # workloads, seaweed.py,
# eoscatalog from this tree

from harness import FULL, QUICK, TINY, Bench, Endpoint, eos_cli, run_cli  # noqa: E402
from peers import aws_cli  # noqa: E402
from report import Measured, date_now, facts, load, render  # noqa: E402
from seaweed import SeaweedServer  # noqa: E402
from server import BenchServer  # noqa: E402

ROOT = HERE.parent.parent
# (name, module, what it measures), in the order of the report
WORKLOADS = [
    ("local", "w_local", "hashing and the local store"),
    ("s3", "w_s3", "put and get through S3"),
    ("sync", "w_sync", "syncing many small files"),
    ("catalog", "w_catalog", "lookups in a large catalog"),
    ("memory", "w_memory", "peak memory"),
    ("zarr", "w_zarr", "Zarr stores through eos:// (transactions)"),
    ("folders", "w_folders", "folder versions of a large dataset"),
    ("preview", "w_preview", "a preview of a large Parquet file by range reads"),
    ("ui", "w_ui", "eos ui in a real browser: a large folder, a large upload"),
    ("peers", "w_peers", "eos beside s5cmd, the aws CLI and boto3"),
]
PER_SERVER = {"peers"}  # run once on each server of --server, as "peers@<server>"
SERVERS = ("moto", "seaweedfs")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="smaller sizes")
    size.add_argument("--tiny", action="store_true", help="tiny sizes, for the test suite")
    parser.add_argument("--only", default="",
                        help="comma-separated workloads: " + ",".join(w[0] for w in WORKLOADS))
    parser.add_argument("--server", default=",".join(SERVERS),
                        help="comma-separated servers the per-server workloads run on "
                             f"(default: {','.join(SERVERS)})")
    parser.add_argument("--runs", type=int, default=0,
                        help="timed runs per contender (default: 3; 1 with --tiny)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "performance.md",
                        help="where to write the report (default: docs/performance.md)")
    parser.add_argument("--work", type=Path, default=None,
                        help="scratch folder, kept (its generated data/ is reused); default: a "
                             "new temporary folder, removed after")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.add_argument("--render", action="store_true",
                        help="measure nothing: write the report again from its data line (after "
                             "a change to the report's texts)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the chosen workloads, write the report, print the table; 0 even if a target is
    missed (the report says which), 2 on bad arguments."""
    args = parse_args(argv)
    mode = "quick" if args.quick else "tiny" if args.tiny else "full"
    sizes = {"full": FULL, "quick": QUICK, "tiny": TINY}[mode]
    sizes = replace(sizes, runs=args.runs) if args.runs > 0 else sizes
    servers = [s for s in args.server.split(",") if s]
    chosen = [w for w in WORKLOADS if not args.only or w[0] in args.only.split(",")]
    unknown = set(filter(None, args.only.split(","))) - {w[0] for w in WORKLOADS}
    if unknown:
        print(f"unknown workloads {sorted(unknown)}; known: "
              f"{', '.join(w[0] for w in WORKLOADS)}", file=sys.stderr)
        return 2
    if not servers or set(servers) - set(SERVERS):
        print(f"unknown servers in --server {args.server!r}; known: {', '.join(SERVERS)}",
              file=sys.stderr)
        return 2
    if args.render:
        return rerender(args.out)
    work = args.work or Path(tempfile.mkdtemp(prefix="eos-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    for old in work.iterdir():  # a kept --work: reuse its data, start everything else anew
        if old.name != "data":
            shutil.rmtree(old) if old.is_dir() else old.unlink()
    os.environ["EOS_HOME"] = str(work / "homes" / "default")
    os.environ["EOS_USER"] = "bench"
    started = time.monotonic()
    flags = [*(["--quick"] if args.quick else []), *(["--tiny"] if args.tiny else []),
             *(["--runs", str(args.runs)] if args.runs > 0 else []),
             *(["--server", args.server] if servers != list(SERVERS) else [])]
    command = " ".join(["python tests/benchmarks/run.py", *flags])
    this_run = " ".join([command, *(["--only", args.only] if args.only else [])])
    results: dict[str, Measured] = {}
    try:
        aws = aws_cli(say=lambda text: print(f"[bench] {text}", file=sys.stderr))
        seaweed = Seaweed(work / "seaweedfs", wanted="seaweedfs" in servers
                          and any(w[0] in PER_SERVER for w in chosen))
        with BenchServer() as server, seaweed:
            bench = Bench(sizes, mode, work, server, aws, quiet=args.quiet)
            run_cli([*eos_cli(), "--version"], bench.env())  # compile the bytecode once
            run_cli([aws, "--version"], bench.env())
            for name, module, what in chosen:
                for where in servers if name in PER_SERVER else [""]:
                    key = f"{name}@{where}" if where else name
                    bench.endpoint = (None if not where else Endpoint(where, server.endpoint_url)
                                      if where == "moto" else seaweed.endpoint())
                    bench.say(f"{key}: {what}")
                    t0, noted = time.monotonic(), len(bench.notes)
                    rows = importlib.import_module(module).run(bench)
                    results[key] = Measured(rows, time.monotonic() - t0, date_now(), this_run,
                                            bench.notes[noted:])
        text = render(kept(args, mode, results), facts(work, aws), mode=mode, command=command)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    rows = [r for m in results.values() for r in m.rows]
    for row in rows:
        mark = "met" if row.met else "NOT MET"
        peer = "" if row.peer_value is None else f" vs {row.peer} {row.peer_value:.4g}"
        print(f"{mark:8} {row.workload}: eoscatalog {row.eos_value:.4g} {row.unit}{peer} "
              f"({row.target})")
    print(f"wrote {args.out} in {time.monotonic() - started:.0f} s")
    return 0


def kept(args: argparse.Namespace, mode: str,
         results: dict[str, Measured]) -> dict[str, Measured]:
    """With ``--only``, the other workloads' results kept from the report being rewritten (when
    it holds results of the same mode), in the report's order."""
    previous: dict[str, Measured] = {}
    if args.only and args.out.exists():
        held = load(args.out.read_text())
        if held is not None and held.mode == mode:
            previous = held.results
    merged = {**previous, **results}
    order = [k for name, _, _ in WORKLOADS
             for k in ([f"{name}@{s}" for s in SERVERS] if name in PER_SERVER else [name])]
    return {key: merged[key] for key in order if key in merged}


def rerender(out: Path) -> int:
    """Write ``out`` again from its data line (the machine facts it recorded, or else this
    machine's now); 2 if it has none."""
    held = load(out.read_text()) if out.exists() else None
    if held is None:
        print(f"{out} holds no results to render", file=sys.stderr)
        return 2
    machine = held.machine or facts(out.parent, aws_cli(say=lambda text: None))
    base = {"full": "", "quick": " --quick", "tiny": " --tiny"}[held.mode]
    out.write_text(render(held.results, machine, mode=held.mode,
                          command="python tests/benchmarks/run.py" + base))
    print(f"wrote {out} from its data line")
    return 0


class Seaweed:
    """SeaweedFS for the per-server workloads, started on a thread at once (it takes seconds
    to be ready) while the other workloads run; stopped at the end."""

    def __init__(self, folder: Path, wanted: bool) -> None:
        self.server = SeaweedServer(folder) if wanted else None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._start, daemon=True)

    def _start(self) -> None:
        try:
            assert self.server is not None
            self.server.start()
        except BaseException as error:  # raised again by endpoint()
            self.error = error

    def __enter__(self) -> Seaweed:
        if self.server is not None:
            self.server.folder.mkdir(parents=True, exist_ok=True)
            self.thread.start()
        return self

    def endpoint(self) -> Endpoint:
        assert self.server is not None
        self.thread.join()
        if self.error is not None:
            raise self.error
        return Endpoint("seaweedfs", self.server.endpoint_url)

    def __exit__(self, *exc: object) -> None:
        if self.server is not None:
            self.thread.join()
            self.server.stop()


if __name__ == "__main__":
    sys.exit(main())
