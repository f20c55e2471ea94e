"""A folder is a versioned dataset: its versions, references to them (``x.zarr@3/``,
``@<time>/``, ``@<tag>/``) in every read, and folder tags and rollback, each ONE changeset."""

from __future__ import annotations

import json
import sqlite3
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from test_cp import env as env  # the local store and S3, for tests through the command
from test_cp import eos

import eoscatalog
from eoscatalog import Catalog
from eoscatalog.core.errors import (
    ConflictError,
    DeletedError,
    InvalidNameError,
    NotFoundError,
)
from eoscatalog.core.units import format_time
from eoscatalog.log.changesets import Changeset, Entry, changeset_key
from eoscatalog.store import MemoryStore


def names_in(listing_files: object) -> dict[str, int]:
    return {r.name: r.version for r in listing_files}  # type: ignore[attr-defined]


def build(cat: Catalog) -> None:
    """Four folder versions of eos://org/ds/: add two, change one and add one, delete one."""
    cat.put_bytes(b"a1", "eos://org/ds/a.csv")                       # 1: +a
    cat.put_bytes(b"b1", "eos://org/ds/sub/b.csv")                   # 2: +b
    cat.put_many([(b"a2", "eos://org/ds/a.csv"), (b"c1", "eos://org/ds/c.csv")],
                 message="more")                                     # 3: ~a +c
    cat.put_bytes(b"elsewhere", "eos://org/other.csv")               # not under ds/
    cat.rm("eos://org/ds/sub/b.csv")                                 # 4: -b


def test_folder_versions_count_changes_under_the_folder(cat: Catalog) -> None:
    build(cat)
    found = cat.folders.versions("eos://org/ds/")
    assert [v.version for v in found] == [1, 2, 3, 4]
    assert [(v.added, v.changed, v.removed) for v in found] == [
        (1, 0, 0), (1, 0, 0), (1, 1, 0), (0, 0, 1)]
    assert [v.bytes_added for v in found] == [2, 2, 4, 0]
    assert found[2].message == "more" and found[2].author == "ada"
    assert found[2].uri == "eos://org/ds@3/"
    # A sub-folder counts only its own changes; the namespace's root counts every one.
    assert [v.version for v in cat.folders.versions("eos://org/ds/sub/")] == [1, 2]
    assert len(cat.folders.versions("eos://org/")) == 5
    with pytest.raises(NotFoundError, match="no folder eos://org/nothing/"):
        cat.folders.versions("eos://org/nothing/")


def test_every_client_numbers_folder_versions_alike(tmp_path: Path) -> None:
    store = MemoryStore()
    writer = Catalog(store, ":memory:", user="ada", checkpoint_every=2)
    build(writer)
    writer.folders.tag("eos://org/ds@2/", "first-two")
    # Another client, whose index starts from a checkpoint, and one rebuilt from scratch.
    reader = Catalog(store, tmp_path / "other.sqlite", user="bob")
    assert reader.folders.versions("eos://org/ds/") == writer.folders.versions("eos://org/ds/")
    assert names_in(reader.ls("eos://org/ds@first-two/", recursive=True).files) == {
        "ds/a.csv": 1, "ds/sub/b.csv": 1}
    reader.reindex()
    assert reader.folders.versions("eos://org/ds/") == writer.folders.versions("eos://org/ds/")


def test_ls_cat_and_du_read_a_folder_version(cat: Catalog) -> None:
    build(cat)
    assert names_in(cat.ls("eos://org/ds@1/", recursive=True).files) == {"ds/a.csv": 1}
    assert names_in(cat.ls("eos://org/ds@3", recursive=True).files) == {
        "ds/a.csv": 2, "ds/c.csv": 1, "ds/sub/b.csv": 1}
    top = cat.ls("eos://org/ds@3/")
    assert top.folders == ("ds/sub/",) and [r.name for r in top.files] == ["ds/a.csv", "ds/c.csv"]
    assert names_in(cat.ls("eos://org/ds@3/sub/").files) == {"ds/sub/b.csv": 1}
    assert names_in(cat.ls("eos://org/ds@4/", recursive=True).files) == {
        "ds/a.csv": 2, "ds/c.csv": 1}
    assert names_in(cat.ls("eos://org/ds@4/", recursive=True, deleted=True).files)[
        "ds/sub/b.csv"] == 2
    assert cat.cat("eos://org/ds@2/a.csv") == b"a1"
    assert cat.cat("eos://org/ds@3/a.csv") == b"a2"
    assert cat.resolve("eos://org/ds@2/sub/b.csv").uri == "eos://org/ds/sub/b.csv@1"
    with pytest.raises(DeletedError, match="deleted"):
        cat.cat("eos://org/ds@4/sub/b.csv")
    with pytest.raises(NotFoundError, match=r"has no name 'c\.csv'"):
        cat.cat("eos://org/ds@2/c.csv")
    used = cat.du("eos://org/ds@3/")
    assert (used.names, used.logical, used.stored) == (3, 6, 6)


def test_a_time_picks_the_folder_version_current_then(cat: Catalog) -> None:
    cat.put_bytes(b"1", "eos://org/t/a")
    time.sleep(1.1)  # store times are whole seconds
    between = datetime.now(timezone.utc)
    time.sleep(1.1)
    cat.put_bytes(b"2", "eos://org/t/b")
    at = format_time(between)
    assert names_in(cat.ls(f"eos://org/t@{at}/").files) == {"t/a": 1}
    assert cat.folders.snapshot(f"eos://org/t@{at}/").version == 1
    with pytest.raises(NotFoundError, match="did not exist at 2020"):
        cat.ls("eos://org/t@2020-01-01/")
    soon = format_time(datetime.now(timezone.utc) + timedelta(hours=1))
    with pytest.raises(InvalidNameError, match="still to come"):
        cat.ls(f"eos://org/t@{soon}/")


def test_folder_references_that_mean_nothing_say_why(cat: Catalog) -> None:
    build(cat)
    with pytest.raises(NotFoundError, match=r"has no version 9: its versions are 1\.\.4"):
        cat.ls("eos://org/ds@9/")
    with pytest.raises(NotFoundError, match="has no tag 'paper'"):
        cat.ls("eos://org/ds@paper/")
    with pytest.raises(InvalidNameError, match="a folder has no hash"):
        cat.ls("eos://org/ds@blake3:00112233/")
    with pytest.raises(InvalidNameError, match="is a folder, but this operation reads a name"):
        cat.cat("eos://org/ds@3/")
    with pytest.raises(InvalidNameError, match="right after the folder's name"):
        cat.ls("eos://org/ds/@3/")
    with pytest.raises(InvalidNameError, match="more than one '@'"):
        cat.cat("eos://org/ds@3/a.csv@1")
    with pytest.raises(InvalidNameError, match="every version of its names"):
        cat.ls("eos://org/ds@3/", versions=True)
    # A folder reference is never a place to write.
    with pytest.raises(InvalidNameError):
        cat.put_bytes(b"x", "eos://org/ds@3/new.csv")


def test_folder_tags_are_one_changeset_and_move_with_force(cat: Catalog) -> None:
    build(cat)
    before = cat.index.applied_seq("org")
    snap = cat.folders.tag("eos://org/ds@2/", "paper-2026", message="submitted")
    assert (snap.version, snap.uri) == (2, "eos://org/ds@2/")
    assert cat.index.applied_seq("org") == before + 1
    assert cat.folders.versions("eos://org/ds/")[1].tags == ("paper-2026",)
    assert names_in(cat.ls("eos://org/ds@paper-2026/", recursive=True).files) == {
        "ds/a.csv": 1, "ds/sub/b.csv": 1}
    assert cat.cat("eos://org/ds@paper-2026/a.csv") == b"a1"
    event = cat.log("eos://org/ds/")[0]
    assert (event.what, event.target, event.message) == ("tag paper-2026", "ds@2/", "submitted")
    # Tagging the same version again writes nothing; moving it needs force.
    cat.folders.tag("eos://org/ds@2/", "paper-2026")
    assert cat.index.applied_seq("org") == before + 1
    with pytest.raises(ConflictError, match="already on eos://org/ds@2/"):
        cat.folders.tag("eos://org/ds/", "paper-2026")
    assert cat.folders.tag("eos://org/ds/", "paper-2026", force=True).version == 4
    # Tagging changes no name: the folder keeps 4 versions.
    assert len(cat.folders.versions("eos://org/ds/")) == 4
    cat.folders.untag("eos://org/ds/", "paper-2026")
    with pytest.raises(NotFoundError, match="has no tag 'paper-2026'"):
        cat.ls("eos://org/ds@paper-2026/")
    with pytest.raises(NotFoundError, match="its folder tags: none"):
        cat.folders.untag("eos://org/ds/", "paper-2026")


def test_rollback_of_a_folder_is_one_changeset(cat: Catalog) -> None:
    build(cat)
    cat.put_bytes(b"d1", "eos://org/ds/d.csv")  # 5: +d
    before = cat.index.applied_seq("org")
    made = cat.folders.rollback("eos://org/ds/", 2, message="back to 2")
    assert cat.index.applied_seq("org") == before + 1
    assert {(r.name, r.kind, r.source_version) for r in made} == {
        ("ds/a.csv", "rollback", 1),       # changed since: its old bytes back
        ("ds/sub/b.csv", "rollback", 1),   # deleted since: back
        ("ds/c.csv", "delete", None),      # added since: deleted
        ("ds/d.csv", "delete", None),
    }
    latest = {r.name: cat.cat(f"eos://org/{r.name}")
              for r in cat.ls("eos://org/ds/", recursive=True).files}
    assert latest == {"ds/a.csv": b"a1", "ds/sub/b.csv": b"b1"}
    # The folder's newest version is the rollback, and its history is all there.
    assert cat.folders.versions("eos://org/ds/")[-1].message == "back to 2"
    assert cat.cat("eos://org/ds@5/d.csv") == b"d1"
    # Rolling back to what it holds writes nothing.
    assert cat.folders.rollback("eos://org/ds/", 2) == []
    assert cat.index.applied_seq("org") == before + 1
    # A tag and a time work as targets too.
    cat.folders.tag("eos://org/ds@3/", "three")
    cat.folders.rollback("eos://org/ds/", "three")
    assert names_in(cat.ls("eos://org/ds/", recursive=True).files).keys() == {
        "ds/a.csv", "ds/c.csv", "ds/sub/b.csv"}
    assert cat.cat("eos://org/ds/a.csv") == b"a2"


def test_rollback_refuses_what_it_cannot_restore(cat: Catalog) -> None:
    build(cat)
    cat.purge("eos://org/ds/a.csv@1", message="leaked")
    before = cat.index.applied_seq("org")
    with pytest.raises(ConflictError, match="purged or have expired"):
        cat.folders.rollback("eos://org/ds/", 1)
    assert cat.index.applied_seq("org") == before  # nothing written
    with pytest.raises(InvalidNameError, match="not a whole namespace"):
        cat.folders.rollback("eos://org/", 1)
    with pytest.raises(ConflictError, match="inside a transaction"), cat.transaction():
        cat.folders.rollback("eos://org/ds/", 2)


def test_a_zarr_store_rolled_back_after_an_append_reads_the_old_dataset(cat: Catalog) -> None:
    if sys.version_info < (3, 11):
        pytest.skip("zarr 3 needs Python 3.11")  # the test extra installs zarr 3 on 3.11+
    url = "eos://org/obs.zarr"
    first = xr.Dataset({"t": (("time",), np.arange(6.0))}, coords={"time": np.arange(6)})
    with eoscatalog.transaction("first"):
        first.to_zarr(url, mode="w", consolidated=True, zarr_format=2)
    more = xr.Dataset({"t": (("time",), np.arange(6.0, 10.0))}, coords={"time": np.arange(6, 10)})
    with eoscatalog.transaction("append"):
        more.to_zarr(url, append_dim="time", consolidated=True, zarr_format=2)
    assert xr.open_zarr(url, consolidated=True).time.size == 10
    versions = cat.folders.versions("eos://org/obs.zarr/")
    assert len(versions) == 2
    # The old version reads by reference, while the latest is the appended one.
    xr.testing.assert_identical(xr.open_zarr(f"{url}@1", consolidated=True).load(), first)
    made = cat.folders.rollback("eos://org/obs.zarr/", 1)
    assert made and len(cat.folders.versions("eos://org/obs.zarr/")) == 3
    xr.testing.assert_identical(xr.open_zarr(url, consolidated=True).load(), first)


def test_pandas_and_dask_read_a_folder_version_by_url(cat: Catalog) -> None:
    dd = pytest.importorskip("dask.dataframe")
    frame = pd.DataFrame({"k": ["a", "b", "a"], "v": [1, 2, 3]})
    frame.to_parquet("eos://org/pq/", partition_cols=["k"])
    cat.put_bytes(b"x,y\n1,2\n", "eos://org/runs/1.csv")
    cat.put_bytes(b"x,y\n3,4\n", "eos://org/runs/2.csv")
    cat.put_bytes(b"x,y\n5,6\n", "eos://org/runs/3.csv")  # runs@3 has three files
    pd.DataFrame({"k": ["c"], "v": [9]}).to_parquet("eos://org/pq/", partition_cols=["k"])
    pinned = cat.folders.snapshot("eos://org/pq/").version - 1
    old = pd.read_parquet(f"eos://org/pq@{pinned}/")
    assert sorted(old["v"]) == [1, 2, 3]
    assert sorted(pd.read_parquet("eos://org/pq/")["v"]) == [1, 2, 3, 9]
    assert len(dd.read_csv("eos://org/runs@2/*.csv").compute()) == 2
    assert len(dd.read_csv("eos://org/runs/*.csv").compute()) == 3


def test_fsspec_paths_keep_the_folder_version(cat: Catalog) -> None:
    import fsspec
    build(cat)
    fs = fsspec.filesystem("eos")
    assert fs.ls("org/ds@3", detail=False) == ["org/ds@3/sub", "org/ds@3/a.csv", "org/ds@3/c.csv"]
    assert fs.find("org/ds@2") == ["org/ds@2/a.csv", "org/ds@2/sub/b.csv"]
    assert fs.cat("org/ds@2/a.csv") == b"a1"
    assert fs.info("org/ds@2")["type"] == "directory"
    assert fs.info("org/ds@2/a.csv")["uri"] == "eos://org/ds/a.csv@1"
    with fsspec.open("eos://org/ds@3/a.csv") as f:
        assert f.read() == b"a2"
    with pytest.raises(FileNotFoundError):
        fs.cat("org/ds@2/c.csv")
    # A name's own versions are unchanged: name@N.
    assert fs.cat("org/ds/a.csv@1") == b"a1"


def test_file_reads_a_name_in_a_folder_version(cat: Catalog) -> None:
    build(cat)
    f = eoscatalog.File(remote="eos://org/ds@2/a.csv")
    assert (f.version, f.as_local().read_bytes()) == (1, b"a1")


def test_a_forged_folder_tag_is_skipped_by_every_client(tmp_path: Path) -> None:
    store = MemoryStore()
    cat = Catalog(store, ":memory:", user="ada")
    build(cat)
    seq = cat.index.applied_seq("org") + 1
    forged = Changeset("org", seq, "2026-01-01T00:00:00.000000Z", "mallory",
                       (Entry(op="folder-tag", name="ds/", tag="fake", version=99),))
    store.put(changeset_key("org", seq), forged.to_json(), if_absent=True)
    with pytest.raises(NotFoundError):
        cat.ls("eos://org/ds@fake/")
    assert "tags version 99" in dict(cat.bad_changesets(["org"]))[changeset_key("org", seq)]
    # A folder-tag entry naming a name, not a folder, is malformed.
    bad = Changeset("org", seq + 1, "2026-01-01T00:00:00.000000Z", "mallory",
                    (Entry(op="folder-tag", name="ds/a.csv", tag="x", version=1),))
    store.put(changeset_key("org", seq + 1), bad.to_json(), if_absent=True)
    cat.refresh("org")
    assert "not a folder" in dict(cat.bad_changesets(["org"]))[changeset_key("org", seq + 1)]


def test_an_index_that_skipped_folder_tags_is_rebuilt(tmp_path: Path) -> None:
    store = MemoryStore()
    path = tmp_path / "index.sqlite"
    cat = Catalog(store, path, user="ada")
    build(cat)
    cat.folders.tag("eos://org/ds@2/", "two")
    seq = cat.index.applied_seq("org")
    cat.close()
    # What an index of a release before folder tags holds: that changeset skipped as bad.
    db = sqlite3.connect(path)
    db.execute("DELETE FROM folder_tags")
    db.execute("INSERT INTO bad_changesets VALUES ('org', ?, ?)",
               [seq, "entry 0 has the unknown op 'folder-tag'"])
    db.execute("PRAGMA user_version = 5")
    db.commit()
    db.close()
    again = Catalog(store, path, user="ada")
    assert again.folders.snapshot("eos://org/ds@two/").version == 2
    assert again.bad_changesets(["org"]) == []


# -- the CLI ------------------------------------------------------------------------------------


def test_cli_versions_tag_rollback_and_log_of_a_folder(env: dict[str, str], tmp_path: Path) -> None:
    for i, text in enumerate(["a", "b", "c"]):
        (tmp_path / f"{i}.txt").write_text(text)
        eos(env, "put", str(tmp_path / f"{i}.txt"), f"eos://org/d/{i}.txt", "-m", f"add {i}")
    eos(env, "rm", "eos://org/d/0.txt")
    table = eos(env, "versions", "eos://org/d/")
    assert table.splitlines()[0].split()[:6] == ["VERSION", "CREATED", "AUTHOR", "ADDED",
                                                  "CHANGED", "REMOVED"]
    found = json.loads(eos(env, "versions", "eos://org/d/", "--json"))
    assert [(v["version"], v["added"], v["removed"]) for v in found] == [
        (1, 1, 0), (2, 1, 0), (3, 1, 0), (4, 0, 1)]
    assert found[1]["message"] == "add 1"
    # A name that is no name but a folder says how to see the folder's versions.
    assert "eos versions eos://org/d/" in eos(env, "versions", "eos://org/d", code=1)
    assert "tagged two" in eos(env, "tag", "eos://org/d@2/", "two")
    assert json.loads(eos(env, "ls", "eos://org/d@two/", "--json"))["files"][1]["name"] == "d/1.txt"
    assert eos(env, "cat", "eos://org/d@two/0.txt") == "a"
    out = eos(env, "rollback", "eos://org/d/", "--to", "two")
    assert "eos://org/d/2.txt@2 deleted" in out and "d/0.txt@3 holds version 1" in out
    assert sorted(r["name"] for r in json.loads(eos(env, "ls", "eos://org/d/", "--json"))[
        "files"]) == ["d/0.txt", "d/1.txt"]
    log = eos(env, "log", "eos://org/d/").splitlines()
    assert log[0].split()[:5] == ["WHEN", "WHO", "WHAT", "FOLDER", "VERSION"]
    assert "d@5/" in log[1]
    events = json.loads(eos(env, "log", "eos://org/d/", "--json"))
    assert events[0]["folder_version"] == 5
    assert "removed folder tag two" in eos(env, "untag", "eos://org/d/", "two")
    du = json.loads(eos(env, "du", "eos://org/d@3/", "--json"))
    assert (du["names"], du["logical_bytes"]) == (3, 3)


def test_cli_copies_and_syncs_a_folder_version(env: dict[str, str], tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("one")
    (src / "sub" / "b.txt").write_text("two")
    eos(env, "sync", str(src), "eos://org/ds/")
    (src / "a.txt").write_text("ONE")
    (src / "c.txt").write_text("new")
    eos(env, "sync", str(src), "eos://org/ds/")
    eos(env, "cp", "-r", "eos://org/ds@1/", str(tmp_path / "v1"))
    assert (tmp_path / "v1" / "a.txt").read_text() == "one"
    assert (tmp_path / "v1" / "sub" / "b.txt").read_text() == "two"
    assert not (tmp_path / "v1" / "c.txt").exists()
    out = tmp_path / "synced"
    eos(env, "sync", "eos://org/ds@2/", str(out))
    assert (out / "c.txt").read_text() == "new"
    eos(env, "sync", "eos://org/ds@1/", str(out), "--delete")
    assert (out / "a.txt").read_text() == "one" and not (out / "c.txt").exists()
    eos(env, "cp", "-r", "eos://org/ds@1/", "eos://org/ds-v1/")
    assert eos(env, "cat", "eos://org/ds-v1/a.txt") == "one"
    # A folder version is read-only.
    assert "not allowed" in eos(env, "sync", str(src), "eos://org/ds@1/", code=1)


def test_a_diff_of_two_versions_of_one_folder_reads_only_what_changed(tmp_path: Path) -> None:
    """The diff of two versions of one folder (only names changed between them are read)
    agrees with comparing the two whole listings, for every pair of versions."""
    import random

    cat = Catalog(MemoryStore(), ":memory:", user="ada")
    rng = random.Random(7)
    for step in range(12):
        names = sorted({f"eos://org/f/{rng.randrange(15):02d}.txt"
                        for _ in range(rng.randrange(1, 4))})
        if step % 4 == 3 and cat.ls("eos://org/f/", recursive=True).files:
            cat.rm(f"eos://org/{rng.choice(cat.ls('eos://org/f/', recursive=True).files).name}")
        else:
            cat.put_many([(rng.choice([b"x", b"y", b"z"]) + n.encode(), n) for n in names])
    count = len(cat.folders.versions("eos://org/f/"))
    for a in range(1, count + 1):
        for b in range(1, count + 1):
            left = {r.name: r.hash for r in cat.ls(f"eos://org/f@{a}/", recursive=True).files}
            right = {r.name: r.hash for r in cat.ls(f"eos://org/f@{b}/", recursive=True).files}
            d = cat.diff(f"eos://org/f@{a}/", f"eos://org/f@{b}/")
            assert {c.name for c in d.added} == {n[2:] for n in right.keys() - left.keys()}
            assert {c.name for c in d.removed} == {n[2:] for n in left.keys() - right.keys()}
            assert {c.name for c in d.changed} == {
                n[2:] for n in left.keys() & right.keys() if left[n] != right[n]}
            assert d.unchanged == sum(left[n] == right[n] for n in left.keys() & right.keys())
