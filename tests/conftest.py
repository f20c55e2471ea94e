"""Shared fixtures: the three stores (memory, local folder, S3 over HTTP on 127.0.0.1) and
catalogs on top of them.

S3 tests talk HTTP to :class:`tests.s3server.S3TestServer` (moto's ThreadedMotoServer), never to
an in-process patch of botocore. Each test gets its own bucket with versioning on.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

sys.path.insert(0, os.path.dirname(__file__))

from s3server import NO_CONDITIONAL_PREFIX, S3TestServer

from eoscatalog import BlobCache, Catalog, set_default_catalog
from eoscatalog.lock import active as locking
from eoscatalog.store import LocalStore, MemoryStore, S3Store, Store

# Fake credentials for the local server; never real ones, never another host.
TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}
for _var in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_CONFIG_FILE",
             "AWS_SHARED_CREDENTIALS_FILE"):
    os.environ.pop(_var, None)
os.environ.update(TEST_ENV)

STORE_KINDS = ["memory", "local", "s3"]


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own EOS_HOME and no EOS_* settings from the outside."""
    for var in list(os.environ):
        if var.startswith("EOS_"):
            monkeypatch.delenv(var)
    home = tmp_path / "eos-home"
    monkeypatch.setenv("EOS_HOME", str(home))
    monkeypatch.setenv("EOS_USER", "ada")
    locking._reset()  # no lock or recorder carried over from another test
    return home


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3TestServer]:
    server = S3TestServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def s3_client(s3_server: S3TestServer):
    return boto3.client("s3", endpoint_url=s3_server.endpoint_url, region_name="us-east-1")


def make_bucket(s3_client, *, conditional: bool = True) -> str:
    """A fresh bucket with versioning on; ``conditional=False`` makes it ignore If-None-Match."""
    name = ("" if conditional else NO_CONDITIONAL_PREFIX) + "eos-" + uuid.uuid4().hex[:16]
    s3_client.create_bucket(Bucket=name)
    s3_client.put_bucket_versioning(
        Bucket=name, VersioningConfiguration={"Status": "Enabled"}
    )
    return name


@pytest.fixture
def s3_bucket(s3_client) -> str:
    return make_bucket(s3_client)


@pytest.fixture
def s3_store(s3_server: S3TestServer, s3_bucket: str) -> Iterator[S3Store]:
    store = S3Store(f"s3://{s3_bucket}/acme", endpoint_url=s3_server.endpoint_url)
    yield store
    store.close()


@pytest.fixture
def local_store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "store" / "acme", create=True)


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest) -> Store:
    """Each test using this runs once per store kind: the contract every backend keeps."""
    if request.param == "memory":
        return MemoryStore()
    if request.param == "local":
        return request.getfixturevalue("local_store")
    return request.getfixturevalue("s3_store")


@pytest.fixture(params=["local", "s3"])
def cat(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Catalog]:
    """A catalog with a download cache on the local store, then on S3, made the process's
    default (what ``File`` and ``eos://`` use). Modules needing another define their own."""
    store: Store = request.getfixturevalue("local_store" if request.param == "local"
                                           else "s3_store")
    catalog = Catalog(store, tmp_path / "index.sqlite", user="ada",
                      cache=BlobCache(tmp_path / "cache"))
    set_default_catalog(catalog)
    yield catalog
    set_default_catalog(None)
    catalog.close()


@pytest.fixture
def catalog(store: Store, tmp_path: Path) -> Iterator[Catalog]:
    cat = Catalog(store, tmp_path / "index.sqlite", user="ada")
    yield cat
    cat.index.close()
    cat.hash_cache.close()
