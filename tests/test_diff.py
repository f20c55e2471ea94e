"""eos diff and Catalog.diff: two folders (versions of one, two different ones, tags and times)
and two names (CSV and Parquet schema and row changes, other files), on a local store and on
S3, through the API and the real command."""

from __future__ import annotations

import io
import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from test_cp import env, eos  # noqa: F401  (env: the local-and-S3 command fixture)

from eoscatalog import Catalog
from eoscatalog.catalog.diffing import is_folder_text
from eoscatalog.core.errors import InvalidNameError, NotFoundError
from eoscatalog.interchange.name_diff import NameDiff
from eoscatalog.rules.folder_diff import diff_folders
from eoscatalog.rules.folder_difference import FolderDiff

X = "eos://org/x.zarr"


def _folder_history(cat: Catalog) -> None:
    """x.zarr@1: a, b, c, sub/d; @2: b changed, e added; @3: c deleted, a's metadata changed."""
    cat.put_many([(b"alpha", f"{X}/a"), (b"beta", f"{X}/b"), (b"gamma", f"{X}/c"),
                  (b"delta", f"{X}/sub/d")])
    cat.put_many([(b"beta, longer", f"{X}/b"), (b"epsilon", f"{X}/e")])
    cat.put_many([(b"alpha", f"{X}/a")], meta={"units": "m"}, deletes=[f"{X}/c"])


def _statuses(d: FolderDiff) -> list[tuple[str, str]]:
    return [(c.status, c.name) for c in d.changes]


def test_folder_versions_diff(cat: Catalog) -> None:
    _folder_history(cat)
    d = cat.diff(f"{X}@1/", f"{X}@2/")
    assert isinstance(d, FolderDiff)
    assert (d.a, d.b, d.a_version, d.b_version) == (f"{X}@1/", f"{X}@2/", 1, 2)
    assert _statuses(d) == [("changed", "b"), ("added", "e")]
    assert d.unchanged == 3
    assert d.bytes_added == len(b"beta, longer") - len(b"beta") + len(b"epsilon")
    assert d.bytes_removed == 0
    changed = d.changed[0]
    assert (changed.a.version, changed.b.version) == (1, 2)
    assert not changed.metadata_only

    latest = cat.diff(f"{X}@2/", f"{X}/")  # a plain folder is its latest version
    assert latest.b == f"{X}@3/" and latest.b_version == 3
    assert _statuses(latest) == [("changed", "a"), ("removed", "c")]
    assert latest.changed[0].metadata_only
    assert latest.bytes_removed == len(b"gamma") and latest.bytes_added == 0

    back = cat.diff(f"{X}@3/", f"{X}@1/")
    assert _statuses(back) == [("changed", "a"), ("changed", "b"), ("added", "c"),
                               ("removed", "e")]
    same = cat.diff(f"{X}@2/", f"{X}@2/")
    assert same.same and same.unchanged == 5 and same.changes == ()
    inside = cat.diff(f"{X}@1/sub/", f"{X}/sub/")  # a folder inside a folder version
    assert inside.same and inside.unchanged == 1 and inside.a == f"{X}@1/sub/"


def test_two_different_folders_and_namespaces(cat: Catalog) -> None:
    _folder_history(cat)
    cat.put_many([(b"alpha", "eos://users/me/y/a"), (b"other", "eos://users/me/y/b"),
                  (b"delta", "eos://users/me/y/sub/d"), (b"zeta", "eos://users/me/y/z")])
    d = cat.diff(f"{X}@1/", "y/")
    assert d.b == "eos://users/ada/y@1/"
    assert _statuses(d) == [("changed", "b"), ("removed", "c"), ("added", "z")]
    assert d.unchanged == 2
    entry = d.to_dict()["changed"][0]
    assert entry["a"]["uri"] == f"{X}/b@1" and entry["b"]["uri"] == "eos://users/ada/y/b@1"
    assert entry["a"]["hash"] != entry["b"]["hash"] and entry["size_delta"] == 1


def test_folder_tag_and_time_references(cat: Catalog) -> None:
    cat.put_many([(b"1", f"{X}/a"), (b"2", f"{X}/b")])
    time.sleep(1.05)  # store times are whole seconds: version 2 is recorded a second later
    cat.put_many([(b"3", f"{X}/b")])
    cat.folders.tag(f"{X}@1/", "paper")
    assert _statuses(cat.diff(f"{X}@paper/", f"{X}/")) == [("changed", "b")]
    first = cat.folders.versions(f"{X}/")[0]
    # A client resolving the time a minute on (a time reference names a moment already past).
    reader = Catalog(cat.store, ":memory:", user="ada",
                     clock=lambda: datetime.now(timezone.utc) + timedelta(minutes=1))
    d = reader.diff(f"{X}@{first.at}/", f"{X}@paper/")
    assert d.same and d.a == f"{X}@1/" and d.unchanged == 2


def test_name_diff_csv_schema_and_rows(cat: Catalog) -> None:
    cat.put_bytes(b"id,name\n1,x\n2,y\n", "eos://org/t.csv")
    cat.put_bytes(b"id,name,score\n1,x,0.5\n2,y,1\n3,z,2\n", "eos://org/t.csv")
    d = cat.diff("eos://org/t.csv@1", "eos://org/t.csv")
    assert isinstance(d, NameDiff)
    assert (d.a.version, d.b.version, d.same_bytes) == (1, 2, False)
    assert d.size_delta == d.b.size - d.a.size
    assert d.table is not None
    assert d.table.lines() == ["columns added: score (float)", "rows: 2 -> 3 (+1)"]
    assert d.to_dict()["table"]["rows"] == {"old": 2, "new": 3, "delta": 1}
    assert cat.diff("eos://org/t.csv@1", "eos://org/t.csv", tables=False).table is None
    same = cat.diff("eos://org/t.csv@2", "eos://org/t.csv")
    assert same.same and same.table is None
    # A name in a folder version, against a name elsewhere.
    cat.put_bytes(b"id,name\n1,x\n", "eos://org/runs/t.csv")
    other = cat.diff("eos://org/runs@1/t.csv", "eos://org/t.csv@1")
    assert other.table is not None and other.table.lines() == ["schema unchanged",
                                                              "rows: 1 -> 2 (+1)"]


def test_name_diff_non_tables_and_metadata(cat: Catalog) -> None:
    cat.put_bytes(b"hello", "notes.txt")
    cat.put_bytes(b"hello", "notes.txt", meta={"lang": "en"})
    cat.put_bytes(b"hello world", "notes.txt", meta={"lang": "en"})
    meta = cat.diff("notes.txt@1", "notes.txt@2")
    assert meta.same_bytes and meta.metadata_changed and not meta.same
    grown = cat.diff("notes.txt@2", "notes.txt")
    assert isinstance(grown, NameDiff) and grown.table is None and grown.size_delta == 6
    cat.put_bytes(b"a,b\n1,2\n", "t.csv")
    assert cat.diff("notes.txt", "t.csv").table is None


def _parquet(columns: dict[str, Any]) -> bytes:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    sink = io.BytesIO()
    pq.write_table(pa.table(columns), sink)
    return sink.getvalue()


def test_name_diff_parquet_schema(cat: Catalog) -> None:
    cat.put_bytes(_parquet({"a": list(range(10)), "b": ["x"] * 10}), "eos://org/t.parquet")
    cat.put_bytes(_parquet({"a": [0.5] * 12, "c": [1] * 12}), "eos://org/t.parquet")
    d = cat.diff("eos://org/t.parquet@1", "eos://org/t.parquet@2")
    assert d.table is not None
    assert d.table.lines() == [
        "columns added: c (int64)", "columns removed: b (string)", "column a: int64 -> double",
        "rows: 10 -> 12 (+2)"]


def test_a_large_parquet_is_read_from_its_footer(tmp_path: Path, s3_server: Any,
                                                 s3_store: Any) -> None:
    import os

    cat = Catalog(s3_store, tmp_path / "index.sqlite", user="ada")
    big = {"blob": [os.urandom(1024) for _ in range(6 * 1024)]}  # ~6 MiB, incompressible
    cat.put_bytes(_parquet(big), "eos://org/big.parquet")
    cat.put_bytes(_parquet({**big, "n": list(range(6 * 1024))}), "eos://org/big.parquet")
    s3_server.requests.clear()
    d = cat.diff("eos://org/big.parquet@1", "eos://org/big.parquet@2")
    assert d.table is not None and d.table.lines()[0] == "columns added: n (int64)"
    sent = sum(r.sent for r in s3_server.requests.for_bucket(s3_store.bucket))
    assert sent < 2 * 1024 * 1024, sent  # the footers' chunks and outboards, not 12 MiB
    cat.close()


def test_like_with_like_and_missing_references(cat: Catalog) -> None:
    _folder_history(cat)
    with pytest.raises(InvalidNameError, match="like with like"):
        cat.diff(f"{X}@1/", f"{X}/a")
    with pytest.raises(InvalidNameError, match="like with like"):
        cat.diff(f"{X}/a@1", f"{X}/")
    with pytest.raises(NotFoundError, match="has no version 9"):
        cat.diff(f"{X}@9/", f"{X}/")
    with pytest.raises(NotFoundError, match="no folder"):
        cat.diff("eos://org/nothing/", f"{X}/")
    with pytest.raises(NotFoundError, match="no tag"):
        cat.diff(f"{X}@nope/", f"{X}/")
    with pytest.raises(NotFoundError):
        cat.diff(f"{X}/a@7", f"{X}/a")
    with pytest.raises(NotFoundError, match="end it with '/'"):  # a folder written as a name
        cat.diff(f"{X}@1", f"{X}@2")


def test_diff_folders_in_one_pass_unsorted_and_deleted() -> None:
    from eoscatalog.log.records import VersionRecord

    def v(name: str, h: str, kind: str = "put") -> VersionRecord:
        return VersionRecord("org", name, 1, kind, None if kind == "delete" else
                             "blake3:" + h * 64, 1, "t", "ada")

    d = diff_folders([v("p/b", "1"), v("p/a", "1"), v("p/c", "1", "delete")], "p/",
                     [v("q/a", "1"), v("q/c", "2")], "q/")
    assert _statuses(d) == [("removed", "b"), ("added", "c")] and d.unchanged == 1
    assert is_folder_text("x/") and not is_folder_text("x@3/.zgroup")


def test_eos_diff_command(env: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_bytes(b"alpha")
    (src / "sub" / "b.txt").write_bytes(b"beta")
    eos(env, "cp", "-r", str(src), "eos://org/x.zarr/")
    table = tmp_path / "t.csv"
    table.write_bytes(b"a,b\n1,x\n2,y\n")
    eos(env, "cp", str(table), "eos://org/x.zarr/t.csv")
    table.write_bytes(b"a,c\n1.5,3\n2,4\n3,5\n")
    eos(env, "cp", str(table), "eos://org/x.zarr/t.csv")
    eos(env, "rm", "eos://org/x.zarr/a.txt")

    out = eos(env, "diff", "eos://org/x.zarr@1/", "eos://org/x.zarr/").splitlines()
    assert out[:2] == ["--- eos://org/x.zarr@1/", "+++ eos://org/x.zarr@4/"]
    assert out[2].split()[:3] == ["-", "a.txt", "5"] and out[3].split()[:3] == ["+", "t.csv",
                                                                                "18"]
    assert out[-1] == "1 added, 1 removed, 0 changed, 1 unchanged (+18 B, -5 B)"
    changed = eos(env, "diff", "eos://org/x.zarr@2/", "eos://org/x.zarr@3/").splitlines()
    assert changed[2].startswith("~ t.csv  12 B -> 18 B  blake3:")

    names = eos(env, "diff", "eos://org/x.zarr/t.csv@1", "eos://org/x.zarr/t.csv")
    assert "different bytes (+6 B)" in names
    assert "  columns added: c (int)" in names and "  rows: 2 -> 3 (+1)" in names
    assert "table:" not in eos(env, "diff", "--no-tables", "eos://org/x.zarr/t.csv@1",
                               "eos://org/x.zarr/t.csv")

    folder = json.loads(eos(env, "diff", "--json", "eos://org/x.zarr@1/", "eos://org/x.zarr/"))
    assert folder["kind"] == "folder" and folder["same"] is False
    assert folder["a"] == {"uri": "eos://org/x.zarr@1/", "version": 1}
    assert folder["totals"] == {"added": 1, "removed": 1, "changed": 0, "unchanged": 1,
                                "bytes_added": 18, "bytes_removed": 5}
    assert folder["removed"][0]["name"] == "a.txt" and folder["removed"][0]["b"] is None
    assert set(folder["added"][0]) == {"name", "status", "metadata_only", "size_delta", "a",
                                       "b"}
    name = json.loads(eos(env, "diff", "--json", "eos://org/x.zarr@3/t.csv",
                          "eos://org/x.zarr/t.csv@1"))
    assert name["kind"] == "name" and name["same_bytes"] is False
    assert name["a"]["version"] == 2 and name["b"]["version"] == 1
    assert name["table"]["rows"] == {"old": 3, "new": 2, "delta": -1}

    same = eos(env, "diff", "eos://org/x.zarr@4/", "eos://org/x.zarr/")  # exit code 0
    assert same.splitlines()[-1] == "0 added, 0 removed, 0 changed, 2 unchanged (+0 B, -0 B)"
    assert "like with like" in eos(env, "diff", "eos://org/x.zarr/", "eos://org/x.zarr/t.csv",
                                   code=1)
    assert "has no version 9" in eos(env, "diff", "eos://org/x.zarr@9/", "eos://org/x.zarr/",
                                     code=1)
