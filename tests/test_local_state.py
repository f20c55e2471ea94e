"""Local state, through the command: the hash cache sees files rewritten in place, and a damaged
or unwritable EOS_HOME gives one line naming the file and the fix (damaged caches are set aside
and rebuilt)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from test_cp import eos

from eoscatalog.hashing import hash_bytes

HOUR_AGO = time.time() - 3600  # an mtime well outside the hash cache's racy window


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"EOS_HOME": str(tmp_path / "home"), "EOS_USER": "ada",
            "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}


def _rewrite_in_place(path: Path, data: bytes) -> None:
    """What ``cp -p`` or ``rsync -t --inplace`` do: same inode, same size, the old mtime set
    back. Only the ctime (which no program can set) shows the change."""
    before = path.stat()
    with open(path, "r+b") as f:
        f.write(data)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (
        before.st_ino, before.st_size, before.st_mtime_ns)
    assert after.st_ctime_ns != before.st_ctime_ns


def test_a_file_rewritten_in_place_with_its_mtime_restored_is_uploaded(
        env: dict[str, str], tmp_path: Path) -> None:
    """``eos put`` and ``eos sync`` after a same-size rewrite that restores the mtime: each
    uploads a new version with the new bytes' hash (they said "unchanged" before)."""
    folder = tmp_path / "data"
    folder.mkdir()
    small, large = folder / "small.csv", folder / "large.bin"
    old_small, old_large = b"a,b\n1,2\n", b"\x01" * (5 << 20)  # large: hashed, then streamed
    for path, data in ((small, old_small), (large, old_large)):
        path.write_bytes(data)
        os.utime(path, (HOUR_AGO, HOUR_AGO))
    put = json.loads(eos(env, "put", str(small), "one.csv", "--json"))
    assert put["version"] == 1 and put["hash"] == hash_bytes(old_small)
    eos(env, "sync", str(folder), "eos://users/me/data/")

    new_small, new_large = b"a,b\n9,9\n", b"\x02" * (5 << 20)
    _rewrite_in_place(small, new_small)
    _rewrite_in_place(large, new_large)

    put = json.loads(eos(env, "put", str(small), "one.csv", "--json"))
    assert put["new_version"] is True and put["version"] == 2
    assert put["hash"] == hash_bytes(new_small)
    synced = json.loads(eos(env, "sync", str(folder), "eos://users/me/data/", "--json"))
    assert sorted(a["path"] for a in synced["actions"]) == ["large.bin", "small.csv"], synced
    for name, data in (("data/small.csv", new_small), ("data/large.bin", new_large)):
        info = json.loads(eos(env, "info", name, "--json"))
        assert info["version"] == 2 and info["hash"] == hash_bytes(data)
    again = json.loads(eos(env, "sync", str(folder), "eos://users/me/data/", "--json"))
    assert again["actions"] == []  # and once seen, unchanged files are unchanged again


def test_hash_cache_rows_without_ctime_are_not_trusted_after_the_upgrade(tmp_path: Path) -> None:
    """A hash cache written before ctime was compared (schema 2) is dropped when opened: its
    rows could vouch for a file rewritten in place."""
    import sqlite3

    from eoscatalog.hashcache import HashCache

    path = tmp_path / "f.txt"
    path.write_bytes(b"new bytes")
    os.utime(path, (HOUR_AGO, HOUR_AGO))
    st = path.stat()
    db = tmp_path / "hashcache.sqlite"
    old = sqlite3.connect(db)
    old.execute("CREATE TABLE hashes (path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, "
                "inode INTEGER, hash TEXT, hashed_ns INTEGER)")
    old.execute("INSERT INTO hashes VALUES (?, ?, ?, ?, ?, ?)",
                (str(path), st.st_size, st.st_mtime_ns, st.st_ino, hash_bytes(b"old bytes"),
                 time.time_ns()))
    old.execute("PRAGMA user_version = 2")
    old.commit()
    old.close()
    cache = HashCache(db)
    try:
        assert cache.lookup(path) is None
        assert cache.hash(path) == hash_bytes(b"new bytes") and cache.hashed == 1
    finally:
        cache.close()
