"""eos:// through fsspec: pandas reads and writes names, ranges move little, bad bytes fail."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import fsspec
import pandas as pd
import pytest

from eoscatalog import BlobCache, Catalog, IntegrityError, set_default_catalog
from eoscatalog.filesystem import EosFileSystem
from eoscatalog.store import LocalStore, S3Store, Store, blob_key


@pytest.fixture(params=["local", "s3"])
def cat(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Catalog]:
    store: Store = request.getfixturevalue("local_store" if request.param == "local"
                                           else "s3_store")
    catalog = Catalog(store, tmp_path / "index.sqlite", user="ada",
                      cache=BlobCache(tmp_path / "cache"))
    set_default_catalog(catalog)
    yield catalog
    set_default_catalog(None)
    catalog.close()


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
