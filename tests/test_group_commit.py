"""Group commit: writes arriving together from threads of one process share changesets.

The stores here are real (memory, local folder, the S3 test server) with one addition: the
first changeset append waits until the test has the other writes queued behind it (``Hold``),
so what shares a changeset is decided by the test, not by timing:

* many threads x many writes, through one Catalog and through one fsspec instance: every name
  reads back its bytes at the right version, here and in a fresh client, in fewer changesets
  than writes; writes of shared names keep versions 1..N and each returns its own version;
* a batch where one intent's plan refuses (a create-only write of a name that exists, a copy
  whose source was purged) commits the others each on its own: only the guilty one fails;
* a store error on the batch's append fails every write of the batch with that error;
* writes of one name (or with different messages) never share a changeset, and keep order;
* a lone write makes exactly one changeset, at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import fsspec
import pytest

from eoscatalog import Catalog, PutResult, hash_bytes
from eoscatalog.core.errors import NameExistsError, NotFoundError, StoreError
from eoscatalog.log.changesets import Log
from eoscatalog.store import LocalStore, MemoryStore, S3Store, Store

NS = "users/ada"


class Hold:
    """Once armed, holds the next changeset append until ``release``; ``fail_next`` fails the
    append after that one."""

    def __init__(self) -> None:
        self.reached = threading.Event()
        self.release = threading.Event()
        self.fail_next = False
        self._armed = False
        self._lock = threading.Lock()

    def arm(self) -> None:
        self._armed = True

    def before_put(self, key: str) -> None:
        if "/log/" not in key:
            return
        with self._lock:
            first, self._armed = self._armed, False
            fail = not first and self.fail_next
            if fail:
                self.fail_next = False
        if first:
            self.reached.set()
            assert self.release.wait(60), "the test never released the held append"
        elif fail:
            raise StoreError(f"injected failure writing {key}")


class HeldMemoryStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.hold = Hold()

    def put(self, key: str, data: bytes, **options: Any) -> str:
        self.hold.before_put(key)
        return super().put(key, data, **options)


class HeldLocalStore(LocalStore):
    def __init__(self, root: Path) -> None:
        super().__init__(root, create=True)
        self.hold = Hold()

    def put(self, key: str, data: bytes, **options: Any) -> str:
        self.hold.before_put(key)
        return super().put(key, data, **options)


class HeldS3Store(S3Store):
    def __init__(self, url: str, endpoint_url: str) -> None:
        super().__init__(url, endpoint_url=endpoint_url)
        self.hold = Hold()

    def put(self, key: str, data: bytes, **options: Any) -> str:
        self.hold.before_put(key)
        return super().put(key, data, **options)


HeldStore = HeldMemoryStore | HeldLocalStore | HeldS3Store


def held_store(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> HeldStore:
    if kind == "memory":
        return HeldMemoryStore()
    if kind == "local":
        return HeldLocalStore(tmp_path / "store" / "acme")
    server = request.getfixturevalue("moto_endpoint" if kind == "s3" else "seaweed_endpoint")
    store = HeldS3Store(f"s3://{server.bucket()}/acme", endpoint_url=server.endpoint_url)
    request.addfinalizer(store.close)
    return store


@pytest.fixture(params=["memory", "local", pytest.param("s3", marks=pytest.mark.slow),
                        pytest.param("seaweed", marks=pytest.mark.slow)])
def held(request: pytest.FixtureRequest, tmp_path: Path) -> HeldStore:
    return held_store(request.param, request, tmp_path)


@pytest.fixture
def cat(held: HeldStore, tmp_path: Path) -> Iterator[Catalog]:
    catalog = Catalog(held, tmp_path / "index.sqlite", user="ada", checkpoint_every=16)
    # Here batches are made by the held append, not by a leader waiting for writes still
    # storing their blobs (test_a_leader_waits_for_a_write_storing_its_blob).
    catalog._committer.group.linger = 0
    yield catalog
    catalog.index.close()
    catalog.hash_cache.close()


def queued(cat: Catalog) -> int:
    return cat._committer.group.queued(NS)


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


def changesets(cat: Catalog) -> int:
    return cat.index.applied_seq(NS)


def content(name: str) -> bytes:
    return f"bytes of {name}\n".encode() * 3


def run_held(cat: Catalog, held: HeldStore, first: Callable[[], Any],
             others: list[Callable[[], Any]]) -> tuple[Any, list[Any]]:
    """``first`` on a thread until its changeset append is held; then each of ``others`` on a
    thread of its own, queued in that order; then release. Returns what each returned or
    raised.
    """
    def outcome(call: Callable[[], Any]) -> Any:
        try:
            return call()
        except Exception as e:  # reported by the test
            return e

    held.hold.arm()
    with ThreadPoolExecutor(1 + len(others)) as pool:
        head = pool.submit(outcome, first)
        wait_for(held.hold.reached.is_set, "the first append")
        rest: list[Any] = []
        for k, call in enumerate(others, 1):
            rest.append(pool.submit(outcome, call))
            wait_for(lambda k=k: queued(cat) + sum(f.done() for f in rest) == k,
                     f"write {k} queued")
        held.hold.release.set()
        return head.result(), [f.result() for f in rest]


def check_recorded(cat: Catalog, expected: dict[str, bytes], tmp_path: Path) -> None:
    """Every name at version 1 with its bytes, here and in a fresh client replaying the log."""
    listing = {r.name: r for r in cat.ls(f"eos://{NS}/", recursive=True).files}
    assert sorted(listing) == sorted(expected)
    wrong = [n for n, data in expected.items()
             if listing[n].version != 1 or cat.read_bytes(listing[n].uri) != data]
    assert wrong == [], f"{len(wrong)} names not recorded right: {wrong[:5]}"
    fresh = Catalog(cat.store, tmp_path / "fresh-index.sqlite", user="ada")
    try:
        assert {r.name: r for r in fresh.ls(f"eos://{NS}/", recursive=True).files} == listing
        assert fresh.index.applied_seq(NS) == changesets(cat)
    finally:
        fresh.index.close()
        fresh.hash_cache.close()


# -- many threads share changesets ---------------------------------------------------------------


def many_threads(cat: Catalog, held: HeldStore, write: Callable[[str, bytes], Any],
                 threads: int, per_thread: int) -> dict[str, bytes]:
    """``threads`` threads x ``per_thread`` writes of distinct names; the first append is held
    until every other thread has its first write queued. Returns what was written."""
    names = [[f"t{t:02d}/c{i:02d}" for i in range(per_thread)] for t in range(threads)]
    errors: list[BaseException] = []

    def work(t: int) -> None:
        try:
            for name in names[t]:
                write(f"eos://{NS}/{name}", content(name))
        except BaseException as e:  # every failure is reported by the test
            errors.append(e)

    held.hold.arm()
    with ThreadPoolExecutor(threads) as pool:
        done = [pool.submit(work, t) for t in range(threads)]
        wait_for(held.hold.reached.is_set, "the first append")
        wait_for(lambda: queued(cat) == threads - 1, "every other thread's first write")
        held.hold.release.set()
        for future in done:
            future.result()
    assert errors == [], f"{len(errors)} writes failed, the first: {errors[0]!r}"
    return {name: content(name) for per in names for name in per}


def test_threads_share_changesets_through_one_catalog(cat: Catalog, held: HeldStore,
                                                      tmp_path: Path) -> None:
    threads, per_thread = 16, 20
    results: list[PutResult] = []

    def put(uri: str, data: bytes) -> None:
        result = cat.put_bytes(data, uri)
        assert result.record.version == 1 and f"eos://{NS}/{result.record.name}" == uri
        assert (result.record.hash, result.created, result.uploaded) == (hash_bytes(data),
                                                                        True, True)
        results.append(result)

    written = many_threads(cat, held, put, threads, per_thread)
    assert len(results) == threads * per_thread
    check_recorded(cat, written, tmp_path)
    # The held changeset holds one write; the 15 queued behind it share the next one.
    assert changesets(cat) <= threads * per_thread - (threads - 2)
    assert len(Log(held, NS).read(2).entries) >= threads - 1


def test_threads_share_changesets_through_one_fsspec_instance(cat: Catalog, held: HeldStore,
                                                              tmp_path: Path) -> None:
    threads, per_thread = 16, 20
    fs = fsspec.filesystem("eos", catalog=cat, skip_instance_cache=True)

    def pipe(uri: str, data: bytes) -> None:
        fs.pipe_file(uri, data)

    written = many_threads(cat, held, pipe, threads, per_thread)
    check_recorded(cat, written, tmp_path)
    assert changesets(cat) <= threads * per_thread - (threads - 2)


def test_threads_writing_shared_names_keep_versions_in_order(cat: Catalog, held: HeldStore,
                                                             tmp_path: Path) -> None:
    """8 threads x 12 writes over 4 shared names: each name's versions are 1..N, each write
    returns the version holding its own bytes, in fewer changesets than writes."""
    shared = [f"shared/s{k}.txt" for k in range(4)]
    threads, per_thread = 8, 12
    returned: list[tuple[str, bytes, PutResult]] = []
    lock = threading.Lock()

    def write(t: int, i: int) -> None:
        name = shared[(t + i) % len(shared)]
        data = f"{name}:{t}:{i}".encode()
        result = cat.put_bytes(data, f"eos://{NS}/{name}")
        with lock:
            returned.append((name, data, result))

    first, rest = run_held(cat, held, lambda: write(0, 0),
                           [lambda t=t: write(t, 0) for t in range(1, threads)])
    assert [first, *rest] == [None] * threads
    errors: list[BaseException] = []

    def work(t: int) -> None:
        try:
            for i in range(1, per_thread):
                write(t, i)
        except BaseException as e:  # reported by the test
            errors.append(e)

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(work, range(threads)))
    assert errors == []
    assert len(returned) == threads * per_thread
    for name, data, result in returned:
        assert result.created and result.record.name == name
        assert cat.read_bytes(result.record.uri) == data  # its own version, pinned
    for name in shared:
        history = cat.versions(f"eos://{NS}/{name}")
        mine = sorted(r.record.version for n, _, r in returned if n == name)
        assert [r.version for r in history] == list(range(1, len(mine) + 1)) == mine
    assert changesets(cat) < threads * per_thread


# -- failures stay with the write that caused them -----------------------------------------------


def test_a_refused_create_only_write_fails_alone(cat: Catalog, held: HeldStore) -> None:
    """The held write creates taken.txt; a create-only write of it, queued meanwhile (its early
    check passed), is refused by its plan: the batch's other writes are committed each alone."""
    cat.put_bytes(b"copy me", f"eos://{NS}/source.txt")

    def put(name: str) -> Callable[[], Any]:
        return lambda: cat.put_bytes(content(name), f"eos://{NS}/{name}")

    head, rest = run_held(cat, held, lambda: cat.put_bytes(b"first", f"eos://{NS}/taken.txt"), [
        put("a.txt"),
        lambda: cat.put_if_absent(b"late", f"eos://{NS}/taken.txt"),
        lambda: cat.put_if_absent(b"new", f"eos://{NS}/fresh.txt"),
        put("b.txt"),
        lambda: cat.copy(f"eos://{NS}/source.txt", f"eos://{NS}/copied.txt"),
    ])
    a, refused, fresh, b, copied = rest
    assert isinstance(refused, NameExistsError), refused
    assert "taken.txt already exists (version 1)" in str(refused)
    for result in (head, a, fresh, b):
        assert isinstance(result, PutResult) and result.created, result
    assert copied.version == 1 and cat.read_bytes(f"eos://{NS}/copied.txt") == b"copy me"
    assert cat.read_bytes(f"eos://{NS}/taken.txt") == b"first"
    assert cat.read_bytes(f"eos://{NS}/fresh.txt") == b"new"
    assert [r.version for r in cat.versions(f"eos://{NS}/taken.txt")] == [1]
    # source.txt, the held write, then the batch's four good writes each on its own.
    assert changesets(cat) == 1 + 1 + 4


def test_a_copy_whose_source_was_purged_fails_alone(cat: Catalog, held: HeldStore) -> None:
    """A queued copy resolved its source (in another namespace), which is purged before the
    batch commits: the copy's plan refuses, the other write of its batch is committed."""
    cat.put_bytes(b"doomed", "eos://org/doomed.txt")
    origin = cat.resolve("eos://org/doomed.txt")
    _, (copied, purged, other) = run_held(cat, held, lambda: cat.put_bytes(b"a", f"eos://{NS}/a"), [
        lambda: cat.copy(origin.uri, f"eos://{NS}/copy.txt"),
        lambda: cat.purge(origin.uri),  # its own namespace: not held, done at once
        lambda: cat.put_bytes(b"other", f"eos://{NS}/other.txt"),
    ])
    assert purged == [1]
    assert isinstance(copied, NotFoundError) and "cannot be copied" in str(copied), copied
    assert isinstance(other, PutResult) and other.created
    assert cat.read_bytes(f"eos://{NS}/other.txt") == b"other"
    assert [r.name for r in cat.ls(f"eos://{NS}/").files] == ["a", "other.txt"]


def test_a_store_error_on_the_append_fails_the_whole_batch(cat: Catalog,
                                                           held: HeldStore) -> None:
    held.hold.fail_next = True  # the append after the held one: the batch's

    def put(name: str) -> Callable[[], Any]:
        return lambda: cat.put_bytes(content(name), f"eos://{NS}/{name}")

    head, rest = run_held(cat, held, put("first.txt"), [put(f"n{i}.txt") for i in range(4)])
    assert isinstance(head, PutResult)
    assert all(isinstance(r, StoreError) and "injected failure" in str(r) for r in rest), rest
    assert [r.name for r in cat.ls(f"eos://{NS}/").files] == ["first.txt"]
    assert changesets(cat) == 1
    assert cat.put_bytes(b"again", f"eos://{NS}/n0.txt").created  # the namespace goes on


def test_writes_of_one_name_or_another_message_wait_for_the_next_batch(
    cat: Catalog, held: HeldStore
) -> None:
    uri = f"eos://{NS}/same.txt"
    _, rest = run_held(cat, held, lambda: cat.put_bytes(b"zero", f"eos://{NS}/z.txt"), [
        lambda: cat.put_bytes(b"one", uri),
        lambda: cat.put_bytes(b"x", f"eos://{NS}/x.txt"),
        lambda: cat.put_bytes(b"two", uri),
        lambda: cat.put_bytes(b"y", f"eos://{NS}/y.txt", message="another message"),
        lambda: cat.put_bytes(b"w", f"eos://{NS}/w.txt"),
    ])
    one, two = rest[0], rest[2]
    assert all(isinstance(r, PutResult) and r.created for r in rest), rest
    assert (one.record.version, two.record.version) == (1, 2)  # in the order they queued
    assert cat.read_bytes(uri) == b"two"
    log = Log(held, NS)
    assert [(sorted(e.name for e in log.read(seq).entries), log.read(seq).message)
            for seq in (1, 2, 3, 4)] == [
        (["z.txt"], ""), (["same.txt", "w.txt", "x.txt"], ""), (["same.txt"], ""),
        (["y.txt"], "another message"),
    ]
    assert changesets(cat) == 4


# -- a lone writer is not slowed down ------------------------------------------------------------


def test_a_lone_write_commits_at_once_in_one_changeset(store: Store, tmp_path: Path) -> None:
    cat = Catalog(store, tmp_path / "index.sqlite", user="ada")
    try:
        for i in range(1, 4):
            result = cat.put_bytes(f"v{i}".encode(), f"eos://{NS}/a.txt")
            assert result.record.version == i and result.created
            assert changesets(cat) == i  # its own changeset, in the store when put returns
            assert queued(cat) == 0
        assert not cat.put_bytes(b"v3", f"eos://{NS}/a.txt").created  # unchanged: no version
        assert changesets(cat) == 3
    finally:
        cat.index.close()
        cat.hash_cache.close()


class SlowBlobStore(MemoryStore):
    """A memory store whose blob writes of one content take ``delay`` seconds."""

    def __init__(self, slow: bytes, delay: float) -> None:
        super().__init__()
        self.slow, self.delay = hash_bytes(slow), delay

    def put_blob_data(self, hash_string: str, data: bytes, *, ask_first: bool = False) -> bool:
        if hash_string == self.slow:
            time.sleep(self.delay)
        return super().put_blob_data(hash_string, data, ask_first=ask_first)


@pytest.mark.parametrize("linger", [0.0, 5.0])
def test_a_leader_waits_for_a_write_storing_its_blob(linger: float) -> None:
    """Two threads write together; one's blob takes 0.3 s to store. With the leader waiting
    for announced writes, both share one changeset; without (linger 0), the fast one commits
    alone first. Either way a lone write never waits (test above)."""
    cat = Catalog(SlowBlobStore(b"slow", 0.3), ":memory:", user="ada")
    cat._committer.group.linger = linger
    start = threading.Barrier(2)

    def write(data: bytes) -> PutResult:
        start.wait()
        return cat.put_bytes(data, f"eos://{NS}/{data.decode()}.txt")

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(write, [b"fast", b"slow"]))
    assert [r.record.version for r in results] == [1, 1]
    assert changesets(cat) == (1 if linger else 2)
    assert {r.record.seq for r in results} == ({1} if linger else {1, 2})
    cat.close()
