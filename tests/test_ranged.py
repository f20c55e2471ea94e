"""Ranged reads through fsspec are verified: a flipped byte or a truncated blob raises
IntegrityError on every read path (seek + read, cat_file with a range, read_block, a whole
read), small blobs and large ones alike; large blobs are checked chunk by chunk against their
outboard, which uploads write, readers without one make, and a damaged one is never trusted.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from eoscatalog import BlobCache, Catalog, EosWarning, IntegrityError
from eoscatalog.rules.policies import bucket_policy
from eoscatalog.sdk.filesystem import EosFileSystem
from eoscatalog.store import LocalStore, S3Store, Store, blob_key
from eoscatalog.store.outboard import (
    OUTBOARD_MIN_SIZE,
    Outboard,
    chunk_size_for,
    load_outboard,
    outboard_key,
)

MiB = 1024 * 1024
BIG = 12 * MiB + 12345  # three multipart parts on the S3 store below; 49 chunks, the last short
SMALL = 100_000
CHUNK = chunk_size_for(BIG)


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "local":
        yield LocalStore(tmp_path / "store" / "acme", create=True)
        return
    server = request.getfixturevalue("s3_server")
    bucket = request.getfixturevalue("s3_bucket")
    # Small parts so a 12 MiB blob takes the multipart path (and a 5 MiB one a single PUT).
    s3 = S3Store(f"s3://{bucket}/acme", endpoint_url=server.endpoint_url,
                 multipart_threshold=6 * MiB, part_size=5 * MiB)
    yield s3
    s3.close()


@pytest.fixture
def cat(store: Store, tmp_path: Path) -> Iterator[Catalog]:
    catalog = Catalog(store, tmp_path / "index.sqlite", user="ada",
                      cache=BlobCache(tmp_path / "cache"))
    yield catalog
    catalog.close()


def put_file(cat: Catalog, tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name.replace("/", "_")
    path.write_bytes(data)
    record = cat.put(path, f"eos://org/{name}").record
    assert record.hash is not None
    return record.hash


def overwrite(store: Store, key: str, data: bytes) -> None:
    """Damage an object behind the catalog's back."""
    if isinstance(store, LocalStore):
        path = store.root / key
        path.chmod(0o644)  # blobs are stored read-only
        path.write_bytes(data)
    elif isinstance(store, S3Store):
        store.client.put_object(Bucket=store.bucket, Key=store.prefix + key, Body=data)
    else:
        store.put(key, data)


def flipped(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 1]) + data[at + 1:]


def every_read_fails(fs: EosFileSystem, uri: str, start: int = 12000) -> int:
    """Each read path that can return part of the blob; return how many raised."""
    raised = 0

    def seek_read() -> bytes:
        with fs.open(uri, "rb") as f:
            f.seek(start)
            return f.read(1000)

    def whole() -> bytes:
        with fs.open(uri, "rb") as f:
            return f.read()

    for read in (seek_read,
                 lambda: fs.cat_file(uri, start=start, end=start + 1000),
                 lambda: fs.read_block(uri, start, 1000),
                 lambda: fs.cat_ranges([uri], [start], [start + 1000], on_error="raise")[0],
                 whole):
        with pytest.raises(IntegrityError):
            read()
        raised += 1
    return raised


@pytest.mark.parametrize("size", [BIG, SMALL])
def test_a_flipped_byte_fails_every_ranged_read(cat: Catalog, tmp_path: Path,
                                                size: int) -> None:
    data = os.urandom(size)
    h = put_file(cat, tmp_path, "d/x.bin", data)
    overwrite(cat.store, blob_key(h), flipped(data, 12500))
    fs = EosFileSystem(catalog=cat)
    assert every_read_fails(fs, "eos://org/d/x.bin@1") == 5
    if size > OUTBOARD_MIN_SIZE:
        # Chunk by chunk: the damaged chunk is named, and intact chunks still read right.
        with pytest.raises(IntegrityError, match=f"chunk 0 \\(bytes 0-{CHUNK}\\) of blob {h}"):
            fs.cat_file("eos://org/d/x.bin", start=100, end=200)
        far = 5 * CHUNK + 7
        assert fs.cat_file("eos://org/d/x.bin", start=far, end=far + 1000) == \
            data[far:far + 1000]
    assert not list((tmp_path / "cache").rglob(h[-64:]))  # nothing bad was cached


@pytest.mark.parametrize("size", [BIG, SMALL])
def test_a_range_past_the_end_of_a_truncated_blob_raises(cat: Catalog, tmp_path: Path,
                                                         size: int) -> None:
    data = os.urandom(size)
    h = put_file(cat, tmp_path, "t.bin", data)
    overwrite(cat.store, blob_key(h), data[: size // 3])
    fs = EosFileSystem(catalog=cat)
    inside = size // 2
    assert every_read_fails(fs, "eos://org/t.bin", start=inside) == 5
    with pytest.raises(IntegrityError, match=r"truncated|hash to"):
        fs.cat_file("eos://org/t.bin", start=-10)


def test_intact_blobs_serve_right_bytes_across_chunk_boundaries(cat: Catalog,
                                                                tmp_path: Path) -> None:
    data = os.urandom(BIG)
    put_file(cat, tmp_path, "ok.bin", data)
    fs = EosFileSystem(catalog=cat)
    rng = random.Random(12)
    ranges = [(CHUNK - 10, CHUNK + 10), (0, 1), (BIG - 1, BIG), (BIG - 65536, BIG),
              (3 * CHUNK, 5 * CHUNK), (BIG - 100, BIG + 100)]
    ranges += [(a, a + rng.randrange(1, 3 * CHUNK)) for a in
               (rng.randrange(BIG) for _ in range(20))]
    for a, b in ranges:
        assert fs.cat_file("eos://org/ok.bin", start=a, end=b) == data[a:b]
    assert fs.cat_file("eos://org/ok.bin", start=-65536) == data[-65536:]
    with fs.open("eos://org/ok.bin", "rb") as f:
        for a, b in ranges:
            f.seek(a)
            assert f.read(b - a) == data[a:b]
        f.seek(0)
        assert f.read() == data
    assert fs.read_block("eos://org/ok.bin", CHUNK - 5, 10) == data[CHUNK - 5:CHUNK + 5]


@pytest.mark.parametrize("cached", [True, False])
def test_a_blob_without_an_outboard_reads_ranges_verified_and_gets_one(
        store: Store, tmp_path: Path, cached: bool) -> None:
    cat = Catalog(store, tmp_path / "index.sqlite", user="ada",
                  cache=BlobCache(tmp_path / "cache") if cached else None)
    data = os.urandom(BIG)
    h = put_file(cat, tmp_path, "old.bin", data)
    store.delete(outboard_key(h))  # as stored before outboards existed
    fs = EosFileSystem(catalog=cat)
    assert fs.cat_file("eos://org/old.bin", start=CHUNK - 3, end=CHUNK + 3) == \
        data[CHUNK - 3:CHUNK + 3]
    outboard, _ = load_outboard(store, h, BIG)
    assert outboard == Outboard.of_bytes(data, h)  # written by the reader that verified it
    # Without an outboard, a damaged blob is caught by the whole read.
    other = os.urandom(BIG)
    h2 = put_file(cat, tmp_path, "old2.bin", other)
    store.delete(outboard_key(h2))
    overwrite(store, blob_key(h2), flipped(other, BIG - 5))
    with pytest.raises(IntegrityError):
        fs.cat_file("eos://org/old2.bin", start=0, end=10)
    assert not store.exists(outboard_key(h2))
    cat.close()


def test_a_damaged_or_foreign_outboard_is_not_trusted(cat: Catalog, tmp_path: Path) -> None:
    store = cat.store
    data = os.urandom(BIG)
    h = put_file(cat, tmp_path, "a.bin", data)
    good = store.get(outboard_key(h))
    fs = EosFileSystem(catalog=cat)
    # A flipped byte in a chunk hash: the checksum catches it, the blob is read whole instead.
    overwrite(store, outboard_key(h), flipped(good, len(good) - 100))
    with pytest.warns(EosWarning, match="checksum"):
        assert fs.cat_file("eos://org/a.bin", start=12000, end=13000) == data[12000:13000]
    # An outboard of other bytes (consistent in itself) does not match the catalog's header.
    other = os.urandom(BIG)
    h2 = put_file(cat, tmp_path, "b.bin", other)
    foreign = Outboard.of_bytes(other[:-1], h2)  # the right hash, the wrong size
    overwrite(store, outboard_key(h2), foreign.encode())
    with pytest.warns(EosWarning, match="not the catalog's"):
        assert fs.cat_file("eos://org/b.bin", start=BIG - 10) == other[-10:]
    # A damaged outboard beside a damaged blob: still an error, never wrong bytes.
    third = os.urandom(BIG)
    h3 = put_file(cat, tmp_path, "c.bin", third)
    overwrite(store, outboard_key(h3), good)  # another blob's outboard
    overwrite(store, blob_key(h3), flipped(third, 20))
    with pytest.warns(EosWarning), pytest.raises(IntegrityError):
        fs.cat_file("eos://org/c.bin", start=0, end=100)


def test_uploads_write_outboards_for_large_blobs_only(cat: Catalog, tmp_path: Path) -> None:
    store = cat.store
    big, one_request, small = os.urandom(BIG), os.urandom(5 * MiB), os.urandom(SMALL)
    hashes = {put_file(cat, tmp_path, "big.bin", big): big,
              put_file(cat, tmp_path, "one.bin", one_request): one_request,
              cat.put_bytes(b"b" + big, "eos://org/bytes.bin").record.hash or "": b"b" + big}
    for h, data in hashes.items():
        outboard, why = load_outboard(store, h, len(data))
        assert outboard == Outboard.of_bytes(data, h), why
    h_small = put_file(cat, tmp_path, "small.bin", small)
    assert not store.exists(outboard_key(h_small))
    assert not [o.key for o in store.list("blobs/") if "outboard" in o.key]


def test_gc_deletes_an_outboard_with_its_blob(cat: Catalog, tmp_path: Path) -> None:
    cat.admin = True
    h = put_file(cat, tmp_path, "gone.bin", os.urandom(BIG))
    cat.purge("eos://org/gone.bin")
    assert cat.store.exists(outboard_key(h))
    report = cat.gc(grace=0)
    assert blob_key(h) in [k for k, _ in report.deleted.get("purged", [])]
    assert not cat.store.exists(blob_key(h)) and not cat.store.exists(outboard_key(h))


def test_the_bucket_policy_denies_member_deletes_of_outboards() -> None:
    policy = bucket_policy("s3://lab/eos/acme", members=["arn:aws:iam::123456789012:root"],
                           admins=["arn:aws:iam::123456789012:role/eos-admin"])
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    root = "arn:aws:s3:::lab/eos/acme/"
    assert f"{root}outboards/*" in by_sid["EosDenyDeletesOfBlobsAndCatalogByNonAdmins"]["Resource"]
    assert f"{root}outboards/*" in by_sid["EosMembersWriteBlobs"]["Resource"]
    assert f"{root}outboards/*" in by_sid["EosDenyOverwritesOfBlobsAndCatalog"]["Resource"]


def test_verify_writes_missing_outboards_and_replaces_bad_ones(cat: Catalog,
                                                               tmp_path: Path) -> None:
    store = cat.store
    a, b = os.urandom(BIG), os.urandom(BIG)
    h_a, h_b = put_file(cat, tmp_path, "a.bin", a), put_file(cat, tmp_path, "b.bin", b)
    store.delete(outboard_key(h_a))
    overwrite(store, outboard_key(h_b), Outboard.of_bytes(a, h_b).encode())  # wrong digests
    fs = EosFileSystem(catalog=cat)
    with pytest.raises(IntegrityError, match="chunk 0"):
        fs.cat_file("eos://org/b.bin", start=0, end=10)
    assert cat.verify("eos://org/").ok
    assert load_outboard(store, h_a, BIG)[0] == Outboard.of_bytes(a, h_a)
    assert load_outboard(store, h_b, BIG)[0] == Outboard.of_bytes(b, h_b)
    assert fs.cat_file("eos://org/b.bin", start=0, end=10) == b[:10]  # repaired, read again


def test_a_changed_cache_entry_is_passed_over_for_the_store(cat: Catalog,
                                                           tmp_path: Path) -> None:
    data = os.urandom(BIG)
    put_file(cat, tmp_path, "c.bin", data)
    _, entry = cat.cached("eos://org/c.bin")
    entry.chmod(0o644)
    entry.write_bytes(flipped(data, 12500))  # edited behind the cache's back
    fs = EosFileSystem(catalog=cat)
    assert fs.cat_file("eos://org/c.bin", start=12000, end=13000) == data[12000:13000]
    entry.write_bytes(data[:CHUNK])  # cut short
    assert fs.cat_file("eos://org/c.bin", start=2 * CHUNK, end=2 * CHUNK + 9) == \
        data[2 * CHUNK:2 * CHUNK + 9]


@pytest.mark.parametrize("size", [BIG, SMALL])
def test_a_version_claiming_fewer_bytes_than_its_blob_raises_integrity_error(
        cat: Catalog, tmp_path: Path, size: int) -> None:
    """A crafted entry whose size is smaller than its blob's: a clear IntegrityError, not a
    ValueError from deep inside, and no bytes."""
    from dataclasses import replace

    from eoscatalog.catalog.ranged import VerifiedRanges

    put_file(cat, tmp_path, "claims.bin", random.Random(5).randbytes(size))
    record = replace(cat.resolve("eos://org/claims.bin"), size=size - 100)
    store = cat.store
    store.delete(outboard_key(record.hash or ""))
    with pytest.raises(IntegrityError, match="bytes, but the version says"):
        VerifiedRanges.of(store, record, None).read(0, 1000)
