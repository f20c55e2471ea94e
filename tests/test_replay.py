"""Replay.commit under a shared index: planning and the seq it is written at must agree."""

from __future__ import annotations

from pathlib import Path

from eoscatalog import Catalog
from eoscatalog.log import Entry
from eoscatalog.planning import PutItem, plan_put
from eoscatalog.store import MemoryStore


def test_a_plan_overtaken_while_planning_is_replanned_not_misnumbered(tmp_path: Path) -> None:
    """Another process sharing the index commits while we plan: our first plan is stale.

    The commit must notice (the store already holds the seq) and plan again, so the log never
    holds a changeset whose version numbers do not follow the log's order.
    """
    store = MemoryStore()
    shared = tmp_path / "index.sqlite"
    ours, theirs = (Catalog(store, shared, user="ada") for _ in range(2))
    blob = store.put_blob_bytes(b"ours")
    calls = 0

    def plan() -> list[Entry]:
        nonlocal calls
        calls += 1
        entries = plan_put(ours.index, "users/ada", [PutItem("x", blob, 4)])
        if calls == 1:
            theirs.put_bytes(b"theirs", "x")  # lands in the shared index mid-plan
        return entries

    changeset = ours.replay.commit(
        "users/ada", plan, author="ada", message="", now=lambda: "2026-01-01T00:00:00.000000Z"
    )
    assert changeset is not None and calls == 2
    assert [e.version for e in changeset.entries] == [2]
    fresh = Catalog(store, ":memory:", user="ada")
    assert [(r.version, r.hash) for r in fresh.versions("x")] == [
        (1, theirs.resolve("x@1").hash), (2, blob)
    ]
