"""eos cp in every direction, eos du and eos log, through the real command on local and S3."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import make_bucket

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(params=["local", "s3"])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    values = {"EOS_HOME": str(tmp_path / "home"), "EOS_USER": "ada", "PYTHONPATH": str(ROOT)}
    if request.param == "s3":
        server = request.getfixturevalue("s3_server")
        bucket = make_bucket(request.getfixturevalue("s3_client"))
        values.update(EOS_STORE=f"s3://{bucket}/eos", AWS_ENDPOINT_URL=server.endpoint_url,
                      BUCKET=bucket)
    return values


def eos(env: dict[str, str], *args: str, code: int = 0) -> str:
    proc = subprocess.run([sys.executable, "-m", "eoscatalog", *args],
                          env={**os.environ, **env}, capture_output=True, text=True, timeout=120)
    assert proc.returncode == code, (args, proc.stdout, proc.stderr)
    return proc.stdout if code == 0 else proc.stderr


def test_cp_every_direction(env: dict[str, str], tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_bytes(b"alpha")
    (src / "sub" / "b.txt").write_bytes(b"beta")
    assert "users/ada/p/a.txt@1" in eos(env, "cp", str(src / "a.txt"), "eos://users/me/p/")
    assert "unchanged" in eos(env, "cp", str(src / "a.txt"), "eos://users/me/p/a.txt")
    assert "add -r" in eos(env, "cp", str(src), "eos://users/me/q/", code=1)
    up = eos(env, "cp", "-r", str(src), "eos://users/me/q/")
    assert up.count("upload:") == 2
    copied = eos(env, "cp", "-r", "eos://users/me/q/", "eos://org/q/")
    assert copied.count("no bytes moved") == 2
    versions = json.loads(eos(env, "versions", "eos://org/q/sub/b.txt", "--json"))
    assert versions[0]["kind"] == "copy" and versions[0]["source"] == "eos://users/ada/q/sub/b.txt@1"
    out = tmp_path / "out"
    eos(env, "cp", "-r", "eos://org/q/", str(out))
    assert (out / "a.txt").read_bytes() == b"alpha"
    assert (out / "sub" / "b.txt").read_bytes() == b"beta"
    eos(env, "cp", "eos://users/me/p/a.txt", str(tmp_path / "single.txt"))
    assert (tmp_path / "single.txt").read_bytes() == b"alpha"
    assert "unknown scheme" in eos(env, "cp", "ftp://host/x", "eos://org/", code=1)
    assert "local to local" in eos(env, "cp", str(src / "a.txt"), str(tmp_path / "z"), code=1)
    assert "no name" in eos(env, "cp", "eos://org/missing.txt", str(tmp_path / "m"), code=1)
    assert not (tmp_path / "m").exists()


def test_eos_to_eos_copies_move_no_bytes(tmp_path: Path, s3_server: Any, s3_client: Any) -> None:
    bucket = make_bucket(s3_client)
    env = {"EOS_HOME": str(tmp_path / "home"), "EOS_USER": "ada", "PYTHONPATH": str(ROOT),
           "EOS_STORE": f"s3://{bucket}/eos", "AWS_ENDPOINT_URL": s3_server.endpoint_url}
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(3 * 1024 * 1024))
    eos(env, "cp", str(big), "eos://users/me/big.bin")
    s3_server.requests.clear()
    eos(env, "cp", "eos://users/me/big.bin", "eos://org/big-copy.bin")
    received = sum(r.received for r in s3_server.requests.for_bucket(bucket))
    blob_requests = [r.method for r in s3_server.requests.for_bucket(bucket)
                     if "/blobs/" in r.path]
    # A changeset, not 3 MiB of blob; one HEAD checks the blob is still there after the commit
    # (gc may have collected a source purged meanwhile).
    assert blob_requests == ["HEAD"] and received < 10_000


def test_import_from_s3_and_https(tmp_path: Path, s3_server: Any, s3_client: Any) -> None:
    bucket = make_bucket(s3_client)
    raw = make_bucket(s3_client)
    s3_client.put_object(Bucket=raw, Key="runs/reads.txt", Body=b"ACGT" * 100)
    env = {"EOS_HOME": str(tmp_path / "home"), "EOS_USER": "ada", "PYTHONPATH": str(ROOT),
           "EOS_STORE": f"s3://{bucket}/eos", "AWS_ENDPOINT_URL": s3_server.endpoint_url}
    out = eos(env, "cp", f"s3://{raw}/runs/reads.txt", "eos://users/me/raw/")
    assert "import:" in out and "eos://users/ada/raw/reads.txt@1" in out
    info = json.loads(eos(env, "info", "raw/reads.txt", "--json"))
    assert info["meta"] == {"source": f"s3://{raw}/runs/reads.txt"} and info["size"] == 400
    link = s3_client.generate_presigned_url(
        "get_object", Params={"Bucket": raw, "Key": "runs/reads.txt"}, ExpiresIn=600)
    assert "import:" in eos(env, "cp", link, "eos://users/me/raw/from-link.txt")
    assert eos(env, "cat", "raw/from-link.txt") == "ACGT" * 100
    assert "one object at a time" in eos(env, "cp", "-r", f"s3://{raw}/runs/",
                                         "eos://users/me/raw/", code=1)


def test_du_and_log(env: dict[str, str], tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_bytes(b"x" * 100)
    eos(env, "cp", str(f), "eos://users/me/d/one.bin")
    eos(env, "cp", str(f), "eos://users/me/d/two.bin")  # same bytes: stored once
    f.write_bytes(b"y" * 50)
    eos(env, "cp", str(f), "eos://users/me/d/one.bin")
    eos(env, "rm", "d/two.bin")
    usage = json.loads(eos(env, "du", "d/", "--json"))
    assert usage == {
        "namespace": "users/ada", "prefix": "d/", "names": 1, "versions": 3,
        "logical_bytes": 50, "all_versions_bytes": 250, "stored_bytes": 150, "saved_bytes": 100,
    }
    assert "saved by deduplication" in eos(env, "du")
    history = json.loads(eos(env, "log", "d/", "--json"))
    assert [(h["name"], h["version"], h["op"]) for h in history] == [
        ("d/two.bin", 2, "delete"), ("d/one.bin", 2, "put"), ("d/two.bin", 1, "put"),
        ("d/one.bin", 1, "put"),
    ]
    assert len(json.loads(eos(env, "log", "-n", "2", "--json"))) == 2
    assert "-n" in eos(env, "log", "-n", "0", code=2)
    assert eos(env, "log").splitlines()[0].split()[:3] == ["WHEN", "WHO", "WHAT"]
    eos(env, "tag", "d/one.bin@1", "first")
    eos(env, "rm", "--purge", "d/one.bin@2", "--yes")
    lines = eos(env, "log", "d/", "-n", "2").splitlines()
    assert "purge 2" in lines[1] and "d/one.bin" in lines[1]
    assert "tag first" in lines[2] and "d/one.bin@1" in lines[2]


def test_rm_recursive_is_one_change(env: dict[str, str], tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "x").mkdir(parents=True)
    for name in ("a.txt", "x/b.txt", "x/c.txt"):
        (src / name).write_bytes(name.encode())
    moves = json.loads(eos(env, "cp", "-r", str(src), "eos://users/me/old/", "--json"))
    assert [m["action"] for m in moves] == ["upload"] * 3
    assert moves[0] == {"action": "upload", "source": str(src / "a.txt"),
                        "dest": "eos://users/ada/old/a.txt@1"}
    out = eos(env, "rm", "-r", "eos://users/me/old/x/")
    assert out.count("deleted:") == 2 and "2 names deleted" in out
    assert [f["name"] for f in json.loads(eos(env, "ls", "old/", "-r", "--json"))["files"]] == [
        "old/a.txt"
    ]
    history = json.loads(eos(env, "log", "old/", "--json"))
    assert {h["seq"] for h in history if h["op"] == "delete"} == {2}  # one changeset
    assert "nothing to delete" in eos(env, "rm", "-r", "eos://users/me/old/x/", code=1)
    assert "--purge takes one name" in eos(env, "rm", "-r", "--purge", "old/", "--yes", code=2)
    assert "eos undelete -r eos://users/me/old/x/" in out
    eos(env, "undelete", "old/x/b.txt")
    assert eos(env, "cat", "old/x/b.txt") == "x/b.txt"
    restored = json.loads(eos(env, "undelete", "-r", "old/x/", "--json"))
    assert [(r["name"], r["kind"], r["version"], r["source_version"]) for r in restored] == [
        ("old/x/c.txt", "undelete", 3, 1)]  # b.txt was back already
    assert eos(env, "cat", "old/x/c.txt") == "x/c.txt"
    assert "nothing to undelete" in eos(env, "undelete", "-r", "old/x/", code=1)


def test_rm_recursive_means_the_folder(tmp_path: Path) -> None:
    env = {"EOS_HOME": str(tmp_path / "home"), "EOS_USER": "ada", "PYTHONPATH": str(ROOT)}
    f = tmp_path / "f"
    f.write_bytes(b"x")
    for name in ("p/a/x", "p/ab", "p/a.csv"):
        eos(env, "cp", str(f), f"eos://users/me/{name}")
    assert "1 names deleted" in eos(env, "rm", "-r", "eos://users/me/p/a")
    left = json.loads(eos(env, "ls", "p/", "-r", "--json"))["files"]
    assert [x["name"] for x in left] == ["p/a.csv", "p/ab"]
    assert "--yes" in eos(env, "rm", "-r", "eos://users/me/", code=1)
    assert "2 names deleted" in eos(env, "rm", "-r", "eos://users/me/", "--yes")


def test_cp_and_sync_edge_cases(tmp_path: Path) -> None:
    env = {"EOS_HOME": str(tmp_path / "home"), "EOS_USER": "ada", "PYTHONPATH": str(ROOT)}
    f = tmp_path / "f.txt"
    f.write_bytes(b"one")
    # A namespace root without its slash is still a folder, as `aws s3 cp f s3://bucket` is.
    assert "eos://users/ada/f.txt@1" in eos(env, "cp", str(f), "eos://users/me")
    assert eos(env, "cp", str(f), "eos://users/me/g.txt", "--quiet") == ""
    # A copy onto a name that already holds those bytes makes no version, and says so.
    assert "unchanged" in eos(env, "cp", "eos://users/me/f.txt", "eos://users/me/g.txt")
    again = json.loads(eos(env, "cp", "eos://users/me/f.txt", "eos://users/me/f.txt", "--json"))
    assert again == [{"action": "unchanged", "source": "eos://users/me/f.txt",
                      "dest": "eos://users/ada/f.txt@1"}]
    # -r of a prefix holding nothing is an error, not a silent success.
    err = eos(env, "cp", "-r", "eos://users/me/nothing/", str(tmp_path / "out"), code=1)
    assert "nothing under eos://users/ada/nothing/" in err and "eos ls" in err
    assert not (tmp_path / "out").exists()
    assert "nothing under" in eos(env, "cp", "-r", "eos://users/me/nothing/", "eos://org/x/",
                                  code=1)
    # -m means nothing to a download: a usage error, nothing written.
    assert "drop -m" in eos(env, "sync", "eos://users/me/", str(tmp_path / "d"), "-m", "x",
                            code=2)
    assert not (tmp_path / "d").exists()
    # Purged versions are marked in ls --versions.
    f.write_bytes(b"two")
    eos(env, "cp", str(f), "eos://users/me/f.txt")
    eos(env, "rm", "--purge", "f.txt@1", "--yes")
    lines = [x for x in eos(env, "ls", "--versions").splitlines() if x.endswith("f.txt")]
    assert "@1 (purged)" in lines[0] and "purged" not in lines[1]


def test_sync_and_cp_r_copy_what_the_listing_shows_under_a_lock(tmp_path: Path) -> None:
    env = {"EOS_HOME": str(tmp_path / "home"), "EOS_USER": "ada", "PYTHONPATH": str(ROOT)}
    f = tmp_path / "f.txt"
    for content in (b"old", b"new"):
        f.write_bytes(content)
        eos(env, "cp", str(f), "eos://users/me/p/f.txt")
    eos(env, "lock", "p/f.txt@1", "-o", str(tmp_path / "eos.lock"))
    locked = {**env, "EOS_LOCK": str(tmp_path / "eos.lock")}
    # A single reference goes through the lock ...
    eos(locked, "cp", "eos://users/me/p/f.txt", str(tmp_path / "one.txt"))
    assert (tmp_path / "one.txt").read_bytes() == b"old"
    # ... a prefix copies the versions its listing shows, whatever a lock pins.
    eos(locked, "sync", "eos://users/me/p/", str(tmp_path / "s"))
    eos(locked, "cp", "-r", "eos://users/me/p/", str(tmp_path / "c"))
    assert (tmp_path / "s" / "f.txt").read_bytes() == (tmp_path / "c" / "f.txt").read_bytes() \
        == b"new"


def test_familiar_flag_spellings_and_filters(tmp_path: Path) -> None:
    """--dryrun, -R, --include (after --exclude, whatever the order) on sync, cp and rm."""
    env = {"EOS_HOME": str(tmp_path / "home"), "EOS_USER": "ada", "PYTHONPATH": str(ROOT)}
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    for name in ("a.csv", "b.tmp", "keep.tmp", "sub/c.csv"):
        (src / name).write_bytes(name.encode())
    dry = eos(env, "sync", str(src), "eos://users/me/s/", "--include", "keep.*", "--exclude",
              "*.tmp", "--dryrun").splitlines()
    assert [line.split()[:3] for line in dry] == [
        ["(dry", "run)", "upload:"]] * 3
    assert [line.split()[-2] for line in dry] == [
        "eos://users/ada/s/a.csv", "eos://users/ada/s/keep.tmp", "eos://users/ada/s/sub/c.csv"]
    assert eos(env, "ls", "-r") == ""  # a dry run writes nothing
    eos(env, "sync", str(src), "eos://users/me/s/", "--exclude", "*.tmp", "--include", "keep.*")
    # b.tmp is left out on both sides: --delete keeps it, and keep.tmp is in sync.
    assert "nothing to do" in eos(env, "sync", str(src), "eos://users/me/s/", "--exclude",
                                  "*.tmp", "--include", "keep.*", "--delete")

    csv = ["--exclude", "*", "--include", "*.csv"]
    planned = eos(env, "cp", "-R", str(src), "eos://users/me/c/", *csv, "--dryrun")
    assert planned.count("(dry run) upload:") == 2
    assert "nothing under eos://users/ada/c/" in eos(env, "ls", "c/", code=1)
    assert eos(env, "cp", "-R", str(src), "eos://users/me/c/", *csv).count("upload:") == 2
    names = [f["name"] for f in json.loads(eos(env, "ls", "c/", "-r", "--json"))["files"]]
    assert names == ["c/a.csv", "c/sub/c.csv"]
    out = tmp_path / "out"
    assert "(dry run) download:" in eos(env, "cp", "-r", "eos://users/me/s/", str(out),
                                        "--dry-run")
    assert not out.exists()
    eos(env, "cp", "-r", "eos://users/me/s/", str(out), "--exclude", "sub/*")
    assert sorted(p.name for p in out.rglob("*")) == ["a.csv", "keep.tmp"]
    copied = eos(env, "cp", "-R", "eos://users/me/s/", "eos://org/s/", "--dryrun", *csv)
    assert copied.splitlines() == [
        "(dry run) copy: eos://users/ada/s/a.csv@1 to eos://org/s/a.csv (no bytes moved)",
        "(dry run) copy: eos://users/ada/s/sub/c.csv@1 to eos://org/s/sub/c.csv (no bytes "
        "moved)",
    ]
    assert eos(env, "ls", "eos://org/") == ""
    # Single files take --dry-run too; a dry run refuses what the run would.
    assert "(dry run) upload:" in eos(env, "cp", str(src / "a.csv"), "eos://users/me/one/",
                                      "--dry-run")
    assert "(dry run) download:" in eos(env, "cp", "eos://users/me/s/a.csv", str(tmp_path),
                                        "--dry-run")
    assert "cannot write to users/bob" in eos(env, "cp", "eos://users/me/s/a.csv",
                                              "eos://users/bob/", "--dry-run", code=1)
    assert "nothing under eos://users/ada/one/" in eos(env, "ls", "one/", code=1)
    assert "once --exclude is applied" in eos(env, "cp", "-r", "eos://users/me/s/",
                                              str(tmp_path / "none"), "--exclude", "*", code=1)
    assert "add -r" in eos(env, "cp", str(src / "a.csv"), "eos://users/me/",
                           "--exclude", "*.tmp", code=2)
    assert "3 names deleted" in eos(env, "rm", "-R", "eos://users/me/s/")


def test_cp_r_refuses_a_name_and_a_folder_before_writing(tmp_path: Path) -> None:
    env = {"EOS_HOME": str(tmp_path / "home"), "EOS_USER": "ada", "PYTHONPATH": str(ROOT)}
    f = tmp_path / "f"
    f.write_bytes(b"x")
    for name in ("a.txt", "p", "p/a.txt", "z.txt"):
        eos(env, "cp", str(f), f"eos://users/me/{name}")
    dest = tmp_path / "dir"
    for dry in ([], ["--dry-run"]):
        err = eos(env, "cp", "-r", "eos://users/me/", f"{dest}/", *dry, code=1)
        assert err.strip() == (
            f"eos: error: eos://users/ada/p and eos://users/ada/p/a.txt cannot both be files in "
            f"{dest}: copy one of them on its own (eos cp eos://users/ada/p ./p.file), or leave "
            "it out with --exclude 'p'"
        )
        assert not dest.exists()  # checked before anything was written
    eos(env, "cp", "-r", "eos://users/me/", f"{dest}/", "--exclude", "p")
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file()) == [
        "a.txt", "p/a.txt", "z.txt"]
    eos(env, "cp", "eos://users/me/p", str(tmp_path / "p.file"))
    assert (tmp_path / "p.file").read_bytes() == b"x"
    # sync's download check says the same
    err = eos(env, "sync", "eos://users/me/", str(tmp_path / "s"), code=1)
    assert f"cannot both be files in {tmp_path / 's'}: copy one" in err


def test_mv_moves_names_in_one_change(tmp_path: Path) -> None:
    env = {"EOS_HOME": str(tmp_path / "home"), "EOS_USER": "ada", "PYTHONPATH": str(ROOT)}
    f = tmp_path / "f.txt"
    f.write_bytes(b"moved bytes")
    for name in ("d/a.txt", "d/sub/b.txt"):
        eos(env, "cp", str(f), f"eos://users/me/{name}")
    out = eos(env, "mv", "eos://users/me/d/a.txt", "eos://users/me/e/")
    assert out.strip() == ("move: eos://users/ada/d/a.txt to eos://users/ada/e/a.txt@1 "
                           "(no bytes moved)")
    history = json.loads(eos(env, "log", "eos://users/me/", "--json", "-n", "2"))
    assert {(h["name"], h["op"]) for h in history} == {("d/a.txt", "delete"), ("e/a.txt", "copy")}
    assert len({h["seq"] for h in history}) == 1  # one changeset
    dry = json.loads(eos(env, "mv", "-r", "eos://users/me/d/", "eos://org/m/", "--dry-run",
                         "--json"))
    assert dry == [{"action": "move", "source": "eos://users/ada/d/sub/b.txt",
                    "dest": "eos://org/m/sub/b.txt"}]
    assert json.loads(eos(env, "ls", "eos://org/", "-r", "--json"))["files"] == []
    eos(env, "mv", "-R", "eos://users/me/d/", "eos://org/m/")
    assert eos(env, "cat", "eos://org/m/sub/b.txt") == "moved bytes"
    assert [x["name"] for x in json.loads(eos(env, "ls", "-r", "--json"))["files"]] == [
        "e/a.txt"]
    eos(env, "undelete", "d/a.txt")  # the source keeps its history
    assert eos(env, "cat", "d/a.txt") == "moved bytes"
    assert "drop '@1'" in eos(env, "mv", "eos://users/me/e/a.txt@1", "eos://users/me/x",
                              code=1)
    assert "into itself" in eos(env, "mv", "-r", "eos://users/me/e/", "eos://users/me/e/f/",
                                code=1)
    assert "no name" in eos(env, "mv", "eos://users/me/nothing", "eos://users/me/x", code=1)


def test_rm_dry_run_changes_nothing(tmp_path: Path) -> None:
    env = {"EOS_HOME": str(tmp_path / "home"), "EOS_USER": "ada", "PYTHONPATH": str(ROOT)}
    f = tmp_path / "f.txt"
    for content in (b"one", b"two"):
        f.write_bytes(content)
        eos(env, "cp", str(f), "eos://users/me/d/a.txt")
    before = eos(env, "ls", "-r", "--versions", "--json")
    assert "a.txt@2 would get a delete marker" in eos(env, "rm", "d/a.txt", "--dryrun")
    assert "1 names would be deleted" in eos(env, "rm", "-r", "eos://users/me/d/", "--dry-run")
    assert "versions 1, 2" in eos(env, "rm", "--purge", "d/a.txt", "--dry-run")
    assert "versions 1\n" in eos(env, "rm", "--purge", "d/a.txt@1", "--dry-run")
    assert "nothing to delete" in eos(env, "rm", "-r", "eos://users/me/zz/", "--dry-run", code=1)
    assert "cannot write" in eos(env, "rm", "eos://users/bob/x", "--dry-run", code=1)
    assert eos(env, "ls", "-r", "--versions", "--json") == before
