"""Retention rules and eos gc --prune: which old versions go, and that only those go."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eoscatalog import Catalog, ConfigError, NotFoundError, PermissionDeniedError
from eoscatalog.log.records import VersionRecord
from eoscatalog.rules.retention import POLICY_KEY, RetentionRule, rule_for, versions_to_prune
from eoscatalog.store import MemoryStore, Store

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)
H = "blake3:" + "1" * 64


@st.composite
def histories(draw: st.DrawFn) -> list[VersionRecord]:
    count = draw(st.integers(1, 12))
    out = []
    for n in range(1, count + 1):
        kind = draw(st.sampled_from(["put", "put", "delete", "rollback"]))
        created = NOW - timedelta(days=draw(st.integers(0, 100)))
        out.append(VersionRecord(
            "org", "a", n, kind, None if kind == "delete" else H, 1,
            created.strftime("%Y-%m-%dT%H:%M:%S.000000Z"), "ada",
            purged=draw(st.booleans()) and kind != "delete",
            tags=("t",) if draw(st.integers(0, 5)) == 0 and kind != "delete" else (),
        ))
    # Times grow with versions, as in a real log.
    times = sorted(r.created for r in out)
    return [VersionRecord(**{**r.__dict__, "created": t}) for r, t in zip(out, times,
                                                                            strict=True)]


@settings(max_examples=300, deadline=None)
@given(histories(), st.one_of(st.none(), st.integers(1, 5)), st.booleans(),
       st.one_of(st.none(), st.integers(0, 60)))
def test_only_versions_no_keep_keeps_are_pruned(history: list[VersionRecord],
                                                keep_last: int | None, keep_tagged: bool,
                                                keep_days: int | None) -> None:
    rule = RetentionRule("org", "", keep_last, keep_tagged, keep_days)
    doomed = set(versions_to_prune(history, rule, NOW))
    by_number = {r.version: r for r in history}
    live = [r for r in history if not r.purged]
    with_bytes = [r for r in history if r.hash and not r.purged]
    assert all(by_number[v].hash and not by_number[v].purged for v in doomed)
    if live:
        assert max(r.version for r in live) not in doomed  # the latest always stays
    if keep_last:
        assert not doomed & {r.version for r in with_bytes[-keep_last:]}
    if keep_tagged:
        assert not doomed & {r.version for r in with_bytes if r.tags}
    if keep_days is not None:
        since = (NOW - timedelta(days=keep_days)).strftime("%Y-%m-%dT%H:%M:%S.000000Z")
        assert not doomed & {r.version for r in with_bytes if r.created >= since}
    # ... and everything else with bytes goes.
    kept_by_some_rule = {r.version for r in with_bytes} - doomed
    assert len(kept_by_some_rule) + len(doomed) == len(with_bytes)


def test_the_most_specific_rule_wins() -> None:
    rules = [RetentionRule("org", "raw/", keep_last=5), RetentionRule("org", "raw/tmp/",
                                                                      keep_last=1)]
    assert rule_for(rules, "org", "raw/tmp/x").keep_last == 1  # type: ignore[union-attr]
    assert rule_for(rules, "org", "raw/x").keep_last == 5  # type: ignore[union-attr]
    assert rule_for(rules, "org", "other/x") is None
    assert rule_for(rules, "users/ada", "raw/x") is None


def test_rules_are_the_admins_and_change_by_compare_and_swap(store: Store) -> None:
    user = Catalog(store, ":memory:", user="ada")
    with pytest.raises(PermissionDeniedError, match="EOS_ADMIN"):
        user.set_retention("eos://org/raw/", keep_last=2)
    admin = Catalog(store, ":memory:", user="root", admin=True)
    other_admin = Catalog(store, ":memory:", user="eve", admin=True)
    admin.set_retention("eos://org/raw/", keep_last=2)
    other_admin.set_retention("eos://org/tmp/", keep_days=7, keep_tagged=False)
    admin.set_retention("eos://org/raw/", keep_last=3)  # replaces its own rule only
    assert [(r.uri, r.keep_last, r.keep_days, r.keep_tagged) for r in user.retention_rules()] == [
        ("eos://org/raw/", 3, None, True), ("eos://org/tmp/", None, 7, False)]
    with pytest.raises(ValueError, match="at least 1"):
        admin.set_retention("eos://org/raw/", keep_last=0)
    admin.set_retention("eos://org/tmp/", remove=True)
    with pytest.raises(NotFoundError):
        admin.set_retention("eos://org/tmp/", remove=True)
    assert [r.uri for r in user.retention_rules()] == ["eos://org/raw/"]
    store.put(POLICY_KEY, b"{not json")
    with pytest.raises(ConfigError, match="retention"):
        user.retention_rules()


def test_gc_prune_purges_what_no_rule_keeps_and_collects_its_blobs() -> None:
    store = MemoryStore()
    writer = Catalog(store, ":memory:", user="ada")
    for n in range(1, 6):
        writer.put_bytes(f"raw v{n}".encode(), "eos://org/raw/x.txt")
        writer.put_bytes(f"keep v{n}".encode(), "eos://org/keep/y.txt")
    writer.tag("eos://org/raw/x.txt@1", "paper")
    admin = Catalog(store, ":memory:", user="root", admin=True,
                    clock=lambda: datetime.now(timezone.utc) + timedelta(days=2))
    admin.set_retention("eos://org/raw/", keep_last=2)
    dry = admin.gc(prune=True, dry_run=True)
    assert dry.pruned == {"eos://org/raw/x.txt": [2, 3]} and not dry.deleted
    assert [v.purged for v in writer.versions("eos://org/raw/x.txt")] == [False] * 5
    report = admin.gc(prune=True)
    assert report.pruned == {"eos://org/raw/x.txt": [2, 3]}
    assert len(report.deleted["purged"]) == 2
    assert [v.purged for v in writer.versions("eos://org/raw/x.txt")] == [
        False, True, True, False, False]
    assert writer.read_bytes("eos://org/raw/x.txt@paper") == b"raw v1"
    assert writer.read_bytes("eos://org/raw/x.txt") == b"raw v5"
    assert len(writer.versions("eos://org/keep/y.txt")) == 5  # no rule: nothing pruned
    assert admin.gc(prune=True).pruned == {}  # nothing left to prune
    assert admin.verify(all_namespaces=True).problems == []


def test_retention_through_the_command_line(tmp_path: Path) -> None:
    env = {**os.environ, "EOS_HOME": str(tmp_path / "home"), "EOS_USER": "ada",
           "PYTHONPATH": str(ROOT)}

    def eos(*args: str, admin: bool = False, code: int = 0) -> str:
        done = subprocess.run([sys.executable, "-m", "eoscatalog", *args],
                              env={**env, **({"EOS_ADMIN": "1"} if admin else {})},
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == code, (args, done.stdout, done.stderr)
        return done.stdout if code == 0 else done.stderr

    cat = Catalog.open(home=tmp_path / "home", user="ada")
    for n in range(1, 5):
        cat.put_bytes(f"v{n}".encode(), "eos://org/raw/x.txt")
    cat.close()
    assert "EOS_ADMIN" in eos("admin", "retention", "set", "eos://org/raw/", "--keep-last",
                              "1", code=1)
    out = eos("admin", "retention", "set", "eos://org/raw/", "--keep-last", "1",
              "--no-keep-tagged", admin=True)
    assert out.strip() == "eos://org/raw/: keep last 1"
    assert json.loads(eos("admin", "retention", "list", "--json")) == [
        {"prefix": "eos://org/raw/", "keep_last": 1, "keep_tagged": False, "keep_days": None}]
    report = json.loads(eos("gc", "--prune", "--grace", "0", "--json", admin=True))
    assert report["pruned"] == {"eos://org/raw/x.txt": [1, 2, 3]}
    assert report["deleted"]["purged"]["count"] == 3
    assert "no retention rules" in eos("admin", "retention", "rm", "eos://org/raw/",
                                       admin=True)


def test_a_keep_tagged_rule_keeps_the_versions_a_folder_tag_pins() -> None:
    store = MemoryStore()
    writer = Catalog(store, ":memory:", user="ada")
    for n in range(1, 5):
        writer.put_bytes(f"a v{n}".encode(), "eos://org/runs/a.txt")
        if n == 2:
            writer.put_bytes(b"b v1", "eos://org/runs/b.txt")
            writer.folders.tag("eos://org/runs/", "paper")  # runs/a.txt@2, runs/b.txt@1
    admin = Catalog(store, ":memory:", user="root", admin=True,
                    clock=lambda: datetime.now(timezone.utc) + timedelta(days=2))
    admin.set_retention("eos://org/runs/", keep_last=1)
    assert admin.gc(prune=True).pruned == {"eos://org/runs/a.txt": [1, 3]}
    assert writer.read_bytes("eos://org/runs@paper/a.txt") == b"a v2"
    assert writer.read_bytes("eos://org/runs@paper/b.txt") == b"b v1"
    admin.set_retention("eos://org/runs/", keep_last=1, keep_tagged=False)
    assert admin.gc(prune=True).pruned == {"eos://org/runs/a.txt": [2]}
