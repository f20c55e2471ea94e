"""Many processes writing one name at once: versions stay 1..N, every client agrees.

DESIGN.md's invariant 3 (versions of a name are 1..N with no gap and no duplicate, whatever the
concurrency, and every client derives the same numbers from the log) is tested here with real
processes (the ``spawn`` start method, so nothing is shared but the store and, in one variant, the
SQLite index file), racing from a common start barrier:

* 8 processes x 25 puts of ONE name, each with its own index file, on the local store and on
  both S3 test servers (moto, SeaweedFS);
* the same with all 8 processes sharing ONE ``EOS_HOME`` (one index, one hash cache), opened
  through ``Catalog.open`` as the CLI does: SQLite must queue them, never say "database is locked";
* a store that ignores conditional writes (a ``nocond-`` bucket: moto only) cannot keep racing
  writers apart, so writes to it are refused unless the client is set to ``single_writer``.

Each worker writes distinct, recognizable bytes (``b"<proc>-<i>"``), so every version in the final
list can be traced back to the put that made it. Workers report through JSON files.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
import traceback
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import blake3
import pytest
from conftest import TEST_ENV, S3Endpoint, make_bucket

from eoscatalog import Catalog, StoreError, hash_bytes
from eoscatalog.log.changesets import Log
from eoscatalog.log.index import Index
from eoscatalog.store import LocalStore, S3Store, Store, blob_key, open_store

NAME = "runs/shared.csv"
NAMESPACE = "users/ada"
USER = "ada"
ORG = "acme"
PROCESSES = 8
PUTS_PER_PROCESS = 25
BARRIER_TIMEOUT = 300.0
JOIN_TIMEOUT = 600.0

pytestmark = pytest.mark.slow


# -- the worker (a top-level function: spawned processes import it from this module) ------------


def content_of(proc: int, i: int) -> bytes:
    """The distinct bytes process ``proc`` writes in its ``i``-th put."""
    return f"{proc}-{i}".encode()


def _open_catalog(spec: dict[str, Any], proc: int) -> Catalog:
    if spec["mode"] == "shared":
        # One EOS_HOME for every process: Catalog.open finds the same index and hash cache.
        return Catalog.open()
    store = open_store(spec["store_url"], **spec["store_options"])
    return Catalog(store, Path(spec["work"]) / f"index-{proc}.sqlite", user=USER)


def put_worker(
    spec: dict[str, Any],
    proc: int,
    start: Any,  # multiprocessing.Barrier
    done: Any,  # multiprocessing.Barrier
) -> None:
    """Put ``spec["puts"]`` versions of NAME, wait for everyone, then report what this client saw.

    Even puts send bytes, odd ones a file (so the hash cache is used too).
    """
    os.environ.update(spec["env"])
    out = Path(spec["work"]) / f"result-{proc}.json"
    report: dict[str, Any] = {"proc": proc, "puts": [], "versions": None, "error": None}
    try:
        files = Path(spec["work"]) / f"files-{proc}"
        files.mkdir(parents=True, exist_ok=True)
        start.wait(BARRIER_TIMEOUT)  # everybody is imported and ready: race from here
        catalog = _open_catalog(spec, proc)
        report["conditional"] = catalog.store.supports_conditional_writes
        for i in range(spec["puts"]):
            data = content_of(proc, i)
            put: dict[str, Any] = {"i": i, "hash": hash_bytes(data)}
            if i % 2 == 0:
                result = catalog.put_bytes(data, NAME)
            else:
                path = files / f"part-{i}.csv"
                path.write_bytes(data)
                result = catalog.put(path, NAME)
            put["version"] = result.record.version
            put["record_hash"] = result.record.hash
            put["created"] = result.created
            report["puts"].append(put)
        done.wait(BARRIER_TIMEOUT)  # every put of every process has finished
        report["versions"] = [
            [r.version, r.kind, r.hash] for r in catalog.versions(NAME)
        ]
        catalog.close()
    except BaseException:
        report["error"] = traceback.format_exc()
        start.abort()
        done.abort()  # release the others instead of leaving them at the barrier
    out.write_text(json.dumps(report))


# -- running the race ----------------------------------------------------------------------------


@dataclass
class Race:
    reports: list[dict[str, Any]]

    def successes(self) -> list[tuple[int, dict[str, Any]]]:
        return [(r["proc"], p) for r in self.reports for p in r["puts"] if "version" in p]


def run_race(
    work: Path,
    *,
    mode: str,
    store_url: str,
    store_options: dict[str, Any],
    env: dict[str, str],
    puts: int = PUTS_PER_PROCESS,
) -> Race:
    """Start PROCESSES spawned workers behind one barrier and collect their reports."""
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(PROCESSES)
    done = ctx.Barrier(PROCESSES)
    spec = {
        "mode": mode,
        "store_url": store_url,
        "store_options": store_options,
        "env": {**TEST_ENV, **env},
        "work": str(work),
        "puts": puts,
    }
    procs = [
        ctx.Process(target=put_worker, args=(spec, proc, start, done), name=f"eos-writer-{proc}")
        for proc in range(PROCESSES)
    ]
    for p in procs:
        p.start()
    deadline = time.monotonic() + JOIN_TIMEOUT  # a guard against hangs, not a timing check
    try:
        for p in procs:
            p.join(max(0.0, deadline - time.monotonic()))
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
                p.join()
    reports = []
    for proc, p in enumerate(procs):
        out = work / f"result-{proc}.json"
        assert out.exists(), f"writer {proc} exited with {p.exitcode} and wrote no report"
        report = json.loads(out.read_text())
        assert report["error"] is None, f"writer {proc} failed:\n{report['error']}"
        assert p.exitcode == 0, f"writer {proc} exited with {p.exitcode}"
        reports.append(report)
    return Race(reports)


# -- checks --------------------------------------------------------------------------------------


def replay_log(store: Store) -> list[tuple[int, str, str | None]]:
    """Versions of NAME from the raw log, replayed changeset by changeset (no checkpoint)."""
    log = Log(store, NAMESPACE)
    seqs = log.seqs_after(0)
    assert seqs == list(range(1, len(seqs) + 1)), f"the log has gaps: {seqs}"
    index = Index(":memory:")
    try:
        for seq in seqs:
            changeset = log.read(seq)
            assert len(changeset.entries) == 1, changeset
            assert index.apply(changeset)
        return [(r.version, r.kind, r.hash) for r in index.versions(NAMESPACE, NAME)]
    finally:
        index.close()


def check_blobs(store: Store, expected: dict[str, bytes]) -> None:
    """Every blob is stored, hashes to its key (checked with blake3 directly) and holds the bytes
    its writer sent."""
    for hash_string, data in expected.items():
        assert store.read_blob(hash_string) == data
        raw = store.get(blob_key(hash_string))
        assert "blake3:" + blake3.blake3(raw).hexdigest() == hash_string


def check_race(race: Race, store: Store, *, total: int) -> None:
    """DESIGN.md invariants 1-3 after a race of PROCESSES writers with distinct bytes."""
    expected_content = {
        hash_bytes(content_of(proc, p["i"])): content_of(proc, p["i"])
        for proc, p in race.successes()
    }
    # A fresh client with an empty index (it may start from a checkpoint) and a plain replay of
    # every changeset agree on a gapless 1..N.
    fresh = Catalog(store, ":memory:", user=USER)
    try:
        final = [(r.version, r.kind, r.hash) for r in fresh.versions(NAME)]
    finally:
        fresh.index.close()  # not fresh.close(): that would close the store too
        fresh.hash_cache.close()
    assert [v for v, _, _ in final] == list(range(1, len(final) + 1))
    assert {k for _, k, _ in final} == {"put"}
    assert replay_log(store) == final

    # No put that reported success is missing from the log, and none is there twice.
    in_log = Counter(h for _, _, h in final)
    lost = [
        f"writer {proc}'s put of {content_of(proc, p['i'])!r} (told version {p['version']})"
        for proc, p in race.successes()
        if p["hash"] not in in_log
    ]
    assert not lost, (
        f"{len(lost)} of {len(race.successes())} puts reported success but are in no version "
        f"of the log ({len(final)} versions): " + "; ".join(lost[:5])
    )
    assert all(n == 1 for n in in_log.values()), [h for h, n in in_log.items() if n > 1]
    assert len(final) == total

    # Each successful put is exactly one version: the one it reported, carrying its bytes.
    by_version = {v: h for v, _, h in final}
    wrong_record = [
        f"writer {proc}'s put of {content_of(proc, p['i'])!r} returned version {p['version']} "
        f"with hash {p['record_hash']}, not the version holding what it put"
        for proc, p in race.successes()
        if p["record_hash"] != p["hash"]
    ]
    assert not wrong_record, f"{len(wrong_record)} puts returned another writer's version: " + (
        "; ".join(wrong_record[:3])
    )
    for proc, p in race.successes():
        assert p["created"], (proc, p)
        assert by_version[p["version"]] == p["hash"], (
            f"writer {proc} put {content_of(proc, p['i'])!r} and was told version "
            f"{p['version']}, but that version holds {by_version[p['version']]}"
        )
    reported = Counter(p["version"] for _, p in race.successes())
    assert sorted(reported) == list(range(1, total + 1))
    # The versions one writer made appear in the order it made them.
    for report in race.reports:
        mine = [p["version"] for p in report["puts"] if "version" in p]
        assert mine == sorted(mine), (report["proc"], mine)

    # Every writer's own client derives the same list as the fresh client.
    for report in race.reports:
        assert [tuple(v) for v in report["versions"]] == final, f"writer {report['proc']}"

    check_blobs(store, expected_content)


# -- the tests -----------------------------------------------------------------------------------


@pytest.fixture
def work(tmp_path: Path) -> Path:
    path = tmp_path / "race"
    path.mkdir()
    return path


def test_local_store_own_indexes(work: Path, tmp_path: Path) -> None:
    """8 x 25 puts of one name on a local folder, each process with its own index."""
    store = LocalStore(tmp_path / "store" / ORG, create=True)
    race = run_race(work, mode="own", store_url=store.url, store_options={}, env={})
    check_race(race, store, total=PROCESSES * PUTS_PER_PROCESS)


def test_local_store_one_shared_index(work: Path, tmp_path: Path) -> None:
    """8 processes start at once on one fresh EOS_HOME (as 8 batch jobs on one node would):
    they create and share one index and one hash cache; SQLite must queue them, never fail."""
    home = tmp_path / "shared-home"
    store_base = tmp_path / "store"
    store = LocalStore(store_base / ORG, create=True)
    env = {"EOS_HOME": str(home), "EOS_STORE": store_base.as_uri(), "EOS_ORG": ORG,
           "EOS_USER": USER}
    race = run_race(work, mode="shared", store_url=store.url, store_options={}, env=env)
    check_race(race, store, total=PROCESSES * PUTS_PER_PROCESS)
    assert len(list((home / "index").glob("*.sqlite"))) == 1  # they really shared one index


def _s3(url: str, endpoint_url: str) -> S3Store:
    return S3Store(url, endpoint_url=endpoint_url)


def test_s3_store_own_indexes(work: Path, s3_server_any: S3Endpoint) -> None:
    """8 x 25 puts of one name over HTTP to each S3 test server, each process with its own
    index: on SeaweedFS the server's own atomic conditional writes keep the racers apart."""
    url = f"s3://{s3_server_any.bucket()}/{ORG}"
    options = {"endpoint_url": s3_server_any.endpoint_url}
    race = run_race(work, mode="own", store_url=url, store_options=options, env={})
    store = _s3(url, s3_server_any.endpoint_url)
    try:
        assert all(r["conditional"] for r in race.reports)
        check_race(race, store, total=PROCESSES * PUTS_PER_PROCESS)
    finally:
        store.close()


def test_s3_store_one_shared_index(
    work: Path, tmp_path: Path, s3_server_any: S3Endpoint
) -> None:
    """8 x 25 puts on S3 through one EOS_HOME that already exists: one index shared by all."""
    bucket = s3_server_any.bucket()
    home = tmp_path / "shared-home"
    env = {"EOS_HOME": str(home), "EOS_STORE": f"s3://{bucket}", "EOS_ORG": ORG,
           "EOS_USER": USER, "AWS_ENDPOINT_URL_S3": s3_server_any.endpoint_url}
    url = f"s3://{bucket}/{ORG}"
    with pytest.MonkeyPatch.context() as mp:  # this home already exists: index, hash cache
        for var, value in env.items():
            mp.setenv(var, value)
        Catalog.open().close()
    race = run_race(work, mode="shared", store_url=url, store_options={}, env=env)
    store = _s3(url, s3_server_any.endpoint_url)
    try:
        check_race(race, store, total=PROCESSES * PUTS_PER_PROCESS)
        assert len(list((home / "index").glob("*.sqlite"))) == 1
    finally:
        store.close()


def test_store_without_conditional_writes_refuses_writes(
    tmp_path: Path, s3_server: Any, s3_client: Any
) -> None:
    """A store that ignores If-None-Match could let racing writers overwrite each other's
    changesets: every write is refused, before any byte is stored, naming the way out."""
    bucket = make_bucket(s3_client, conditional=False)
    store = _s3(f"s3://{bucket}/{ORG}", s3_server.endpoint_url)
    try:
        assert not store.supports_conditional_writes
        catalog = Catalog(store, tmp_path / "index.sqlite", user=USER)
        data = tmp_path / "f.csv"
        data.write_bytes(b"a,b\n")
        for write in (
            lambda: catalog.put_bytes(b"x", NAME),
            lambda: catalog.put(data, NAME),
            lambda: catalog.put_bytes(b"y", "eos://org/shared.csv"),
        ):
            with pytest.raises(StoreError, match="single_writer"):
                write()
        assert [o.key for o in store.list("")] == []  # no blob, no changeset
    finally:
        store.close()


def test_single_writer_mode_on_store_without_conditional_writes(
    tmp_path: Path, s3_server: Any, s3_client: Any
) -> None:
    """With single_writer set, one client at a time writes normally; others derive the same."""
    bucket = make_bucket(s3_client, conditional=False)
    store = _s3(f"s3://{bucket}/{ORG}", s3_server.endpoint_url)
    try:
        first = Catalog(store, tmp_path / "a.sqlite", user=USER, single_writer=True)
        second = Catalog(store, tmp_path / "b.sqlite", user=USER, single_writer=True)
        for i in range(3):
            assert first.put_bytes(content_of(0, i), NAME).record.version == i + 1
        # the second client starts stale and must replay before it takes the next seq
        assert second.put_bytes(content_of(1, 0), NAME).record.version == 4
        assert first.rm(NAME).version == 5
        assert first.undelete(NAME).version == 6
        fresh = Catalog(store, ":memory:", user=USER)
        assert [(r.version, r.kind) for r in fresh.versions(NAME)] == [
            (1, "put"), (2, "put"), (3, "put"), (4, "put"), (5, "delete"), (6, "undelete")
        ]
        assert fresh.read_bytes(NAME) == content_of(1, 0)
    finally:
        store.close()
