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
