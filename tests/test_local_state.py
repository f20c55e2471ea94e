"""Local state, through the command: the hash cache sees files rewritten in place, and a damaged
or unwritable EOS_HOME gives one line naming the file and the fix (damaged caches are set aside
and rebuilt)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_cp import eos

from eoscatalog.core.hashing import hash_bytes

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

    from eoscatalog.local.hash_cache import HashCache

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


# --------------------------------------------------------------------------------------------
# Damaged or unwritable local state


def _damage_table(path: Path, table: str) -> None:
    """Overwrite the first bytes of a table's root page: reading the table then fails with
    "database disk image is malformed" (what a torn write or a bad disk leaves)."""
    import sqlite3

    conn = sqlite3.connect(path)
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", [table]).fetchone()[0]
    conn.close()
    with open(path, "r+b") as f:
        f.seek((root - 1) * page_size)
        f.write(b"\xff" * 64)


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "eoscatalog", *args], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=120)


def _aside(path: Path) -> list[Path]:
    return sorted(path.parent.glob(path.name + ".damaged-*"))


def test_a_damaged_index_is_set_aside_and_rebuilt(env: dict[str, str], tmp_path: Path) -> None:
    """Garbage over the whole index, or one damaged page of it: the command still works, warns
    once naming the file, and the file is set aside; ``eos reindex`` repairs it too."""
    for i in range(3):
        (tmp_path / f"f{i}").write_bytes(b"x" * i)
        eos(env, "put", str(tmp_path / f"f{i}"), f"d/f{i}")
    [index] = (tmp_path / "home" / "index").glob("*.sqlite")
    names = ["d/f0", "d/f1", "d/f2"]

    index.write_bytes(os.urandom(64 << 10))  # garbage
    listed = _run(env, "ls", "d/", "--json")
    assert listed.returncode == 0, listed.stderr
    assert sorted(r["name"] for r in json.loads(listed.stdout)["files"]) == names
    assert len(listed.stderr.strip().splitlines()) == 1 and str(index) in listed.stderr
    assert "Traceback" not in listed.stderr
    assert len(_aside(index)) == 1

    for step, args in enumerate((("ls", "d/", "--json"), ("put", str(tmp_path / "f1"), "d/new"),
                                 ("reindex",)), start=2):
        _damage_table(index, "versions")
        result = _run(env, *args)
        assert result.returncode == 0, (args, result.stderr)
        assert "Traceback" not in result.stderr and "damaged" in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr  # warned once
        assert len(_aside(index)) == step
    versions = json.loads(eos(env, "versions", "d/new", "--json"))
    assert [v["version"] for v in versions] == [1]  # the put ran once
    listing = json.loads(eos(env, "ls", "d/", "--json"))
    assert sorted(r["name"] for r in listing["files"]) == [*names, "d/new"]


def test_a_damaged_hash_cache_is_set_aside(env: dict[str, str], tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    for i in range(3):
        (folder / f"f{i}").write_bytes(b"y" * (i + 1))
        os.utime(folder / f"f{i}", (HOUR_AGO, HOUR_AGO))
    eos(env, "sync", str(folder), "eos://users/me/data/")
    cache = tmp_path / "home" / "hashcache.sqlite"

    cache.write_bytes(os.urandom(64 << 10))  # garbage
    put = _run(env, "put", str(folder / "f0"), "one", "--json")
    assert put.returncode == 0 and json.loads(put.stdout)["version"] == 1, put.stderr
    assert str(cache) in put.stderr and len(put.stderr.strip().splitlines()) == 1
    assert len(_aside(cache)) == 1

    _damage_table(cache, "hashes")
    (folder / "f3").write_bytes(b"new")
    synced = _run(env, "sync", str(folder), "eos://users/me/data/", "--json")
    assert synced.returncode == 0, synced.stderr
    assert [a["path"] for a in json.loads(synced.stdout)["actions"]] == ["f3"]
    assert str(cache) in synced.stderr and len(synced.stderr.strip().splitlines()) == 1
    assert len(_aside(cache)) == 2


def _one_line_error(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, (
        result.stderr)
    for word in words:
        assert word in result.stderr, (word, result.stderr)


def test_an_eos_home_that_cannot_be_written_is_one_line(tmp_path: Path) -> None:
    """EOS_HOME under a regular file, a file where its index folder goes, a folder where the
    hash cache goes: one line naming the path and the fix (the store lives elsewhere)."""
    store = tmp_path / "store"
    eos({"EOS_HOME": str(tmp_path / "first"), "EOS_USER": "ada",
         "EOS_STORE": store.as_uri()}, "init", "--store", store.as_uri())
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    index_blocked, cache_blocked = tmp_path / "h1", tmp_path / "h2"
    index_blocked.mkdir()
    (index_blocked / "index").write_text("not a folder")
    (cache_blocked / "hashcache.sqlite").mkdir(parents=True)
    for home, shown in ((blocker / "home", str(blocker)), (blocker, str(blocker)),
                        (index_blocked, str(index_blocked / "index")),
                        (cache_blocked, str(cache_blocked))):
        env = {"EOS_HOME": str(home), "EOS_USER": "ada", "EOS_STORE": store.as_uri()}
        _one_line_error(_run(env, "ls"), shown, "EOS_HOME")


def test_a_read_only_or_full_eos_home_is_one_line(tmp_path: Path) -> None:
    """A real read-only and a real full filesystem: a 1 MiB tmpfs mounted in a private mount
    namespace (``unshare``; chmod would not stop root), remounted read-only, then filled."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    script = f"""
set -e
mount -t tmpfs -o size=1m tmpfs {mnt}
echo hello > {mnt}/f
{sys.executable} -m eoscatalog put {mnt}/f a.txt > /dev/null
mount -o remount,ro {mnt}
echo "--- read-only"
{sys.executable} -m eoscatalog put {tmp_path}/src b.txt 2>&1 || true
mount -o remount,rw {mnt}
head -c 2000000 /dev/zero > {mnt}/fill 2> /dev/null || true
echo "--- full"
{sys.executable} -m eoscatalog put {tmp_path}/src c.txt 2>&1 || true
"""
    (tmp_path / "src").write_bytes(os.urandom(100_000))
    env = {**os.environ, "EOS_HOME": str(mnt / "home"), "EOS_USER": "ada",
           "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    proc = subprocess.run(["unshare", "-Urm", "sh", "-c", script], env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    read_only, full = proc.stdout.split("--- read-only\n")[1].split("--- full\n")
    for out, fix in ((read_only, "make it writable"), (full, "free space")):
        assert out.startswith("eos: error: ") and len(out.strip().splitlines()) == 1, out
        assert str(mnt / "home") in out and fix in out and "EOS_HOME" in out, out
    assert "full" in full


def test_import_of_a_binary_file_is_one_line(env: dict[str, str], tmp_path: Path) -> None:
    binary = tmp_path / "reads.fq.gz"
    binary.write_bytes(b"\x1f\x8b\x08\x00" + os.urandom(2000))
    _run(env, "ls")  # the embedded store is made (and announced) once, before
    _one_line_error(_run(env, "import", str(binary)), str(binary), "eos export yaml")


def test_a_command_whose_change_landed_is_not_run_again_after_a_repair(
        env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Damage found after the changeset is in the store: the command says its change was made
    and exits 0, instead of running again (a second `rm` would fail: "already deleted")."""
    import sqlite3

    from click.testing import CliRunner

    from eoscatalog.cli import common as cli_common
    from eoscatalog.cli import main as cli_module
    from eoscatalog.log.index import Index

    for key, value in env.items():
        monkeypatch.setenv(key, value)
    runner = CliRunner()
    (tmp_path / "a.csv").write_text("x")
    put = runner.invoke(cli_module.cli, ["put", str(tmp_path / "a.csv"), "a.csv"])
    assert put.exit_code == 0, put.output
    real_apply = Index.apply
    calls = []

    def damaged_once(self: Index, *args: object, **kwargs: object) -> bool:
        calls.append(1)
        if len(calls) == 1:
            raise sqlite3.DatabaseError("database disk image is malformed")
        return real_apply(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Index, "apply", damaged_once)
    monkeypatch.setattr(cli_common, "_set_aside_damaged", lambda: True)
    result = runner.invoke(cli_module.cli, ["rm", "a.csv"])
    assert result.exit_code == 0, result.output
    assert "the change was made" in result.output
    monkeypatch.setattr(Index, "apply", real_apply)
    shown = runner.invoke(cli_module.cli, ["versions", "a.csv", "--json"])
    versions = json.loads(shown.stdout)
    assert [v["kind"] for v in versions] == ["put", "delete"]


def test_opening_a_database_waits_for_another_process_holding_its_write_lock(
        tmp_path: Path) -> None:
    """Switching a file to WAL while another connection holds its write lock fails at once in
    SQLite (no busy handler runs): the index and hash cache opened by processes starting
    together met it as "database is locked". connect() waits the lock out instead."""
    import sqlite3
    import threading

    from eoscatalog.core.sqlite import connect

    path = tmp_path / "shared.db"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO t VALUES (1)")
    release = threading.Timer(0.3, lambda: holder.execute("COMMIT"))
    release.start()
    try:
        db = connect(path)
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("SELECT count(*) FROM t").fetchone()[0] == 1
    finally:
        release.join()
        holder.close()
