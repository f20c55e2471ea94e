"""eos sync: planning is exact, unchanged trees cost nothing, uploads are one changeset."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from s3server import S3TestServer
from test_cp import env as env  # the local store and S3, for tests through the command
from test_cp import eos

from eoscatalog import BlobCache, Catalog
from eoscatalog.local.hash_cache import HashCache
from eoscatalog.store import LocalStore, S3Store, Store
from eoscatalog.transfer.sync import run_sync

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
    """Record every blob upload a store is asked for: file uploads (``_upload_blob``) and
    create-if-absent writes of bytes in hand (``_create_blob``, which small blobs on S3 take
    without a HEAD first), each counted once even when one calls the other."""
    sent: list[str] = []
    inside = threading.local()

    def counted(original: Callable[..., Any]) -> Callable[..., Any]:
        def call(key: str, *rest: Any) -> Any:
            if getattr(inside, "depth", 0) == 0:
                sent.append(key)
            inside.depth = getattr(inside, "depth", 0) + 1
            try:
                return original(key, *rest)
            finally:
                inside.depth -= 1
        return call

    store._upload_blob = counted(store._upload_blob)  # type: ignore[method-assign]
    store._create_blob = counted(store._create_blob)  # type: ignore[method-assign]
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

    from eoscatalog.cli.progress import Progress

    stream = io.StringIO()
    p = Progress(2048, label="sync", stream=stream, enabled=True)
    p.advance(1024)
    line = p.line(p._start + 2.0)
    assert "1.0 KiB / 2.0 KiB (50%)" in line and "512 B/s" in line
    assert "ETA -:--" in line  # 2 s in: too soon to tell (test_cli_ux.py tests the time left)
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
    from eoscatalog.transfer.cp import run_cp

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


# -- eos:// to eos:// -------------------------------------------------------------------------


def _blobs(env: dict[str, str]) -> int:
    """How many blobs the store holds (a sync within the catalog must add none)."""
    if "BUCKET" not in env:
        return sum(1 for p in Path(env["EOS_HOME"], "store").rglob("blobs/*/*/*") if p.is_file())
    import boto3

    client = boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"], region_name="us-east-1")
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=env["BUCKET"],
                                                           Prefix="eos/default/blobs/")
    return sum(len(page.get("Contents", [])) for page in pages)


def test_sync_between_prefixes_is_one_changeset_moving_no_bytes(
    env: dict[str, str], tmp_path: Path
) -> None:
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    for name, data in (("a.txt", b"alpha"), ("sub/b.txt", b"beta"), ("x.tmp", b"scratch")):
        (src / name).write_bytes(data)
    eos(env, "cp", "-r", str(src), "eos://users/me/p1/")
    other = tmp_path / "other"
    other.write_bytes(b"other")
    for name in ("p2/old.txt", "p2/keep.tmp", "p2/sub/b.txt"):
        eos(env, "cp", str(other), f"eos://users/me/{name}")
    blobs = _blobs(env)
    args = ["sync", "eos://users/me/p1/", "e://users/me/p2/", "--delete", "--exclude", "*.tmp"]
    dry = eos(env, *args, "--dry-run").splitlines()
    done = eos(env, *args).splitlines()
    assert dry == ["(dry run) " + line for line in done]
    assert done == [
        "copy: eos://users/ada/p1/a.txt to eos://users/ada/p2/a.txt (new, no bytes moved)",
        "copy: eos://users/ada/p1/sub/b.txt to eos://users/ada/p2/sub/b.txt (changed, no bytes "
        "moved)",
        "delete: eos://users/ada/p2/old.txt (not in eos://users/ada/p1/)",
    ]
    assert _blobs(env) == blobs
    copied = json.loads(eos(env, "versions", "p2/sub/b.txt", "--json"))[-1]
    assert copied["kind"] == "copy" and copied["source"] == "eos://users/ada/p1/sub/b.txt@1"
    assert eos(env, "cat", "p2/sub/b.txt") == "beta"
    history = json.loads(eos(env, "log", "p2/", "--json"))
    changes = [h for h in history if h["seq"] == 5]  # one changeset, after cp -r and 3 cp
    assert sorted((h["name"], h["op"]) for h in changes) == [
        ("p2/a.txt", "copy"), ("p2/old.txt", "delete"), ("p2/sub/b.txt", "copy")
    ]
    assert max(h["seq"] for h in history) == 5
    assert changes[0]["message"] == "sync eos://users/ada/p1/"
    names = [f["name"] for f in json.loads(eos(env, "ls", "p2/", "-r", "--json"))["files"]]
    assert names == ["p2/a.txt", "p2/keep.tmp", "p2/sub/b.txt"]  # *.tmp left alone both sides
    again = json.loads(eos(env, *args, "--json"))
    assert again == {"direction": "copy", "source": "eos://users/ada/p1/",
                     "dest": "eos://users/ada/p2/", "local": None,
                     "remote": "eos://users/ada/p2/", "dry_run": False, "hashed": 0,
                     "actions": []}


def test_sync_between_prefixes_edge_cases(tmp_path: Path) -> None:
    env = {"EOS_HOME": str(tmp_path / "home"), "EOS_USER": "ada", "PYTHONPATH": str(ROOT)}
    f = tmp_path / "f"
    f.write_bytes(b"x")
    eos(env, "cp", str(f), "eos://users/me/p/a.csv")
    eos(env, "cp", str(f), "eos://users/me/p/deleted.csv")
    eos(env, "rm", "p/deleted.csv")
    # Into another namespace: one changeset there, deleted names not copied.
    out = json.loads(eos(env, "sync", "eos://users/me/p/", "eos://org/p/", "-m", "share",
                         "--json"))
    assert [(a["kind"], a["path"]) for a in out["actions"]] == [("copy", "a.csv")]
    assert json.loads(eos(env, "info", "eos://org/p/a.csv", "--json"))["message"] == "share"
    # A prefix into itself, or into a prefix inside it, would copy itself again each run.
    for dest in ("eos://users/me/p/", "eos://users/me/p/backup/", "eos://users/me/"):
        assert "one holds the other" in eos(env, "sync", "eos://users/me/p/", dest, code=1)
    assert "cannot write to users/bob" in eos(env, "sync", "eos://users/me/p/",
                                              "eos://users/bob/p/", "--dry-run", code=1)


def test_delete_from_a_source_holding_nothing_is_refused(tmp_path: Path) -> None:
    env = {"EOS_HOME": str(tmp_path / "home"), "EOS_USER": "ada", "PYTHONPATH": str(ROOT)}
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "results.csv").write_bytes(b"precious")
    eos(env, "sync", str(keep), "eos://users/me/project-1/")
    # A mistyped prefix down to a folder:
    err = eos(env, "sync", "eos://users/me/projcet-1/", f"{keep}/", "--delete", code=1)
    assert err.strip() == (
        f"eos: error: nothing under eos://users/ada/projcet-1/: refusing to delete everything "
        f"in {keep}/; check the prefix with `eos ls eos://users/ada/projcet-1/`"
    )
    assert (keep / "results.csv").read_bytes() == b"precious"
    # An empty folder up to a prefix, a dry run included, and an empty prefix to another:
    empty = tmp_path / "empty"
    empty.mkdir()
    for dry in ([], ["--dry-run"]):
        err = eos(env, "sync", str(empty), "eos://users/me/project-1/", "--delete", *dry, code=1)
        assert f"nothing under {empty}: refusing to delete everything in " \
            "eos://users/ada/project-1/; check the folder with `ls" in err
    err = eos(env, "sync", "eos://users/me/nothing/", "eos://users/me/project-1/", "--delete",
              code=1)
    assert "refusing to delete everything in eos://users/ada/project-1/" in err
    # Everything excluded is nothing too.
    (empty / "x.tmp").write_bytes(b"x")
    err = eos(env, "sync", str(empty), "eos://users/me/project-1/", "--delete", "--exclude",
              "*.tmp", code=1)
    assert "once --exclude is applied" in err
    assert eos(env, "cat", "project-1/results.csv") == "precious"
    # Without --delete an empty source has nothing to do; so does --delete into an empty place.
    (tmp_path / "empty2").mkdir()
    assert "nothing to do" in eos(env, "sync", str(tmp_path / "empty2"),
                                  "eos://users/me/project-1/")
    assert "nothing to do" in eos(env, "sync", "eos://users/me/nothing/", str(keep))
    assert "nothing to do" in eos(env, "sync", "eos://users/me/nothing/", "eos://org/n/",
                                  "--delete")


def test_sync_to_s3_sends_one_request_per_new_blob_and_none_when_unchanged(
    s3_store: S3Store, s3_server: S3TestServer, tmp_path: Path
) -> None:
    """Counted at the server: a first sync is one PUT per small blob (no HEAD before it); a
    re-sync sends only the changed files' blobs; an unchanged sync, from a new process's
    store (not yet probed), is ONE request, the LIST of the log: no write of any kind."""
    tree = tmp_path / "tree"
    paths = make_tree(tree, 60)

    def catalog() -> Catalog:
        store = S3Store(s3_store.url, endpoint_url=s3_server.endpoint_url)
        return Catalog(store, tmp_path / "index.sqlite", user="ada",
                       hash_cache=HashCache(tmp_path / "hashes.sqlite"),
                       cache=BlobCache(tmp_path / "cache"))

    def requests_of(sync: Callable[[], object]) -> list[tuple[str, str]]:
        before = len(s3_server.requests.for_bucket(s3_store.bucket))
        sync()
        return [(r.method, next(k for k in ("blobs", "catalog", "_eos", "")
                                if k in r.path + "?" + r.query))
                for r in s3_server.requests.for_bucket(s3_store.bucket)[before:]]

    first = requests_of(lambda: run_sync(catalog(), str(tree), PREFIX))
    assert [r for r in first if r[1] == "blobs"] == [("PUT", "blobs")] * 60
    changed = paths[::20]
    for path in changed:
        path.write_bytes(path.read_bytes() + b"changed\n")
        os.utime(path, (time.time() - 30, time.time() - 30))
    second = requests_of(lambda: run_sync(catalog(), str(tree), PREFIX))
    assert [r for r in second if r[1] == "blobs"] == [("PUT", "blobs")] * len(changed)
    cat = catalog()
    third = requests_of(lambda: run_sync(cat, str(tree), PREFIX))
    assert third == [("GET", "catalog")] and cat.hash_cache.hashed == 0


def test_a_blob_the_catalog_names_is_looked_for_not_sent_again(
    s3_store: S3Store, s3_server: S3TestServer, tmp_path: Path
) -> None:
    """Bytes some live version already names are looked for first, never re-sent: a blob up to
    1 MiB is read back and hashed (one GET, no HEAD) before it is trusted."""
    cat = Catalog(s3_store, tmp_path / "index.sqlite", user="ada",
                  hash_cache=HashCache(tmp_path / "hashes.sqlite"))
    path = make_tree(tmp_path / "tree", 1)[0]

    def blob_requests(action: Callable[[], object]) -> list[str]:
        before = len(s3_server.requests.for_bucket(s3_store.bucket))
        action()
        return [r.method for r in s3_server.requests.for_bucket(s3_store.bucket)[before:]
                if "/blobs/" in r.path]

    assert blob_requests(lambda: cat.put(path, "a.txt")) == ["PUT"]
    again = blob_requests(lambda: cat.put(path, "b.txt"))
    assert again == ["GET", "HEAD"]  # read back and hashed; still there after the commit
    assert cat.resolve("b.txt").hash == cat.resolve("a.txt").hash
