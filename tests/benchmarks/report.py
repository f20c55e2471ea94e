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

DESIGN = """\
## What makes it fast

- **Hashing reads no byte into Python.** A large file is hashed through memory maps, 32 MiB at
  a time, with BLAKE3's tree hashing on every core (`eoscatalog.core.hashing.hash_file`); reading
  chunks into a buffer costs a copy that, on 2 cores, competes with the hashing threads. Like
  `b3sum`, a file cut short by another program while it is mapped can stop the process;
  `EOS_HASH_MMAP=0` reads in chunks instead.
- **Each file is hashed once.** The hash cache keys on (device, inode, size, mtime, ctime), so
  an unchanged file costs one `stat` (a folder's entries come back in one query). A file hashed
  while quiet (unchanged for 2 s) is not hashed again by its upload when it is still in the
  same state (device, inode, size, mtime, ctime) after the upload read it; a change is
  refused. On 2 cores, where the client and the S3 server share the CPU, the second hash cost
  10-25% of an upload's time.
- **The local store copies in the kernel.** `copy_file_range` (then `sendfile`) moves the bytes;
  a copy that still needs checking is hashed from the page cache while `fsync` writes it out.
- **S3 transfers are parallel both ways.** Uploads above 16 MiB go as multipart uploads of
  8 MiB parts, 8 at a time, each with its CRC32 (checked by the server as it lands, and cheap
  to combine at completion); downloads above one part go as ranged GETs, 8 at a time, all pinned
  to the first answer's ETag and written at their offsets, written out to disk in the
  background (so the cache's fsync finds little left), then hashed as a whole before the
  rename. In-flight memory is bounded by 8 parts.
- **One request per small new blob, none for a known one.** A blob of up to 1 MiB the catalog
  does not know is sent as one PUT with `If-None-Match: *` (a 412 is the dedup: it was already
  there); larger blobs and blobs the catalog names are looked for first, so their bytes are
  never sent twice. The conditional-write probe runs only when something is to be written, so
  an unchanged sync makes exactly one request (the LIST of the log) and writes nothing.
- **The index is SQL, not Python.** Replay inserts with `executemany`, checks version numbers
  one query per 500 names, and a changeset's JSON is written without deep copies. Pinned
  references (`@N`, `@blake3:`) are answered from the index with no request; `latest` costs one
  LIST; `ls` is a range scan of the derived `names` table.
- **Start-up is lazy.** botocore is imported only when S3 is used (an S3 store, an `s3://`
  source), never by `import eoscatalog`, `eos --version` or commands on a local store; the S3
  client uses botocore directly and is built on a thread while the caller scans the folder;
  sqlite-utils is imported without pandas and numpy.
- **A dataset is one changeset, and concurrent writes share them.** In a transaction a Zarr
  chunk costs its blob's PUT and nothing else until the one commit at the end; without one,
  writes queued behind a commit share the next changeset (group commit), a leader waits up to
  50 ms for writes of its process still storing their blobs, and a commit after the writer's
  own skips the LIST of the log (three round trips become two). `eos://` stays synchronous:
  zarr 3 wraps it in fsspec's `AsyncFileSystemWrapper` (a thread per call), and so wrapped it
  writes the Zarr store as fast as s3fs, a natively asynchronous filesystem, on the same server
  (the Zarr rows): an async `eos://` over botocore, which is synchronous, would run its
  requests on threads all the same.
- **A folder version is a query, not a copy.** The folder rows read a folder of 100,000 names
  with 20 versions (`ds/`, 1,000 sub-folders; version 1 one changeset of 100,000 entries,
  each later one changing 2% of the names, adding 0.2% and deleting 0.1%; folder tag `paper`
  on version 10). Nothing is stored per folder version: which changesets are its versions,
  and each name's version in one of them, are read from the index. An index on the versions'
  (namespace, name, version, seq, kind, size) answers those reads without touching the
  table's rows; a non-recursive `ls` groups the sub-folders in SQL (1,000 rows, not 100,000
  records); a folder's list of versions is remembered until the index changes, so reading
  a name in a folder version (`ds@10/d0004/f0000401.csv`, what a Zarr reader of a version
  does for every chunk) costs one primary-key lookup. Before these, on the same data: `ls` of
  the top at a version took 5 s, of a 100-name sub-folder 0.4-0.75 s (SQLite scanned the
  whole namespace to join each name's newest version), and each name read in a version
  0.1-0.6 s.
"""

# Measured by hand with tests/benchmarks/ranged_cost.py, not by this run: kept across reruns.
RANGED = """
## Verified ranged reads

Every range fsspec reads is checked before it is returned (docs/reliability.md, "Verified
ranged reads"). A blob up to 4 MiB is read whole for any range (at most 4 MiB, hashed in about
a millisecond); a larger one is read in whole 256 KiB chunks of its outboard, 32 bytes per
chunk (13 KB for 100 MiB). Measured with `python tests/benchmarks/ranged_cost.py` (the S3 test
server, one 100 MiB blob of random bytes; not part of the run above):

| a 64 KiB footer read of a 100 MiB blob | blob bytes fetched | requests |
|---|---|---|
| unverified, as before | 64 KiB | 1 GET |
| `cat_file(start=-65536)`, first in a process | 256 KiB + the 12,998-byte outboard | 2 GETs |
| `open`, `seek`, `read(65536)`, outboard already read | 256 KiB | 1 GET |
| no outboard yet (stored before), first read | 100 MiB, verified, cached | 13 GETs, 1 PUT |

Uploads of blobs over 4 MiB pay one more PUT (the outboard, 0.012% of the blob's size) and one
more pass of chunk hashing over bytes already in memory or the page cache: 30-78 ms per
100 MiB for the local store (the stored copy, memory-mapped) and 77-92 ms per 100 MiB on the
S3 multipart path (on the thread that reads the parts), the spread being the shared 2-core
machine. Outboards found good are remembered per process, so later ranges of the same blob
cost only their chunks.
"""

# Measured by hand (the code before and after botocore became lazy, in alternation): kept.
IMPORTS = """
## Imports: S3 only when S3 is used

`import eoscatalog` used to import botocore and urllib3 (the store package imported `S3Store`,
and the settings imported the S3 retry module), so every command paid for S3, even
`eos --version` and `eos ls` on the embedded store. Now botocore is imported by the S3 client
(`store/s3/client.py`) when an S3 store or an `s3://` source is first used, and `S3Store` is
loaded by `eoscatalog` and `eoscatalog.store` on first use (`tests/test_lazy_imports.py`
checks that nothing else loads it). Measured on the 2-core machine above, the code before and
after the change run in alternation, median of 21 runs each (a bare `python -c pass` takes
36 ms):

| | before | after |
|---|---|---|
| `python -c "import eoscatalog"` | 273 ms | 218 ms |
| `python -m eoscatalog --version` | 299 ms | 248 ms |
| eoscatalog's cumulative time in `python -X importtime -c "import eoscatalog"` | 217 ms | 173 ms |

A command on S3 imports botocore as before, on its first S3 request's path, so its start-up is
unchanged. What `import eoscatalog` still costs is mostly sqlite-utils (57 ms) and the
catalog's own modules.
"""

# What limits a target when a run misses it, as measured with stage timers and profiles on the
# machine this file was last written on (2 cores). Shown only for rows that say "no".
LIMITS = {
    "get a ": (
        "The shared cache. eoscatalog's parallel ranged GETs move the bytes as fast as "
        "boto3's, and the whole file is hashed before it is renamed into place; with no cache "
        "that is all a get does (its figure is in the details; the whole-file hash, which "
        "boto3 does not do, is 0.13-0.15 s of it per GiB, stage timers). With the cache, "
        "which keeps the verified blob for every later read on the machine, the bytes are "
        "written twice: into the cache, then copied out to the path (this file system has no "
        "reflinks; on XFS or btrfs the copy is a clone). The difference between the two "
        "eoscatalog figures is that second write."
    ),
    "`eos get`": (
        "As for the in-process get: the copy out of the shared cache (no reflinks on this "
        "file system) is the difference; both commands pay an interpreter's start."
    ),
    "put a ": (
        "The server is the bottleneck: moto needs about 2.6-4 s of the total to complete a "
        "1 GiB multipart upload, and it shares the 2 cores with the client. eoscatalog hashes "
        "the file once before it sends it (0.13-0.2 s for 1 GiB: the key must be known "
        "first), asks whether the blob exists (one HEAD) and writes a changeset; run to run "
        "the two tools' times vary by more than that."
    ),
    "`eos put`": (
        "As for the in-process put: the hash that names the blob before it is sent, the "
        "HEAD, the conditional-write probe (three small requests on a process's first "
        "write) and the changeset; the server's time dominates both."
    ),
    "nothing changed": (
        "The sync itself does nothing: 0 files hashed, 0 uploads, 1 request. What is left is "
        "the interpreter starting and importing eoscatalog, sqlite-utils and botocore "
        "(about 0.2 s of imports, measured with `python -X importtime`), building the S3 "
        "client (about 0.1 s, on a thread) and, for 10,000 files, 0.19 s of work per run: "
        "scanning the folder (0.07 s), reading 10,000 index rows into records (0.075 s), "
        "the hash-cache lookup (0.02 s) and the plan (0.02 s). 0.1x of aws s3 sync's "
        "3.2 s is 0.32 s, less than eoscatalog's start-up and imports alone."
    ),
    "Zarr store to S3 without a transaction": (
        "One changeset per object (628), and threads of one process commit to a namespace one "
        "at a time (log/replay.py holds a lock per namespace), each commit three round trips "
        "in turn: the LIST of the log (6.9 ms on the unloaded machine), the conditional PUT "
        "of the changeset (7.2 ms) and a HEAD of it for the store's write time (4.4 ms). "
        "Timers around eoscatalog's steps, machine unloaded: 19.5 ms a commit, 12.2 s of "
        "commits one after another in a 13.5 s write; the chunk PUTs run in parallel and cost "
        "what s3fs's do. What removes it: a transaction (one changeset: the first Zarr row), "
        "or group commit (concurrent writes sharing changesets, being built). A commit on the "
        "seq this process has just written could also skip the LIST (an append that lost a "
        "race is refused by the store and replayed, as now): one round trip of three."
    ),
    "Zarr store to the local store": (
        "Durability per chunk: each chunk's blob goes to a temporary file that is fsynced and "
        "linked into place (1.5-1.7 ms a chunk, 628 of them, on dask's 2 threads), where the "
        "peer writes 625 files and syncs once. Measured apart on the unloaded machine: 1.25x "
        "and 1.68x (1.69 s against 1.35 s, 1.83 s against 1.09 s); this run's load average "
        "was about 5.5 on 2 cores (notes below)."
    ),
}


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
        "`--only local,s3,sync,catalog,memory,zarr,folders,peers` reruns some workloads (the",
        "others' rows are kept from this file, from its data line at the end); `--server moto`",
        "or `--server seaweedfs` runs the per-server workload (`peers`) on one server only",
        "(default: both); `--runs N` sets the timed runs per contender; `--out FILE` writes",
        "elsewhere.",
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
    out += [setup(machine) + "\n" + DESIGN + RANGED + IMPORTS, dump(mode, results, machine), ""]
    return "\n".join(out)
