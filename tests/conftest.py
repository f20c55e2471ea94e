"""Shared fixtures: the stores (memory, local folder, S3 over HTTP on 127.0.0.1) and catalogs on
top of them.

S3 tests talk HTTP to real servers on 127.0.0.1, never to an in-process patch of botocore:
:class:`tests.s3server.S3TestServer` (moto's ThreadedMotoServer, with a request log and
``nocond-`` buckets that ignore conditional writes) and :class:`tests.seaweed.SeaweedServer`
(SeaweedFS, a production object store with atomic conditional writes), one of each per test
process, started when a test first needs it. Each test gets its own bucket with versioning on.

Tests that should hold on every S3 server take ``s3_server_any`` (an :class:`S3Endpoint`,
parametrized over :data:`S3_SERVERS`), or a store from the ``store`` fixture (kinds
:data:`STORE_KINDS`); tests that need what only moto has (the request log, ``nocond-`` buckets)
take ``s3_server`` / ``s3_store`` / ``s3_client``, which are moto's.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

sys.path.insert(0, os.path.dirname(__file__))

from s3server import NO_CONDITIONAL_PREFIX, S3TestServer
from seaweed import SeaweedServer

from eoscatalog import BlobCache, Catalog, set_default_catalog
from eoscatalog.lock import active as locking
from eoscatalog.store import LocalStore, MemoryStore, S3Store, Store

# Fake credentials for the local servers; never real ones, never another host. No session
# token: SeaweedFS takes any key when it has no identities configured, but checks a session
# token as one it issued itself (InvalidAccessKeyId).
TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}
for _var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3",
             "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
    os.environ.pop(_var, None)
os.environ.update(TEST_ENV)

STORE_KINDS = ["memory", "local", "s3", "seaweed"]  # "s3" is moto
S3_SERVERS = ["moto", "seaweed"]


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


@pytest.fixture(scope="session")
def seaweed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedServer]:
    """SeaweedFS on 127.0.0.1 in a folder of its own; one per test process (xdist worker)."""
    server = SeaweedServer(tmp_path_factory.mktemp("seaweed"), volumes_per_bucket=1)
    server.start()
    yield server
    server.stop()


@dataclass
class S3Endpoint:
    """One S3 test server as the tests reach it: its name, endpoint URL and a boto3 client.

    >>> S3Endpoint("moto", "http://127.0.0.1:9", None).name
    'moto'
    """

    name: str
    endpoint_url: str
    client: Any

    def bucket(self) -> str:
        """A fresh bucket with versioning on."""
        return make_bucket(self.client)

    def store(self, bucket: str | None = None, prefix: str = "acme", **options: Any) -> S3Store:
        """An S3Store under ``prefix`` of ``bucket`` (a fresh one by default); close it after."""
        return S3Store(f"s3://{bucket or self.bucket()}/{prefix}",
                       endpoint_url=self.endpoint_url, **options)


@pytest.fixture(scope="session")
def seaweed_endpoint(seaweed_server: SeaweedServer) -> S3Endpoint:
    return S3Endpoint("seaweed", seaweed_server.endpoint_url, seaweed_server.client())


@pytest.fixture(scope="session")
def moto_endpoint(s3_server: S3TestServer, s3_client: Any) -> S3Endpoint:
    return S3Endpoint("moto", s3_server.endpoint_url, s3_client)


@pytest.fixture(params=S3_SERVERS)
def s3_server_any(request: pytest.FixtureRequest) -> S3Endpoint:
    """Each test using this runs once on moto and once on SeaweedFS."""
    endpoint: S3Endpoint = request.getfixturevalue(f"{request.param}_endpoint")
    return endpoint


@pytest.fixture
def seaweed_store(seaweed_endpoint: S3Endpoint) -> Iterator[S3Store]:
    store = seaweed_endpoint.store()
    yield store
    store.close()


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
    if request.param == "seaweed":
        return request.getfixturevalue("seaweed_store")
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
