"""``api/tree`` grouped by the index in SQL (``Catalog.folders.contents``) gives what grouping
one recursive ``Catalog.ls`` in Python gave: the old computation, kept here as the oracle, is
compared with the new one on a catalog with delete markers, purged versions, an undelete,
nested folders, folder versions, a folder tag and times in the past; and no answer builds a
record per name under the folder (only the files right under it)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from ui_helpers import local_catalog, make_client

from eoscatalog import Catalog, LockFile, use_lock
from eoscatalog.core.errors import NotFoundError
from eoscatalog.log.records import VersionRecord
from eoscatalog.store import LocalStore
from eoscatalog.ui.records import rec
from eoscatalog.ui.tree import folder_uri, tree_of


@pytest.fixture
def cat(local_store: LocalStore, tmp_path: Path) -> Iterator[Catalog]:
    yield from local_catalog(local_store, tmp_path)


def old_tree_of(catalog: Catalog, path: str, at: str = "") -> dict[str, Any]:
    """tree_of as it was: ONE recursive ``Catalog.ls``, grouped by the next ``/`` in Python."""
    if not path:
        return tree_of(catalog, path, at)  # the namespaces: counted by the index, unchanged
    try:
        listing = catalog.ls(folder_uri(path, at), recursive=True)
    except NotFoundError as e:
        if not at or "did not exist at" not in str(e):
            raise
        return {"path": path, "at": at, "folders": [], "files": [], "names": 0, "bytes": 0,
                "note": str(e)}
    start = len(listing.prefix)
    base = f"{listing.namespace}/{listing.prefix}"
    folders: dict[str, list[int]] = {}
    files = []
    total = 0
    for record in listing.files:
        size = record.size or 0
        total += size
        rest = record.name[start:]
        cut = rest.find("/")
        if cut < 0:
            files.append(rec(record))
            continue
        counts = folders.setdefault(rest[:cut + 1], [0, 0])
        counts[0] += 1
        counts[1] += size
    return {
        "path": path, "at": at or None,
        "folders": [{"name": name, "path": base + name, "names": n, "bytes": b}
                    for name, (n, b) in sorted(folders.items())],
        "files": files, "names": len(listing.files), "bytes": total,
    }


def _answer(tree: Any, cat: Catalog, path: str, at: str = "") -> Any:
    """What ``tree`` answers, or the error it raises (its type and message)."""
    try:
        return tree(cat, path, at)
    except Exception as e:
        return type(e).__name__, str(e)


def _same(cat: Catalog, path: str, at: str = "") -> Any:
    found = _answer(tree_of, cat, path, at)
    assert found == _answer(old_tree_of, cat, path, at), (path, at)
    return found


def _now() -> str:
    instant = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    time.sleep(0.01)
    return instant


def _history(cat: Catalog) -> list[str]:
    """A few changesets under org/runs/, with the times between them."""
    times = [_now()]  # before anything
    put = cat.put_bytes
    put(b"1", "eos://org/runs/top.csv")
    put(b"22", "eos://org/runs/a/x.csv")
    put(b"333", "eos://org/runs/a/b/c/deep.csv")
    put(b"4444", "eos://org/runs/a-/dash.csv")  # '-' sorts before '/': a-/ before a/
    put(b"5", "eos://org/runs/\u00e9t\u00e9/x.csv")
    put(b"66", "eos://org/runs/d/only.csv")
    put(b"7", "eos://org/runs/c/z.csv")
    put(b"8", "eos://org/other/far.csv")
    put(b"", "eos://org/runs/a/empty.txt")
    times.append(_now())
    cat.rm("eos://org/runs/d/only.csv")  # a delete marker: d/ is gone
    put(b"777777", "eos://org/runs/c/z.csv")  # version 2, purged below: version 1 is latest
    put(b"99", "eos://org/runs/c/p.csv")
    put(b"9", "eos://org/runs/u.csv")
    times.append(_now())
    cat.purge("eos://org/runs/c/z.csv@2")
    cat.purge("eos://org/runs/c/p.csv")  # every version
    cat.rm("eos://org/runs/u.csv")
    cat.rm("eos://org/runs/a/x.csv")
    times.append(_now())
    cat.undelete("eos://org/runs/u.csv")
    put(b"12345", "eos://org/runs/a/b/more.csv")
    put(b"0", "eos://org/runs/d/only.csv")  # d/ is back, at version 3
    times.append(_now())
    return times


PATHS = ["org/", "org/runs/", "org/runs/a/", "org/runs/a/b/", "org/runs/c/", "org/runs/d/",
         "org/runs/\u00e9t\u00e9/", "org/runs/nothing/", "org/other/"]


def test_the_tree_grouped_in_sql_is_the_tree_grouped_in_python(cat: Catalog) -> None:
    times = _history(cat)
    cat.folders.tag("eos://org/runs/", "before-undelete")  # the folder's latest version
    cat.put_bytes(b"new", "eos://org/runs/a/after-tag.csv")
    seen = 0
    for path in PATHS:
        for at in ["", *times]:
            seen += isinstance(_same(cat, path, at), dict)
    pinned = ["org/runs@1/", "org/runs@3/", "org/runs@9/a/", "org/runs@before-undelete/",
              "org/runs@before-undelete/a/", "org/runs@15/c/"]
    for path in pinned:
        assert isinstance(_same(cat, path), dict), path
    now = tree_of(cat, "org/runs/")
    assert [f["name"] for f in now["folders"]] == ["a-/", "a/", "c/", "d/", "\u00e9t\u00e9/"]
    assert [f["name"] for f in now["files"]] == ["runs/top.csv", "runs/u.csv"]
    assert now["folders"][2] == {"name": "c/", "path": "org/runs/c/", "names": 1, "bytes": 1}
    assert now["names"] == 10 and seen >= len(PATHS) * len(times)
    before_purge = tree_of(cat, "org/runs/", times[2])["folders"]
    assert [(f["name"], f["names"], f["bytes"]) for f in before_purge][2] == ("c/", 2, 8)
    assert tree_of(cat, "org/runs/", times[0])["names"] == 0


def test_an_open_transaction_shows_its_staged_writes_in_the_tree(cat: Catalog) -> None:
    _history(cat)
    with cat.transaction("staged"):
        cat.put_bytes(b"staged!", "eos://org/runs/a/new.csv")
        cat.put_bytes(b"s", "eos://org/runs/fresh/one.csv")
        cat.rm("eos://org/runs/top.csv")
        for path in PATHS:
            _same(cat, path)
        tree = tree_of(cat, "org/runs/")
        assert "fresh/" in [f["name"] for f in tree["folders"]]
        assert "runs/top.csv" not in [f["name"] for f in tree["files"]]
    assert "runs/top.csv" not in [f["name"] for f in tree_of(cat, "org/runs/")["files"]]


def test_a_locked_folder_shows_its_pinned_version_in_the_tree(cat: Catalog) -> None:
    _history(cat)
    lock = LockFile()
    lock.pin_folder(cat.folders.pin("eos://org/runs/"))
    cat.put_bytes(b"later", "eos://org/runs/a/later.csv")
    with use_lock(lock):
        for path in ("org/runs/", "org/runs/a/"):
            _same(cat, path)
            assert "runs/a/later.csv" not in str(tree_of(cat, path))
    assert tree_of(cat, "org/runs/a/")["names"] == 4  # later.csv, past the lock


def test_the_tree_makes_a_record_per_file_not_per_name(cat: Catalog, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    cat.put_bytes(b"x", "eos://org/seed.txt")
    cat.copy_many([("eos://org/seed.txt", f"eos://org/big/{i // 100:02d}/{i:04d}.txt")
                   for i in range(2000)] +
                  [("eos://org/seed.txt", f"eos://org/big/{i}.txt") for i in range(3)])
    when = _now()
    made = [0]
    init = VersionRecord.__init__

    def counted(self: VersionRecord, *args: Any, **kwargs: Any) -> None:
        made[0] += 1
        init(self, *args, **kwargs)

    monkeypatch.setattr(VersionRecord, "__init__", counted)
    client = make_client(cat, tmp_path)
    for params in ({"path": "org/big/"}, {"path": "org/big/", "at": when},
                   {"path": "org/big@1/"}):
        made[0] = 0
        tree = client.get("/api/tree", params=params).json()
        assert tree["names"] == 2003 and len(tree["folders"]) == 20, params
        assert tree["folders"][0] == {"name": "00/", "path": "org/big/00/", "names": 100,
                                      "bytes": 100}
        assert made[0] <= 10, f"api/tree {params} made {made[0]} records for 3 files"
    made[0] = 0
    assert len(cat.ls("eos://org/big/", recursive=True).files) == 2003
    assert made[0] >= 2003  # the count sees records made: the assertion above can fail
