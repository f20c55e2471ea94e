"""The `eos` command line, run for real as a subprocess, on the embedded store and on S3."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import make_bucket

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Result:
    code: int
    out: str
    err: str


Runner = Callable[..., Result]


def _runner(env: dict[str, str], cwd: Path) -> Runner:
    def run(*args: str, check: bool = True) -> Result:
        proc = subprocess.run(
            [sys.executable, "-m", "eoscatalog", *args],
            env={**os.environ, "PYTHONPATH": str(ROOT), **env},
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=120,
        )
        result = Result(proc.returncode, proc.stdout, proc.stderr)
        if check and proc.returncode != 0:
            raise AssertionError(f"eos {' '.join(args)} failed: {result}")
        return result

    return run


@pytest.fixture(params=["local", "s3"])
def eos(request: pytest.FixtureRequest, tmp_path: Path) -> Runner:
    """`eos` with its own EOS_HOME: on the embedded store, or on a fresh S3 bucket."""
    env = {"EOS_HOME": str(tmp_path / "home"), "EOS_USER": "ada"}
    if request.param == "s3":
        server = request.getfixturevalue("s3_server")
        bucket = make_bucket(request.getfixturevalue("s3_client"))
        env.update(EOS_STORE=f"s3://{bucket}/eos", AWS_ENDPOINT_URL=server.endpoint_url)
    work = tmp_path / "work"
    work.mkdir()
    return _runner(env, work)


@pytest.fixture
def local_eos(tmp_path: Path) -> Runner:
    work = tmp_path / "work"
    work.mkdir()
    return _runner({"EOS_HOME": str(tmp_path / "home"), "EOS_USER": "ada"}, work)


def _file(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_demo_shows_every_step(local_eos: Runner, tmp_path: Path) -> None:
    result = local_eos("demo")
    out = result.out
    for phrase in (
        "upload a file", "a second version", "stored once", "the version list", "roll back",
        "delete the name", "undelete", "pinned read of version 1",
    ):
        assert phrase in out, phrase
    assert "bytes sent: none; blobs in store: 2 -> 2" in out
    assert "identical to the first upload: yes" in out
    assert not (tmp_path / "home").exists(), "the demo must not touch the user's EOS_HOME"


def test_full_cycle(eos: Runner, tmp_path: Path) -> None:
    v1 = _file(tmp_path, "v1.csv", b"a,b\n1,2\n")
    v2 = _file(tmp_path, "v2.csv", b"a,b\n1,2\n3,4\n")
    assert "@1" in eos("put", str(v1), "project/t.csv", "--meta", "sample=S1").out
    assert "unchanged" in eos("put", str(v1), "project/t.csv", "--meta", "sample=S1").out
    out = json.loads(eos("put", str(v2), "project/t.csv", "--json").out)
    assert out["version"] == 2 and out["new_version"] is True and out["bytes_uploaded"] is True
    assert out["created"].endswith("Z")  # the version's time, as in every --json version
    dup = json.loads(eos("put", str(v2), "other/copy.csv", "--json").out)
    assert dup["bytes_uploaded"] is False and dup["hash"] == out["hash"]

    rows = json.loads(eos("versions", "project/t.csv", "--json").out)
    assert [r["version"] for r in rows] == [1, 2]
    assert rows[0]["meta"] == {"sample": "S1"}
    table = eos("versions", "project/t.csv").out
    assert table.splitlines()[0].split()[:3] == ["VERSION", "KIND", "SIZE"]

    eos("tag", "project/t.csv@1", "paper-2026")
    info = json.loads(eos("info", "project/t.csv@paper-2026", "--json").out)
    assert info["version"] == 1 and info["tags"] == ["paper-2026"] and info["versions"] == 2
    assert info["blob"].endswith(info["hash"].split(":")[1])
    assert "paper-2026" in eos("info", "project/t.csv@1").out

    assert "version 1's bytes" in eos("rollback", "project/t.csv", "--to", "1").out
    assert "delete marker" in eos("rm", "project/t.csv").out
    deleted = eos("get", "project/t.csv", check=False)
    assert deleted.code == 1 and "eos undelete" in deleted.err
    eos("undelete", "project/t.csv")

    got = eos("get", "project/t.csv@2", str(tmp_path / "out.csv")).out.strip()
    assert Path(got).read_bytes() == v2.read_bytes()
    folder = tmp_path / "dl"
    folder.mkdir()
    got = eos("get", "eos://users/me/project/t.csv@1", str(folder)).out.strip()
    assert Path(got) == folder / "t.csv" and Path(got).read_bytes() == v1.read_bytes()

    eos("untag", "project/t.csv", "paper-2026")
    assert json.loads(eos("info", "project/t.csv@1", "--json").out)["tags"] == []

    kinds = [r["kind"] for r in json.loads(eos("versions", "project/t.csv", "--json").out)]
    assert kinds == ["put", "put", "rollback", "delete", "undelete"]
    assert json.loads(eos("reindex", "--json").out) == {"users/ada": 8}  # 8 changesets
    assert len(json.loads(eos("versions", "project/t.csv", "--json").out)) == 5


def test_ls_cat_url(eos: Runner, tmp_path: Path) -> None:
    for name in ("p/a.csv", "p/b/c.csv", "top.txt"):
        eos("put", str(_file(tmp_path, "f", name.encode())), name)
    table = eos("ls").out.splitlines()
    assert table[0].split() == ["MODIFIED", "SIZE", "VERSION", "AUTHOR", "NAME"]
    assert any(line.split()[-2:] == ["PRE", "p/"] for line in table)
    assert table[-1].endswith("top.txt")
    listing = json.loads(eos("ls", "p/", "-r", "--json").out)
    assert [f["name"] for f in listing["files"]] == ["p/a.csv", "p/b/c.csv"]
    assert listing["namespace"] == "users/ada" and listing["folders"] == []
    assert eos("cat", "p/b/c.csv").out == "p/b/c.csv"
    link = eos("url", "top.txt", "--expires", "1h").out.strip()
    assert link.startswith(("file:///", "http://127.0.0.1"))
    with urllib.request.urlopen(link, timeout=30) as response:
        assert response.read() == b"top.txt"
    if link.startswith("http"):  # saved as top.txt, not as the blob's hash
        assert _disposition(link) == 'attachment; filename="top.txt"'
    too_long = eos("url", "top.txt", "--expires", "8d", check=False)
    assert too_long.code == 1 and "7 days" in too_long.err
    assert eos("ls", "eos://org/").out == ""


def _disposition(link: str) -> str:
    """The Content-Disposition a presigned link asks S3 for. It is a query parameter, so SigV4
    signs it; moto 5 does not echo it back as a header, real S3 does."""
    [value] = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)[
        "response-content-disposition"]
    return value


def test_url_names_the_download_and_takes_seconds(tmp_path: Path, s3_server,
                                                   s3_client) -> None:
    env = {"EOS_HOME": str(tmp_path / "home"), "EOS_USER": "ada",
           "EOS_STORE": f"s3://{make_bucket(s3_client)}/eos",
           "AWS_ENDPOINT_URL": s3_server.endpoint_url}
    eos = _runner(env, tmp_path)
    eos("put", str(_file(tmp_path, "f", b"bonjour")), "p/résumé café.txt")
    link = eos("url", "p/résumé café.txt", "--expires-in", "3600").out.strip()
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)
    assert query["X-Amz-Expires"] == ["3600"] and "X-Amz-Signature" in query
    assert "/blobs/blake3/" in link  # the one blob, pinned
    assert _disposition(link) == (
        "attachment; filename=\"r_sum_ caf_.txt\"; "
        "filename*=UTF-8''r%C3%A9sum%C3%A9%20caf%C3%A9.txt"
    )
    with urllib.request.urlopen(link, timeout=30) as response:
        assert response.read() == b"bonjour"
    assert "X-Amz-Expires=90" in eos("url", "p/résumé café.txt", "--expires", "90").out


def test_purge_needs_yes(eos: Runner, tmp_path: Path) -> None:
    eos("put", str(_file(tmp_path, "x", b"secret")), "phi.txt")
    refused = eos("rm", "--purge", "phi.txt", check=False)
    assert refused.code == 2 and "--yes" in refused.err
    assert eos("get", "phi.txt", str(tmp_path / "still")).code == 0
    assert "purged versions 1" in eos("rm", "--purge", "phi.txt", "--yes").out
    gone = eos("get", "phi.txt@1", check=False)
    assert gone.code == 1 and "purged" in gone.err


def test_errors_are_one_line_with_exit_code_1(local_eos: Runner, tmp_path: Path) -> None:
    local_eos("ls")  # makes the embedded store, which the first command announces
    cases = [
        (("get", "nope.txt"), "no name 'nope.txt'"),
        (("put", str(tmp_path / "missing.bin"), "x"), "does not exist"),
        (("put", str(tmp_path), "x"), "is a folder"),
        (("put", str(_file(tmp_path, "f", b"1")), "a/../b"), "'..'"),
        (("put", str(tmp_path / "f"), "eos://users/bob/x"), "cannot write to users/bob"),
        (("put", str(tmp_path / "f"), "s3://bucket/x"), "unknown scheme"),
        (("get", "f@nosuchtag"), "no name"),
        (("versions", "x@3"), "'@' selector"),
    ]
    for args, fragment in cases:
        result = local_eos(*args, check=False)
        assert result.code == 1, (args, result)
        lines = result.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("eos: error: "), (args, result.err)
        assert fragment in lines[0], (args, lines[0])
        assert "Traceback" not in result.err
    # nothing was written by any of them: the only store objects are none at all
    store = tmp_path / "home" / "store"
    assert not store.exists() or not [p for p in store.rglob("*") if p.is_file()]


def test_a_folder_is_not_a_name(local_eos: Runner, tmp_path: Path) -> None:
    f = _file(tmp_path, "f", b"x")
    for name in ("p4/a.txt", "p4/b/c.txt", "gone.txt"):
        local_eos("put", str(f), name)
    local_eos("rm", "gone.txt")
    cases = [
        (("rm", "eos://users/me/p4/"),
         "eos://users/ada/p4/ is a folder: use eos rm -r eos://users/ada/p4/"),
        (("rm", "eos://users/me/p4"),
         "eos://users/ada/p4 is a folder, not a name: use eos rm -r eos://users/ada/p4/"),
        (("get", "p4/"), "eos://users/ada/p4/ is a folder: use eos cp -r eos://users/ada/p4/ ./"),
        (("get", "p4", "out"), "eos://users/ada/p4 is a folder, not a name: use eos cp -r "
                               "eos://users/ada/p4/ out"),
        (("info", "eos://users/me/p4/b/"), "eos://users/ada/p4/b/ is a folder: use eos ls "
                                           "eos://users/ada/p4/b/"),
        (("info", "p4"), "eos://users/ada/p4 is a folder, not a name: use eos ls "
                         "eos://users/ada/p4/"),
        (("url", "p4/"), "eos://users/ada/p4/ is a folder: links are to one file"),
        (("rm", "--purge", "p4/", "--yes"), "eos://users/ada/p4/ is a folder: --purge takes one"),
        (("rm", "eos://users/me"), "eos://users/ada/ is a folder: use eos rm -r"),
        (("rm", "nope"), "no name 'nope'"),  # neither a name nor a folder
        (("rm", "gone.txt"), "eos://users/ada/gone.txt is already deleted"),
    ]
    for args, expected in cases:
        result = local_eos(*args, check=False)
        assert result.code == 1, (args, result)
        lines = result.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"eos: error: {expected}"), (args, lines)
    listed = json.loads(local_eos("ls", "-r", "--json").out)["files"]
    assert [r["name"] for r in listed] == ["p4/a.txt", "p4/b/c.txt"]  # nothing written
    # A folder's own versions: `eos versions FOLDER/` lists them (tests/test_folders.py).
    assert json.loads(local_eos("versions", "p4/", "--json").out)[0]["prefix"] == "p4/"
    assert "p4/a.txt" in local_eos("rm", "-R", "eos://users/me/p4/").out


def test_get_into_a_new_folder_with_a_trailing_slash(local_eos: Runner, tmp_path: Path) -> None:
    local_eos("put", str(_file(tmp_path, "x.csv", b"1,2\n")), "p/x.csv")
    got = local_eos("get", "p/x.csv", str(tmp_path / "newdir") + "/").out.strip()
    assert Path(got) == tmp_path / "newdir" / "x.csv" and Path(got).read_bytes() == b"1,2\n"


def test_a_closed_pipe_is_not_an_error_message(local_eos: Runner, tmp_path: Path) -> None:
    proc = subprocess.run(
        f"{sys.executable} -m eoscatalog demo | head -1", shell=True, capture_output=True,
        text=True, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120,
    )
    assert proc.stdout.startswith("eos demo:") and "error" not in proc.stderr


def test_lock_and_cache_commands(local_eos: Runner, tmp_path: Path) -> None:
    local_eos("put", str(_file(tmp_path, "a.csv", b"v1")), "a.csv")
    local_eos("put", str(_file(tmp_path, "org.csv", b"o1")), "eos://org/o.csv")
    out = local_eos("lock", "a.csv", "eos://org/o.csv", "-o", str(tmp_path / "eos.lock")).out
    assert "eos://users/ada/a.csv@1" in out and "wrote" in out
    local_eos("put", str(_file(tmp_path, "a2.csv", b"v2")), "a.csv")
    locked = _runner({"EOS_HOME": str(tmp_path / "home"), "EOS_USER": "ada",
                      "EOS_LOCK": str(tmp_path / "eos.lock")}, tmp_path)
    got = locked("get", "a.csv", str(tmp_path / "got.csv")).out.strip()
    assert Path(got).read_bytes() == b"v1"  # the pinned version, not latest
    outside = locked("get", "eos://org/other.csv", check=False)
    assert outside.code == 1 and "not in the active lock" in outside.err
    pins = json.loads(local_eos("lock", "a.csv", "-o", str(tmp_path / "eos.lock"), "--update",
                                "--json").out)
    assert sorted(p["uri"] for p in pins) == ["eos://org/o.csv@1", "eos://users/ada/a.csv@2"]
    assert json.loads(local_eos("cache", "info", "--json").out)["entries"] == 0  # get: none
    assert local_eos("cat", "a.csv@1").out == "v1"  # eos cat reads through the cache
    info = json.loads(local_eos("cache", "info", "--json").out)
    assert info["entries"] == 1 and info["size"] == 2 and info["max_size_auto"] is True
    assert 0 < info["max_size"] <= 10 * 1024**3  # the default cap
    pruned = json.loads(local_eos("cache", "prune", "--max-size", "0", "--json").out)
    assert len(pruned["removed"]) == 1 and pruned["size"] == 0
    # eos lock pins what the store holds, even while EOS_LOCK names an older lock
    fresh = json.loads(locked("lock", "a.csv", "-o", str(tmp_path / "new.lock"), "--json").out)
    assert [p["uri"] for p in fresh] == ["eos://users/ada/a.csv@2"]
    twice = local_eos("lock", "a.csv@1", "a.csv@2", "-o", str(tmp_path / "x.lock"), check=False)
    assert twice.code == 1 and "a.csv" in twice.err and not (tmp_path / "x.lock").exists()
    bad = local_eos("cache", "prune", "--max-size", "lots", check=False)
    assert bad.code == 1 and "invalid size" in bad.err


def test_debug_shows_traceback(local_eos: Runner) -> None:
    result = local_eos("--debug", "get", "nope.txt", check=False)
    assert result.code == 1 and "Traceback" in result.err and "NotFoundError" in result.err


def test_usage_errors_exit_2(local_eos: Runner) -> None:
    assert local_eos("put", check=False).code == 2
    assert local_eos("no-such-command", check=False).code == 2
    assert local_eos("rollback", "x", check=False).code == 2  # --to is required
    bad_meta = local_eos("put", "a", "b", "--meta", "novalue", check=False)
    assert bad_meta.code == 2 and "KEY=VALUE" in bad_meta.err


def test_init_writes_config_and_checks_store(tmp_path: Path, s3_server, s3_client) -> None:
    home = tmp_path / "home"
    run = _runner({"EOS_HOME": str(home)}, tmp_path)
    store_dir = tmp_path / "shared-store"
    out = run("init", "--store", store_dir.as_uri(), "--org", "genomics", "--user", "ada").out
    assert "wrote" in out and (home / "config.yaml").exists()
    assert (store_dir / "genomics").is_dir()
    f = _file(tmp_path, "f.txt", b"hello")
    assert "eos://users/ada/f.txt@1" in run("put", str(f), "f.txt").out
    assert any((store_dir / "genomics" / "blobs").rglob("*"))

    bucket = make_bucket(s3_client)
    out = run("init", "--store", f"s3://{bucket}/eos", "--endpoint-url",
              s3_server.endpoint_url).out
    assert f"s3://{bucket}/eos/genomics" in out
    # a new store root: a fresh catalog, so the same name starts again at version 1
    assert "eos://users/ada/f.txt@1" in run("put", str(f), "f.txt").out
    assert "s3://" in run("info", "f.txt").out

    missing = run("init", "--store", "s3://no-such-bucket-eos", check=False)
    assert missing.code == 1 and "no-such-bucket-eos" in missing.err
    assert "does not exist" in missing.err
    unreachable = run("init", "--store", "s3://b", "--endpoint-url", "http://127.0.0.1:9",
                      check=False)
    assert unreachable.code == 1 and "cannot reach" in unreachable.err


@pytest.mark.skipif(shutil.which("eos") is None, reason="the eos console script is not installed")
def test_console_script_is_installed() -> None:
    result = subprocess.run(["eos", "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "eos, version" in result.stdout
