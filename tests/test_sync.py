"""eos sync: planning is exact, unchanged trees cost nothing, uploads are one changeset."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from eoscatalog import BlobCache, Catalog
from eoscatalog.hashcache import HashCache
from eoscatalog.store import LocalStore, Store
from eoscatalog.sync import run_sync

ROOT = Path(__file__).resolve().parent.parent
PREFIX = "eos://users/ada/proj/"


def make_tree(root: Path, count: int, *, age: float = 60.0) -> list[Path]:
    """``count`` small files in a few folders, last modified ``age`` seconds ago."""
    paths = []
    then = time.time() - age
    for i in range(count):
        path = root / f"d{i % 10}" / f"f{i:05d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(f"file {i}\n".encode() * (1 + i % 7))
        os.utime(path, (then, then))
        paths.append(path)
    return paths


def count_uploads(store: Store) -> list[str]:
    """Wrap put_blob/put_blob_bytes to record the blob uploads a store receives."""
    sent: list[str] = []
    original = store._upload_blob

    def upload(key: str, path: Path, expected: str, *rest: Any) -> None:
        sent.append(key)
        original(key, path, expected, *rest)

    store._upload_blob = upload  # type: ignore[method-assign]
    return sent


@pytest.fixture
def cat(store: Store, tmp_path: Path) -> Catalog:
    return Catalog(store, tmp_path / "index.sqlite", user="ada",
                   hash_cache=HashCache(tmp_path / "hashes.sqlite"),
                   cache=BlobCache(tmp_path / "cache"))


def log_objects(store: Store) -> int:
    return len(list(store.list("catalog/users/ada/log/")))


def test_sync_up_changes_and_nothing(cat: Catalog, store: Store, tmp_path: Path) -> None:
    """The issue's numbers: 2,000 files, then 1% changed, then nothing changed."""
    tree = tmp_path / "tree"
    paths = make_tree(tree, 2000)
    sent = count_uploads(store)
    first = run_sync(cat, str(tree), PREFIX)
    assert len(first.actions) == 2000 and len(sent) == 2000
    assert log_objects(store) == 1  # one changeset for the whole sync

    changed = paths[::100]  # 1%
    for path in changed:
        path.write_bytes(path.read_bytes() + b"changed\n")
        os.utime(path, (time.time() - 30, time.time() - 30))
    sent.clear()
    second = run_sync(cat, str(tree), PREFIX)
    assert sorted(a.relative for a in second.actions) == sorted(
        p.relative_to(tree).as_posix() for p in changed
    )
    assert len(sent) == len(changed) == 20 and log_objects(store) == 2

    sent.clear()
    hashed_before = cat.hash_cache.hashed
    third = run_sync(cat, str(tree), PREFIX)
    assert third.actions == () and third.hashed == 0 and sent == []
    assert cat.hash_cache.hashed == hashed_before and log_objects(store) == 2


def test_dry_run_prints_exactly_what_a_run_does(cat: Catalog, store: Store, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    make_tree(tree, 20)
    run_sync(cat, str(tree), PREFIX)
    (tree / "d1" / "f00001.txt").write_bytes(b"new bytes")
    (tree / "d2" / "f00002.txt").unlink()
    (tree / "new.csv").write_bytes(b"a,b\n")
    before = sorted(o.key for o in store.list(""))
    planned = run_sync(cat, str(tree), PREFIX, delete=True, dry_run=True)
    assert sorted(o.key for o in store.list("")) == before  # a dry run writes nothing
    done = run_sync(cat, str(tree), PREFIX, delete=True)
    assert planned.lines() == done.lines()
    assert [(a.kind, a.relative) for a in done.actions] == [
        ("upload", "d1/f00001.txt"), ("upload", "new.csv"), ("delete-remote", "d2/f00002.txt")
    ]
    kinds = [r.kind for r in cat.versions("proj/d2/f00002.txt")]
    assert kinds == ["put", "delete"]


def test_sync_down_and_back(cat: Catalog, tmp_path: Path) -> None:
    tree, copy = tmp_path / "tree", tmp_path / "copy"
    make_tree(tree, 30)
    (tree / "skip.tmp").write_bytes(b"scratch")
    run_sync(cat, str(tree), PREFIX, exclude=["*.tmp"])
    assert "proj/skip.tmp" not in [r.name for r in cat.ls("proj/", recursive=True).files]
    down = run_sync(cat, PREFIX, str(copy))
    assert len(down.actions) == 30
    for path in tree.rglob("*.txt"):
        assert (copy / path.relative_to(tree)).read_bytes() == path.read_bytes()
    assert run_sync(cat, PREFIX, str(copy)).actions == ()
    (copy / "extra.txt").write_bytes(b"local only")
    (copy / "d0" / "f00000.txt").write_bytes(b"edited locally")
    fixed = run_sync(cat, PREFIX, str(copy), delete=True)
    assert sorted((a.kind, a.relative) for a in fixed.actions) == [
        ("delete-local", "extra.txt"), ("download", "d0/f00000.txt")
    ]
    assert not (copy / "extra.txt").exists()
    assert (copy / "d0" / "f00000.txt").read_bytes() == (tree / "d0" / "f00000.txt").read_bytes()


def test_bad_sync_arguments(cat: Catalog, tmp_path: Path) -> None:
    from eoscatalog import InvalidNameError

    (tmp_path / "f").write_bytes(b"x")
    with pytest.raises(InvalidNameError, match="one folder and one eos://"):
        run_sync(cat, str(tmp_path), str(tmp_path / "other"))
    with pytest.raises(NotADirectoryError, match="takes a folder"):
        run_sync(cat, str(tmp_path / "f"), PREFIX)
    with pytest.raises(NotADirectoryError, match="does not exist"):
        run_sync(cat, str(tmp_path / "missing"), PREFIX)
    bad = tmp_path / "bad"
    (bad / "has@sign.txt").parent.mkdir()
    (bad / "has@sign.txt").write_bytes(b"x")
    with pytest.raises(InvalidNameError, match="--exclude"):
        run_sync(cat, str(bad), PREFIX)
    assert cat.ls(recursive=True, deleted=True).files == ()


def test_an_interrupted_sync_completes_on_rerun(tmp_path: Path) -> None:
    """Kill the sync while it uploads; rerun: every file right, no duplicate versions."""
    home = tmp_path / "home"
    tree = tmp_path / "tree"
    make_tree(tree, 400)
    big = tree / "big.bin"
    big.write_bytes(os.urandom(64 * 1024 * 1024))  # slows the upload enough to interrupt
    env = {**os.environ, "EOS_HOME": str(home), "EOS_USER": "ada", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "eoscatalog", "sync", str(tree), PREFIX, "--quiet"]
    proc = subprocess.Popen(command, env=env)
    store_blobs = home / "store" / "default" / "blobs"
    deadline = time.time() + 60
    while time.time() < deadline and not (store_blobs.exists() and any(store_blobs.rglob("*"))):
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    store = LocalStore(home / "store" / "default")
    assert list(store.list("catalog/users/ada/log/")) == []  # nothing published
    subprocess.run(command, env=env, check=True, timeout=300)
    cat = Catalog(store, ":memory:", user="ada")
    files = cat.ls("proj/", recursive=True).files
    assert len(files) == 401 and all(r.version == 1 for r in files)
    for record in files:
        assert cat.read_bytes(record.uri) == (tree / record.name[len("proj/"):]).read_bytes()
    assert len(list(store.list("catalog/users/ada/log/"))) == 1


def test_sync_through_the_command(tmp_path: Path, s3_server: Any, s3_client: Any) -> None:
    from conftest import make_bucket

    tree = tmp_path / "tree"
    make_tree(tree, 12)
    env = {**os.environ, "EOS_HOME": str(tmp_path / "home"), "EOS_USER": "ada",
           "PYTHONPATH": str(ROOT), "EOS_STORE": f"s3://{make_bucket(s3_client)}/eos",
           "AWS_ENDPOINT_URL": s3_server.endpoint_url}

    def eos(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "eoscatalog", *args], env=env,
                              capture_output=True, text=True, timeout=120)

    dry = eos("sync", str(tree), PREFIX, "--dry-run")
    assert dry.returncode == 0 and dry.stdout.count("(dry run) upload:") == 12
    assert eos("sync", str(tree), PREFIX).stdout.count("upload:") == 12
    assert "already in sync" in eos("sync", str(tree), PREFIX).stdout
    back = eos("sync", PREFIX, str(tmp_path / "back"), "--json")
    assert back.returncode == 0 and '"direction": "download"' in back.stdout
    assert len(list((tmp_path / "back").rglob("*.txt"))) == 12
    bad = eos("sync", str(tree), str(tmp_path / "x"))
    assert bad.returncode == 1 and "eos:// (or e://) prefix" in bad.stderr


def test_progress_shows_on_a_terminal_only(tmp_path: Path) -> None:
    import pty

    tree = tmp_path / "tree"
    make_tree(tree, 50)
    env = {**os.environ, "EOS_HOME": str(tmp_path / "home"), "EOS_USER": "ada",
           "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "eoscatalog", "sync", str(tree), PREFIX]
    piped = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert piped.returncode == 0 and "\r" not in piped.stderr and "ETA" not in piped.stderr
    (tree / "d0" / "new.txt").write_bytes(b"new" * 1000)
    leader, follower = pty.openpty()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=follower)
    os.close(follower)
    proc.wait(timeout=120)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    os.close(leader)
    assert proc.returncode == 0
    assert b"\r" in seen and b"ETA" in seen and b"sync" in seen


def test_progress_line_numbers() -> None:
    import io

    from eoscatalog.progress import Progress

    stream = io.StringIO()
    p = Progress(2048, label="sync", stream=stream, enabled=True)
    p.advance(1024)
    line = p.line(p._start + 2.0)
    assert "1.0 KiB / 2.0 KiB (50%)" in line and "512 B/s" in line and "ETA 0:02" in line
    quiet = Progress(10, stream=io.StringIO(), enabled=False)
    quiet.advance(10)
    quiet.close()
    assert quiet.stream.getvalue() == ""  # type: ignore[attr-defined]


# -- review regressions ----------------------------------------------------------------------


def test_exclude_protects_remote_names_from_delete(cat: Catalog, tmp_path: Path) -> None:
    tree = tmp_path / "t"
    tree.mkdir()
    (tree / "a.csv").write_bytes(b"a")
    (tree / "x.tmp").write_bytes(b"x")
    run_sync(cat, str(tree), PREFIX)
    again = run_sync(cat, str(tree), PREFIX, exclude=["*.tmp"], delete=True)
    assert again.actions == ()
    assert cat.resolve("proj/x.tmp").kind == "put"  # not deleted


def test_nfc_names_and_rule_breaking_files(cat: Catalog, tmp_path: Path) -> None:
    import unicodedata

    from eoscatalog import InvalidNameError
    from eoscatalog.cp import run_cp

    tree = tmp_path / "t"
    tree.mkdir()
    (tree / unicodedata.normalize("NFD", "café.txt")).write_bytes(b"c")
    run_sync(cat, str(tree), PREFIX)
    assert cat.read_bytes("proj/café.txt") == b"c"  # typed in NFC, found
    assert run_sync(cat, str(tree), PREFIX, delete=True).actions == ()
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "plot@2x.png").write_bytes(b"p")
    with pytest.raises(InvalidNameError):
        run_cp(cat, str(bad), "eos://users/me/bad/", recursive=True)
    assert cat.ls("bad/", recursive=True, deleted=True).files == ()


def test_downloads_stay_inside_the_destination(cat: Catalog, tmp_path: Path) -> None:
    from eoscatalog import InvalidNameError

    cat.put_bytes(b"x", "proj/link/x")
    dest, outside = tmp_path / "d", tmp_path / "outside"
    dest.mkdir()
    outside.mkdir()
    (dest / "link").symlink_to(outside)
    with pytest.raises(InvalidNameError, match="outside"):
        run_sync(cat, PREFIX, str(dest))
    assert list(outside.iterdir()) == []


def test_a_name_and_a_folder_of_the_same_path_are_refused(cat: Catalog, tmp_path: Path) -> None:
    from eoscatalog import InvalidNameError

    cat.put_bytes(b"file", "proj/a")
    cat.put_bytes(b"inside", "proj/a/b")
    with pytest.raises(InvalidNameError, match="cannot both be files"):
        run_sync(cat, PREFIX, str(tmp_path / "d"))
    assert not (tmp_path / "d").exists()


def test_a_local_file_becomes_a_folder_with_delete(cat: Catalog, tmp_path: Path) -> None:
    cat.put_bytes(b"inside", "proj/a/b")
    dest = tmp_path / "d"
    dest.mkdir()
    (dest / "a").write_bytes(b"a file in the way")
    run_sync(cat, PREFIX, str(dest), delete=True)
    assert (dest / "a" / "b").read_bytes() == b"inside"


def test_unknown_schemes_and_unreadable_folders(
    cat: Catalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from eoscatalog import InvalidNameError

    with pytest.raises(InvalidNameError, match=r"unknown scheme|one folder"):
        run_sync(cat, PREFIX, "s3://bucket/x")
    assert not Path("s3:").exists()
    tree = tmp_path / "t"
    (tree / "locked").mkdir(parents=True)
    (tree / "locked" / "x").write_bytes(b"x")
    run_sync(cat, str(tree), PREFIX)
    real_scandir = os.scandir

    def deny(path: Any) -> Any:
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", deny)
    with pytest.raises(PermissionError):
        run_sync(cat, str(tree), PREFIX, delete=True)
    monkeypatch.undo()
    assert cat.resolve("proj/locked/x").kind == "put"


def test_a_downloaded_tree_is_not_hashed_again(store: Store, tmp_path: Path) -> None:
    from datetime import datetime, timedelta, timezone

    an_hour_ago = datetime.now(timezone.utc) - timedelta(hours=1)
    cat = Catalog(store, tmp_path / "index.sqlite", user="ada", clock=lambda: an_hour_ago,
                  hash_cache=HashCache(tmp_path / "hashes.sqlite"))
    for i in range(10):
        cat.put_bytes(f"file {i}".encode(), f"proj/f{i}.txt")
    first = run_sync(cat, PREFIX, str(tmp_path / "d"))
    assert len(first.actions) == 10
    again = run_sync(cat, PREFIX, str(tmp_path / "d"))
    assert again.actions == () and again.hashed == 0


def test_a_dry_run_refuses_what_the_run_would(cat: Catalog, tmp_path: Path) -> None:
    from eoscatalog import PermissionDeniedError

    tree = tmp_path / "t"
    make_tree(tree, 3)
    with pytest.raises(PermissionDeniedError):
        run_sync(cat, str(tree), "eos://users/bob/x/", dry_run=True)
