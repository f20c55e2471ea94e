"""kill -9 of 8 writer processes at 100 random moments.

Writers put files in a loop and print a line after each put returns. The test kills one of them
with SIGKILL at random moments (100 kills, each victim restarted), then checks: no version
points at a missing or corrupt blob, every put that returned is in the catalog with its bytes,
and the temporary files the killed writers left are gone after one gc past the grace period.
It runs on a local folder and on both S3 test servers (moto, and SeaweedFS, whose own atomic
conditional writes keep the writers apart).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from conftest import S3_SERVERS

from eoscatalog import Catalog
from eoscatalog.core.tempfiles import TEMP_PREFIX
from eoscatalog.store import LocalStore, Store, open_store

ROOT = Path(__file__).resolve().parent.parent
WRITERS = 8
KILLS = 100

WRITER = """
import os, sys
from pathlib import Path
from eoscatalog import Catalog
from eoscatalog.store import open_store

url, index, who, life, endpoint = sys.argv[1:6]
store = open_store(url, **({"endpoint_url": endpoint} if endpoint else {}))
cat = Catalog(store, index, user=who, checkpoint_every=5)
for k in range(10**6):
    name = f"eos://org/{who}/l{life}/f{k % 7}"
    data = os.urandom(64) * (1 + k % 50)
    result = cat.put_bytes(data, name)
    print(f"ok {name} {result.record.version} {result.record.hash}", flush=True)
"""


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["local", *S3_SERVERS])
def test_kill_9_at_random_moments_loses_nothing(tmp_path: Path, kind: str,
                                                request: pytest.FixtureRequest) -> None:
    root = tmp_path / "store"
    endpoint = ""
    if kind == "local":
        url = LocalStore(root, create=True).url
    else:
        server = request.getfixturevalue(f"{kind}_endpoint")
        url, endpoint = f"s3://{server.bucket()}/acme", server.endpoint_url
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    rng = random.Random(9)
    logs: list[Path] = []

    def start(i: int) -> subprocess.Popen[bytes]:
        log = tmp_path / f"w{i}-{len(logs)}.log"
        logs.append(log)
        with open(log, "wb") as out:
            return subprocess.Popen(
                [sys.executable, str(script), url, str(tmp_path / f"w{i}.sqlite"),
                 f"w{i}", str(len(logs)), endpoint], env=env, stdout=out, stderr=subprocess.DEVNULL,
            )

    procs = [start(i) for i in range(WRITERS)]
    time.sleep(2.0)  # let them get going
    for _ in range(KILLS):
        time.sleep(rng.uniform(0.05, 0.3))
        i = rng.randrange(WRITERS)
        procs[i].send_signal(signal.SIGKILL)
        procs[i].wait()
        procs[i] = start(i)
    time.sleep(0.5)
    for p in procs:
        p.send_signal(signal.SIGKILL)
        p.wait()

    returned = []
    for log in logs:
        for line in log.read_text().splitlines():
            if line.startswith("ok "):
                _, uri, version, hash_string = line.split()
                returned.append((uri, int(version), hash_string))
    store: Store = open_store(url, **({"endpoint_url": endpoint} if endpoint else {}))
    checker = Catalog(store, tmp_path / "check.sqlite", user="root", admin=True)
    report = checker.verify(all_namespaces=True, quarantine=False)
    present = sum(
        1 for uri, version, h in returned if checker.resolve(f"{uri}@{version}").hash == h
    )
    print(f"{KILLS} kills of {WRITERS} writers: {len(returned)} puts returned, {present} "
          f"present; {report.versions} versions checked, {len(report.problems)} bad blobs")
    assert len(returned) > 100
    assert report.problems == []
    assert present == len(returned)

    later = Catalog(store, tmp_path / "gc.sqlite", user="root", admin=True,
                    clock=lambda: datetime.now(timezone.utc) + timedelta(days=2))
    gc = later.gc()
    # Local writers leave temp files; S3 ones nothing (small puts are one request each).
    leftovers = list(root.rglob(f"{TEMP_PREFIX}*")) if kind == "local" else []
    print(f"gc past the grace period removed {len(gc.deleted.get('partial', []))} temp files "
          f"and {len(gc.deleted.get('unreferenced', []))} unreferenced blobs; "
          f"{len(leftovers)} temp files left")
    assert leftovers == []
    assert later.verify(all_namespaces=True).problems == []
