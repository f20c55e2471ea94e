"""What new users of the `eos` command line hit (issue 12): --json on every command that makes
or reports a version, `ls` of an empty prefix, a failed `eos init`, the embedded store made
without a word, the server-down message, progress lines, and names that look alike."""

from __future__ import annotations

import io
import json
import os
import pty
import socket
import subprocess
import sys
import unicodedata
from datetime import datetime, timezone
from pathlib import Path

import pytest
from conftest import make_bucket
from test_cli import ROOT, Runner, _runner

from eoscatalog.cli.progress import ETA_WINDOW, Progress


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


def _file(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _json(eos: Runner, *args: str) -> object:
    return json.loads(eos(*args, "--json").out)


def test_every_command_that_makes_or_reports_a_version_prints_it_with_json(
        eos: Runner, tmp_path: Path) -> None:
    eos("put", str(_file(tmp_path, "v1", b"one")), "p/t.csv")
    eos("put", str(_file(tmp_path, "v2", b"two")), "p/t.csv")

    tagged = _json(eos, "tag", "p/t.csv@1", "paper")
    assert (tagged["version"], tagged["tags"]) == (1, ["paper"])
    untagged = _json(eos, "untag", "p/t.csv", "paper")
    assert (untagged["version"], untagged["tags"]) == (1, [])

    rolled = _json(eos, "rollback", "p/t.csv", "--to", "1")
    assert (rolled["version"], rolled["kind"], rolled["source_version"]) == (3, "rollback", 1)
    assert rolled["new_version"] is True
    again = _json(eos, "rollback", "p/t.csv", "--to", "1")
    assert (again["version"], again["new_version"]) == (3, False)

    deleted = _json(eos, "rm", "p/t.csv")
    assert (deleted["version"], deleted["kind"], deleted["hash"]) == (4, "delete", None)
    restored = _json(eos, "undelete", "p/t.csv")
    assert (restored["version"], restored["kind"], restored["source_version"]) == (
        5, "undelete", 3)
    assert restored["hash"] == rolled["hash"]

    got = _json(eos, "get", "p/t.csv@2", str(tmp_path / "out.csv"))
    assert got["version"] == 2 and Path(got["path"]).read_bytes() == b"two"

    link = _json(eos, "url", "p/t.csv", "--expires", "1h")
    assert link["version"] == 5 and link["url"].startswith(("file:///", "http://127.0.0.1"))
    ends = datetime.fromisoformat(link["url_expires"].replace("Z", "+00:00"))
    assert 3000 < (ends - datetime.now(timezone.utc)).total_seconds() <= 3600

    eos("put", str(_file(tmp_path, "a", b"a")), "p/sub/a.csv")
    eos("put", str(_file(tmp_path, "b", b"b")), "p/sub/b.csv")
    eos("put", str(_file(tmp_path, "b2", b"b2")), "p/sub/b.csv")
    markers = _json(eos, "rm", "-r", "p/sub/")
    assert [(m["name"], m["version"], m["kind"]) for m in markers] == [
        ("p/sub/a.csv", 2, "delete"), ("p/sub/b.csv", 3, "delete")]

    purged = _json(eos, "rm", "--purge", "--yes", "p/t.csv")
    assert [r["version"] for r in purged] == [1, 2, 3, 4, 5]
    assert all(r["purged"] for r in purged)

    both = eos("rm", "p/x", "--dry-run", "--json", check=False)
    assert both.code == 2 and "--dry-run" in both.err


def test_ls_of_a_prefix_with_nothing_under_it_exits_1(local_eos: Runner, tmp_path: Path) -> None:
    local_eos("put", str(_file(tmp_path, "f", b"x")), "data/a.csv")
    local_eos("put", str(_file(tmp_path, "g", b"y")), "gone/b.csv")
    local_eos("rm", "gone/b.csv")

    typo = local_eos("ls", "dta/", check=False)
    assert (typo.code, typo.out) == (1, "")
    assert typo.err.splitlines() == [
        "eos: error: nothing under eos://users/ada/dta/: `eos ls eos://users/ada/` shows what "
        "there is"]
    as_json = local_eos("ls", "dta/", "--json", check=False)
    assert (as_json.code, as_json.out) == (1, "") and "nothing under" in as_json.err

    only_deleted = local_eos("ls", "gone/", check=False)
    assert only_deleted.code == 1 and "add --deleted" in only_deleted.err
    assert "b.csv" in local_eos("ls", "gone/", "--deleted").out

    # An existing but empty namespace is like an empty bucket: nothing to show, exit 0.
    empty_root = local_eos("ls", "eos://org/")
    assert (empty_root.code, empty_root.out) == (0, "")
    assert local_eos("ls", "data/").code == 0


def test_ls_makes_blank_ends_and_invisible_characters_visible(local_eos: Runner,
                                                              tmp_path: Path) -> None:
    f = _file(tmp_path, "f", b"x")
    for name in ("q/ lead.txt", "q/trail.txt ", "q/in side.txt", "q/zero\u200bwidth.txt",
                 "q/ folder/x.txt", "q/plain.txt"):
        local_eos("put", str(f), name)
    lines = local_eos("ls", "q/").out.splitlines()[1:]  # WHEN (2) SIZE (2) VERSION AUTHOR NAME
    shown = [line.split("PRE", 1)[1].strip() if " PRE " in line else line.split(maxsplit=6)[-1]
             for line in lines]
    assert shown == ["' folder/'", "' lead.txt'", "in side.txt", "plain.txt", "'trail.txt '",
                     "$'zero\\u200bwidth.txt'"]


def test_a_failed_init_writes_nothing_and_the_embedded_store_is_announced_once(
        tmp_path: Path, s3_server, s3_client) -> None:
    home = tmp_path / "home"
    run = _runner({"EOS_HOME": str(home), "EOS_USER": "ada"}, tmp_path)
    missing = run("init", "--store", "s3://no-such-bucket-eos", "--endpoint-url",
                  s3_server.endpoint_url, check=False)
    assert missing.code == 1 and len(missing.err.splitlines()) == 1
    assert "does not exist" in missing.err
    assert (f"Nothing was written: no store is configured, so eos uses the embedded store in "
            f"{home / 'store' / 'default'} (this machine only)") in missing.err
    assert not home.exists()  # no config, no index, no hash cache

    f = _file(tmp_path, "f.txt", b"hello")
    first = run("put", str(f), "f.txt", "--json")
    assert json.loads(first.out)["version"] == 1  # stdout stays clean JSON
    [notice] = first.err.splitlines()
    assert notice.startswith(f"eos: created the embedded store in {home / 'store' / 'default'}")
    assert "eos init --store s3://" in notice and "EOS_STORE" in notice
    assert run("ls").err == ""  # once: only when it is made

    bucket = make_bucket(s3_client)
    run("init", "--store", f"s3://{bucket}/eos", "--endpoint-url", s3_server.endpoint_url)
    config = (home / "config.yaml").read_bytes()
    again = run("init", "--store", "s3://no-such-bucket-eos", check=False)
    assert again.code == 1
    assert f"Nothing was written: eos still uses s3://{bucket}/eos/default" in again.err
    assert (home / "config.yaml").read_bytes() == config
    assert "s3://" in run("info", json.loads(run("put", str(f), "g.txt", "--json").out)["uri"]
                          ).out


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_server_that_is_down_is_one_line_naming_the_endpoint(tmp_path: Path) -> None:
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    run = _runner({"EOS_HOME": str(tmp_path / "home"), "EOS_USER": "ada",
                   "EOS_STORE": "s3://bucket/eos", "AWS_ENDPOINT_URL": endpoint,
                   "EOS_MAX_ATTEMPTS": "1"}, tmp_path)
    for args in (("ls",), ("get", "x.csv")):
        result = run(*args, check=False)
        assert result.code == 1
        [line] = result.err.splitlines()
        assert line.startswith(f"eos: error: cannot reach S3 at {endpoint} for s3://bucket/eos")
        assert "EOS_OFFLINE=1" in line and "tried once" in line
        assert "?" not in line and "list-type" not in line  # no raw request URL


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _drawn(stream: io.StringIO) -> list[str]:
    return [line.strip() for line in stream.getvalue().replace("\n", "\r").split("\r") if line]


def test_progress_shows_no_time_left_until_the_rate_is_measured() -> None:
    """A burst at the start (10 MiB in 0.1 s: buffers filling, blobs already stored), then a
    steady 4 MiB/s: the time left is not guessed from the burst, and once shown it is within
    10% of the truth on every line."""
    mib = 1024 * 1024
    clock, stream = FakeClock(), io.StringIO()
    progress = Progress(100 * mib, label="put", stream=stream, enabled=True, clock=clock)
    clock.now = 0.1
    progress.advance(10 * mib)
    truths = {}
    while progress.done < progress.total:
        clock.now += 0.25
        progress.advance(mib)
        truths[len(_drawn(stream))] = (clock.now, (progress.total - progress.done) / (4 * mib))
    progress.close()
    lines = _drawn(stream)
    checked = 0
    for i, line in enumerate(lines[:-1], start=1):
        now, left = truths.get(i, (0.1, None))
        eta = line.rsplit("ETA ", 1)[1]
        if eta == "-:--":  # not yet measured: only in the first moments
            assert now < ETA_WINDOW + 0.5, line
            continue
        assert now >= ETA_WINDOW and left is not None, line
        minutes, seconds = eta.split(":")
        assert abs(int(minutes) * 60 + int(seconds) - left) <= max(1.0, 0.1 * left), line
        checked += 1
    assert lines[0].endswith("ETA -:--")  # 10 MiB in 0.1 s: no guess from the burst
    assert checked > 60
    assert lines[-1].endswith("ETA 0:00") and "100.0 MiB / 100.0 MiB (100%)" in lines[-1]


def test_progress_counts_files() -> None:
    clock, stream = FakeClock(), io.StringIO()
    progress = Progress(30, label="sync", stream=stream, enabled=True, files=3, clock=clock)
    for _ in range(3):
        clock.now += 1
        progress.advance(10)
        progress.file_done()
    progress.close()
    assert _drawn(stream)[-1].startswith("sync 3/3 files  30 B / 30 B (100%)")


def _on_a_terminal(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str]:
    """Run `eos` with its standard error on a pseudo-terminal; return its code and stderr."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "eoscatalog", *args], cwd=cwd,
                            env={**os.environ, "PYTHONPATH": str(ROOT), **env},
                            stdout=subprocess.DEVNULL, stderr=follower)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # EIO: the process closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    return proc.wait(timeout=120), b"".join(chunks).decode()


def test_sync_progress_counts_files_both_ways(tmp_path: Path) -> None:
    env = {"EOS_HOME": str(tmp_path / "home"), "EOS_USER": "ada"}
    tree = tmp_path / "tree"
    for i in range(3):
        _file(tree, f"d/{i}.bin", bytes([i]) * 1000)
    _runner(env, tmp_path)("ls")  # the embedded store exists: its notice is not in the way
    code, err = _on_a_terminal(["sync", str(tree), "eos://users/me/t/"], env, tmp_path)
    assert code == 0
    assert _last_line(err).startswith("sync 3/3 files  2.9 KiB / 2.9 KiB (100%)")
    code, err = _on_a_terminal(["sync", "eos://users/me/t/", str(tmp_path / "back")], env,
                               tmp_path)
    assert code == 0 and _last_line(err).startswith("sync 3/3 files  2.9 KiB / 2.9 KiB (100%)")


def _last_line(terminal_output: str) -> str:
    """The last line a terminal shows (the progress line redraws with \\r)."""
    return [line for line in terminal_output.replace("\r", "\n").splitlines() if line][-1]


def test_two_files_one_name_once_normalized_are_both_named(local_eos: Runner,
                                                            tmp_path: Path) -> None:
    tree = tmp_path / "t"
    nfc, nfd = unicodedata.normalize("NFC", "café.txt"), unicodedata.normalize("NFD", "café.txt")
    _file(tree, nfc, b"composed")
    _file(tree, nfd, b"decomposed")
    if len(os.listdir(tree)) != 2:
        pytest.fail("this file system normalizes names: the test needs one that does not")
    for args in (("sync", str(tree), "eos://users/me/t/"),
                 ("cp", "-r", str(tree), "eos://users/me/t/")):
        result = local_eos(*args, check=False)
        assert result.code == 1, result
        [line] = result.err.splitlines()[-1:]
        assert f"{tree / nfc} ('caf\\xe9.txt')" in line
        assert f"{tree / nfd} ('cafe\\u0301.txt')" in line
        assert "differ only in Unicode normalization" in line
    assert local_eos("ls", "-r", "--json").out.count('"name"') == 0  # nothing was stored
