"""A crash at every named step of put and get, then a reopen and a retry.

Each case runs a put (three files in one changeset) or a get in a child process that dies with
``os._exit`` at one step (``EOS_CRASH_AT=<step>:<n>``, see eoscatalog/core/faults.py),
as a power cut
or ``kill -9`` would: no cleanup runs. Then, in a fresh process: the index passes
``PRAGMA integrity_check``, every version's blob exists and hashes to its key, nothing partial
sits at a final path, and the retried operation ends with exactly one new version per name (or
the right file).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from eoscatalog import BlobCache, Catalog
from eoscatalog.core.faults import CRASH_EXIT, ENV, STEPS
from eoscatalog.store import LocalStore

ROOT = Path(__file__).resolve().parent.parent
NAMES = ("p/a.bin", "p/b.bin", "p/c.bin")

CHILD = """
import sys
from pathlib import Path
from eoscatalog import BlobCache, Catalog
from eoscatalog.store import LocalStore

work, op = Path(sys.argv[1]), sys.argv[2]
cat = Catalog(LocalStore(work / "store"), work / "index.sqlite", user="ada",
              cache=BlobCache(work / "cache"), checkpoint_every=1)
if op == "put":
    cat.put_many([(work / "src" / n.replace("/", "_"), n) for n in ("p/a.bin", "p/b.bin",
                                                                    "p/c.bin")])
elif op == "get":  # written once, straight to the path
    cat.get("p/b.bin", work / "out" / "b.bin")
else:  # "download", as File.download does: into the cache, then a copy
    cat.fetch_to("p/b.bin", work / "out" / "b.bin", via_cache=True)
print("finished")
"""

# A multipart upload's step is reached on S3 only: test_resume.py crashes there.
S3_ONLY = ("put.part-recorded",)
PUT_STEPS = [s for s in STEPS if not s.startswith("get.") and s not in S3_ONLY]
GET_STEPS = [s for s in STEPS if s.startswith("get.")]
# Steps reached once per file are also crashed at their 2nd occurrence (the 2nd of 3 files).
PER_FILE = ("put.hashed", "store.blob-temp")
CASES = [("put", step, n) for step in PUT_STEPS for n in ((1, 2) if step in PER_FILE else (1,))]
CASES += [("get", "get.temp-written", 1)]  # a get never writes the cache
CASES += [("download", step, 1) for step in GET_STEPS]


def content(name: str, round_: int) -> bytes:
    return f"{name} round {round_}\n".encode() * 2000


def run_child(work: Path, op: str, crash: str | None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop(ENV, None)
    if crash:
        env[ENV] = crash
    script = work / "child.py"
    script.write_text(CHILD)
    return subprocess.run([sys.executable, str(script), str(work), op], env=env,
                          capture_output=True, text=True, timeout=120)


def open_catalog(work: Path) -> Catalog:
    return Catalog(LocalStore(work / "store"), work / "index.sqlite", user="ada",
                   cache=BlobCache(work / "cache"), checkpoint_every=1)


def check_consistent(work: Path) -> Catalog:
    with sqlite3.connect(work / "index.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    cat = open_catalog(work)
    report = cat.verify(all_namespaces=True, quarantine=False)
    assert report.problems == [], report.problems
    return cat


@pytest.mark.slow
@pytest.mark.parametrize(("op", "step", "nth"), CASES,
                         ids=[f"{op}-{step}-{n}" for op, step, n in CASES])
def test_a_crash_at_any_step_loses_nothing(op: str, step: str, nth: int, tmp_path: Path) -> None:
    work = tmp_path
    (work / "src").mkdir()
    LocalStore(work / "store", create=True)
    for name in NAMES:  # round 1: the versions that exist before the crash
        (work / "src" / name.replace("/", "_")).write_bytes(content(name, 1))
    assert run_child(work, "put", None).returncode == 0
    if op == "put":
        for name in NAMES:  # round 2: the put that crashes
            (work / "src" / name.replace("/", "_")).write_bytes(content(name, 2))
    crashed = run_child(work, op, f"{step}:{nth}")
    assert crashed.returncode == CRASH_EXIT, (crashed.returncode, crashed.stderr)
    cat = check_consistent(work)
    if op == "put":
        assert run_child(work, "put", None).returncode == 0  # the retry
        cat = check_consistent(work)
        for name in NAMES:
            versions = cat.versions(name)
            assert [v.version for v in versions] == [1, 2], (name, versions)
            assert cat.read_bytes(name) == content(name, 2)
    else:
        out = work / "out" / "b.bin"
        if out.exists():  # never a partial file at the final path
            assert out.read_bytes() == content("p/b.bin", 1)
        assert run_child(work, op, None).returncode == 0
        assert out.read_bytes() == content("p/b.bin", 1)
        entries = [p for p in (work / "cache").rglob("*") if p.is_file()
                   and "blobs" in p.parts and not p.name.startswith(".eos-tmp-")]
        for entry in entries:  # every cache entry complete and read-only
            assert entry.stat().st_mode & 0o222 == 0
        assert len(cat.versions("p/b.bin")) == 1
