"""A large file is hashed once per put: the upload does not hash it again when the file was
quiet when it was hashed and is still in the same state (identity, size, mtime, ctime) once its
bytes were read for the upload. Any change in between is caught, and nothing is stored.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from s3server import S3TestServer

from eoscatalog.catalog.ingest import store_sources
from eoscatalog.core import hashing
from eoscatalog.core.errors import IntegrityError
from eoscatalog.core.hashing import FileState, hash_bytes
from eoscatalog.local import hash_cache as hashcache
from eoscatalog.local.hash_cache import HashCache
from eoscatalog.store import LocalStore, S3Store, Store, blob_key
from eoscatalog.store import local as local_module
from eoscatalog.store.s3 import downloader as s3_transfer

MiB = 1024 * 1024
SIZE = 12 * MiB + 5  # three 5 MiB parts on the S3 store below


@pytest.fixture
def quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files count as quiet at once (the real window is two seconds since the last change)."""
    monkeypatch.setattr(hashcache, "RACY_WINDOW_NS", -1)


@pytest.fixture(params=["local", "s3"])
def big_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "local":
        yield LocalStore(tmp_path / "store", create=True)
        return
    server: S3TestServer = request.getfixturevalue("s3_server")
    bucket = request.getfixturevalue("s3_bucket")
    store = S3Store(f"s3://{bucket}/acme", endpoint_url=server.endpoint_url,
                    part_size=5 * MiB, multipart_threshold=5 * MiB)
    yield store
    store.close()


class Counted:
    """Bytes hashed through hash_file and StreamHasher, wherever the store does it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.bytes = 0
        real_update = hashing.StreamHasher.update
        real_file = hashing.hash_file

        def update(hasher: hashing.StreamHasher, data: bytes) -> None:
            self.bytes += len(data)
            real_update(hasher, data)

        def hash_file(path: os.PathLike[str]) -> str:
            self.bytes += os.path.getsize(path)
            return real_file(path)

        monkeypatch.setattr(hashing.StreamHasher, "update", update)
        for module in (hashing, hashcache, local_module, s3_transfer):
            if hasattr(module, "hash_file"):
                monkeypatch.setattr(module, "hash_file", hash_file)


def write(path: Path, seed: int) -> tuple[Path, bytes]:
    data = random.Random(seed).randbytes(SIZE)
    path.write_bytes(data)
    return path, data


def test_a_quiet_file_is_hashed_once(big_store: Store, tmp_path: Path, quiet: None,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    path, data = write(tmp_path / "big.bin", 1)
    expected = hash_bytes(data)
    counted = Counted(monkeypatch)
    [blob] = store_sources(big_store, HashCache(tmp_path / "h.sqlite"), [path])
    assert counted.bytes == SIZE  # read for the hash, then only sent
    assert blob.uploaded and blob.hash == expected
    assert big_store.read_blob(blob.hash) == data


def test_a_file_not_quiet_is_hashed_again_while_sent(big_store: Store, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Just written (inside the two-second window), so the upload checks every byte."""
    path, data = write(tmp_path / "big.bin", 2)
    counted = Counted(monkeypatch)
    [blob] = store_sources(big_store, HashCache(tmp_path / "h.sqlite"), [path])
    assert blob.uploaded and counted.bytes == 2 * SIZE
    assert big_store.read_blob(blob.hash) == data


@pytest.mark.parametrize("change", ["rewrite", "append", "replace", "touch"])
def test_a_change_after_the_hash_stores_nothing(big_store: Store, tmp_path: Path, quiet: None,
                                               change: str) -> None:
    """The state the file was hashed in no longer holds: refused (S3, which sent the bytes
    unhashed) or hashed after all and refused for the new bytes (local); either way nothing
    is stored under the old hash."""
    path, data = write(tmp_path / "big.bin", 3)
    cache = HashCache(tmp_path / "h.sqlite")
    h = cache.hash(path)
    state = cache.quiet_state(path, h)
    assert state is not None and state == FileState.of(os.stat(path))
    if change == "rewrite":
        path.write_bytes(data[:-1] + b"!")
    elif change == "append":
        with open(path, "ab") as f:
            f.write(b"more")
    elif change == "replace":
        other = tmp_path / "other.bin"
        other.write_bytes(data[::-1])
        os.replace(other, path)
    else:  # same bytes, new ctime: refused on S3 (cannot tell), stored on local (hashed)
        os.utime(path, ns=(state.mtime_ns, state.mtime_ns))
    if change == "touch" and isinstance(big_store, LocalStore):
        assert big_store.put_blob(h, path, unchanged=state) is True
        assert big_store.read_blob(h) == data
        return
    with pytest.raises(IntegrityError, match="changed while it was being stored"):
        big_store.put_blob(h, path, unchanged=state)
    assert not big_store.exists(blob_key(h))


def test_quiet_state_is_only_for_the_hash_just_taken(tmp_path: Path, quiet: None) -> None:
    path, _ = write(tmp_path / "big.bin", 4)
    cache = HashCache(tmp_path / "h.sqlite")
    h = cache.hash(path)
    assert cache.quiet_state(path, h) is not None
    assert cache.quiet_state(path, "blake3:" + "0" * 64) is None
    assert cache.quiet_state(tmp_path / "other", h) is None
    assert HashCache(tmp_path / "h.sqlite").quiet_state(path, h) is None  # another instance
