"""The four tools of the per-server table, as commands against one server: s5cmd, the aws CLI,
tuned boto3 (``boto3_peer.py``) and ``eos``, with what each run cost.

Every tool puts, gets and syncs with the same arguments in its own spelling (:meth:`Tools.argv`).
Each run is timed as a command, start-up included, and ``wait4`` reports its CPU time and peak
memory (``harness.run_measured``). eos gets a home and a store prefix named by the caller: a
fresh home is a new machine (empty index and cache), the same home a rerun on the same machine.
"""

from __future__ import annotations

import sys
from pathlib import Path

from harness import Bench, Endpoint, Usage, credentials, eos_cli, median, run_measured
from peers import s5cmd_executable

HERE = Path(__file__).resolve().parent
TOOLS = ("s5cmd", "aws", "boto3", "eos")
EOS_PREFIX = "eos://users/bench/data/"


class Tools:
    """The tools against ``endpoint``: commands, and the usage of every timed run by phase."""

    def __init__(self, bench: Bench, endpoint: Endpoint) -> None:
        self.bench, self.endpoint, self.url = bench, endpoint, endpoint.url
        self.s5cmd = s5cmd_executable()
        self.bucket = bench.bucket("peers", self.url)
        self.usage: dict[str, dict[str, list[Usage]]] = {}  # phase -> tool -> runs

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a peer's command: the fake credentials and the endpoint."""
        return self.bench.env(AWS_ENDPOINT_URL=self.url, **extra)

    def home(self, name: str) -> Path:
        return self.bench.work / "homes" / f"{self.endpoint.name}-{name}"

    def eos_env(self, home: str, store: str) -> dict[str, str]:
        """eos with the home ``home`` (under the scratch folder) on the store prefix ``store``."""
        return self.env(EOS_HOME=str(self.home(home)), EOS_USER="bench",
                        EOS_STORE=f"s3://{self.bucket}/{store}")

    def s3(self, prefix: str) -> str:
        return f"s3://{self.bucket}/{prefix}"

    def argv(self, tool: str, op: str, source: str, dest: str) -> list[str]:
        """A peer's command for ``op`` (``cp`` or ``sync``) from ``source`` to ``dest``, each a
        local path or an ``s3://`` URL (a folder or prefix ends with ``/`` for sync)."""
        if tool == "s5cmd":
            if op == "sync" and source.startswith("s3://"):
                source += "*"  # s5cmd syncs a prefix down by its wildcard
            return [self.s5cmd, "--endpoint-url", self.url, op, source, dest]
        if tool == "aws":
            return [self.bench.aws, "s3", op, source, dest, "--endpoint-url", self.url,
                    "--only-show-errors"]
        if tool == "boto3":
            verb = op if op == "sync" else "put" if dest.startswith("s3://") else "get"
            return [sys.executable, str(HERE / "boto3_peer.py"), verb, source, dest]
        raise ValueError(f"no command for {tool!r}: use eos_argv")

    def timed(self, phase: str, tool: str, argv: list[str], env: dict[str, str]) -> Usage:
        """Run one command, keep its usage under ``phase``, return it."""
        usage = run_measured(argv, env)
        self.usage.setdefault(phase, {}).setdefault(tool, []).append(usage)
        return usage

    def eos(self, phase: str, args: list[str], home: str, store: str) -> Usage:
        """``eos ARGS`` timed under ``phase``, with the home and store prefix given."""
        return self.timed(phase, "eos", [*eos_cli(), *args], self.eos_env(home, store))

    def peer(self, phase: str, tool: str, op: str, source: str, dest: str) -> Usage:
        return self.timed(phase, tool, self.argv(tool, op, source, dest), self.env())

    def walls(self, phase: str) -> dict[str, float]:
        """The median wall time of each tool in ``phase``."""
        return {t: median([u.wall for u in runs]) for t, runs in self.usage[phase].items()}

    def cpu(self, phase: str) -> str:
        """``"s5cmd 0.81 s, aws 4.1 s, ..."``: each tool's median CPU time (user + system)."""
        return ", ".join(f"{t} {median([u.cpu for u in runs]):.2f} s"
                         for t, runs in self.usage[phase].items())

    def peak(self, phase: str) -> dict[str, float]:
        """Each tool's largest peak resident memory in ``phase``, in MB."""
        return {t: max(u.max_rss for u in runs) / 1e6 for t, runs in self.usage[phase].items()}

    def purge(self, prefix: str) -> None:
        """Delete every object under ``prefix`` (untimed: space for the next run)."""
        import boto3

        client = boto3.client("s3", endpoint_url=self.url, **credentials())
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket,
                                                                      Prefix=prefix):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:
                client.delete_objects(Bucket=self.bucket, Delete={"Objects": keys})
