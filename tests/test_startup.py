"""What an unchanged ``eos sync`` costs: start-up and one LIST, and nothing it does not need.

- On S3 with an explicit endpoint and credentials in the environment, an unchanged re-sync
  sends its one request (the LIST of the log) without botocore: no client is built, botocore's
  session, client and HTTP stack (urllib3) are never imported, and neither are the File API
  and the table diffs. A sync with something to upload builds the client as before.
- The plain LIST (``store/s3/plain_list.py``) signs exactly as botocore's SigV4 signer does, and
  lists what botocore's paginator lists (keys that need escaping, pages, ``StartAfter``), on
  moto and on SeaweedFS; an answer it cannot use falls back to botocore.
- The cheaper compare keeps the hash cache honest: a file whose mtime changed (same size) is
  read and hashed again, and uploaded when its bytes changed.
"""

from __future__ import annotations

import os
import socket
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from conftest import S3Endpoint, make_bucket
from test_lazy_imports import run_eos as eos

from eoscatalog.catalog.catalog import Catalog
from eoscatalog.local.hash_cache import HashCache
from eoscatalog.store.s3.client import S3Client
from eoscatalog.store.s3.plain_list import PlainLister
from eoscatalog.store.s3.store import S3Store
from eoscatalog.transfer.sync import run_sync

ROOT = Path(__file__).resolve().parent.parent
KEYS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1"}
# Loaded by building a client or sending through botocore; not by an unchanged sync.
HEAVY = ("botocore.session", "botocore.client", "botocore.auth", "urllib3", "eoscatalog.sdk.file",
         "eoscatalog.catalog.diffing")


def _tree(root: Path, count: int = 30) -> Path:
    then = time.time() - 60
    for i in range(count):
        path = root / f"d{i % 3}" / f"f{i:03d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(f"file {i}\n".encode() * (1 + i % 5))
        os.utime(path, (then, then))
    return root


def test_an_unchanged_sync_on_s3_builds_no_botocore_client(
    tmp_path: Path, s3_server: Any, s3_client: Any
) -> None:
    tree = _tree(tmp_path / "tree")
    bucket = make_bucket(s3_client)
    env = {"EOS_STORE": f"s3://{bucket}/eos", "AWS_ENDPOINT_URL": s3_server.endpoint_url,
           **KEYS}
    first, loaded_first = eos(tmp_path, "sync", "--quiet", str(tree), "eos://users/me/d/", **env)
    assert first.returncode == 0, first.stderr
    assert "botocore.client" in loaded_first  # the upload needed the client
    before = len(s3_server.requests.for_bucket(bucket))
    again, loaded = eos(tmp_path, "sync", "--json", str(tree), "eos://users/me/d/", **env)
    assert again.returncode == 0, again.stderr
    assert '"actions": []' in again.stdout and '"hashed": 0' in again.stdout
    assert [m for m in HEAVY if m in loaded] == []
    sent = s3_server.requests.for_bucket(bucket)[before:]
    assert [(r.method, "list-type=2" in r.query) for r in sent] == [("GET", True)]


def test_the_plain_signature_is_botocores() -> None:
    """The same GET, at the same instant, signed by both: the same Authorization header (with a
    session token too)."""
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    now = datetime(2026, 12, 6, 1, 2, 3, tzinfo=timezone.utc)
    for token in (None, "session-token"):
        lister = PlainLister("http://127.0.0.1:9000/base", "eu-west-1",
                             ("AKID", "SECRET", token), timeout=(1, 1),
                             timestamp=datetime.fromisoformat)
        query = "encoding-type=url&list-type=2&prefix=a%20b%2Bc%2F&start-after=a%2F%C3%A9"
        auth, _ = lister.authorization("GET", "/base/bucket", query, "127.0.0.1:9000", now)
        request = AWSRequest(method="GET", url=f"http://127.0.0.1:9000/base/bucket?{query}")
        signer = S3SigV4Auth(Credentials("AKID", "SECRET", token), "s3", "eu-west-1")
        with mock.patch("botocore.auth.get_current_datetime", return_value=now):
            signer.add_auth(request)
        assert auth == request.headers["Authorization"]


@pytest.mark.parametrize("start_after", [None, "log/b c+d"])
def test_the_plain_list_lists_what_botocore_lists(
    s3_server_any: S3Endpoint, monkeypatch: pytest.MonkeyPatch, start_after: str | None
) -> None:
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)
    bucket = s3_server_any.bucket()
    keys = ["log/a", "log/b c+d", "log/caf\u00e9 & <x>", "log/e%20f", "log/z/deep", "other"]
    for key in keys:
        s3_server_any.client.put_object(Bucket=bucket, Key=f"root/{key}", Body=key.encode())
    plain_store = s3_server_any.store(bucket, prefix="root")
    boto_store = s3_server_any.store(bucket, prefix="root")
    boto_store.s3.start()  # a client being built: botocore lists
    try:
        plain = list(plain_store.list("log/", start_after=start_after))
        assert not plain_store.s3.started  # listed without botocore
        assert plain == list(boto_store.list("log/", start_after=start_after))
        assert [o.key for o in plain][-1] == "log/z/deep"
    finally:
        plain_store.close()
        boto_store.close()


def test_the_plain_list_pages_like_botocore(
    moto_endpoint: S3Endpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)
    bucket = moto_endpoint.bucket()
    for i in range(1003):  # more than one page of 1,000
        moto_endpoint.client.put_object(Bucket=bucket, Key=f"p/log/{i:05d}", Body=b"")
    store = moto_endpoint.store(bucket, prefix="p")
    try:
        listed = [o.key for o in store.list("log/", start_after="log/00001")]
        assert not store.s3.started
        assert listed == [f"log/{i:05d}" for i in range(2, 1003)]
    finally:
        store.close()


def test_what_the_plain_list_cannot_do_goes_through_botocore(
    moto_endpoint: S3Endpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No environment credentials, virtual addressing, a proxy: botocore lists; an error answer
    (a bucket that does not exist) is botocore's to word."""
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)
    url = moto_endpoint.endpoint_url
    assert PlainLister.for_endpoint(url, None, "virtual", timeout=(1, 1),
                                    timestamp=datetime.fromisoformat) is None
    assert PlainLister.for_endpoint(None, None, "path", timeout=(1, 1),
                                    timestamp=datetime.fromisoformat) is None
    with monkeypatch.context() as m:
        m.setenv("HTTPS_PROXY", "http://127.0.0.1:1")
        assert PlainLister.for_endpoint(url, None, "path", timeout=(1, 1),
                                        timestamp=datetime.fromisoformat) is None
    with monkeypatch.context() as m:
        m.delenv("AWS_SECRET_ACCESS_KEY")
        assert S3Client(endpoint_url=url).plain_list("b", "", "x/") is None
    store = S3Store("s3://no-such-bucket-here/p", endpoint_url=url)
    try:
        with pytest.raises(Exception, match="does not exist"):
            list(store.list("log/"))
        assert store.s3.started  # botocore answered
    finally:
        store.close()


def test_a_file_whose_mtime_changed_is_hashed_again(
    tmp_path: Path, s3_server_any: S3Endpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same size, new mtime: read and hashed again; new bytes of the same size are uploaded,
    the same bytes are not."""
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)
    tree = _tree(tmp_path / "tree")
    store = s3_server_any.store()

    def catalog() -> Catalog:
        return Catalog(store, tmp_path / "index.sqlite", user="ada",
                       hash_cache=HashCache(tmp_path / "hashes.sqlite"))

    try:
        run_sync(catalog(), str(tree), "eos://users/ada/p/")
        touched, rewritten = tree / "d0" / "f000.txt", tree / "d1" / "f001.txt"
        then = time.time() - 30
        os.utime(touched, (then, then))
        rewritten.write_bytes(rewritten.read_bytes().upper())  # same size, other bytes
        os.utime(rewritten, (then, then))
        report = run_sync(catalog(), str(tree), "eos://users/ada/p/")
        assert report.hashed == 2
        assert [(a.kind, a.relative) for a in report.actions] == [("upload", "d1/f001.txt")]
        again = run_sync(catalog(), str(tree), "eos://users/ada/p/")
        assert again.actions == () and again.hashed == 0
    finally:
        store.close()


def test_the_plain_list_keeps_its_connection_for_the_next_list(
    seaweed_endpoint: S3Endpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process that resolves ``latest`` again and again lists over one connection; one the
    server closed in between is opened anew, still without botocore (SeaweedFS keeps
    connections alive; moto's server closes each after its answer)."""
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)
    bucket = seaweed_endpoint.bucket()
    seaweed_endpoint.client.put_object(Bucket=bucket, Key="p/log/1", Body=b"")
    store = seaweed_endpoint.store(bucket, prefix="p")
    try:
        assert [o.key for o in store.list("log/")] == ["log/1"]
        lister = store.s3._plain
        assert isinstance(lister, PlainLister) and lister._open is not None
        kept = lister._open
        assert [o.key for o in store.list("log/")] == ["log/1"]
        assert lister._open is kept
        assert kept.sock is not None
        kept.sock.shutdown(socket.SHUT_RDWR)  # as a server's idle timeout leaves it
        assert [o.key for o in store.list("log/")] == ["log/1"]
        assert store.s3._plain is lister and lister._open is not kept
        assert not store.s3.started
    finally:
        store.close()
