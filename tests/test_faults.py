"""Network faults between eoscatalog and S3: retries, resumed downloads, nothing half done.

Every request of the store under test goes through :class:`tests.faultproxy.FaultProxy` on
127.0.0.1, in front of the moto server, which answers 503 SlowDown or 500 InternalError,
resets the connection mid-request or mid-response, or stalls past the client's read timeout.
The matrix crosses five operations (PutObject, UploadPart, CompleteMultipartUpload, changeset
writes, GetObject through ``Catalog.get``) with four faults, twice:

* with retries (fewer faults than the attempts budget): every object ends correct (read back
  directly from the server and hashed), one version per put, one changeset, and the proxy saw
  exactly one request more than it faulted;
* with retries exhausted (as many faults as the budget): ``StoreError`` itself, 0 changesets
  written, the index unchanged, no blob and no multipart upload left in the bucket (except
  for a changeset failure, whose blob was stored first, unnamed), and for downloads no file at
  the destination, no temp file beside it and nothing in the cache.

botocore event hooks (``before-send``) inject what the proxy cannot aim as precisely: a
connection closed on the 2nd UploadPart only, a refused connection on GetObject.

Each test states its result as one figure. ``FAULT_FIGURES=path`` writes them all to ``path``
(docs/reliability.md quotes the last run).
"""

from __future__ import annotations

import logging
import os
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ConnectionClosedError, EndpointConnectionError
from conftest import make_bucket
from faultproxy import Fault, FaultProxy
from s3server import S3TestServer

from eoscatalog import Catalog
from eoscatalog.core.errors import StoreError
from eoscatalog.core.hashing import hash_bytes
from eoscatalog.local.blob_cache import BlobCache
from eoscatalog.store import S3Store, blob_key

BUDGET = 3  # attempts per request (and streams per download) for every store here
# Long enough for the test server to complete a 12 MiB multipart upload on a busy 2-core machine
# (it took more than 0.5 s under pytest-xdist), short enough that stalls cost little.
READ_TIMEOUT = 2.0
STALL = READ_TIMEOUT + 1.5
SMALL = 300_000
MiB = 1024 * 1024
PART = 5 * MiB
BIG = 12 * MiB  # three parts: 5 + 5 + 2 MiB
BLOB = r"/blobs/blake3/[0-9a-f]{2}/[0-9a-f]{64}"

# operation -> (HTTP method, target pattern, object size)
OPS: dict[str, tuple[str, str, int]] = {
    "put_object": ("PUT", BLOB + "$", SMALL),
    "upload_part": ("PUT", BLOB + r"\?uploadId=[^&]+&partNumber=2$", BIG),
    "complete_multipart": ("POST", BLOB + r"\?uploadId=[^&]+$", BIG),
    "changeset": ("PUT", r"/catalog/users/[^/]+/log/\d{12}\.json$", SMALL),
    "get_object": ("GET", BLOB + "$", SMALL),
}
FAULTS = ["503", "500", "reset", "stall"]
# Where a reset cuts a request (head included): mid-body for the large ones, in the head else.
CUT_REQUEST = {"put_object": 100_000, "upload_part": 1_000_000, "complete_multipart": 100,
               "changeset": 100}
CUT_RESPONSE = 100_000  # downloads: mid-body of a 300 kB object

FIGURES: dict[str, str] = {}


@pytest.fixture(scope="module", autouse=True)
def _write_figures() -> Iterator[None]:
    path = os.environ.get("FAULT_FIGURES")
    server_log = logging.getLogger("werkzeug")
    level = server_log.level
    server_log.setLevel(logging.WARNING)  # one line per request: thousands here
    yield
    server_log.setLevel(level)
    if path:
        Path(path).write_text("".join(f"{k}\t{v}\n" for k, v in sorted(FIGURES.items())))


def figure(request: pytest.FixtureRequest, text: str) -> None:
    """Record the scenario's result (printed with ``-s``, written with FAULT_FIGURES)."""
    FIGURES[request.node.name] = text
    print(f"{request.node.name}: {text}")


def make_fault(op: str, kind: str, count: int) -> Fault:
    method, path, _ = OPS[op]
    where: dict[str, Any] = {"method": method, "path": path, "count": count}
    if kind == "503":
        return Fault("status", status=503, code="SlowDown", **where)
    if kind == "500":
        return Fault("status", status=500, code="InternalError", **where)
    if kind == "reset" and op == "get_object":
        return Fault("reset", after_bytes=CUT_RESPONSE, **where)
    if kind == "reset":
        return Fault("reset", side="request", after_bytes=CUT_REQUEST[op], **where)
    if op == "get_object":  # a stream that stops mid-body
        return Fault("stall", after_bytes=CUT_RESPONSE, seconds=STALL, **where)
    return Fault("stall", seconds=STALL, **where)


@dataclass
class Rig:
    """A catalog whose S3 store talks through the fault proxy, and a direct view of the bucket.

    Tests share one bucket and one store (creating an S3 client costs a few tenths of a
    second); each test has its own user, so its own namespace, index and cache.
    """

    proxy: FaultProxy
    server: S3TestServer
    s3: Any  # a boto3 client straight to the server, for checking
    bucket: str
    store: S3Store
    catalog: Catalog
    cache: BlobCache
    tmp: Path
    first_request: int  # where this test's requests start in the server's log

    @property
    def namespace(self) -> str:
        return f"users/{self.catalog.user}"

    def file(self, size: int, name: str = "data.bin") -> tuple[Path, bytes]:
        data = os.urandom(size)
        path = self.tmp / "src" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path, data

    def keys(self, prefix: str) -> list[str]:
        """Every version of every object under the store root's ``prefix``, as keys."""
        pages = self.s3.get_paginator("list_object_versions").paginate(
            Bucket=self.bucket, Prefix=f"{self.store.prefix}{prefix}")
        return sorted(v["Key"] for page in pages for v in page.get("Versions", []))

    def changesets(self) -> list[str]:
        return self.keys(f"catalog/{self.namespace}/log/")

    def blob(self, hash_string: str) -> bytes | None:
        """The blob's bytes as the server holds them (None if absent)."""
        try:
            return self.s3.get_object(Bucket=self.bucket, Key=self.store.prefix
                                      + blob_key(hash_string))["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            return None

    def blob_versions(self, hash_string: str) -> list[str]:
        return self.keys(blob_key(hash_string))

    def uploads(self, hash_string: str) -> list[str]:
        """Multipart uploads still open for the blob."""
        return [u["UploadId"] for u in self.s3.list_multipart_uploads(
            Bucket=self.bucket, Prefix=self.store.prefix + blob_key(hash_string)
        ).get("Uploads", [])]

    def cache_files(self) -> list[str]:
        return sorted(str(p.relative_to(self.cache.root)) for p in self.cache.root.rglob("*")
                      if p.is_file())

    def ranges(self) -> list[str]:
        """The Range headers of this test's GETs of blobs, as the server saw them."""
        with self.server.requests.lock:
            records = self.server.requests.records[self.first_request:]
        return [r.range for r in records if r.method == "GET" and "/blobs/" in r.path]


@pytest.fixture(scope="module")
def proxy(s3_server: S3TestServer) -> Iterator[FaultProxy]:
    p = FaultProxy(s3_server.get_host_and_port()).start()
    yield p
    p.stop()


def faulty_store(bucket: str, proxy: FaultProxy, budget: int = BUDGET) -> S3Store:
    store = S3Store(f"s3://{bucket}/acme", endpoint_url=proxy.url, max_attempts=budget,
                    read_timeout=READ_TIMEOUT, backoff=0.001, part_size=PART,
                    multipart_threshold=8 * MiB)
    # Every download here takes the ranged-part path, whose cuts resume from the next byte;
    # small blobs' single GETs (DirectGet) have their own faults in test_direct_get.py.
    store.small_gets.limit = 0
    return store


@pytest.fixture(scope="module")
def shared_store(s3_client: Any, proxy: FaultProxy) -> Iterator[S3Store]:
    store = faulty_store(make_bucket(s3_client), proxy)
    yield store
    store.close()


@pytest.fixture
def make_rig(proxy: FaultProxy, s3_server: S3TestServer, s3_client: Any, shared_store: S3Store,
             tmp_path: Path) -> Iterator[Callable[..., Rig]]:
    made: list[Rig] = []
    hooks = shared_store.client.meta.events
    proxy.pass_through()

    def make(store: S3Store = shared_store) -> Rig:
        user = f"u{len(made)}{uuid.uuid4().hex[:8]}"
        cache = BlobCache(tmp_path / user / "cache")
        catalog = Catalog(store, tmp_path / user / "index.sqlite", user=user, cache=cache)
        rig = Rig(proxy, s3_server, s3_client, store.bucket, store, catalog, cache,
                  tmp_path / user, len(s3_server.requests.records))
        made.append(rig)
        return rig

    yield make
    proxy.pass_through()
    for rig in made:
        rig.catalog.index.close()
        rig.catalog.hash_cache.close()
    for event, hook in HOOKS:
        hooks.unregister(event, hook)
    HOOKS.clear()


@pytest.fixture
def rig(make_rig: Callable[..., Rig]) -> Rig:
    return make_rig()


HOOKS: list[tuple[str, Callable[..., None]]] = []


def add_hook(rig: Rig, event: str, hook: Callable[..., None]) -> None:
    """Register a botocore event hook on the rig's client (removed after the test)."""
    rig.store.client.meta.events.register(event, hook)
    HOOKS.append((event, hook))


def _no_temp_beside(dest: Path) -> list[str]:
    return sorted(p.name for p in dest.parent.iterdir()) if dest.parent.exists() else []


# -- the matrix: with retries --------------------------------------------------------------------


@pytest.mark.parametrize("kind", FAULTS)
@pytest.mark.parametrize("op", list(OPS))
def test_with_retries(rig: Rig, op: str, kind: str, request: pytest.FixtureRequest) -> None:
    """BUDGET - 1 faults on the operation: it succeeds, the object is correct, one version."""
    method, path, size = OPS[op]
    src, data = rig.file(size)
    faults = BUDGET - 1
    if op == "get_object":
        rig.catalog.put(src, "p/data.bin")
        fault = rig.proxy.add(make_fault(op, kind, faults))
        dest = rig.tmp / "out" / "data.bin"
        rig.catalog.get("p/data.bin", dest)
        assert dest.read_bytes() == data
        assert _no_temp_beside(dest) == ["data.bin"]
        assert rig.cache_files() == []  # a get writes its path, not the cache
        # Every download opens with the blob's first part; what follows resumes it.
        first, *resumed = rig.ranges()
        assert first == f"bytes=0-{PART - 1}"
    else:
        fault = rig.proxy.add(make_fault(op, kind, faults))
        rig.catalog.put(src, "p/data.bin")
        resumed = []
    record = rig.catalog.resolve("p/data.bin")
    assert [v.version for v in rig.catalog.versions("p/data.bin")] == [1]
    assert len(rig.changesets()) == 1
    assert rig.blob(record.hash or "") == data and record.hash == hash_bytes(data)
    assert len(rig.blob_versions(record.hash)) == 1 and rig.uploads(record.hash) == []
    assert fault.hits == faults
    seen = rig.proxy.seen(method, path)
    assert seen == faults + 1
    if op == "get_object" and kind in ("reset", "stall"):
        assert len(resumed) == faults and all(r.startswith("bytes=") for r in resumed)
    starts = [r[len("bytes="):].split("-")[0] for r in resumed]
    figure(request, f"1/1 correct, 1 version; {seen} {method}s ({faults} faulted)"
                    + (f", resumed from byte {' then '.join(starts)}" if resumed else ""))


# -- the matrix: retries exhausted ---------------------------------------------------------------


# A stalled request waits out the read timeout on every attempt: those run in the slow step.
@pytest.mark.parametrize("kind", [pytest.param(kind, marks=pytest.mark.slow) if kind == "stall"
                                  else kind for kind in FAULTS])
@pytest.mark.parametrize("op", list(OPS))
def test_retries_exhausted(rig: Rig, op: str, kind: str,
                           request: pytest.FixtureRequest) -> None:
    """BUDGET faults: StoreError, no changeset, no blob, no upload left, no file, no cache."""
    method, path, size = OPS[op]
    src, data = rig.file(size)
    h = hash_bytes(data)
    if op == "get_object":
        rig.catalog.put(src, "p/data.bin")
        before = rig.changesets()
        fault = rig.proxy.add(make_fault(op, kind, BUDGET))
        dest = rig.tmp / "out" / "data.bin"
        with pytest.raises(StoreError) as caught:
            rig.catalog.get("p/data.bin", dest)
        assert not dest.exists() and _no_temp_beside(dest) == []
        assert rig.cache_files() == []
        assert rig.changesets() == before
        leftovers = "no file, 0 temp files, 0 cache entries"
    else:
        fault = rig.proxy.add(make_fault(op, kind, BUDGET))
        with pytest.raises(StoreError) as caught:
            rig.catalog.put(src, "p/data.bin")
        assert rig.changesets() == []
        assert rig.catalog.index.applied_seq(rig.namespace) == 0
        assert rig.catalog.index.versions(rig.namespace, "p/data.bin") == []
        assert rig.uploads(h) == []
        if op == "changeset":  # blobs go first: this one is stored, and nothing names it
            assert rig.blob(h) == data
            leftovers = "blob stored, unnamed"
        else:
            assert rig.blob_versions(h) == []
            leftovers = "0 blob bytes, 0 uploads left"
    assert type(caught.value) is StoreError
    assert fault.hits == BUDGET and rig.proxy.seen(method, path) == BUDGET
    figure(request, f"StoreError after {BUDGET} {method}s; 0 entries; {leftovers}")


# -- answers lost after the server acted ---------------------------------------------------------


@pytest.mark.parametrize("op", ["put_object", "complete_multipart", "changeset"])
def test_lost_answer_is_recovered(rig: Rig, op: str, request: pytest.FixtureRequest) -> None:
    """The server applied the write but its answer was cut: the retry sees 412 (or 404 for a
    completed upload), and the client finds its own write instead of failing or doubling."""
    method, path, size = OPS[op]
    src, data = rig.file(size)
    fault = rig.proxy.add(Fault("reset", method=method, path=path, after_bytes=10))
    rig.catalog.put(src, "p/data.bin")
    record = rig.catalog.resolve("p/data.bin")
    assert [v.version for v in rig.catalog.versions("p/data.bin")] == [1]
    assert rig.blob(record.hash or "") == data
    assert len(rig.changesets()) == 1 and rig.uploads(record.hash) == []
    # A blob PUT whose answer was lost looks, on retry, like a blob already stored: the
    # client then marks it used (a PUT of its touched/ marker) as it does any reused blob.
    sent = rig.proxy.seen(method, path) - rig.proxy.seen(method, "/touched/" + path.lstrip("/"))
    assert fault.hits == 1 and sent == 2
    figure(request, "1/1 object correct, 1 version, 1 changeset after 1 lost answer "
                    f"({sent} {method} requests)")


def test_lost_answers_exhaust_on_a_changeset(rig: Rig, request: pytest.FixtureRequest) -> None:
    """Every answer to a changeset write lost: StoreError, though the first write landed (the
    outcome is unknown to the client). Putting again finds it: still one version."""
    method, path, _ = OPS["changeset"]
    src, _ = rig.file(SMALL)
    rig.proxy.add(Fault("reset", method=method, path=path, after_bytes=10, count=BUDGET))
    with pytest.raises(StoreError):
        rig.catalog.put(src, "p/data.bin")
    assert len(rig.changesets()) == 1  # the server applied the first attempt
    again = rig.catalog.put(src, "p/data.bin")
    assert not again.created
    assert [v.version for v in rig.catalog.versions("p/data.bin")] == [1]
    assert len(rig.changesets()) == 1
    figure(request, "StoreError with the changeset stored (outcome unknown to the client); "
                    "the next put finds it: 1 changeset, 1 version")


# -- which answers are retried -------------------------------------------------------------------


@pytest.mark.parametrize("op", ["put_object", "changeset"])
def test_conflict_409_is_retried(rig: Rig, op: str, request: pytest.FixtureRequest) -> None:
    """409 ConditionalRequestConflict (a conflicting write in flight) is retried; botocore's
    standard mode alone would not."""
    method, path, size = OPS[op]
    src, data = rig.file(size)
    fault = rig.proxy.add(Fault("status", status=409, code="ConditionalRequestConflict",
                                method=method, path=path, count=BUDGET - 1))
    rig.catalog.put(src, "p/data.bin")
    assert rig.blob(rig.catalog.resolve("p/data.bin").hash or "") == data
    assert len(rig.changesets()) == 1
    assert fault.hits == BUDGET - 1 and rig.proxy.seen(method, path) == BUDGET
    figure(request, f"1/1 object correct, 1 changeset after {BUDGET - 1} 409s "
                    f"({BUDGET} {method} requests)")


def test_access_denied_is_not_retried(rig: Rig, request: pytest.FixtureRequest) -> None:
    """403 is an answer, not a fault: one request, StoreError, nothing stored."""
    method, path, _ = OPS["put_object"]
    src, data = rig.file(SMALL)
    rig.proxy.add(Fault("status", status=403, code="AccessDenied", method=method, path=path,
                        count=BUDGET))
    with pytest.raises(StoreError, match="access denied"):
        rig.catalog.put(src, "p/data.bin")
    assert rig.proxy.seen(method, path) == 1
    assert rig.changesets() == [] and rig.blob_versions(hash_bytes(data)) == []
    figure(request, "StoreError after 1 PUT request (not retried); 0 entries, 0 bytes")


def test_budget_is_the_total_attempts(make_rig: Callable[..., Rig], proxy: FaultProxy,
                                      shared_store: S3Store,
                                      request: pytest.FixtureRequest) -> None:
    """``max_attempts`` counts the first try: 1 means no retry at all, 5 allows 4 faults."""
    method, path, _ = OPS["put_object"]
    one_store = faulty_store(shared_store.bucket, proxy, budget=1)
    five_store = faulty_store(shared_store.bucket, proxy, budget=5)
    try:
        one = make_rig(one_store)
        src, _ = one.file(SMALL)
        proxy.add(Fault("status", method=method, path=path, count=1))
        with pytest.raises(StoreError):
            one.catalog.put(src, "p/data.bin")
        assert proxy.seen(method, path) == 1
        proxy.pass_through()
        proxy.add(Fault("status", method=method, path=path, count=4))
        make_rig(five_store).catalog.put(src, "p/data.bin")
        assert proxy.seen(method, path) == 5
    finally:
        one_store.close()
        five_store.close()
    with pytest.raises(StoreError, match="max_attempts"):
        S3Store("s3://b", max_attempts=0)
    assert S3Store("s3://b").max_attempts == 4
    figure(request, "max_attempts=1: 1 request, StoreError; max_attempts=5: 4 faults, then "
                    "stored; default 4")


def test_eos_max_attempts_is_the_budget_of_the_opened_store(
    s3_server: S3TestServer, s3_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``EOS_MAX_ATTEMPTS`` reaches the S3 store ``Catalog.open`` makes, and its retry policy."""
    monkeypatch.setenv("EOS_STORE", f"s3://{make_bucket(s3_client)}/eos")
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server.endpoint_url)
    monkeypatch.setenv("EOS_MAX_ATTEMPTS", "2")
    with Catalog.open() as catalog:
        assert isinstance(catalog.store, S3Store)
        assert catalog.store.max_attempts == 2
        assert catalog.store.s3.retry.max_attempts == 2


# -- scheduled faults through botocore's event hooks ---------------------------------------------


def _second_part_closes(times: int) -> tuple[Callable[..., None], Counter[str]]:
    calls: Counter[str] = Counter()

    def hook(request: Any, **_: Any) -> None:
        if re.search(r"[?&]partNumber=2(&|$)", request.url):
            calls["part 2"] += 1
            if calls["part 2"] <= times:
                raise ConnectionClosedError(endpoint_url=request.url)
        else:
            calls["other parts"] += 1

    return hook, calls


@pytest.mark.parametrize("faults", [BUDGET - 1, BUDGET], ids=["retried", "exhausted"])
def test_hook_closes_the_second_part(rig: Rig, faults: int,
                                     request: pytest.FixtureRequest) -> None:
    """ConnectionClosedError on the 2nd UploadPart only (parts 1 and 3 go through)."""
    hook, calls = _second_part_closes(faults)
    add_hook(rig, "before-send.s3.UploadPart", hook)
    src, data = rig.file(BIG)
    if faults < BUDGET:
        rig.catalog.put(src, "p/data.bin")
        assert rig.blob(hash_bytes(data)) == data
        assert [v.version for v in rig.catalog.versions("p/data.bin")] == [1]
        result = "1/1 object correct, 1 version"
    else:
        with pytest.raises(StoreError) as caught:
            rig.catalog.put(src, "p/data.bin")
        assert type(caught.value) is StoreError
        assert rig.changesets() == [] and rig.blob_versions(hash_bytes(data)) == []
        result = "StoreError; 0 entries, 0 blob bytes"
    assert rig.uploads(hash_bytes(data)) == []
    assert calls["part 2"] == min(faults + 1, BUDGET) and calls["other parts"] == 2
    figure(request, f"{result}, 0 uploads left; part 2 sent {calls['part 2']} times, "
                    f"parts 1 and 3 once each")


def test_hook_refuses_connections_to_a_download(rig: Rig,
                                                request: pytest.FixtureRequest) -> None:
    """EndpointConnectionError (connection refused) on the first two GetObject sends."""
    src, data = rig.file(SMALL)
    rig.catalog.put(src, "p/data.bin")
    calls: Counter[str] = Counter()

    def hook(request: Any, **_: Any) -> None:
        calls["GetObject"] += 1
        if calls["GetObject"] <= BUDGET - 1:
            raise EndpointConnectionError(endpoint_url=request.url)

    add_hook(rig, "before-send.s3.GetObject", hook)
    dest = rig.tmp / "out" / "data.bin"
    rig.catalog.get("p/data.bin", dest)
    assert dest.read_bytes() == data and calls["GetObject"] == BUDGET
    figure(request, f"1/1 download correct after {BUDGET - 1} refused connections")


# -- many objects --------------------------------------------------------------------------------


def test_many_objects_each_faulted_once(rig: Rig, request: pytest.FixtureRequest) -> None:
    """200 files in one put, every blob PUT answered 503 once; then every download cut once
    mid-body and resumed. All 200 correct, one changeset, one version each."""
    n, size = 200, 100_000
    method, path, _ = OPS["put_object"]
    files = [rig.file(size, f"f{i:03}.bin") for i in range(n)]
    put = rig.proxy.add(Fault("status", method=method, path=path, count=n, each=1))
    rig.catalog.put_many([(p, f"many/{p.name}") for p, _ in files])
    assert put.hits == n and rig.proxy.seen(method, path) == 2 * n
    assert len(rig.changesets()) == 1
    cut = rig.proxy.add(Fault("reset", method="GET", path=BLOB + "$", count=n, each=1,
                              after_bytes=70_000))
    t0 = time.monotonic()
    correct = 0
    for p, data in files:
        dest = rig.tmp / "out" / p.name
        rig.catalog.get(f"many/{p.name}@1", dest)
        correct += dest.read_bytes() == data  # what was stored, and what came back
    assert cut.hits == n and correct == n
    assert sorted(x.name for x in (rig.tmp / "out").iterdir()) == [p.name for p, _ in files]
    # A resumed GET asks for the rest from the first byte not received: 65536 if the client
    # read the first 64 KiB before the reset arrived, 0 if the reset discarded it unread.
    # Every download opens with the blob's first part (all of a small blob); then it resumes.
    firsts = [r for r in rig.ranges() if r == f"bytes=0-{PART - 1}"]
    resumed = Counter(r for r in rig.ranges() if r != f"bytes=0-{PART - 1}")
    assert len(firsts) == n and sum(resumed.values()) == n
    assert set(resumed) <= {f"bytes={start}-{size - 1}" for start in (0, 65536)}
    starts = ", ".join(f"{k[6:].split('-')[0]} ({v})" for k, v in sorted(resumed.items()))
    figure(request, f"{correct}/{n} objects correct after {put.hits} PUT 503s and "
                    f"{cut.hits} downloads cut at 70 kB, each resumed once (from byte: "
                    f"{starts}); {time.monotonic() - t0:.1f} s for the 200 downloads")
