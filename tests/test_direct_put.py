"""Small blobs go to S3 as one signed ``PUT`` with ``If-None-Match: *`` (``DirectPut``), outside
botocore's API call, and behave exactly as the client's requests do: stored bytes, the 412 dedup,
retries, the error messages, and a fall back to botocore when the service redirects.

Against the moto server on 127.0.0.1 (its request log counts what reached it) and, for faults,
through :class:`faultproxy.FaultProxy`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from conftest import make_bucket
from faultproxy import Fault, FaultProxy
from s3server import S3TestServer

from eoscatalog.core.errors import StoreError
from eoscatalog.core.hashing import hash_bytes
from eoscatalog.store import S3Store
from eoscatalog.store.keys import blob_key


@pytest.fixture(scope="module")
def proxy(s3_server: S3TestServer) -> Iterator[FaultProxy]:
    p = FaultProxy(s3_server.get_host_and_port()).start()
    yield p
    p.stop()


def _puts(s3_server: S3TestServer, bucket: str, key: str) -> list[str]:
    return [r.method for r in s3_server.requests.for_bucket(bucket) if r.path.endswith(key)]


def test_a_small_blob_is_one_put_and_its_second_store_sends_no_bytes(
        s3_server: S3TestServer, s3_client: Any) -> None:
    bucket = make_bucket(s3_client)
    store = S3Store(f"s3://{bucket}/a b+c", endpoint_url=s3_server.endpoint_url)  # quoted key
    data = b"small blob " * 100
    hash_string = hash_bytes(data)
    key = blob_key(hash_string)
    s3_server.requests.clear()

    assert store.put_blob_data(hash_string, data) is True
    assert _puts(s3_server, bucket, key) == ["PUT"]
    stored = s3_client.get_object(Bucket=bucket, Key=f"a b+c/{key}")["Body"].read()
    assert stored == data

    s3_server.requests.clear()
    assert store.put_blob_data(hash_string, data) is False  # 412: there, then checked
    assert [r.method for r in s3_server.requests.for_bucket(bucket)].count("PUT") == 1


def test_a_missing_bucket_is_named_as_for_every_request(s3_server: S3TestServer) -> None:
    store = S3Store("s3://no-such-bucket-direct/org", endpoint_url=s3_server.endpoint_url,
                    max_attempts=1)
    with pytest.raises(StoreError, match="bucket 'no-such-bucket-direct' does not exist"):
        store.put_blob_data(hash_bytes(b"x"), b"x")


def test_a_slow_down_is_retried_and_a_spent_budget_says_how_many_tries(
        proxy: FaultProxy, s3_client: Any) -> None:
    bucket = make_bucket(s3_client)
    store = S3Store(f"s3://{bucket}/org", endpoint_url=proxy.url, max_attempts=3, backoff=0.01)
    proxy.pass_through()
    data = b"retried"
    fault = proxy.add(Fault("status", method="PUT", path="/blobs/", count=2))
    assert store.put_blob_data(hash_bytes(data), data) is True
    assert fault.hits == 2

    other = b"never stored"
    proxy.add(Fault("status", status=500, code="InternalError", method="PUT", path="/blobs/",
                    count=3))
    with pytest.raises(StoreError, match=r"InternalError .*\(tried 3 times\)"):
        store.put_blob_data(hash_bytes(other), other)
    listed = s3_client.list_objects_v2(Bucket=bucket, Prefix="org/blobs/").get("Contents", [])
    assert len(listed) == 1


def test_a_redirect_hands_the_request_to_botocore(proxy: FaultProxy, s3_client: Any) -> None:
    bucket = make_bucket(s3_client)
    store = S3Store(f"s3://{bucket}/org", endpoint_url=proxy.url, max_attempts=1)
    proxy.pass_through()
    fault = proxy.add(Fault("status", status=400, code="AuthorizationHeaderMalformed",
                            method="PUT", path="/blobs/"))
    data = b"a bucket in another region"
    assert store.put_blob_data(hash_bytes(data), data) is True
    assert fault.hits == 1
    key = f"org/{blob_key(hash_bytes(data))}"
    assert s3_client.get_object(Bucket=bucket, Key=key)["Body"].read() == data


@pytest.mark.parametrize(("side", "after"), [("request", 4096), ("response", 10)])
def test_a_cut_connection_is_retried_as_botocore_retries_it(
        proxy: FaultProxy, s3_client: Any, side: str, after: int) -> None:
    bucket = make_bucket(s3_client)
    store = S3Store(f"s3://{bucket}/org", endpoint_url=proxy.url, max_attempts=3, backoff=0.01)
    proxy.pass_through()
    data = b"cut once " * 2000
    fault = proxy.add(Fault("reset", side=side, after_bytes=after, method="PUT",
                            path="/blobs/", count=1))
    # A lost answer (the server applied the PUT) is retried too, and its 412 settles it.
    store.put_blob_data(hash_bytes(data), data)
    assert fault.hits == 1
    key = f"org/{blob_key(hash_bytes(data))}"
    assert s3_client.get_object(Bucket=bucket, Key=key)["Body"].read() == data


def test_a_server_that_does_not_answer_is_named_with_the_tries(s3_client: Any) -> None:
    import socket
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store = S3Store("s3://nobody/org", endpoint_url=f"http://127.0.0.1:{port}", max_attempts=2,
                    backoff=0.01)
    with pytest.raises(StoreError, match=r"cannot reach S3 .*tried 2 times"):
        store.put_blob_data(hash_bytes(b"x"), b"x")


def test_a_proxy_sends_every_put_through_botocore(monkeypatch: pytest.MonkeyPatch,
                                                  s3_server: S3TestServer,
                                                  s3_client: Any) -> None:
    bucket = make_bucket(s3_client)
    # The proxy is the server itself (it serves absolute-form requests as any other).
    monkeypatch.setenv("HTTP_PROXY", s3_server.endpoint_url)
    monkeypatch.setenv("NO_PROXY", "")
    store = S3Store(f"s3://{bucket}/org", endpoint_url="http://127.0.0.1:9/",
                    max_attempts=1)
    data = b"by proxy"
    try:
        assert store.put_blob_data(hash_bytes(data), data) is True
    except StoreError:
        pytest.fail("the PUT did not go through the proxy")
    assert store.small_puts._http.direct is False
