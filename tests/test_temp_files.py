"""eoscatalog's temp files: a killed download's partial file is never published by a later
upload of its folder, and the next download into that folder removes it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_cp import eos

from eoscatalog.core.faults import CRASH_EXIT
from eoscatalog.core.tempfiles import TEMP_PREFIX, clean_stale, is_stale_name, temp_prefix

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"EOS_HOME": str(tmp_path / "home"), "EOS_USER": "ada", "PYTHONPATH": str(ROOT)}


def _names(env: dict[str, str], folder: str) -> list[str]:
    listing = json.loads(eos(env, "ls", folder, "-r", "--json"))
    rows = listing["files"] if isinstance(listing, dict) else listing
    return sorted(r["name"] for r in rows)


def test_a_killed_get_leaves_no_name_and_the_next_get_cleans_up(
        env: dict[str, str], tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(3 << 20))
    eos(env, "put", str(big), "big.bin")
    data = tmp_path / "data"
    data.mkdir()
    (data / "keep.csv").write_bytes(b"a,b\n")

    # The process dies (os._exit, as kill -9 would) with the download written, not yet
    # verified, to a temp file beside its final path.
    crashed = subprocess.run([sys.executable, "-m", "eoscatalog", "get", "big.bin", str(data)],
                             env={**os.environ, **env, "EOS_CRASH_AT": "get.temp-written"},
                             capture_output=True, text=True, timeout=120)
    assert crashed.returncode == CRASH_EXIT, crashed.stderr
    [partial] = [p for p in data.iterdir() if p.name.startswith(TEMP_PREFIX)]
    assert partial.stat().st_size == 3 << 20 and not (data / "big.bin").exists()
    # Left by other writers: one from an older eoscatalog (or another machine) abandoned two
    # hours ago, one of a machine we cannot see still writing (fresh), and one of this live
    # test process.
    abandoned, foreign, live = (data / f"{TEMP_PREFIX}abandoned", data / f"{TEMP_PREFIX}x-1-y",
                                data / f"{temp_prefix()}live")
    for path in (abandoned, foreign, live):
        path.write_bytes(b"partial")
    two_hours_ago = time.time() - 7200
    os.utime(abandoned, (two_hours_ago, two_hours_ago))

    # Uploads of the folder never publish a temp name.
    synced = json.loads(eos(env, "sync", str(data), "eos://users/me/synced/", "--json"))
    assert [a["path"] for a in synced["actions"]] == ["keep.csv"], synced
    eos(env, "cp", "-r", str(data), "eos://users/me/copied/")
    eos(env, "sync", str(data), "eos://users/me/included/", "--include", "*")
    assert _names(env, "eos://users/me/") == ["big.bin", "copied/keep.csv", "included/keep.csv",
                                               "synced/keep.csv"]

    # The next download into the folder removes what dead writers left, and only that.
    got = eos(env, "get", "big.bin", str(data)).strip()
    assert Path(got).read_bytes() == big.read_bytes()
    left = sorted(p.name for p in data.iterdir())
    assert left == sorted(["big.bin", "keep.csv", foreign.name, live.name]), left


def test_sync_down_cleans_the_folders_it_writes(env: dict[str, str], tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "a.txt").write_bytes(b"alpha")
    eos(env, "sync", str(src), "eos://users/me/p/")
    dest = tmp_path / "dest" / "sub"
    dest.mkdir(parents=True)
    dead = dest / f"{temp_prefix().rsplit('-', 2)[0]}-{_dead_pid()}-0123abcd"
    dead.write_bytes(b"partial")
    assert is_stale_name(dead.name)
    eos(env, "sync", "eos://users/me/p/", str(tmp_path / "dest"))
    assert sorted(p.name for p in dest.iterdir()) == ["a.txt"]


def _dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(proc.stdout)


def test_clean_stale_keeps_what_live_writers_hold(tmp_path: Path) -> None:
    ours = tmp_path / f"{temp_prefix()}abc"
    dead = tmp_path / f"{temp_prefix().rsplit('-', 2)[0]}-{_dead_pid()}-abc"
    plain = tmp_path / "data.csv"
    for path in (ours, dead, plain):
        path.write_bytes(b"x")
    old = time.time() - 7200
    os.utime(plain, (old, old))
    assert clean_stale(tmp_path) == [dead]
    assert clean_stale(tmp_path, now=time.time() + 7200) == [ours]  # untouched for two hours
    assert plain.exists()
