"""Small blobs come down from S3 as one signed ``GET`` read whole (``DirectGet``), outside
botocore's API call, and behave exactly as the ranged-part path does: verified before anything is
written (a wrong byte is refused and nothing is left at the target), retried on 5xx and lost or
cut answers, worded as the client's errors, and handed to botocore after a redirect.

Every test runs on moto and on SeaweedFS (``s3_server_any``); faults are injected at the HTTP
level by :class:`faultproxy.FaultProxy` in front of the server, which the direct path cannot
bypass (a botocore ``before-send`` hook would never see its requests).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from conftest import S3Endpoint
from faultproxy import Fault, FaultProxy

from eoscatalog import Catalog
from eoscatalog.core.errors import IntegrityError, NotFoundError, StoreError
from eoscatalog.core.hashing import hash_bytes
from eoscatalog.store import S3Store, blob_key
from eoscatalog.transfer.sync import run_sync

BUDGET = 3
BLOB_GET = r"/blobs/blake3/[0-9a-f]{2}/[0-9a-f]{64}$"  # a blob GET with no query


@pytest.fixture
def proxy(s3_server_any: S3Endpoint) -> Iterator[FaultProxy]:
    where = urlsplit(s3_server_any.endpoint_url)
    p = FaultProxy((where.hostname or "127.0.0.1", where.port or 80)).start()
    yield p
    p.stop()


@pytest.fixture
def store(s3_server_any: S3Endpoint, proxy: FaultProxy) -> Iterator[S3Store]:
    s = S3Store(f"s3://{s3_server_any.bucket()}/acme", endpoint_url=proxy.url,
                max_attempts=BUDGET, backoff=0.001, read_timeout=2.0)
    yield s
    s.close()


def _stored(catalog: Catalog, tmp_path: Path, data: bytes, name: str = "p/a.bin") -> str:
    src = tmp_path / "src" / name
    src.parent.mkdir(parents=True, exist_ok=True)
    src.write_bytes(data)
    catalog.put(src, name)
    return hash_bytes(data)


def _left(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_a_small_blob_is_one_get_verified_and_written_once(
        catalog: Catalog, proxy: FaultProxy, tmp_path: Path) -> None:
    data = os.urandom(40_000)
    _stored(catalog, tmp_path, data)
    proxy.pass_through()
    dest = tmp_path / "out" / "a.bin"
    catalog.get("p/a.bin", dest)
    assert dest.read_bytes() == data
    assert _left(dest.parent) == ["a.bin"]
    assert proxy.seen("GET", BLOB_GET) == 1


def test_a_wrong_byte_is_refused_and_nothing_is_left_at_the_target(
        catalog: Catalog, store: S3Store, s3_server_any: S3Endpoint, tmp_path: Path) -> None:
    data = os.urandom(20_000)
    h = _stored(catalog, tmp_path, data)
    bad = bytes([data[0] ^ 1]) + data[1:]  # the same size, one bit off
    s3_server_any.client.put_object(Bucket=store.bucket, Key=store.prefix + blob_key(h),
                                    Body=bad)
    dest = tmp_path / "out" / "a.bin"
    dest.parent.mkdir()
    with pytest.raises(IntegrityError, match="is corrupt"):
        catalog.get("p/a.bin", dest)
    assert _left(dest.parent) == []
    dest.write_bytes(b"old")  # an older file at the target stays as it was
    with pytest.raises(IntegrityError):
        run_sync(catalog, "eos://users/ada/p/", str(dest.parent))
    assert dest.read_bytes() == b"old" and _left(dest.parent) == ["a.bin"]


@pytest.mark.parametrize("fault", ["503", "reset", "cut",
                                   pytest.param("stall", marks=pytest.mark.slow),
                                   pytest.param("stall-body", marks=pytest.mark.slow)])
def test_faulted_gets_are_retried_within_the_budget(
        catalog: Catalog, proxy: FaultProxy, tmp_path: Path, fault: str) -> None:
    data = os.urandom(60_000)
    _stored(catalog, tmp_path, data)
    armed = proxy.add(_fault(fault, BUDGET - 1))
    dest = tmp_path / "out" / "a.bin"
    catalog.get("p/a.bin", dest)
    assert dest.read_bytes() == data and _left(dest.parent) == ["a.bin"]
    assert armed.hits == BUDGET - 1
    assert proxy.seen("GET", BLOB_GET) == BUDGET  # whole GETs again: no ranged resume


@pytest.mark.parametrize(("fault", "message"), [
    ("500", r"InternalError .*\(tried 3 times\)"),
    ("reset", "cannot reach S3|did not answer"),
    ("cut", "was cut 3 times"),
])
def test_a_spent_budget_is_a_store_error_and_leaves_nothing(
        catalog: Catalog, proxy: FaultProxy, tmp_path: Path, fault: str, message: str) -> None:
    _stored(catalog, tmp_path, os.urandom(60_000))
    proxy.add(_fault(fault, BUDGET))
    dest = tmp_path / "out" / "a.bin"
    dest.parent.mkdir()
    with pytest.raises(StoreError, match=message):
        catalog.get("p/a.bin", dest)
    assert _left(dest.parent) == []
    assert proxy.seen("GET", BLOB_GET) == BUDGET


def test_a_missing_blob_says_so(catalog: Catalog, store: S3Store, s3_server_any: S3Endpoint,
                                tmp_path: Path) -> None:
    h = _stored(catalog, tmp_path, b"soon gone")
    s3_server_any.client.delete_object(Bucket=store.bucket, Key=store.prefix + blob_key(h))
    with pytest.raises(NotFoundError, match="is missing from"):
        store.download_blob(h, tmp_path / "x", size=9)
    assert not (tmp_path / "x").exists()


def test_a_redirect_hands_the_get_to_botocore(catalog: Catalog, store: S3Store,
                                              proxy: FaultProxy, tmp_path: Path) -> None:
    data = os.urandom(30_000)
    _stored(catalog, tmp_path, data)
    proxy.add(Fault("status", status=400, code="AuthorizationHeaderMalformed", method="GET",
                    path=BLOB_GET))
    dest = tmp_path / "out" / "a.bin"
    catalog.get("p/a.bin", dest)
    assert dest.read_bytes() == data and store.small_gets.redirected
    assert proxy.seen("GET", BLOB_GET) == 2  # the refused direct GET, then botocore's


def test_an_object_larger_than_the_limit_goes_the_ranged_way(
        catalog: Catalog, store: S3Store, proxy: FaultProxy, tmp_path: Path) -> None:
    data = os.urandom(50_000)
    h = _stored(catalog, tmp_path, data)
    store.small_gets.limit = 10_000  # the catalog's size is a hint: the answer's length decides
    dest = tmp_path / "out" / "a.bin"
    assert store.download_blob(h, dest, size=5_000) == dest
    assert dest.read_bytes() == data and _left(dest.parent) == ["a.bin"]
    got = [target for method, target, _ in proxy.log if method == "GET" and "/blobs/" in target]
    assert len(got) == 2  # the direct GET, dropped unread, then the ranged one


def test_a_sync_down_survives_every_get_cut_once(catalog: Catalog, proxy: FaultProxy,
                                                 tmp_path: Path) -> None:
    files = {f"d{i % 3}/f{i:02}.bin": os.urandom(4096 + 997 * i) for i in range(30)}
    src = tmp_path / "src"
    for name, data in files.items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_bytes(data)
    run_sync(catalog, str(src), "eos://users/ada/tree/")
    cut = proxy.add(Fault("reset", method="GET", path=BLOB_GET, count=len(files), each=1,
                          after_bytes=3000))
    out = tmp_path / "out"
    report = run_sync(catalog, "eos://users/ada/tree/", str(out))
    assert len(report.actions) == len(files) and cut.hits == len(files)
    got = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert got == files
    again = run_sync(catalog, "eos://users/ada/tree/", str(out))
    assert again.actions == ()


def _fault(kind: str, count: int) -> Fault:
    where: dict[str, Any] = {"method": "GET", "path": BLOB_GET, "count": count}
    if kind == "503":
        return Fault("status", **where)
    if kind == "500":
        return Fault("status", status=500, code="InternalError", **where)
    if kind == "reset":  # the answer is lost before its head
        return Fault("reset", after_bytes=0, **where)
    if kind == "stall":  # no answer within the read timeout
        return Fault("stall", seconds=3.0, **where)
    if kind == "stall-body":  # a body that stops coming mid-way
        return Fault("stall", after_bytes=2000, seconds=3.0, **where)
    return Fault("reset", after_bytes=2000, **where)  # "cut": mid-body


def test_a_proxy_sends_every_get_through_botocores_session(monkeypatch: pytest.MonkeyPatch,
                                                           s3_server_any: S3Endpoint) -> None:
    bucket = s3_server_any.bucket()
    small, large = b"by proxy", b"L" * 5000
    for data in (small, large):
        s3_server_any.client.put_object(Bucket=bucket, Key=f"acme/{blob_key(hash_bytes(data))}",
                                        Body=data)
    # The proxy is the server itself (it serves absolute-form requests as any other).
    monkeypatch.setenv("HTTP_PROXY", s3_server_any.endpoint_url)
    monkeypatch.setenv("NO_PROXY", "")
    store = S3Store(f"s3://{bucket}/acme", endpoint_url="http://127.0.0.1:9/", max_attempts=1)
    try:
        gets = store.small_gets
        assert gets.get(f"acme/{blob_key(hash_bytes(small))}", 1000) == small
        assert gets.requests.sender.direct is False
        # Streamed there too: an answer over the limit is dropped unread, the next one served.
        assert gets.get(f"acme/{blob_key(hash_bytes(large))}", 1000) is None
        assert gets.get(f"acme/{blob_key(hash_bytes(small))}", 1000) == small
    finally:
        store.close()
