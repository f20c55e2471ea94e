"""The tools users would pick instead, set up the same way on every machine.

The aws CLI goes into a virtual environment of its own, cached in
``~/.cache/eoscatalog-bench/awscli`` (it pins its own botocore, which must not disturb the one
eoscatalog runs on). boto3's transfer manager is tuned as a careful user would tune it:
multipart from 8 MiB, 8 MiB parts, 8 threads, the same as eoscatalog's defaults.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

CACHE = Path(os.environ.get("EOS_BENCH_CACHE", Path.home() / ".cache" / "eoscatalog-bench"))
AWSCLI_SPEC = "awscli>=1.36,<2"


def aws_cli(say: object = print) -> str:
    """The path of an ``aws`` executable from the cached venv, installed on first use."""
    folder = CACHE / "awscli"
    exe = folder / "bin" / "aws"
    if exe.exists():
        return str(exe)
    if callable(say):
        say(f"installing the aws CLI ({AWSCLI_SPEC}) into {folder} (once)")
    venv.EnvBuilder(with_pip=True, clear=True).create(folder)
    subprocess.run([str(folder / "bin" / "python"), "-m", "pip", "install", "-q",
                    "--disable-pip-version-check", AWSCLI_SPEC], check=True)
    return str(exe)


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
