"""The index's folder queries that the folder benchmark made fast (tests/benchmarks/w_folders.py):
a non-recursive listing grouped in SQL, and the folder's seqs remembered until the index changes.
"""

from __future__ import annotations

import pytest

from eoscatalog import Catalog
from eoscatalog.rules.listing import group_listing

NAMES = ["ds/a.csv", "ds/a-b/x.csv", "ds/a/x.csv", "ds/a/y/z.csv", "ds/b/x.csv", "ds/é/ü.csv",
         "ds/z.csv", "dsx/other.csv"]


def _ns(cat: Catalog) -> str:
    return cat.resolve("ds/a.csv").namespace


@pytest.fixture
def mem() -> Catalog:
    cat = Catalog.at("memory://", user="ada")
    with cat.transaction("load"):
        for i, name in enumerate(NAMES):
            cat.put_bytes(f"{i}".encode(), name)
    cat.rm("ds/b/x.csv")  # a folder left with deleted names only
    cat.rm("ds/z.csv")
    cat.put_bytes(b"again", "ds/a/x.csv")
    return cat


@pytest.mark.parametrize("deleted", [False, True])
def test_children_are_what_grouping_the_snapshot_gives(mem: Catalog, deleted: bool) -> None:
    folders = mem.index.folders
    for prefix in ("ds/", "ds/a/", "", "ds/é/"):
        for seq in folders.seqs(_ns(mem), prefix):
            ns = _ns(mem)
            got = folders.children(ns, prefix, seq, deleted=deleted)
            want = group_listing(ns, prefix, folders.snapshot(ns, prefix, seq, deleted=deleted),
                                 deleted=deleted)
            assert (tuple(got[0]), tuple(got[1])) == (want.folders, want.files), (prefix, seq)
    ns = _ns(mem)
    last = folders.seqs(ns, "ds/")[-1]
    names, files = folders.children(ns, "ds/", last, deleted=deleted)
    assert names == (["ds/a-b/", "ds/a/", "ds/b/", "ds/é/"] if deleted
                     else ["ds/a-b/", "ds/a/", "ds/é/"])
    assert [r.name for r in files] == (["ds/a.csv", "ds/z.csv"] if deleted else ["ds/a.csv"])
    listing = mem.ls(f"eos://{ns}/ds@{len(folders.seqs(ns, 'ds/'))}/")
    assert listing.folders == ("ds/a-b/", "ds/a/", "ds/é/")


def test_seqs_are_remembered_until_the_index_changes(mem: Catalog) -> None:
    ns = _ns(mem)
    folders = mem.index.folders
    before = folders.seqs(ns, "ds/")
    assert folders.seqs(ns, "ds/") == before and len(before) == 4
    assert folders.seqs(ns, "ds/", until=before[1]) == before[:2]
    mem.put_bytes(b"new", "ds/new.csv")
    after = folders.seqs(ns, "ds/")
    assert after[:-1] == before and len(after) == 5
    assert [v.version for v in mem.folders.versions("ds/")] == [1, 2, 3, 4, 5]
