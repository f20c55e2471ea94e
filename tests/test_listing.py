"""Listings (Catalog.ls, eos ls) and the index's names table they read."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from eoscatalog import Catalog
from eoscatalog.store import MemoryStore, Store


@pytest.fixture
def cat(store: Store, tmp_path: Path) -> Catalog:
    c = Catalog(store, tmp_path / "index.sqlite", user="ada", checkpoint_every=4)
    for name in ("p/a.csv", "p/b/c.csv", "p/b/d.csv", "p/bb.txt", "top.txt"):
        c.put_bytes(name.encode(), name)
    return c


def names(listing: object) -> tuple[tuple[str, ...], list[str]]:
    return listing.folders, [r.name for r in listing.files]  # type: ignore[attr-defined]


def test_folders_files_and_prefixes(cat: Catalog) -> None:
    assert names(cat.ls()) == (("p/",), ["top.txt"])
    assert names(cat.ls("p/")) == (("p/b/",), ["p/a.csv", "p/bb.txt"])
    assert names(cat.ls("p/b")) == (("p/b/",), ["p/bb.txt"])  # a text prefix, as on S3
    assert names(cat.ls("eos://users/me/p/b/")) == ((), ["p/b/c.csv", "p/b/d.csv"])
    assert names(cat.ls("p/", recursive=True)) == (
        (), ["p/a.csv", "p/b/c.csv", "p/b/d.csv", "p/bb.txt"]
    )
    assert names(cat.ls("eos://org/")) == ((), [])


def test_latest_versions_deleted_and_all_versions(cat: Catalog) -> None:
    cat.put_bytes(b"v2", "p/a.csv")
    cat.rm("top.txt")
    listing = cat.ls(recursive=True)
    assert {r.name: r.version for r in listing.files}["p/a.csv"] == 2
    assert "top.txt" not in [r.name for r in listing.files]
    with_deleted = cat.ls(recursive=True, deleted=True)
    assert [r.kind for r in with_deleted.files if r.name == "top.txt"] == ["delete"]
    every = cat.ls("p/a", versions=True)
    assert [(r.name, r.version) for r in every.files] == [("p/a.csv", 1), ("p/a.csv", 2)]


def test_purges_and_fresh_clients_keep_the_names_table_true(cat: Catalog, store: Store) -> None:
    cat.put_bytes(b"v2", "p/a.csv")
    cat.purge("p/a.csv@2")
    assert {r.name: r.version for r in cat.ls("p/").files}["p/a.csv"] == 1
    cat.purge("p/bb.txt")
    assert "p/bb.txt" not in [r.name for r in cat.ls("p/").files]
    fresh = Catalog(store, ":memory:", user="ada", checkpoint_every=4)  # from a checkpoint
    assert [(r.name, r.version) for r in fresh.ls(recursive=True).files] == [
        (r.name, r.version) for r in cat.ls(recursive=True).files
    ]


def test_an_index_from_before_the_names_table_is_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite"
    store = MemoryStore()
    cat = Catalog(store, path, user="ada")
    cat.put_bytes(b"x", "a.txt")
    cat.index.close()
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE names")
        db.execute("PRAGMA user_version = 0")
    again = Catalog(store, path, user="ada", offline=True)
    assert [r.name for r in again.ls().files] == ["a.txt"]


def test_history_shows_every_kind_of_change_newest_first(cat: Catalog, store: Store) -> None:
    cat.put_bytes(b"v2", "p/a.csv", message="second")
    cat.tag("p/a.csv@1", "paper")
    cat.rollback("p/a.csv", 1)
    cat.untag("p/a.csv", "paper")
    cat.rm("p/a.csv")
    cat.undelete("p/a.csv")
    cat.purge("p/a.csv@2")
    events = cat.history("p/a", limit=100)
    assert [(e.what, e.target) for e in events] == [
        ("purge 2", "p/a.csv"), ("undelete of 3", "p/a.csv@5"), ("delete", "p/a.csv@4"),
        ("untag paper", "p/a.csv"), ("rollback of 1", "p/a.csv@3"), ("tag paper", "p/a.csv@1"),
        ("put", "p/a.csv@2"), ("put", "p/a.csv@1"),
    ]
    assert events[-2].message == "second" and {e.author for e in events} == {"ada"}
    assert [e.seq for e in events] == sorted((e.seq for e in events), reverse=True)
    assert [e.what for e in cat.history("p/a", limit=2)] == ["purge 2", "undelete of 3"]
    assert cat.history("eos://org/") == []
    # A client that starts from a checkpoint (checkpoint_every=4) sees the same history.
    fresh = Catalog(store, ":memory:", user="ada", checkpoint_every=4)
    assert fresh.history("p/a", limit=100) == events
    assert events[0].to_dict()["versions"] == [2]


def test_usage_adds_up_in_the_index(cat: Catalog) -> None:
    cat.put_bytes(b"p/a.csv", "p/copy.csv")  # same bytes as p/a.csv@1: one blob
    cat.put_bytes(b"longer bytes", "p/a.csv")
    cat.rm("p/bb.txt")
    cat.purge("p/b/d.csv")
    u = cat.usage("p/")
    assert (u.names, u.versions) == (3, 5)  # a.csv, b/c.csv, copy.csv; 5 readable versions
    assert u.logical == len(b"longer bytes") + len(b"p/b/c.csv") + len(b"p/a.csv")
    assert u.all_versions == u.logical + len(b"p/a.csv") + len(b"p/bb.txt")
    assert u.stored == u.all_versions - len(b"p/a.csv") and u.saved == len(b"p/a.csv")
    assert cat.usage("nothing/").names == 0 and cat.usage("nothing/").stored == 0


def test_an_index_from_before_the_events_table_shows_what_it_can(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite"
    store = MemoryStore()
    cat = Catalog(store, path, user="ada")
    cat.put_bytes(b"x", "a.txt")
    cat.tag("a.txt@1", "v1")
    cat.index.close()
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE events")
        db.execute("PRAGMA user_version = 2")
    again = Catalog(store, path, user="ada", offline=True)
    assert [(e.what, e.target) for e in again.history()] == [("tag v1", "a.txt@1"),
                                                              ("put", "a.txt@1")]
    again.index.close()
    online = Catalog(store, path, user="ada")
    online.put_bytes(b"y", "a.txt")
    assert [e.what for e in online.history()] == ["put", "tag v1", "put"]


def test_a_checkpoint_from_before_the_events_table_still_imports(tmp_path: Path) -> None:
    store = MemoryStore()
    cat = Catalog(store, tmp_path / "index.sqlite", user="ada", checkpoint_every=2)
    cat.put_bytes(b"x", "a.txt")
    cat.put_bytes(b"y", "a.txt")  # seq 2: a checkpoint
    [key] = [o.key for o in store.list("catalog/") if o.key.endswith(".sqlite")]
    old = tmp_path / "old.sqlite"
    old.write_bytes(store.get(key))
    with sqlite3.connect(old) as db:
        db.execute("DROP TABLE events")
    store.delete(key)
    store.put(key, old.read_bytes())
    fresh = Catalog(store, ":memory:", user="ada", checkpoint_every=2)
    assert [e.target for e in fresh.history()] == ["a.txt@2", "a.txt@1"]
