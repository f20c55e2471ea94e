"""``eos lock`` never moves a pin an existing lock file holds unless asked (``--update``), and
says what it wrote: each pin added, updated, unchanged or kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_cp import eos

from eoscatalog import LockFile


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"EOS_HOME": str(tmp_path / "home"), "EOS_USER": "ada",
            "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}


def _put(env: dict[str, str], tmp_path: Path, data: bytes, name: str) -> None:
    path = tmp_path / "upload"
    path.write_bytes(data)
    eos(env, "put", str(path), name)


def test_lock_refuses_to_move_a_pin_without_update(env: dict[str, str], tmp_path: Path) -> None:
    lock = tmp_path / "eos.lock"
    _put(env, tmp_path, b"v1", "a.csv")
    _put(env, tmp_path, b"b1", "b.csv")
    first = json.loads(eos(env, "lock", "a.csv", "-o", str(lock), "--json"))
    assert [(p["uri"], p["status"]) for p in first] == [("eos://users/ada/a.csv@1", "added")]
    _put(env, tmp_path, b"v2", "a.csv")
    before = lock.read_bytes()

    # What once moved a.csv from @1 to @2 silently: an error naming the pin, both versions and
    # the flag; the file is untouched, with --json as without.
    for extra in ((), ("--json",)):
        err = eos(env, "lock", "a.csv", "b.csv", "-o", str(lock), *extra, code=1)
        assert "eos://users/ada/a.csv@1" in err and "@2" in err and "--update" in err, err
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1
        assert lock.read_bytes() == before

    # New names join an existing lock; the pins it holds stay.
    added = json.loads(eos(env, "lock", "b.csv", "-o", str(lock), "--json"))
    assert {p["uri"]: p["status"] for p in added} == {
        "eos://users/ada/a.csv@1": "kept", "eos://users/ada/b.csv@1": "added"}
    text = eos(env, "lock", "a.csv@1", "-o", str(lock))
    assert "unchanged  eos://users/ada/a.csv@1" in text
    assert "kept       eos://users/ada/b.csv@1" in text
    assert "0 added, 0 updated, 1 unchanged, 1 kept" in text

    updated = json.loads(eos(env, "lock", "a.csv", "-o", str(lock), "--update", "--json"))
    assert {p["uri"]: (p["status"], p.get("previous")) for p in updated} == {
        "eos://users/ada/a.csv@2": ("updated", "eos://users/ada/a.csv@1"),
        "eos://users/ada/b.csv@1": ("kept", None)}
    assert [p.uri for p in LockFile.load(lock)] == ["eos://users/ada/a.csv@2",
                                                     "eos://users/ada/b.csv@1"]
    assert "was @1" not in eos(env, "lock", "a.csv", "-o", str(lock), "--update")
