"""Transactions in one process: every write of a block, through any face and thread, published at
its end as ONE changeset, or nothing if it raises; the block reads its own writes.

Counted in the store itself (the namespace's log), not through the index, so a test cannot pass
by reading its own staged writes back.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import fsspec
import numpy as np
import pytest
import xarray as xr

import eoscatalog
from eoscatalog import (
    Catalog,
    ConflictError,
    File,
    InvalidNameError,
    NameExistsError,
    NotFoundError,
    hash_bytes,
    set_default_catalog,
)
from eoscatalog.store import Store

NS = "users/ada"


@pytest.fixture
def mem() -> Iterator[Catalog]:
    catalog = Catalog.at("memory://", user="ada")
    yield catalog
    catalog.close()


def changesets(cat: Catalog, namespace: str = NS) -> int:
    """The changesets in the store's log of ``namespace``."""
    return sum(1 for _ in cat.store.list(f"catalog/{namespace}/log/"))


def staged_objects(cat: Catalog) -> list[str]:
    return [info.key for info in cat.store.list("transactions/")]


def test_a_block_publishes_one_changeset_and_reads_its_own_writes(cat: Catalog) -> None:
    cat.put_bytes(b"old", "d/keep.txt")
    cat.put_bytes(b"old", "d/gone.txt")
    before = changesets(cat)
    with cat.transaction("regrid v2") as txn:
        result = cat.put_bytes(b"new a", "d/a.txt")
        cat.put_bytes(b"new b", "d/sub/b.txt")
        cat.put_bytes(b"old", "d/keep.txt")  # unchanged: no version
        cat.rm("d/gone.txt")
        assert changesets(cat) == before, "nothing is published inside the block"
        assert (result.record.version, result.record.seq, result.created) == (1, 0, True)
        assert cat.cat("d/a.txt") == b"new a"
        assert cat.cat(result.record.uri) == b"new a"  # the forecast number reads too
        assert [f.name for f in cat.ls("d/").files] == ["d/a.txt", "d/keep.txt"]
        assert cat.ls("d/").folders == ("d/sub/",)
        with pytest.raises(NotFoundError, match="deleted in the open transaction"):
            cat.resolve("d/gone.txt")
        assert cat.resolve("d/gone.txt@1").hash == hash_bytes(b"old")
    assert changesets(cat) == before + 1
    assert [(r.name, r.kind, r.version) for r in txn.records] == [
        ("d/a.txt", "put", 1), ("d/gone.txt", "delete", 2), ("d/sub/b.txt", "put", 1)]
    seq = cat.resolve("d/a.txt").seq
    assert {r.seq for r in txn.records} == {seq}
    assert cat.cat("d/sub/b.txt") == b"new b"
    assert cat.versions("d/keep.txt")[-1].version == 1
    assert cat.log("d/", limit=5)[0].message == "regrid v2"
    assert staged_objects(cat) == []


def test_an_exception_publishes_nothing_and_gc_collects_the_blobs(mem: Catalog) -> None:
    mem.put_bytes(b"v1", "x.txt")
    with pytest.raises(RuntimeError, match="boom"), mem.transaction():
        mem.put_bytes(b"v2", "x.txt")
        mem.put_bytes(b"orphan", "y.txt")
        raise RuntimeError("boom")
    assert changesets(mem) == 1
    assert mem.cat("x.txt") == b"v1"
    with pytest.raises(NotFoundError):
        mem.resolve("y.txt")
    assert mem.store.has_blob(hash_bytes(b"orphan"))
    mem.admin = True
    report = mem.gc(grace=0)
    assert not mem.store.has_blob(hash_bytes(b"orphan"))
    assert report.bytes("unreferenced") == len(b"v2") + len(b"orphan")
    # the block ended: the next write commits at once
    mem.put_bytes(b"v3", "x.txt")
    assert changesets(mem) == 2


@pytest.mark.parametrize("kind", ["local", pytest.param("s3", marks=pytest.mark.slow)])
def test_threads_and_faces_write_into_one_changeset(kind: str, request: pytest.FixtureRequest,
                                                    tmp_path: Path) -> None:
    """16 threads x 25 writes through Catalog.put_bytes, File.upload and eos:// pipe_file."""
    store: Store = request.getfixturevalue(f"{kind}_store")
    cat = Catalog(store, tmp_path / "index.sqlite", user="ada")
    set_default_catalog(cat)
    fs = fsspec.filesystem("eos", catalog=cat, skip_instance_cache=True)
    threads, per = 16, 25 if kind == "local" else 8
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def work(t: int) -> None:
        start.wait()
        try:
            for i in range(per):
                name, data = f"ds/{t}/{i}.bin", f"{t}-{i}".encode() * 10
                if i % 3 == 0:
                    cat.put_bytes(data, name)
                elif i % 3 == 1:
                    fs.pipe_file(f"eos://{NS}/{name}", data)
                else:
                    local = tmp_path / f"{t}-{i}.bin"
                    local.write_bytes(data)
                    File(remote=name, local=local).upload()
                assert cat.cat(name) == data  # its own write, read back inside the block
        except BaseException as e:  # every failure is reported below
            errors.append(e)

    try:
        with eoscatalog.transaction("many threads") as txn:
            workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
            for w in workers:
                w.start()
            for w in workers:
                w.join()
        assert errors == []
        assert changesets(cat) == 1
        assert len(txn.records) == threads * per
        fresh = Catalog(store, tmp_path / "fresh.sqlite", user="ada")
        listing = {r.name: r for r in fresh.ls(f"eos://{NS}/ds/", recursive=True).files}
        assert len(listing) == threads * per
        for t in range(threads):
            for i in range(per):
                record = listing[f"ds/{t}/{i}.bin"]
                assert record.version == 1
                assert fresh.cat(record.uri) == f"{t}-{i}".encode() * 10
        fresh.close()
    finally:
        set_default_catalog(None)
        cat.close()


def test_fsspec_transaction_writes_a_zarr_store_as_one_version(cat: Catalog) -> None:
    fs = fsspec.filesystem("eos", catalog=cat, skip_instance_cache=True)
    rng = np.random.default_rng(3)
    ds = xr.Dataset({"v": (("x", "y"), rng.standard_normal((40, 60)))}).chunk({"x": 10, "y": 20})
    with fs.transaction:
        ds.to_zarr(fs.get_mapper(f"{NS}/t.zarr"), mode="w", zarr_format=2)
        # zarr read its own metadata back while writing; so can the block
        assert xr.open_zarr(fs.get_mapper(f"{NS}/t.zarr")).v.shape == (40, 60)
    assert changesets(cat) == 1
    xr.testing.assert_identical(xr.open_zarr(fs.get_mapper(f"{NS}/t.zarr")).compute(),
                                ds.compute())
    # written again unchanged: no blob is sent (each is named by a live version, so the write
    # asks the store first) and no changeset is made
    sent: list[bool] = []
    for method in ("put_blob", "put_blob_data"):
        def counted(*args: object, _original: object = getattr(cat.store, method),
                    **kwargs: object) -> bool:
            written = bool(_original(*args, **kwargs))  # type: ignore[operator]
            sent.extend([written] if written else [])
            return written
        setattr(cat.store, method, counted)
    with fs.transaction:
        ds.to_zarr(fs.get_mapper(f"{NS}/t.zarr"), mode="w", zarr_format=2)
    assert sent == [] and changesets(cat) == 1


def test_to_zarr_by_url_in_a_transaction_replaces_the_store_in_one_changeset(
        cat: Catalog) -> None:
    url = f"eos://{NS}/r.zarr"
    first = xr.Dataset({"t": (("x",), np.arange(12.0))}).chunk({"x": 4})
    first.to_zarr(url, mode="w", zarr_format=3, consolidated=False)
    before = changesets(cat)
    assert before > 1  # without a transaction, one changeset per object
    second = xr.Dataset({"t": (("x",), np.arange(12.0) * 2)}).chunk({"x": 6})
    with eoscatalog.transaction("rewrite"):
        second.to_zarr(url, mode="w", zarr_format=3, consolidated=False)
    assert changesets(cat) == before + 1
    xr.testing.assert_identical(xr.open_zarr(url, consolidated=False).compute(),
                                second.compute())


def test_one_namespace_per_transaction_and_staged_refusals(mem: Catalog) -> None:
    mem.admin = True
    mem.put_bytes(b"1", "a.txt")
    with pytest.raises(InvalidNameError, match="one namespace"), mem.transaction():
        mem.put_bytes(b"2", "a.txt")
        mem.put_bytes(b"x", "eos://org/b.txt")
    assert mem.cat("a.txt") == b"1" and changesets(mem) == 1
    for what, call in [("tag", lambda: mem.tag("a.txt@1", "v1")),
                       ("rollback", lambda: mem.rollback("a.txt", 1)),
                       ("undelete", lambda: mem.undelete("a.txt")),
                       ("untag", lambda: mem.untag("a.txt", "v1")),
                       ("purge", lambda: mem.purge("a.txt@1"))]:
        with pytest.raises(ConflictError, match=f"{what} cannot run inside a transaction"), \
                mem.transaction():
            call()
    with pytest.raises(InvalidNameError, match="one namespace"):
        mem.put_many([(b"1", "p.txt"), (b"2", "eos://org/q.txt")])  # outside: fine
        with mem.transaction():
            mem.put_many([(b"1", "p.txt"), (b"2", "eos://org/q.txt")])


def test_create_only_and_copies_inside_a_block(mem: Catalog) -> None:
    mem.put_bytes(b"src", "src.txt")
    with mem.transaction() as txn:
        with pytest.raises(NameExistsError):
            mem.put_if_absent(b"again", "src.txt")
        mem.put_if_absent(b"first", "new.txt")
        with pytest.raises(NameExistsError):
            mem.put_if_absent(b"second", "new.txt")  # its own staged write counts
        copied = mem.copy("src.txt", "copy.txt")
        assert copied.source == "eos://users/ada/src.txt@1"
        assert mem.cat("copy.txt") == b"src"
    assert [(r.name, r.kind) for r in txn.records] == [("copy.txt", "copy"), ("new.txt", "put")]
    assert mem.resolve("copy.txt").source == "eos://users/ada/src.txt@1"


def test_a_name_created_elsewhere_meanwhile_fails_a_create_only_block(
        local_store: Store, tmp_path: Path) -> None:
    cat = Catalog(local_store, tmp_path / "index.sqlite", user="ada")
    fs = fsspec.filesystem("eos", catalog=cat, skip_instance_cache=True)
    with pytest.raises(NameExistsError, match="nothing was published"), cat.transaction():
        with fs.open(f"eos://{NS}/only.txt", "xb") as f:
            f.write(b"mine")
        fs.pipe_file(f"eos://{NS}/other.txt", b"other")
        other_process_puts(local_store.url, "only.txt", b"theirs", tmp_path)
    assert cat.cat("only.txt") == b"theirs"
    with pytest.raises(NotFoundError):
        cat.resolve("other.txt")
    cat.close()


def other_process_puts(store_url: str, name: str, data: bytes, tmp_path: Path) -> None:
    """A put by another process (whose catalog knows nothing of this one's transaction)."""
    code = ("import sys; from eoscatalog import Catalog; "
            "c = Catalog.at(sys.argv[1], sys.argv[2], user='ada'); "
            "c.put_bytes(sys.argv[4].encode(), sys.argv[3])")
    subprocess.run([sys.executable, "-c", code, store_url, str(tmp_path / "other.sqlite"),
                    name, data.decode()], check=True, timeout=60)


def test_version_numbers_are_assigned_at_commit_on_the_freshest_log(
        local_store: Store, tmp_path: Path) -> None:
    cat = Catalog(local_store, tmp_path / "index.sqlite", user="ada")
    cat.put_bytes(b"1", "n.txt")
    with cat.transaction() as txn:
        forecast = cat.put_bytes(b"mine", "n.txt").record.version
        other_process_puts(local_store.url, "n.txt", b"theirs", tmp_path)
    assert forecast == 2
    assert [r.version for r in txn.records] == [3]
    assert [v.hash for v in cat.versions("n.txt")] == [
        hash_bytes(b"1"), hash_bytes(b"theirs"), hash_bytes(b"mine")]
    cat.close()


def test_nested_and_concurrent_blocks_join_the_open_one(mem: Catalog) -> None:
    other = Catalog(mem.store, ":memory:", user="ada")  # another catalog on the same store
    with mem.transaction("outer") as outer:
        with other.transaction("inner") as inner:
            assert inner is outer
            other.put_bytes(b"i", "inner.txt")
        assert changesets(mem) == 0, "the inner block's end publishes nothing"
        assert mem.cat("inner.txt") == b"i"
        mem.put_bytes(b"o", "outer.txt")
    assert changesets(mem) == 1
    assert [r.name for r in outer.records] == ["inner.txt", "outer.txt"]
    assert mem.open_transaction() is None


def test_a_joined_transaction_collects_another_process_writes(local_store: Store,
                                                              tmp_path: Path) -> None:
    cat = Catalog(local_store, tmp_path / "index.sqlite", user="ada")
    with cat.transaction("from a worker") as txn:
        cat.put_bytes(b"here", "d/here.txt")
        code = ("import sys; from eoscatalog import Catalog; "
                "c = Catalog.at(sys.argv[1], sys.argv[2], user='ada')\n"
                "with c.transaction(join=sys.argv[3]):\n"
                "    c.put_bytes(b'there', 'd/there.txt')\n"
                "    c.put_bytes(b'again', 'd/here.txt')\n")
        subprocess.run([sys.executable, "-c", code, local_store.url,
                        str(tmp_path / "worker.sqlite"), txn.announce()], check=True, timeout=60)
        assert changesets(cat) == 0
    assert changesets(cat) == 1
    assert cat.cat("d/there.txt") == b"there"
    assert cat.cat("d/here.txt") == b"again"  # the later write wins
    assert staged_objects(cat) == []
    # a process joining after the end is told its writes may be lost
    token = txn.token
    with pytest.raises(ConflictError, match="no longer open"), cat.transaction(join=token):
        cat.put_bytes(b"late", "d/late.txt")
    cat.close()


def test_a_staged_object_planted_without_the_key_fails_the_commit(mem: Catalog) -> None:
    """Members may list and write under transactions/: a writer who learns a transaction's id
    (from a listing) but not its key cannot slip versions into it."""
    from eoscatalog.core.errors import InvalidChangesetError
    from eoscatalog.log.staged import StagedWrite, encode_staged, split_token, staging_key

    blob = mem.store.put_blob_bytes(b"planted")
    refused = pytest.raises(InvalidChangesetError, match="not signed with this transaction's key")
    with refused, mem.transaction() as txn:
        mem.put_bytes(b"mine", "mine.txt")
        ident, _ = split_token(txn.announce())
        forged = encode_staged(NS, f"{ident}.{'0' * 64}",
                               [StagedWrite("evil.txt", "put", blob, 7,
                                            "2026-01-01T00:00:00.000000Z")])
        mem.store.put(staging_key(ident, "f" * 32, 1), forged)
    assert changesets(mem) == 0
    with pytest.raises(NotFoundError):
        mem.resolve("evil.txt")


def test_a_block_opening_as_another_ends_is_a_new_transaction(mem: Catalog) -> None:
    """A thread that got the open transaction just before its block ended gets a new one,
    not the closed one (which would refuse every write of the process until it ended)."""
    with mem.transaction() as first:
        mem.put_bytes(b"1", "a.txt")
        late = mem.transaction()  # the open one, about to end
        assert late is first
    with late as second:
        assert second is not first
        mem.put_bytes(b"2", "b.txt")
    assert changesets(mem) == 2
    assert mem.cat("b.txt") == b"2" and mem.open_transaction() is None


def test_a_staged_write_naming_a_missing_blob_publishes_nothing(mem: Catalog) -> None:
    """Another process's staged write whose blob the store does not have (stored nowhere, or
    collected since) fails the commit: no version may name bytes that are not there."""
    from eoscatalog.log.staged import StagedWrite, encode_staged, staging_key

    with pytest.raises(ConflictError, match="1 blob"), mem.transaction() as txn:
        mem.put_bytes(b"mine", "mine.txt")
        token = txn.announce()
        signed = encode_staged(NS, token, [StagedWrite("gone.txt", "put", hash_bytes(b"never"),
                                                       5, "2026-01-01T00:00:00.000000Z")])
        mem.store.put(staging_key(txn.id, "e" * 32, 1), signed)
    assert changesets(mem) == 0
    assert staged_objects(mem) == []


def test_a_filesystem_made_with_a_catalog_says_why_it_cannot_be_pickled(mem: Catalog) -> None:
    import pickle

    fs = fsspec.filesystem("eos", catalog=mem, skip_instance_cache=True)
    with pytest.raises(TypeError, match="storage options"), mem.transaction():
        pickle.dumps(fs)
    assert staged_objects(mem) == []  # refused before it let anyone join


def test_pickling_eos_opens_no_catalog(_isolated_home: Path) -> None:
    """dask pickles filesystems it sends to workers: outside any transaction that must not
    open (and so create) the default catalog's home."""
    import pickle

    from eoscatalog.sdk.filesystem import EosFileSystem

    set_default_catalog(None)
    fs = EosFileSystem(skip_instance_cache=True)
    again = pickle.loads(pickle.dumps(fs))
    assert "transaction" not in again.storage_options
    assert not _isolated_home.exists()
