"""docs/performance.md: machine facts, the results table, request accounting, design notes.

Everything in the file is written by :func:`render` from one run, so the figures, the machine
they came from and the command that made them never drift apart.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from harness import Row
from peers import aws_version, s5cmd_executable, tool_version, versions
from report_peers import setup, tables
from report_texts import DESIGN, IMPORTS, LIMITS, RANGED, SMALL_FILES


@dataclass
class Measured:
    """One workload's rows, as one run measured them (``run.py --only`` reruns some workloads
    and keeps the others' from the report it rewrites)."""

    rows: list[Row]
    seconds: float
    date: str
    command: str
    notes: list[str] = field(default_factory=list)


# The figures, as data, at the end of the report (an HTML comment: not shown).
DATA_OPEN, DATA_CLOSE = "<!-- results, read back by run.py --only: ", " -->"


@dataclass
class Held:
    """What a report's data line holds."""

    mode: str
    results: dict[str, Measured]
    machine: dict[str, str]  # the facts of the run that wrote it ({} if not recorded)


def dump(mode: str, results: dict[str, Measured], machine: dict[str, str]) -> str:
    """The report's data line: ``mode``, every workload's results and the machine, as JSON.

    >>> r = {"x": Measured([Row("w", "p", 1.0, 2.0, "s", "t", False, "d -->")], 3.0, "now", "c")}
    >>> load(dump("tiny", r, {"CPU": "?"})) == Held("tiny", r, {"CPU": "?"})
    True
    """
    data = {"mode": mode, "machine": machine, "results": {
        name: {**asdict(m), "rows": [asdict(r) for r in m.rows]} for name, m in results.items()}}
    return DATA_OPEN + json.dumps(data).replace("-->", "--\\u003e") + DATA_CLOSE


def load(text: str) -> Held | None:
    """What a report's data line holds (None if it has none)."""
    start = text.rfind(DATA_OPEN)
    if start < 0:
        return None
    body = text[start + len(DATA_OPEN):]
    data = json.loads(body[:body.index(DATA_CLOSE)])
    results = {name: Measured(**{**m, "rows": [Row(**r) for r in m["rows"]]})
               for name, m in data["results"].items()}
    return Held(data["mode"], results, data.get("machine", {}))


def date_now() -> str:
    """Now, as the report writes dates."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _provenance(results: dict[str, Measured], command: str) -> list[str]:
    """Which run measured which workloads, when some were rerun on their own (``--only``)."""
    runs: dict[tuple[str, str], list[str]] = {}
    for name, m in results.items():
        runs.setdefault((m.command, m.date), []).append(name)
    if len(runs) <= 1:
        return []
    said = "; ".join(f"{', '.join(names)} by `{cmd}` ({date})"
                     for (cmd, date), names in runs.items())
    return ["", f"Not every workload comes from the same run: {said}. The machine facts below "
                "are the latest run's."]


def _limits(rows: Sequence[Row]) -> list[str]:
    out = []
    for r in rows:
        if r.met:
            continue
        why = r.limit or next((text for key, text in LIMITS.items() if key in r.workload),
                              "not analysed yet")
        where = f" (on {r.server})" if r.server else ""
        out.append(f"- **{r.workload}**{where} ({r.target}; here {r.ratio or r.eos_value:.2f}"
                   f"{'x' if r.ratio else ' ' + r.unit}): {why}")
    return out


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 2**20:.1f} GiB"
    except OSError:
        pass
    return "?"


def _filesystem(path: Path) -> str:
    done = subprocess.run(["stat", "-f", "-c", "%T", str(path)], capture_output=True, text=True)
    return done.stdout.strip() or "?"


def facts(work: Path, aws: str) -> dict[str, str]:
    """What the figures depend on: the machine, the file system, the software."""
    v = versions()
    return {
        "date": date_now(),
        "CPU": f"{_cpu()}, {os.cpu_count()} cores",
        "memory": _memory(),
        "system": f"{platform.system()} {platform.release()}",
        "scratch file system": _filesystem(work),
        "Python": v.pop("python"),
        "packages": ", ".join(f"{k} {val}" for k, val in v.items()),
        "aws CLI": aws_version(aws),
        "S3 server": ("moto's server in its own process on 127.0.0.1 "
                      "(tests/benchmarks/server.py: GETs of large objects stream just the range "
                      "asked for, as S3 does; moto copies the whole object for each); "
                      "SeaweedFS for the per-server tables"),
        "SeaweedFS": (f"weed {tool_version(['weed', 'version'])} "
                      "(`weed server -s3`, tests/seaweed.py)"),
        "s5cmd": _s5cmd_version(),
    }


def _s5cmd_version() -> str:
    try:
        return f"s5cmd {tool_version([s5cmd_executable(), 'version'])}"
    except Exception as error:  # no wheel: the report says so instead of failing
        return f"? ({error})"


def _num(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "s":
        return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"
    if unit == "ms":
        return f"{value:.3f} ms"
    return f"{value:.4g} {unit}"


def render(results: dict[str, Measured], machine: dict[str, str], *, mode: str,
           command: str) -> str:
    """The whole of docs/performance.md, its data line last."""
    rows = [r for m in results.values() for r in m.rows]
    main = [r for r in rows if not r.server]
    notes = [n for m in results.values() for n in m.notes]
    total = sum(m.seconds for m in results.values())
    met = sum(r.met for r in rows)
    out = [
        "# Performance",
        "",
        "eoscatalog against the tools users would pick instead (the aws CLI, boto3, the BLAKE3",
        "library, hashlib, `cp` + `sync`), side by side in one run on one machine and one",
        "S3-compatible server. Each figure is the median of the runs, taken in alternation",
        "(peer, eoscatalog, peer, ...). Ratios are eoscatalog's time over the peer's: below 1 is",
        "faster. No timing is asserted in the test suite; this file is where the figures live.",
        "",
        f"**{met} of {len(rows)} targets met** ({mode} mode, workloads {total:.0f} s).",
        "",
        "## Rerun it",
        "",
        "```bash",
        'pip install ".[test]"',
        "python tests/benchmarks/run.py            # the sizes below; rewrites this file",
        "python tests/benchmarks/run.py --quick    # smaller sizes",
        "```",
        "",
        "`--only local,s3,sync,catalog,memory,zarr,folders,preview,ui,peers` reruns some",
        "workloads (the others' rows are kept from this file, from its data line at the end);",
        "`--server moto` or `--server seaweedfs` runs the per-server workload (`peers`) on one",
        "server only (default: both); `--runs N` sets the timed runs per contender; `--out FILE`",
        "writes elsewhere.",
        "The aws CLI is installed once into `~/.cache/eoscatalog-bench/awscli`.",
        "",
        f"This file was written by `{command}`.",
        *_provenance(results, command),
        "",
        "## Machine",
        "",
        *[f"- **{k}**: {v}" for k, v in machine.items()],
        "",
        "## Results",
        "",
        "| workload | peer | peer | eoscatalog | ratio | target | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in main:
        ratio = "—" if r.ratio is None else f"{r.ratio:.2f}x"
        out.append(f"| {r.workload} | {r.peer} | {_num(r.peer_value, r.unit)} | "
                   f"{_num(r.eos_value, r.unit)} | {ratio} | {r.target} | "
                   f"{'yes' if r.met else '**no**'} |")
    out += tables(rows)
    limits = _limits(rows)
    if limits:
        out += ["", "## Targets not met: what limits them", "", *limits]
    out += ["", "## Requests, bytes and details", ""]
    out += [f"- **{r.workload}**{f' (on {r.server})' if r.server else ''} — {r.detail}"
            for r in rows if r.detail]
    if notes:
        out += ["", "## Notes from this run", "", *[f"- {n}" for n in notes]]
    out += ["", "## Time per workload", "",
            *[f"- {name}: {m.seconds:.0f} s" for name, m in results.items()], ""]
    out += [setup(machine) + "\n" + DESIGN + SMALL_FILES + RANGED + IMPORTS,
            dump(mode, results, machine), ""]
    return "\n".join(out)
