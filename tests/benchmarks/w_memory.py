"""Peak memory of ``eos put`` and ``eos get`` of a large file through S3, against ``aws s3 cp``.

Each command runs under a small wrapper that reports its child's peak resident set
(``ru_maxrss``, which counts every resident page, mapped file pages included). One run each:
a peak is not a noisy figure.
"""

from __future__ import annotations

import shutil
import sys

from harness import Bench, Row, eos_cli, run_cli, write_file

from eoscatalog.cli.output import format_size

LIMIT_MB = 200
WRAPPER = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:]).returncode\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)\n"
    "sys.exit(code)\n"
)


def peak_rss(argv: list[str], env: dict[str, str]) -> int:
    """Run ``argv`` and return its peak resident memory in bytes (Linux reports KiB)."""
    out = run_cli([sys.executable, "-c", WRAPPER, *argv], env)
    return int(out.strip().splitlines()[-1])


def run(bench: Bench) -> list[Row]:
    """Peak memory rows for put and get."""
    size = bench.sizes.memory_file
    source = write_file(bench.work / "data" / "memory.bin", size, seed=4)
    endpoint = bench.server.endpoint_url
    bucket = bench.bucket("memory")
    out = bench.work / "memory-out"
    out.mkdir(parents=True, exist_ok=True)
    home = bench.work / "homes" / "memory"
    env = bench.env(EOS_HOME=str(home), EOS_STORE=f"s3://{bucket}/org", EOS_USER="bench",
                    AWS_ENDPOINT_URL=endpoint)
    aws = [bench.aws, "s3", "cp", "--endpoint-url", endpoint, "--only-show-errors"]
    bench.say(f"peak memory: eos put of {format_size(size)}")
    eos_put = peak_rss([*eos_cli(), "put", str(source), "memory.bin"], env)
    shutil.rmtree(home / "cache", ignore_errors=True)  # the get must download
    bench.say(f"peak memory: eos get of {format_size(size)}")
    eos_get = peak_rss([*eos_cli(), "get", "memory.bin", str(out / "eos.bin")], env)
    (out / "eos.bin").unlink()
    bench.say(f"peak memory: aws s3 cp of {format_size(size)}, both ways")
    aws_put = peak_rss([*aws, str(source), f"s3://{bucket}/peer/memory.bin"], bench.env())
    aws_get = peak_rss([*aws, f"s3://{bucket}/peer/memory.bin", str(out / "aws.bin")],
                       bench.env())
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(home, ignore_errors=True)
    mb = 1_000_000
    return [
        Row(f"peak memory of `eos put` of a {format_size(size)} file to S3", "`aws s3 cp` up",
            aws_put / mb, eos_put / mb, "MB", f"< {LIMIT_MB} MB resident",
            eos_put < LIMIT_MB * mb, "ru_maxrss of the command's process"),
        Row(f"peak memory of `eos get` of a {format_size(size)} file from S3",
            "`aws s3 cp` down", aws_get / mb, eos_get / mb, "MB", f"< {LIMIT_MB} MB resident",
            eos_get < LIMIT_MB * mb, "ru_maxrss of the command's process"),
    ]
