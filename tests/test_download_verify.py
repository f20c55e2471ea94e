"""A parallel S3 download is hashed while its parts arrive, and refused whole, leaving nothing
at the target and no temp file, when any byte of any part is wrong: stored wrong on the
server, or served wrong on the way. On moto and on SeaweedFS."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import S3Endpoint

from eoscatalog.catalog.catalog import Catalog
from eoscatalog.core.errors import IntegrityError
from eoscatalog.core.hashing import hash_bytes
from eoscatalog.store.keys import blob_key
from eoscatalog.store.s3 import downloader
from eoscatalog.store.s3.downloader import S3Downloader, part_ranges
from eoscatalog.store.s3.store import S3Store

MiB = 1024 * 1024
PART = 5 * MiB
SIZE = 23 * MiB + 11  # parts [0, 5), [5, 15), [15, 23 MiB + 11): first, middle, last


@pytest.fixture
def store(s3_server_any: S3Endpoint) -> Iterator[S3Store]:
    store = s3_server_any.store(part_size=PART, multipart_threshold=PART, max_concurrency=3)
    yield store
    store.close()


@pytest.fixture(scope="module")
def data() -> bytes:
    return random.Random(21).randbytes(SIZE)


def test_the_parts_cover_the_blob(data: bytes) -> None:
    assert [(a, b) for a, b in part_ranges(PART, SIZE, PART, 3)] == [
        (PART, 3 * PART), (3 * PART, SIZE)]


def flipped(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 1]) + data[at + 1:]


def assert_refused(store: S3Store, h: str, dest: Path, wrong: bytes) -> None:
    with pytest.raises(IntegrityError) as info:
        store.download_blob(h, dest)
    assert info.value.expected == h
    assert info.value.actual == hash_bytes(wrong)
    assert not dest.exists()
    assert list(dest.parent.iterdir()) == []  # no temp file either


@pytest.mark.parametrize("at", [0, PART - 1, PART, 2 * PART + 3, 3 * PART, SIZE - 1])
def test_a_wrong_byte_stored_in_any_part_is_refused(store: S3Store, s3_server_any: S3Endpoint,
                                                    data: bytes, tmp_path: Path,
                                                    at: int) -> None:
    h = store.put_blob_bytes(data)
    wrong = flipped(data, at)
    s3_server_any.client.put_object(Bucket=store.bucket, Key=store._key(blob_key(h)),
                                    Body=wrong)
    assert_refused(store, h, tmp_path / "out" / "big", wrong)


@pytest.mark.parametrize("at", [PART // 2, PART + 1, SIZE - 2])
def test_a_wrong_byte_served_in_any_part_is_refused(store: S3Store, data: bytes,
                                                    tmp_path: Path, at: int,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The stored blob is sound; one byte changes between the server and the file."""
    h = store.put_blob_bytes(data)
    real_open = S3Downloader._open_range

    def open_range(self: S3Downloader, key: str, offset: int, stop: int | None,
                   etag: str | None) -> tuple[dict[str, Any], Any] | None:
        opened = real_open(self, key, offset, stop, etag)
        if opened is None or not offset <= at < (stop or SIZE):
            return opened
        response, body = opened
        return response, Corrupting(body, at - offset)

    monkeypatch.setattr(S3Downloader, "_open_range", open_range)
    assert_refused(store, h, tmp_path / "out" / "big", flipped(data, at))


class Corrupting:
    """A response body that flips the bit 0 of the byte at ``at`` of its stream."""

    def __init__(self, body: Any, at: int) -> None:
        self.body, self.at, self.offset = body, at, 0

    def read(self, amount: int) -> bytes:
        chunk = self.body.read(amount)
        if self.offset <= self.at < self.offset + len(chunk):
            chunk = flipped(chunk, self.at - self.offset)
        self.offset += len(chunk)
        return chunk

    def close(self) -> None:
        self.body.close()


def test_a_sound_blob_is_hashed_from_the_file_while_it_arrives(
        store: S3Store, data: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every byte is hashed once, read back from the temp file; no second pass over it."""
    h = store.put_blob_bytes(data)
    hashed: list[int] = []
    real = downloader.OrderedHasher._hash

    def hash_run(self: downloader.OrderedHasher, start: int, stop: int) -> None:
        hashed.append(stop - start)
        real(self, start, stop)

    monkeypatch.setattr(downloader.OrderedHasher, "_hash", hash_run)
    assert store.download_blob(h, tmp_path / "big").read_bytes() == data
    assert sum(hashed) == SIZE
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big"]


def test_a_get_of_a_corrupt_blob_leaves_nothing(store: S3Store, s3_server_any: S3Endpoint,
                                                data: bytes, tmp_path: Path) -> None:
    """Through the catalog (``eos get``'s path): refused, the target folder left empty."""
    cat = Catalog(store, tmp_path / "index.sqlite", user="ada")
    record = cat.put_bytes(data, "big.bin").record
    assert record.hash is not None
    s3_server_any.client.put_object(Bucket=store.bucket, Key=store._key(blob_key(record.hash)),
                                    Body=flipped(data, 2 * PART))
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(IntegrityError):
        cat.get("big.bin", out / "big.bin")
    assert os.listdir(out) == []
    cat.close()
