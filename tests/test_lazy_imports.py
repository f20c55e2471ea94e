"""S3 is imported only when S3 is used: ``import eoscatalog``, ``eos --version`` and commands on
a local store load no botocore, boto3, s3transfer or urllib3; an S3 store or an ``s3://`` source
loads them on first use, with the credential redaction installed before any request is logged.

Each check runs in a fresh interpreter (this one imported botocore long ago).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import make_bucket
from test_security import SECRET_ENV, leaks

ROOT = Path(__file__).resolve().parent.parent
S3_LIBRARIES = ("boto3", "botocore", "s3transfer", "urllib3")

# Runs `python -m eoscatalog ARGS...` and writes, at exit, every module it imported.
PROBE = """
import atexit, json, logging, os, runpy, sys
def report():
    with open(os.environ["PROBE_OUT"], "w") as f:
        json.dump(sorted(sys.modules), f)
atexit.register(report)
if os.environ.get("PROBE_DEBUG"):
    logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
sys.argv = ["eos", *sys.argv[1:]]
runpy.run_module("eoscatalog", run_name="__main__", alter_sys=True)
"""


def run_eos(tmp_path: Path, *args: str, **env: str) -> tuple[subprocess.CompletedProcess[str],
                                                              list[str]]:
    """Run ``eos ARGS`` in a fresh interpreter: its result and every module it imported."""
    out = tmp_path / "modules.json"
    out.unlink(missing_ok=True)
    variables = {**os.environ, "EOS_HOME": str(tmp_path / "home"), "EOS_USER": "ada",
                 "PYTHONPATH": str(ROOT), "PROBE_OUT": str(out), **env}
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], env=variables,
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    return proc, json.loads(out.read_text())


def probe(tmp_path: Path, *args: str, **env: str) -> tuple[subprocess.CompletedProcess[str],
                                                             list[str]]:
    """Run ``eos ARGS`` in a fresh interpreter: its result and the S3 libraries it imported."""
    proc, modules = run_eos(tmp_path, *args, **env)
    return proc, sorted({m.split(".")[0] for m in modules} & set(S3_LIBRARIES))


def test_import_eoscatalog_loads_no_s3_library_until_s3store_is_asked_for() -> None:
    script = f"""
import json, sys
def loaded():
    return sorted({{m.split(".")[0] for m in sys.modules}} & set({S3_LIBRARIES!r}))
import eoscatalog, eoscatalog.store
before = loaded()
listed = "S3Store" in eoscatalog.__all__ and "S3Store" in dir(eoscatalog)
from eoscatalog import S3Store
from eoscatalog.store.s3.store import S3Store as defined
same = S3Store is defined is eoscatalog.store.S3Store is eoscatalog.S3Store
print(json.dumps([before, listed, same, loaded()]))
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    before, listed, same, after = json.loads(proc.stdout)
    assert before == []
    assert listed and same
    assert "botocore" in after  # asking for S3Store imports it, as it must


@pytest.mark.parametrize("args", [("--version",), ("--help",), ("ls",)])
def test_commands_on_a_local_store_load_no_s3_library(tmp_path: Path,
                                                      args: tuple[str, ...]) -> None:
    proc, loaded = probe(tmp_path, *args)
    assert proc.returncode == 0, proc.stderr
    assert loaded == [], args


def test_writing_and_reading_on_the_embedded_store_loads_no_s3_library(tmp_path: Path) -> None:
    data = tmp_path / "data.txt"
    data.write_bytes(b"local bytes\n")
    runs = [probe(tmp_path, "put", str(data), "p/data.txt"),
            probe(tmp_path, "ls", "p/"),
            probe(tmp_path, "cat", "p/data.txt")]
    assert [proc.returncode for proc, _ in runs] == [0, 0, 0], [p.stderr for p, _ in runs]
    assert runs[2][0].stdout == "local bytes\n"
    assert [loaded for _, loaded in runs] == [[], [], []]


def test_an_s3_store_loads_botocore_on_first_use(tmp_path: Path, s3_server: Any,
                                                 s3_client: Any) -> None:
    data = tmp_path / "data.txt"
    data.write_bytes(b"s3 bytes\n")
    s3 = {"EOS_STORE": f"s3://{make_bucket(s3_client)}/eos",
          "AWS_ENDPOINT_URL": s3_server.endpoint_url}
    put, put_loaded = probe(tmp_path, "put", str(data), "p/data.txt", **s3)
    cat, cat_loaded = probe(tmp_path, "cat", "p/data.txt", **s3)
    assert (put.returncode, cat.returncode) == (0, 0), put.stderr + cat.stderr
    assert cat.stdout == "s3 bytes\n"
    assert "botocore" in put_loaded and "botocore" in cat_loaded


def test_an_s3_source_on_the_embedded_store_logs_no_credential(
    tmp_path: Path, s3_server: Any, s3_client: Any
) -> None:
    """The S3 client, not the S3 store, installs the redaction: an ``s3://`` import into the
    embedded store never imports the store's module, and its DEBUG logs stay masked."""
    raw = make_bucket(s3_client)
    s3_client.put_object(Bucket=raw, Key="runs/reads.txt", Body=b"ACGT" * 100)
    proc, loaded = probe(tmp_path, "cp", f"s3://{raw}/runs/reads.txt", "eos://users/me/raw/",
                         PROBE_DEBUG="1", AWS_ENDPOINT_URL=s3_server.endpoint_url, **SECRET_ENV)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "eos://users/ada/raw/reads.txt@1" in proc.stdout
    assert "botocore" in loaded and "Authorization" in proc.stderr  # DEBUG logs were printed
    found = leaks(proc.stdout + proc.stderr)
    assert found == [], f"{len(found)} secrets logged: {found[:5]}"
