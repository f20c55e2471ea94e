"""Transactions across processes (issue 14): dask workers and other processes join the open
transaction by id (an ``eos://`` filesystem pickled inside it carries the id), stage their
writes under ``transactions/<id>/``, and the committing process publishes everything as ONE
changeset, or nothing when the block raises, its process dies, or a staged object is damaged.

The fast tests join with plain subprocesses; the dask ones (a ``LocalCluster`` of two worker
processes) and the kill -9 ones are marked slow.
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import fsspec
import numpy as np
import pytest

import eoscatalog
from eoscatalog import Catalog, set_default_catalog
from eoscatalog.core.errors import ConflictError, InvalidChangesetError
from eoscatalog.log.staged import StagedWrite, encode_staged, staging_key, staging_prefix
from eoscatalog.sdk.filesystem import EosFileSystem
from eoscatalog.store.keys import TRANSACTIONS

ROOT = Path(__file__).resolve().parent.parent
TESTS = Path(__file__).resolve().parent
# The clusters' HTTP server (always started) on a free port of 127.0.0.1: with None it takes
# 8787, and a second cluster warns that 8787 is taken; ":0" would listen on every interface.
DASHBOARD = "127.0.0.1:0"

# A process that takes part in a transaction: it unpickles the filesystem another process
# pickled inside the transaction and writes NAME=TEXT pairs through it (-NAME: deletes NAME;
# NAME<SOURCE copies SOURCE; eos:// paths without the scheme; then, with --hold,
# says so and waits to be killed; with --slow, pauses between writes).
JOINER = """
import pickle, sys, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from eoscatalog.core.errors import ConflictError

fs = pickle.loads(Path(sys.argv[1]).read_bytes())
hold = "--hold" in sys.argv
slow = "--slow" in sys.argv


def write(arg):
    name, _, text = arg.partition("=")
    if name.startswith("-"):
        fs.rm_file("eos://" + name[1:])
    elif "<" in name:
        dest, source = name.split("<")
        fs.cp_file("eos://" + source, "eos://" + dest)
    else:
        fs.pipe_file("eos://" + name, text.encode())
    print("wrote", name, flush=True)
    if slow:
        time.sleep(0.02)


try:
    args = [a for a in sys.argv[2:] if not a.startswith("--")]
    if "--threads" in sys.argv:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(write, args))
    else:
        for arg in args:
            write(arg)
except ConflictError as e:
    print("conflict", e, flush=True)
    sys.exit(3)
print("written", flush=True)
while hold:
    time.sleep(1)
"""

# A committing process: writes a.txt and b.txt in a transaction, pickles a filesystem for a
# joiner, then waits for a file before it ends the block (the test kills it while it waits, or
# just after the file appears: mid-commit).
COMMITTER = """
import json, pickle, sys, time
from pathlib import Path
from eoscatalog import Catalog
from eoscatalog.sdk.filesystem import EosFileSystem

opts, out = json.loads(sys.argv[1]), Path(sys.argv[2])
cat = Catalog.open(**opts)
fs = EosFileSystem(**opts)
with cat.transaction("killed") as txn:
    cat.put_bytes(b"new a", "eos://org/a.txt")
    fs.pipe_file("eos://org/b.txt", b"new b")
    (out / "fs.pickle").write_bytes(pickle.dumps(fs))
    print("ready", txn.id, flush=True)
    while not (out / "commit").exists():
        time.sleep(0.01)
print("committed", flush=True)
"""


# -- fixtures and helpers -----------------------------------------------------------------------


@pytest.fixture(params=["local", "s3"])
def opts(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """Catalog settings as storage options (what a dask worker gets in the pickled fs)."""
    settings = {"user": "ada", "home": str(tmp_path / "home")}
    if request.param == "local":
        return {"store": f"file://{tmp_path / 'store'}", **settings}
    server = request.getfixturevalue("s3_server")
    bucket = request.getfixturevalue("s3_bucket")
    return {"store": f"s3://{bucket}", "endpoint_url": server.endpoint_url, **settings}


@pytest.fixture
def cat(opts: dict[str, str]) -> Iterator[Catalog]:
    catalog = Catalog.open(create=True, admin=True, **opts)
    yield catalog
    catalog.close()


@pytest.fixture
def fs(opts: dict[str, str], cat: Catalog) -> EosFileSystem:
    return EosFileSystem(**opts)


def child_env() -> dict[str, str]:
    """The environment of the processes a test starts: this worktree's eoscatalog first."""
    path = os.pathsep.join(p for p in (str(ROOT), str(TESTS), os.environ.get("PYTHONPATH"))
                           if p)
    return {**os.environ, "PYTHONPATH": path}


def changesets(cat: Catalog, namespace: str = "org") -> list[str]:
    return sorted(info.key for info in cat.store.list(f"catalog/{namespace}/log/"))


def staged_objects(cat: Catalog) -> list[str]:
    return sorted(info.key for info in cat.store.list(TRANSACTIONS))


def join(tmp_path: Path, pickled: bytes, *pairs: str, hold: bool = False,
         slow: bool = False, threads: bool = False) -> subprocess.Popen[str]:
    """Start a process that writes ``pairs`` (NAME=TEXT) through the pickled filesystem."""
    script = tmp_path / "joiner.py"
    script.write_text(JOINER)
    path = tmp_path / f"fs-{time.monotonic_ns()}.pickle"
    path.write_bytes(pickled)
    flags = [flag for flag, on in (("--hold", hold), ("--slow", slow), ("--threads", threads))
             if on]
    return subprocess.Popen([sys.executable, str(script), str(path), *pairs, *flags],
                            env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def finish(proc: subprocess.Popen[str], timeout: float = 60) -> tuple[int, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out + err


def wait_for(proc: subprocess.Popen[str], word: str, timeout: float = 60) -> str:
    """Read the process's lines until one starts with ``word``; return it."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith(word):
            return line.strip()
        if not line and proc.poll() is not None:
            break
    raise AssertionError(f"no {word!r} from the process (exit {proc.poll()}): "
                         f"{proc.stderr.read() if proc.stderr else ''}")


def kill(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)


# -- fast: one other process, joined by id --------------------------------------------------------


def test_a_process_joining_by_id_writes_into_the_one_changeset(
        cat: Catalog, fs: EosFileSystem, tmp_path: Path) -> None:
    cat.put_bytes(b"old c", "eos://org/d/c.txt")
    cat.put_bytes(b"old", "eos://org/d/old.txt")
    before = changesets(cat)
    with cat.transaction("from two processes") as txn:
        fs.pipe_file("eos://org/d/a.txt", b"from here")
        code, out = finish(join(tmp_path, pickle.dumps(fs), "org/d/b.txt=from there",
                                "org/d/c.txt=new c", "org/d/a.txt=overwritten there",
                                "-org/d/old.txt", "org/d/copy.txt<org/d/c.txt@1"))
        assert code == 0, out
        # Staged, not published: others (and this block's reads of the log) see nothing yet.
        assert changesets(cat) == before
        assert any(k.startswith(staging_prefix(txn.id)) and not k.endswith("open.json")
                   for k in staged_objects(cat))
    assert len(changesets(cat)) == len(before) + 1
    assert {r.name for r in txn.records} == {"d/a.txt", "d/b.txt", "d/c.txt", "d/old.txt",
                                             "d/copy.txt"}
    copy = cat.resolve("eos://org/d/copy.txt")
    assert copy.kind == "copy" and copy.source == "eos://org/d/c.txt@1"
    assert cat.read_bytes(copy.uri) == b"old c"
    assert {r.seq for r in txn.records} == {len(before) + 1}
    assert cat.versions("eos://org/d/old.txt")[-1].is_delete_marker
    assert cat.read_bytes("eos://org/d/old.txt@1") == b"old"
    assert cat.read_bytes("eos://org/d/a.txt") == b"overwritten there"  # the later write wins
    assert cat.read_bytes("eos://org/d/b.txt") == b"from there"
    assert cat.read_bytes("eos://org/d/c.txt") == b"new c"
    assert cat.read_bytes("eos://org/d/c.txt@1") == b"old c"
    assert staged_objects(cat) == []


def test_a_process_alone_writes_the_transaction(cat: Catalog, fs: EosFileSystem,
                                                tmp_path: Path) -> None:
    """The committing process writes nothing itself: the namespace comes from the joiner."""
    before = changesets(cat)
    with cat.transaction("all remote") as txn:
        code, out = finish(join(tmp_path, pickle.dumps(fs), "org/r/x=1", "org/r/y=2"))
        assert code == 0, out
    assert [r.name for r in txn.records] == ["r/x", "r/y"]
    assert len(changesets(cat)) == len(before) + 1
    assert staged_objects(cat) == []


def test_a_participant_with_a_late_clock_still_wins_over_earlier_writes(
        cat: Catalog, fs: EosFileSystem) -> None:
    """``to_zarr(mode="w")`` deletes the old chunks here, then workers on other machines
    write them: a worker's clock behind this one's must not let the deletes win."""
    cat.put_bytes(b"old", "eos://org/z/chunk")
    blob = cat.store.put_blob_bytes(b"new")
    with cat.transaction("skewed") as txn:
        fs.rm_file("eos://org/z/chunk")
        pickle.dumps(fs)  # workers join from here on
        skewed = StagedWrite("z/chunk", "put", blob, 3, at="2000-01-01T00:00:00.000000Z")
        cat.store.put(staging_key(txn.id, "a" * 32, 1), encode_staged("org", txn.token,
                                                                       [skewed]))
    assert cat.read_bytes("eos://org/z/chunk") == b"new"
    assert [r.version for r in cat.versions("eos://org/z/chunk")] == [1, 2]


def test_a_process_writing_from_many_threads(cat: Catalog, fs: EosFileSystem,
                                             tmp_path: Path) -> None:
    names = [f"t/{i:02d}" for i in range(40)]
    with cat.transaction("threads") as txn:
        code, out = finish(join(tmp_path, pickle.dumps(fs), *[f"org/{n}={n}" for n in names],
                                threads=True))
        assert code == 0, out
    assert [r.name for r in txn.records] == names
    for name in names:
        assert cat.read_bytes(f"eos://org/{name}") == name.encode()
    assert staged_objects(cat) == []


def test_a_process_writing_to_another_namespace_fails_the_commit(
        cat: Catalog, fs: EosFileSystem, tmp_path: Path) -> None:
    """One transaction, one namespace, one changeset: writes from elsewhere to another
    namespace refuse the whole commit (nothing published in either)."""
    before, theirs = changesets(cat), changesets(cat, "users/ada")
    with pytest.raises(eoscatalog.InvalidNameError, match="users/ada/ from another process"), \
            cat.transaction("two namespaces"):
        fs.pipe_file("eos://org/n/a.txt", b"org")
        code, out = finish(join(tmp_path, pickle.dumps(fs), "users/ada/n/b.txt=mine"))
        assert code == 0, out
    assert changesets(cat) == before
    assert changesets(cat, "users/ada") == theirs
    assert staged_objects(cat) == []


def test_a_block_that_raises_after_others_wrote_publishes_nothing(
        cat: Catalog, fs: EosFileSystem, tmp_path: Path) -> None:
    before = changesets(cat)
    pickled = b""
    with pytest.raises(RuntimeError, match="boom"), cat.transaction("dropped"):
        fs.pipe_file("eos://org/e/a.txt", b"here")
        pickled = pickle.dumps(fs)
        code, out = finish(join(tmp_path, pickled, "org/e/b.txt=there"))
        assert code == 0, out
        raise RuntimeError("boom")
    assert changesets(cat) == before
    assert cat.ls("eos://org/e/", recursive=True).files == ()
    # A participant still running when the block ended is told, never silently dropped.
    code, out = finish(join(tmp_path, pickled, "org/e/c.txt=late"))
    assert code == 3 and "conflict" in out, out
    cat.gc(grace=0)
    assert staged_objects(cat) == []
    assert changesets(cat) == before


def test_a_write_after_the_transaction_ended_is_a_conflict(cat: Catalog, fs: EosFileSystem,
                                                           tmp_path: Path) -> None:
    with cat.transaction("ended") as txn:
        fs.pipe_file("eos://org/f/a.txt", b"1")
        pickled = pickle.dumps(fs)
    after = changesets(cat)
    late = pickle.loads(pickled)  # in this process too: the transaction is over here as well
    assert late is not fs
    with pytest.raises(ConflictError, match=txn.id):
        late.pipe_file("eos://org/f/b.txt", b"late")
    code, out = finish(join(tmp_path, pickled, "org/f/c.txt=late"))
    assert code == 3 and "no longer open" in out, out
    assert changesets(cat) == after
    assert [r.name for r in cat.ls("eos://org/f/", recursive=True).files] == ["f/a.txt"]
    cat.gc(grace=0)  # what the late writers staged
    assert staged_objects(cat) == []


def test_a_damaged_staged_object_fails_the_commit(cat: Catalog, fs: EosFileSystem) -> None:
    before = changesets(cat)
    with pytest.raises(InvalidChangesetError, match="damaged"), cat.transaction("bad") as txn:
        fs.pipe_file("eos://org/g/a.txt", b"1")
        pickle.dumps(fs)  # announced
        cat.store.put(staging_key(txn.id, "f" * 32, 1), b'{"format": 1, "writes": [')
    assert changesets(cat) == before
    assert cat.ls("eos://org/g/", recursive=True).files == ()
    assert staged_objects(cat) == []  # nothing will publish them: removed at once


def test_a_transaction_whose_marker_was_collected_publishes_nothing(
        cat: Catalog, fs: EosFileSystem, tmp_path: Path) -> None:
    """gc (grace 0, or a transaction open longer than the grace period) removed open.json and
    what participants staged: the commit must not publish the rest as if it were whole."""
    before = changesets(cat)
    with pytest.raises(ConflictError, match="no longer"), cat.transaction("collected"):
        fs.pipe_file("eos://org/k/a.txt", b"1")
        code, out = finish(join(tmp_path, pickle.dumps(fs), "org/k/b.txt=2"))
        assert code == 0, out
        cat.gc(grace=0)
    assert changesets(cat) == before


# -- slow: kill -9 --------------------------------------------------------------------------------


@pytest.mark.slow
def test_kill_9_of_the_committer_and_a_participant_publishes_nothing(
        cat: Catalog, opts: dict[str, str], tmp_path: Path) -> None:
    for name in ("a.txt", "b.txt", "c.txt"):
        cat.put_bytes(f"old {name}".encode(), f"eos://org/{name}")
    before = changesets(cat)
    script = tmp_path / "committer.py"
    script.write_text(COMMITTER)
    committer = subprocess.Popen(
        [sys.executable, str(script), json.dumps(opts), str(tmp_path)], env=child_env(),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    txn_id = wait_for(committer, "ready").split()[1]
    joiner = join(tmp_path, (tmp_path / "fs.pickle").read_bytes(), "org/c.txt=new c",
                  "org/d.txt=new d", hold=True)
    wait_for(joiner, "written")
    assert any(not k.endswith("open.json") for k in staged_objects(cat))
    kill(joiner)
    kill(committer)

    assert changesets(cat) == before
    for name in ("a.txt", "b.txt", "c.txt"):
        record = cat.resolve(f"eos://org/{name}")
        assert record.version == 1
        assert cat.read_bytes(f"eos://org/{name}") == f"old {name}".encode()
    assert [r.name for r in cat.ls("eos://org/", recursive=True).files] == [
        "a.txt", "b.txt", "c.txt"]
    assert staged_objects(cat)  # the dead transaction's objects, until gc
    cat.gc(grace=0)
    assert staged_objects(cat) == []
    assert not any(txn_id in k for k in staged_objects(cat))
    # Later transactions work, and the old versions are still there.
    with cat.transaction("after the crash") as txn:
        cat.put_bytes(b"newer a", "eos://org/a.txt")
        cat.put_bytes(b"new d", "eos://org/d.txt")
    assert len(changesets(cat)) == len(before) + 1
    assert [(r.name, r.version) for r in txn.records] == [("a.txt", 2), ("d.txt", 1)]
    assert cat.read_bytes("eos://org/a.txt@1") == b"old a.txt"
    assert cat.read_bytes("eos://org/a.txt") == b"newer a"


@pytest.mark.slow
def test_kill_9_of_the_committer_while_it_commits_is_all_or_nothing(
        cat: Catalog, opts: dict[str, str], tmp_path: Path) -> None:
    script = tmp_path / "committer.py"
    script.write_text(COMMITTER)
    for attempt, delay in enumerate([0.0, 0.02, 0.05, 0.1, 0.2, 0.4]):
        out = tmp_path / f"run{attempt}"
        out.mkdir()
        before = changesets(cat)
        committer = subprocess.Popen(
            [sys.executable, str(script), json.dumps(opts), str(out)], env=child_env(),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for(committer, "ready")
        code, text = finish(join(tmp_path, (out / "fs.pickle").read_bytes(),
                                 f"org/c.txt=c{attempt}", f"org/d.txt=d{attempt}"))
        assert code == 0, text
        (out / "commit").touch()
        time.sleep(delay)
        kill(committer)
        after = changesets(cat)
        assert len(after) in (len(before), len(before) + 1)
        if len(after) == len(before) + 1:  # published: whole
            assert cat.read_bytes("eos://org/a.txt") == b"new a"
            assert cat.read_bytes("eos://org/c.txt") == f"c{attempt}".encode()
            assert cat.read_bytes("eos://org/d.txt") == f"d{attempt}".encode()
            assert cat.read_bytes("eos://org/b.txt") == b"new b"
            # (a.txt and b.txt are new only the first time: unchanged bytes make no version)
            assert {cat.resolve(f"eos://org/{n}").seq for n in ("c.txt", "d.txt")} == {
                len(after)}
    cat.gc(grace=0)
    assert staged_objects(cat) == []
    for name in ("c.txt", "d.txt"):  # every version readable
        for record in cat.versions(f"eos://org/{name}"):
            assert cat.read_bytes(record.uri)


@pytest.mark.slow
def test_kill_9_of_a_participant_mid_write(cat: Catalog, fs: EosFileSystem,
                                           tmp_path: Path) -> None:
    names = [f"w/part-{i:03d}" for i in range(60)]
    before = changesets(cat)
    # The block sees its participant die and raises: nothing is published.
    with pytest.raises(RuntimeError, match="died"), cat.transaction("participant died"):
        fs.pipe_file("eos://org/w/_meta", b"meta")
        victim = join(tmp_path, pickle.dumps(fs), *[f"org/{n}=first" for n in names],
                      slow=True)
        for _ in range(10):
            wait_for(victim, "wrote")
        kill(victim)
        if victim.returncode != 0:
            raise RuntimeError("the participant died")
    assert changesets(cat) == before
    assert cat.ls("eos://org/w/", recursive=True).files == ()
    cat.gc(grace=0)
    assert staged_objects(cat) == []

    # The participant's work retried by another process: the retry's writes win.
    with cat.transaction("participant retried") as txn:
        fs.pipe_file("eos://org/w/_meta", b"meta")
        pickled = pickle.dumps(fs)
        victim = join(tmp_path, pickled, *[f"org/{n}=first" for n in names], slow=True)
        for _ in range(10):
            wait_for(victim, "wrote")
        kill(victim)
        code, out = finish(join(tmp_path, pickled, *[f"org/{n}=retried" for n in names]))
        assert code == 0, out
    assert len(changesets(cat)) == len(before) + 1
    assert len(txn.records) == len(names) + 1
    for name in names:
        assert cat.read_bytes(f"eos://org/{name}") == b"retried"
        assert cat.resolve(f"eos://org/{name}").version == 1
    assert staged_objects(cat) == []


# -- slow: a dask cluster -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Two worker processes, one thread each, on 127.0.0.1 only; they import this
    worktree's eoscatalog (and this module, for the tasks defined here)."""
    import dask.distributed as distributed  # in the test extra: missing is a failure
    with pytest.MonkeyPatch.context() as mp:
        for var in list(os.environ):
            if var.startswith("EOS_"):
                mp.delenv(var)
        mp.setenv("EOS_HOME", str(tmp_path_factory.mktemp("worker-home")))
        mp.setenv("PYTHONPATH", child_env()["PYTHONPATH"])
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      host="127.0.0.1", dashboard_address=DASHBOARD) as local, \
                distributed.Client(local) as client:
            yield client


def dataset() -> Any:
    import xarray as xr
    rng = np.random.default_rng(14)
    return xr.Dataset(
        {"t": (("time", "x"), rng.standard_normal((12, 8))),
         "n": (("x",), rng.integers(0, 1000, 8, dtype="int32"))},
        coords={"time": np.arange(12), "x": np.linspace(0.0, 1.0, 8)},
        attrs={"title": "regrid"},
    ).chunk({"time": 3})


@contextmanager
def block(kind: str, cat: Catalog, fs: EosFileSystem) -> Iterator[None]:
    """The three ways to open a transaction in the test process."""
    if kind == "catalog":
        with cat.transaction("regrid"):
            yield
    elif kind == "eoscatalog":
        set_default_catalog(cat)
        try:
            with eoscatalog.transaction("regrid"):
                yield
        finally:
            set_default_catalog(None)
    else:
        with fs.transaction:
            yield


def participants(cat: Catalog) -> set[str]:
    """The other processes that staged writes in the open transaction."""
    txn = cat.open_transaction()
    assert txn is not None
    return {k.rsplit("/", 1)[1].split("-")[0] for k in staged_objects(cat)
            if k.startswith(staging_prefix(txn.id)) and not k.endswith("open.json")}


def assert_chunks_match(cat: Catalog, prefix: str, folder: Path) -> None:
    """Every object of the zarr store ``folder`` (written locally) is a name under
    ``prefix`` with the same bytes, and nothing else is."""
    expected = {p.relative_to(folder).as_posix(): p.read_bytes()
                for p in folder.rglob("*") if p.is_file()}
    found = {r.name[len(prefix):]: r for r in cat.ls(f"eos://org/{prefix}",
                                                     recursive=True).files}
    assert sorted(found) == sorted(expected)
    for name, record in found.items():
        assert cat.read_bytes(record.uri) == expected[name], name


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["catalog", "eoscatalog", "fsspec"])
def test_a_dask_cluster_writes_a_zarr_store_as_one_changeset(
        cluster: Any, cat: Catalog, fs: EosFileSystem, opts: dict[str, str], kind: str,
        tmp_path: Path) -> None:
    import xarray as xr
    ds = dataset()
    ds.to_zarr(tmp_path / "local.zarr", zarr_format=3, consolidated=False)
    before = changesets(cat)
    with block(kind, cat, fs):
        ds.to_zarr("eos://org/x.zarr", storage_options=opts, mode="w", zarr_format=3,
                   consolidated=False)
        assert len(participants(cat)) >= 2  # the chunks came from the workers
        assert changesets(cat) == before
    after = changesets(cat)
    assert len(after) == len(before) + 1
    records = cat.ls("eos://org/x.zarr/", recursive=True).files
    assert {r.seq for r in records} == {len(after)}
    assert_chunks_match(cat, "x.zarr/", tmp_path / "local.zarr")
    back = xr.open_zarr("eos://org/x.zarr", storage_options=opts, zarr_format=3,
                        consolidated=False)
    xr.testing.assert_identical(back.load(), ds.load())
    assert staged_objects(cat) == []


@pytest.mark.slow
def test_a_dask_cluster_writes_through_a_mapper_and_parquet(
        cluster: Any, cat: Catalog, fs: EosFileSystem, opts: dict[str, str],
        tmp_path: Path) -> None:
    import dask.dataframe as dd
    import pandas as pd
    import xarray as xr
    ds = dataset()
    ds.to_zarr(tmp_path / "local.zarr", zarr_format=2, consolidated=True)
    frame = pd.DataFrame({"a": np.arange(200), "b": np.random.default_rng(3).random(200)})
    before = changesets(cat)
    with fs.transaction:
        ds.to_zarr(fs.get_mapper("org/m.zarr"), mode="w", zarr_format=2, consolidated=True)
        dd.from_pandas(frame, npartitions=4).to_parquet(
            "eos://org/p.parquet", storage_options=opts, write_index=False)
        assert len(participants(cat)) >= 2
    assert len(changesets(cat)) == len(before) + 1
    assert_chunks_match(cat, "m.zarr/", tmp_path / "local.zarr")
    back = xr.open_zarr(fs.get_mapper("org/m.zarr"), zarr_format=2, consolidated=True)
    xr.testing.assert_identical(back.load(), ds.load())
    read = pd.read_parquet("eos://org/p.parquet", storage_options=opts)
    pd.testing.assert_frame_equal(read, frame)
    assert len(cat.ls("eos://org/p.parquet/").files) == 4
    assert staged_objects(cat) == []


@pytest.mark.slow
def test_a_dask_block_that_raises_publishes_nothing(
        cluster: Any, cat: Catalog, fs: EosFileSystem, opts: dict[str, str]) -> None:
    ds = dataset()
    before = changesets(cat)
    with pytest.raises(RuntimeError, match="after the workers"), cat.transaction("no"):
        ds.to_zarr("eos://org/x.zarr", storage_options=opts, mode="w", zarr_format=3,
                   consolidated=False)
        assert len(participants(cat)) >= 2
        raise RuntimeError("after the workers wrote")
    assert changesets(cat) == before
    assert cat.ls("eos://org/", recursive=True).files == ()
    cat.gc(grace=0)
    assert staged_objects(cat) == []
    assert not list(cat.store.list("blobs/"))  # the chunks' blobs, named by nothing, went too


def write_parts(path: str, options: dict[str, str], part: int, flag: str) -> int:
    """A dask task: write part ``part`` (ten names); the first attempt at part 0 dies half-way
    (kill -9 of its worker process), as a worker lost mid-write."""
    fs = fsspec.filesystem("eos", **options)
    for k in range(10):
        if part == 0 and k == 5 and not os.path.exists(flag):
            Path(flag).touch()
            os.kill(os.getpid(), signal.SIGKILL)
        fs.pipe_file(f"{path}/p{part}/{k}", f"{part}.{k}".encode())
    return part


@pytest.mark.slow
def test_a_task_retried_after_its_worker_died_writes_the_right_data(
        cluster: Any, cat: Catalog, fs: EosFileSystem, opts: dict[str, str],
        tmp_path: Path) -> None:
    import dask
    before = changesets(cat)
    flag = str(tmp_path / "died-once")
    with cat.transaction("retried"):
        pickled = EosFileSystem(**opts)  # the tasks' own filesystems come from the options
        assert pickle.loads(pickle.dumps(pickled)).storage_options["transaction"]
        tasks = [dask.delayed(write_parts)("eos://org/r", opts_in(pickled), part, flag)
                 for part in range(4)]
        assert sorted(dask.compute(*tasks)) == [0, 1, 2, 3]
        assert os.path.exists(flag)  # a worker did die
    assert len(changesets(cat)) == len(before) + 1
    files = cat.ls("eos://org/r/", recursive=True).files
    assert len(files) == 40
    for record in files:
        part, k = record.name.split("/")[1:]
        assert cat.read_bytes(record.uri) == f"{part[1:]}.{k}".encode()
        assert record.version == 1
    assert staged_objects(cat) == []


def opts_in(fs: EosFileSystem) -> dict[str, str]:
    """The storage options a pickled filesystem carries (the transaction's id included)."""
    options: dict[str, str] = pickle.loads(pickle.dumps(fs)).storage_options
    return options


@pytest.mark.slow
def test_workers_configured_by_the_environment(
        cat: Catalog, opts: dict[str, str], monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    """Workers that get the catalog from EOS_* variables (no storage options), as a
    ``with eoscatalog.transaction():`` user's cluster does."""
    import dask.distributed as distributed  # in the test extra: missing is a failure
    import xarray as xr
    monkeypatch.setenv("EOS_STORE", opts["store"])
    monkeypatch.setenv("EOS_HOME", opts["home"])
    if "endpoint_url" in opts:
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", opts["endpoint_url"])
    monkeypatch.setenv("PYTHONPATH", child_env()["PYTHONPATH"])
    ds = dataset()
    before = changesets(cat)
    set_default_catalog(None)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=DASHBOARD) as local, \
            distributed.Client(local):
        try:
            with eoscatalog.transaction("from the environment"):
                ds.to_zarr("eos://org/env.zarr", mode="w", zarr_format=3, consolidated=False)
                assert len(participants(eoscatalog.default_catalog())) >= 2
        finally:
            eoscatalog.default_catalog().close()
            set_default_catalog(None)
    assert len(changesets(cat)) == len(before) + 1
    back = xr.open_zarr("eos://org/env.zarr", storage_options=opts, zarr_format=3,
                        consolidated=False)
    xr.testing.assert_identical(back.load(), ds.load())
    assert staged_objects(cat) == []
