"""Syncing a folder of many small files to S3: ``eos sync`` against ``aws s3 sync``.

The tree is ``sizes.sync_files`` files of 4-64 KiB in folders of 500 (seeded, so the same on
every machine). Each run copies it afresh, and both tools sync that copy, as commands (each
pays its interpreter's start), to a destination of their own that is new for the run: a first
sync, then a re-sync after 1% of the files were rewritten (the same files for both, each to a
new size so ``aws s3 sync``, which compares size and time, sees them), then a re-sync with
nothing changed. The server counts each tool's requests and bytes; for eoscatalog's unchanged
re-sync, ``eos sync --json`` reports how many files it read to hash, which must be 0, as must
its PUT requests.

eoscatalog runs from this working tree (``PYTHONPATH``) with its bytecode cached under the
scratch folder, as an installed package would have it (the aws CLI's venv has its own), even
when ``PYTHONDONTWRITEBYTECODE`` is set.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import replace
from pathlib import Path

from harness import (
    Bench,
    Contender,
    Row,
    alternate,
    eos_cli,
    flush_disk,
    random_bytes,
    ratio_row,
    run_cli,
)
from peers import aws_version
from server import Counts

ROOT = Path(__file__).resolve().parent.parent.parent
PHASES = ("first", "changed", "unchanged")
PER_FOLDER = 500
CHANGED_EVERY = 100  # 1% of the files


def build_tree(root: Path, count: int) -> Path:
    """``count`` files of 4-64 KiB (seeded), built once and kept if already complete."""
    done = root / ".complete"
    if done.exists() and done.read_text() == str(count):
        return root
    shutil.rmtree(root, ignore_errors=True)
    for i in range(count):
        size = 4096 + (i * 7919) % (60 * 1024 + 1)
        path = root / f"d{i // PER_FOLDER:03d}" / f"f{i:06d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(random_bytes(size, seed=i))
    done.write_text(str(count))
    return root


def change_some(tree: Path, run: int) -> int:
    """Rewrite every 100th file with new bytes and a new size; time it 5 s in the past (the
    edit was not made in the very second of the sync). Returns how many were changed."""
    files = sorted(p for p in tree.rglob("*.bin"))[::CHANGED_EVERY]
    for k, path in enumerate(files):
        old = path.stat().st_size
        path.write_bytes(random_bytes(old - 1024 if old > 8192 else old + 1024,
                                      seed=1_000_000 + 1000 * run + k))
        then = path.stat().st_mtime - 5
        os.utime(path, (then, then))
    return len(files)


class SyncRuns:
    """Both tools' syncs of one run's copy of the tree, with what the server counted."""

    def __init__(self, bench: Bench, tree: Path) -> None:
        self.bench, self.tree = bench, tree
        self.copy = bench.work / "sync-copy"
        self.peer_bucket = bench.bucket("peer-sync")
        self.counts: dict[tuple[str, str], list[Counts]] = {}
        self.hashed: list[int] = []  # files eos read to hash in each unchanged re-sync
        self.pycache = bench.work / "pycache"

    def prepare(self, i: int) -> None:
        """A fresh copy of the tree (old mtimes kept), written out before anything is timed."""
        shutil.rmtree(self.copy, ignore_errors=True)
        shutil.copytree(self.tree, self.copy, ignore=shutil.ignore_patterns(".complete"))
        flush_disk()

    def eos_env(self, i: int) -> dict[str, str]:
        """A home and a bucket new for run ``i``; bytecode cached (see the module's note)."""
        env = self.bench.env(
            EOS_HOME=str(self.bench.work / "homes" / f"sync-{i}"),
            EOS_STORE=f"s3://{self.bench.bucket(f'eos-sync-{i}')}/org", EOS_USER="bench",
            AWS_ENDPOINT_URL=self.bench.server.endpoint_url, PYTHONPATH=str(ROOT),
            PYTHONPYCACHEPREFIX=str(self.pycache),
        )
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        return env

    def _count(self, tool: str, phase: str, bucket: str, action: object) -> object:
        self.bench.server.reset()
        out = action()  # type: ignore[operator]
        self.counts.setdefault((tool, phase), []).append(self.bench.server.counts(bucket))
        return out

    def aws(self, i: int, phase: str) -> None:
        """``aws s3 sync`` of the copy to this run's prefix."""
        argv = [self.bench.aws, "s3", "sync", str(self.copy), f"s3://{self.peer_bucket}/run-{i}/",
                "--endpoint-url", self.bench.server.endpoint_url, "--only-show-errors"]
        self._count("aws", phase, self.peer_bucket, lambda: run_cli(argv, self.bench.env()))

    def eos(self, i: int, phase: str) -> None:
        """``eos sync`` of the copy (``--json`` when nothing changed: it says what was hashed)."""
        env = self.eos_env(i)
        output = "--json" if phase == "unchanged" else "--quiet"
        argv = [*eos_cli(), "sync", output, str(self.copy), "eos://users/bench/data/"]
        out = self._count("eos", phase, f"eos-sync-{i}", lambda: run_cli(argv, env))
        if phase == "unchanged":
            self.hashed.append(int(json.loads(str(out))["hashed"]))

    def detail(self, phase: str) -> str:
        """Both tools' requests and bytes in the last run of ``phase``."""
        return (f"eos: {self.counts['eos', phase][-1].describe()}; "
                f"aws: {self.counts['aws', phase][-1].describe()}")


def run(bench: Bench) -> list[Row]:
    """Rows for a first sync, a re-sync with 1% changed and one with nothing changed."""
    count = bench.sizes.sync_files
    bench.say(f"sync: building {count} files of 4-64 KiB")
    tree = build_tree(bench.work / "data" / f"sync-{count}", count)
    s = SyncRuns(bench, tree)
    run_cli([*eos_cli(), "--version"], s.eos_env(0))  # compile eoscatalog's bytecode once
    times: dict[str, dict[str, list[float]]] = {p: {"aws": [], "eos": []} for p in PHASES}
    changed = 0
    for i in range(bench.sizes.runs):
        s.prepare(i)
        for phase in PHASES:
            if phase == "changed":
                changed = change_some(s.copy, i)
            bench.say(f"sync run {i + 1}/{bench.sizes.runs}: {phase}")
            got = alternate(1, [Contender("aws", lambda _, p=phase, n=i: s.aws(n, p)),
                                Contender("eos", lambda _, p=phase, n=i: s.eos(n, p))])
            for tool, values in got.items():
                times[phase][tool] += values
    shutil.rmtree(s.copy, ignore_errors=True)
    peer = f"aws s3 sync ({aws_version(bench.aws).split()[0]})"
    first = ratio_row(f"`eos sync` {count} small files to S3, first time", peer,
                      times["first"], "aws", "eos", 1.0, "<= 1.0x", s.detail("first"))
    again = ratio_row(f"`eos sync` again, {changed} of {count} files changed", peer,
                      times["changed"], "aws", "eos", 0.5, "<= 0.5x", s.detail("changed"))
    puts = [c.by_method.get("PUT", 0) + c.by_method.get("POST", 0)
            for c in s.counts["eos", "unchanged"]]
    nothing = ratio_row(
        f"`eos sync` again, nothing changed ({count} files)", peer, times["unchanged"],
        "aws", "eos", 0.1, "<= 0.1x, 0 files hashed, 0 uploads",
        f"{s.detail('unchanged')}; eos hashed {max(s.hashed)} files and sent {max(puts)} "
        f"PUT/POST in the worst of {len(puts)} runs",
    )
    nothing = replace(nothing, met=nothing.met and max(s.hashed) == 0 and max(puts) == 0)
    return [first, again, nothing]
