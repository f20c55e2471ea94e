"""eos beside s5cmd, the aws CLI and tuned boto3, all as commands, on one server (run.py runs
this workload once per server: moto and SeaweedFS).

In each run, in turn (s5cmd, aws, boto3, eos): put a large file, get it back (eos from a fresh
home: a new machine), sync a small tree up (``sizes.few_files`` files of 4-64 KiB), sync a large
tree up (``sizes.sync_files``), sync that prefix down into an empty folder (eos from a fresh
home), and sync the large tree up again with nothing changed (eos from the home of its first
sync). Each tool works on prefixes of its own, new for the run, deleted after it (untimed).
Peak memory is each command's own (``wait4``), read from the same runs. Then one more eos run
of each command under the sampling profiler (sampler.py) says where eos's time goes, and a
large ``eos put`` killed at half its bytes is rerun (w_resume.py).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from harness import Bench, Row, eos_cli, read_into_page_cache, run_cli, write_file
from peer_tools import EOS_PREFIX, TOOLS, Tools
from sampler import summary
from w_resume import killed_put
from w_sync import build_tree

from eoscatalog.cli.output import format_size

HERE = Path(__file__).resolve().parent
MEMORY_MB = 200
# phase -> (what the row says, the target's ratio to s5cmd)
TIMED = {
    "put": ("put a {big} file (`eos put`; `s5cmd cp`)", 1.0),
    "get": ("get a {big} file (`eos get`; `s5cmd cp`)", 1.0),
    "few": ("upload {few} small files (4-64 KiB), first sync", 1.0),
    "up": ("first sync of {many} small files up", 1.0),
    "down": ("download sync of {many} small files", 1.0),
    "unchanged": ("unchanged re-sync of {many} files", 1.0),
}


class PeerRuns:
    """The phases of one run ``i`` for every tool, and the profile runs after them."""

    def __init__(self, bench: Bench, tools: Tools, big: Path, few: Path, many: Path) -> None:
        self.bench, self.t = bench, tools
        self.big, self.few, self.many = big, few, many
        self.out = bench.work / "peers-out"

    def fresh_out(self) -> Path:
        shutil.rmtree(self.out, ignore_errors=True)
        self.out.mkdir(parents=True)
        return self.out

    def once(self, i: int) -> None:
        t, tag = self.t, f"{self.t.endpoint.name}-{i}"
        for tool in TOOLS[:3]:
            t.peer("put", tool, "cp", str(self.big), t.s3(f"{tool}-{i}/big.bin"))
        t.eos("put", ["put", str(self.big), "big.bin"], f"put-{i}", f"eos-big-{i}")
        for tool in TOOLS[:3]:
            t.peer("get", tool, "cp", t.s3(f"{tool}-{i}/big.bin"),
                   str(self.fresh_out() / "big.bin"))
        self.fresh_out()
        t.eos("get", ["get", "big.bin", str(self.out / "big.bin")], f"get-{i}", f"eos-big-{i}")
        for phase, tree in (("few", self.few), ("up", self.many)):
            for tool in TOOLS[:3]:
                t.peer(phase, tool, "sync", f"{tree}/", t.s3(f"{tool}-{phase}-{i}/"))
            t.eos(phase, ["sync", "--quiet", str(tree), EOS_PREFIX], f"{phase}-{i}",
                  f"eos-{phase}-{i}")
        for tool in TOOLS[:3]:
            t.peer("down", tool, "sync", t.s3(f"{tool}-up-{i}/"), f"{self.fresh_out()}/")
        t.eos("down", ["sync", "--quiet", EOS_PREFIX, str(self.fresh_out())], f"down-{i}",
              f"eos-up-{i}")
        self.fresh_out()
        for tool in TOOLS[:3]:
            t.peer("unchanged", tool, "sync", f"{self.many}/", t.s3(f"{tool}-up-{i}/"))
        t.eos("unchanged", ["sync", "--quiet", str(self.many), EOS_PREFIX], f"up-{i}",
              f"eos-up-{i}")
        self.bench.say(f"peers on {tag}: run {i + 1} timed; deleting its objects (untimed)")
        for prefix in ("s5cmd-", "aws-", "boto3-", "eos-"):
            t.purge(prefix)
        shutil.rmtree(self.out, ignore_errors=True)

    def profile(self) -> dict[str, str]:
        """One more eos run of each phase under the sampler: phase -> summary."""
        t, out = self.t, {}
        steps = {
            "put": (["put", str(self.big), "big.bin"], "prof-put"),
            "get": (["get", "big.bin", str(self.fresh_out() / "big.bin")], "prof-get"),
            "up": (["sync", "--quiet", str(self.many), EOS_PREFIX], "prof-up"),
            "unchanged": (["sync", "--quiet", str(self.many), EOS_PREFIX], "prof-up"),
            "down": (["sync", "--quiet", EOS_PREFIX, str(self.out / "tree")], "prof-down"),
        }
        for phase, (args, home) in steps.items():
            store = "eos-prof-big" if phase in ("put", "get") else "eos-prof-tree"
            report = self.bench.work / f"profile-{phase}.json"
            run_cli([sys.executable, str(HERE / "sampler.py"), str(report), *args],
                    t.eos_env(home, store))
            out[phase] = summary(json.loads(report.read_text()))
        t.purge("eos-prof-")
        shutil.rmtree(self.out, ignore_errors=True)
        return out


def rows(bench: Bench, t: Tools, names: dict[str, str], profiles: dict[str, str]) -> list[Row]:
    """The table's rows for one server, from the usages of its runs."""
    server, out = t.endpoint.name, []
    for phase, (what, limit) in TIMED.items():
        walls = t.walls(phase)
        ratio = walls["eos"] / walls["s5cmd"]
        detail = f"median CPU (user + system): {t.cpu(phase)}"
        profile = (f" One more eos run under the sampling profiler: {profiles[phase]}"
                   if phase in profiles else "")
        why = {peer: f"eos took {walls['eos']:.2f} s against {peer}'s {walls[peer]:.2f} s; "
                     f"CPU {t.cpu(phase)}.{profile}" for peer in ("s5cmd", "aws")}
        out.append(Row(what.format(**names), "s5cmd", walls["s5cmd"], walls["eos"], "s",
                       f"<= {limit:.1f}x s5cmd", ratio <= limit, detail, server, walls,
                       why["s5cmd"]))
        if phase == "unchanged":
            aws = walls["aws"]
            out.append(Row(f"unchanged re-sync of {names['many']} files, against `aws s3 sync`",
                           "aws", aws, walls["eos"], "s", "<= 0.1x aws s3 sync",
                           walls["eos"] / aws <= 0.1, detail, server, walls, why["aws"]))
    for phase, what in (("put", f"`eos put` of a {names['big']} file"),
                        ("get", f"`eos get` of a {names['big']} file"),
                        ("up", f"the first sync of {names['many']} files")):
        peaks = t.peak(phase)
        out.append(Row(f"peak memory of {what}", "s5cmd", peaks["s5cmd"], peaks["eos"], "MB",
                       f"< {MEMORY_MB} MB", peaks["eos"] < MEMORY_MB,
                       "largest ru_maxrss of the timed runs (wait4: the command's own process)",
                       server, peaks, f"eos peaked at {peaks['eos']:.0f} MB."))
    return out


def run(bench: Bench) -> list[Row]:
    """The per-server table's rows, on ``bench.endpoint``."""
    endpoint = bench.endpoint
    assert endpoint is not None, "a per-server workload: run.py sets bench.endpoint"
    sizes = bench.sizes
    big = write_file(bench.work / "data" / "big.bin", sizes.big_file, seed=1)
    bench.say(f"peers on {endpoint.name}: building {sizes.sync_files} and {sizes.few_files} "
              "small files")
    many = build_tree(bench.work / "data" / f"sync-{sizes.sync_files}", sizes.sync_files)
    few = build_tree(bench.work / "data" / f"sync-{sizes.few_files}", sizes.few_files)
    for path in [big, *sorted(many.rglob("*.bin")), *sorted(few.rglob("*.bin"))]:
        read_into_page_cache(path)
    tools = Tools(bench, endpoint)
    run_cli([*eos_cli(), "--version"], tools.env())  # eoscatalog's bytecode compiled once
    runs = PeerRuns(bench, tools, big, few, many)
    for i in range(sizes.runs):
        bench.say(f"peers on {endpoint.name}: run {i + 1}/{sizes.runs}")
        runs.once(i)
    bench.say(f"peers on {endpoint.name}: eos under the sampling profiler")
    profiles = runs.profile()
    names = {"big": format_size(sizes.big_file), "few": f"{sizes.few_files:,}",
             "many": f"{sizes.sync_files:,}"}
    out = rows(bench, tools, names, profiles)
    bench.say(f"peers on {endpoint.name}: a {format_size(sizes.memory_file)} put killed at "
              "half its bytes, then rerun")
    out.append(killed_put(bench, tools))
    return out
