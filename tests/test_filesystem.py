"""eos:// through fsspec: pandas reads and writes names, ranges move little, bad bytes fail."""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path

import fsspec
import pandas as pd
import pytest

from eoscatalog import (
    BlobCache,
    Catalog,
    ConfigError,
    IntegrityError,
    NameExistsError,
)
from eoscatalog.sdk.filesystem import EosFileSystem
from eoscatalog.store import LocalStore, S3Store, blob_key


def frame(n: int) -> pd.DataFrame:
    return pd.DataFrame({"x": list(range(n)), "y": [f"v{i}" for i in range(n)]})


def test_the_entry_point_registers_the_scheme() -> None:
    assert fsspec.get_filesystem_class("eos") is EosFileSystem


def test_pandas_reads_latest_pinned_and_tagged(cat: Catalog) -> None:
    for n in (2, 3, 4):
        cat.put_bytes(frame(n).to_csv(index=False).encode(), "eos://org/t.csv")
    cat.tag("eos://org/t.csv@2", "paper")
    assert len(pd.read_csv("eos://org/t.csv")) == 4
    assert len(pd.read_csv("eos://org/t.csv@1")) == 2
    pd.testing.assert_frame_equal(pd.read_csv("eos://org/t.csv@paper"), frame(3))
    with fsspec.open("eos://org/t.csv@1", "rt") as f:
        assert f.readline() == "x,y\n"
    with pytest.raises(FileNotFoundError, match="no name"):
        pd.read_csv("eos://org/missing.csv")
    with pytest.raises(FileNotFoundError):
        pd.read_csv("eos://org/t.csv@9")


def test_pandas_writes_new_versions(cat: Catalog) -> None:
    frame(5).to_parquet("eos://users/ada/out/f.parquet")
    frame(6).to_parquet("eos://users/ada/out/f.parquet")
    frame(7).to_csv("eos://users/me/out/f.csv", index=False)
    assert [v.version for v in cat.versions("out/f.parquet")] == [1, 2]
    pd.testing.assert_frame_equal(pd.read_parquet("eos://users/ada/out/f.parquet@1"), frame(5))
    pd.testing.assert_frame_equal(pd.read_parquet("eos://users/ada/out/f.parquet"), frame(6))
    pd.testing.assert_frame_equal(pd.read_csv("eos://users/ada/out/f.csv"), frame(7))


def test_a_write_that_fails_publishes_nothing(cat: Catalog, tmp_path: Path) -> None:
    fs = EosFileSystem()
    with pytest.raises(RuntimeError), fs.open("eos://users/ada/half.bin", "wb") as f:
        f.write(b"x" * 10_000_000)  # past one block: some bytes reached the temporary file
        raise RuntimeError("the analysis broke")
    assert cat.ls("").files == ()
    assert not [p for p in Path(os.environ.get("TMPDIR", "/tmp")).glob("eos-fsspec-*")
                if p.stat().st_size == 10_000_000]
    with pytest.raises(ValueError, match="drop the '@1' part"):
        fs.open("eos://users/ada/x.bin@1", "wb")
    with pytest.raises(ValueError, match="'rb' or 'wb'"):
        fs.open("eos://users/ada/x.bin", "ab")


def test_ls_info_cat_and_rm(cat: Catalog) -> None:
    for name in ("p/a.csv", "p/b/c.csv", "top.txt"):
        cat.put_bytes(name.encode(), f"eos://org/{name}")
    fs = EosFileSystem()
    assert fs.ls("eos://", detail=False) == ["org"]
    assert fs.ls("eos://org", detail=False) == ["org/p", "org/top.txt"]
    assert fs.ls("eos://org/p/", detail=False) == ["org/p/b", "org/p/a.csv"]
    info = fs.info("eos://org/p/a.csv")
    assert (info["type"], info["size"], info["version"]) == ("file", 7, 1)
    assert info["hash"] == cat.resolve("eos://org/p/a.csv").hash == fs.ukey("eos://org/p/a.csv")
    assert fs.info("eos://org/p")["type"] == "directory"
    assert fs.isdir("eos://org/p/b") and fs.isfile("eos://org/top.txt")
    assert not fs.exists("eos://org/nothing")
    assert fs.cat("eos://org/top.txt") == b"top.txt"
    assert fs.cat_file("eos://org/top.txt", start=1, end=3) == b"op"
    assert fs.cat_file("eos://org/top.txt", start=-3) == b"txt"
    assert sorted(fs.find("eos://org/p")) == ["org/p/a.csv", "org/p/b/c.csv"]
    with pytest.raises(IsADirectoryError, match="recursive=True"):
        fs.rm("eos://org/p")
    fs.rm("eos://org/p", recursive=True)
    fs.rm("eos://org/top.txt")
    assert cat.ls("eos://org/", recursive=True).files == ()
    assert cat.read_bytes("eos://org/top.txt@1") == b"top.txt"  # delete markers, not erasure


def test_a_range_read_of_a_large_blob_moves_little(s3_server, s3_store: S3Store,
                                                   tmp_path: Path) -> None:
    cat = Catalog(s3_store, tmp_path / "index.sqlite", user="ada",
                  cache=BlobCache(tmp_path / "cache"))
    size = 100 * 1024 * 1024
    data = os.urandom(1024 * 1024) * 100
    big = tmp_path / "big.bin"
    big.write_bytes(data)
    record = cat.put(big, "eos://org/big.bin").record
    fs = EosFileSystem(catalog=cat)
    server = s3_server.requests
    server.clear()
    with fs.open("eos://org/big.bin@1", "rb") as f:
        f.seek(size // 2)
        chunk = f.read(1024)
    assert chunk == data[size // 2: size // 2 + 1024]
    assert fs.cat_file("eos://org/big.bin", start=size - 1024) == data[-1024:]
    gets = [r for r in server.records if r.method == "GET" and blob_key(record.hash or "")
            in r.path]
    moved = sum(r.sent for r in gets)
    assert gets and all(r.range for r in gets)
    assert 2048 <= moved <= 16 * 1024 * 1024, moved  # far less than the 100 MiB blob
    assert not list((tmp_path / "cache").rglob("*" + (record.hash or "")[-64:]))


def test_whole_reads_are_verified(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store", create=True)
    cat = Catalog(store, tmp_path / "index.sqlite", user="ada", cache=BlobCache(tmp_path / "cache"))
    record = cat.put_bytes(b"a,b\n1,2\n", "eos://org/t.csv").record
    blob = tmp_path / "store" / blob_key(record.hash or "")
    blob.chmod(0o644)
    blob.write_bytes(b"a,b\n6,6\n")  # same size, other bytes
    fs = EosFileSystem(catalog=cat)
    with pytest.raises(IntegrityError, match="eos verify"), fs.open("eos://org/t.csv") as f:
        f.read()
    with pytest.raises(IntegrityError):
        fs.cat("eos://org/t.csv")
    # Once good bytes are in the cache, reads come from there (verified when cached).
    blob.write_bytes(b"a,b\n1,2\n")
    assert fs.cat("eos://org/t.csv") == b"a,b\n1,2\n"
    cat.cached("eos://org/t.csv")
    with fs.open("eos://org/t.csv") as f:
        assert isinstance(f, io.BufferedReader) and f.read() == b"a,b\n1,2\n"


# -- fsspec's own options, copies and moves, create-only writes ----------------------------------


def test_fsspecs_own_options_are_accepted_and_an_unknown_one_is_named(cat: Catalog) -> None:
    cat.put_bytes(b"abc", "eos://org/o.txt")
    # What zarr 3 passes (asynchronous=True) and what fsspec's instance and listing caches take.
    fs, path = fsspec.url_to_fs("eos://org/o.txt", asynchronous=True, loop=None,
                                use_listings_cache=False, listings_expiry_time=10,
                                max_paths=100, skip_instance_cache=True, batch_size=4)
    assert isinstance(fs, EosFileSystem) and fs.catalog is cat  # the default catalog
    assert fs.cat(path) == b"abc"
    with pytest.raises(ConfigError, match="does not take the storage option 'anon'"):
        fsspec.filesystem("eos", anon=True, asynchronous=True)
    with pytest.raises(ConfigError, match="options 'colour', 'key'; it takes catalog settings"):
        EosFileSystem(key="x", colour="blue")


def test_storage_options_still_open_another_catalog(tmp_path: Path) -> None:
    other = Catalog.open(store=f"file://{tmp_path / 'other'}", user="bob", create=True,
                         home=str(tmp_path / "home"))
    other.put_bytes(b"bob's", "eos://org/b.txt")
    other.close()
    fs = fsspec.filesystem("eos", store=f"file://{tmp_path / 'other'}", user="bob",
                           home=str(tmp_path / "home"), asynchronous=True,
                           skip_instance_cache=True)
    assert fs.cat("eos://org/b.txt") == b"bob's"
    assert fs.catalog.user == "bob"


def blobs(cat: Catalog) -> int:
    return len(list(cat.store.list("blobs/")))


def test_cp_copies_names_and_folders_as_one_changeset_moving_no_byte(cat: Catalog) -> None:
    for name in ("src/a.csv", "src/sub/b.csv", "src/sub/deep/c.csv"):
        cat.put_bytes(name.encode(), f"eos://org/{name}")
    cat.put_bytes(b"second", "eos://org/src/a.csv")
    fs = EosFileSystem()
    stored, seq = blobs(cat), cat.index.applied_seq("org")
    fs.cp("eos://org/src/a.csv@1", "eos://org/one.csv")  # a pinned version
    assert fs.cat("eos://org/one.csv") == b"src/a.csv"
    assert cat.resolve("eos://org/one.csv").source == "eos://org/src/a.csv@1"
    fs.copy("eos://org/src", "eos://org/dst", recursive=True)
    assert sorted(fs.find("eos://org/dst")) == ["org/dst/a.csv", "org/dst/sub/b.csv",
                                                "org/dst/sub/deep/c.csv"]
    assert fs.cat("eos://org/dst/a.csv") == b"second"
    assert fs.cat("eos://org/dst/sub/deep/c.csv") == b"src/sub/deep/c.csv"
    assert cat.index.applied_seq("org") == seq + 2  # the recursive copy: one changeset
    fs.cp("eos://org/src/sub/b.csv", "eos://users/ada/b.csv")  # across namespaces
    assert cat.read_bytes("eos://users/ada/b.csv") == b"src/sub/b.csv"
    assert blobs(cat) == stored  # no byte moved
    with pytest.raises(FileNotFoundError):
        fs.cp("eos://org/src/missing.csv", "eos://org/x.csv")
    with pytest.raises(FileNotFoundError):
        fs.cp_file("eos://org/src/missing.csv", "eos://org/x.csv")


def test_mv_moves_in_one_changeset_and_keeps_history(cat: Catalog) -> None:
    for name in ("p/a.txt", "p/q/b.txt"):
        cat.put_bytes(name.encode(), f"eos://org/{name}")
    fs = EosFileSystem()
    stored, seq = blobs(cat), cat.index.applied_seq("org")
    with pytest.raises(IsADirectoryError, match="recursive=True"):
        fs.mv("eos://org/p", "eos://org/moved")
    fs.mv("eos://org/p", "eos://org/moved", recursive=True)
    assert cat.index.applied_seq("org") == seq + 1  # copies and deletes: one changeset
    assert sorted(fs.find("eos://org/")) == ["org/moved/a.txt", "org/moved/q/b.txt"]
    assert fs.cat("eos://org/moved/q/b.txt") == b"p/q/b.txt"
    assert cat.read_bytes("eos://org/p/a.txt@1") == b"p/a.txt"  # a delete marker, not erasure
    fs.mv("eos://org/moved/a.txt", "eos://users/ada/a.txt")  # across namespaces
    assert cat.read_bytes("eos://users/ada/a.txt") == b"p/a.txt"
    assert not fs.exists("eos://org/moved/a.txt")
    assert blobs(cat) == stored
    with pytest.raises(FileNotFoundError):
        fs.mv("eos://org/nothing.txt", "eos://org/else.txt")
    with pytest.raises(ValueError, match="mv moves names, not versions"):
        fs.mv("eos://org/moved/q/b.txt@1", "eos://org/b.txt")
    assert sorted(fs.find("eos://org/")) == ["org/moved/q/b.txt"]


def test_rm_file_of_a_missing_name_is_file_not_found(cat: Catalog) -> None:
    fs = EosFileSystem()
    with pytest.raises(FileNotFoundError, match="nothing to delete"):
        fs.rm_file("eos://org/never.txt")


def test_xb_refuses_an_existing_name_at_open_and_at_commit(cat: Catalog, tmp_path: Path) -> None:
    fs = EosFileSystem()
    with fs.open("eos://org/x.bin", "xb") as f:  # a new name: created
        f.write(b"first")
    with pytest.raises(FileExistsError, match="'xb' creates only new names"):
        fs.open("eos://org/x.bin", "xb")
    with pytest.raises(FileExistsError):
        fs.pipe_file("eos://org/x.bin", b"other", mode="create")
    # Created by another client while this one had the file open: refused as it is committed.
    other = Catalog(cat.store, tmp_path / "other.sqlite", user="bob")
    f = fs.open("eos://org/y.bin", "xb")
    f.write(b"mine")
    other.put_bytes(b"theirs", "eos://org/y.bin")
    with pytest.raises(FileExistsError, match="already exists"):
        f.close()
    other.close()
    assert [v.version for v in cat.versions("eos://org/y.bin")] == [1]
    assert cat.read_bytes("eos://org/y.bin") == b"theirs"
    assert [v.version for v in cat.versions("eos://org/x.bin")] == [1]
    cat.rm("eos://org/x.bin")  # a deleted name can be created again
    fs.pipe_file("eos://org/x.bin", b"again", mode="create")
    assert cat.read_bytes("eos://org/x.bin") == b"again"


def test_put_if_absent_lets_exactly_one_racing_creator_win(local_store: LocalStore,
                                                          tmp_path: Path) -> None:
    writers = [Catalog(local_store, tmp_path / f"i{i}.sqlite", user=f"u{i}") for i in range(6)]
    barrier = threading.Barrier(len(writers))
    outcomes: dict[int, list[str]] = {i: [] for i in range(len(writers))}

    def create(i: int) -> None:
        for round_ in range(5):
            barrier.wait()
            try:
                writers[i].put_if_absent(f"{i}".encode(), f"eos://org/r{round_}.txt")
                outcomes[i].append("won")
            except NameExistsError:
                outcomes[i].append("refused")

    threads = [threading.Thread(target=create, args=(i,)) for i in range(len(writers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for round_ in range(5):
        assert sorted(o[round_] for o in outcomes.values()) == ["refused"] * 5 + ["won"]
        assert [v.version for v in writers[0].versions(f"eos://org/r{round_}.txt")] == [1]
    for w in writers:
        w.close()
