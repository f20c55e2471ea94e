"""Replay.commit under a shared index: planning and the seq it is written at must agree."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from s3server import S3TestServer

from eoscatalog import Catalog
from eoscatalog.core.errors import StoreError
from eoscatalog.log.changesets import Changeset, Entry
from eoscatalog.log.index import Index
from eoscatalog.rules.planning import PutItem, plan_put
from eoscatalog.store import MemoryStore, S3Store


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


def _changeset(seq: int, entries: list[Entry]) -> Changeset:
    return Changeset("org", seq, f"2026-01-01T00:00:{seq:02d}.000000Z", "ada", tuple(entries))


def test_a_large_changeset_is_checked_and_applied_whole(tmp_path: Path) -> None:
    """Version numbers are checked in batches of names (one query per 500): a wrong number
    in a later batch, or a name repeated within the changeset, is still caught, and nothing of
    the refused changeset is applied."""
    index = Index(tmp_path / "index.sqlite")
    blob = "blake3:" + "ab" * 32
    names = [f"n/{i:05d}" for i in range(1_200)]
    first = [Entry("put", n, 1, blob, 1) for n in names]
    assert index.apply(_changeset(1, first))
    second = [Entry("put", n, 2, blob, 1) for n in names] + [Entry("put", "n/00007", 3, blob, 1)]
    second.append(Entry("put", "new", 1, blob, 1))
    assert index.apply(_changeset(2, second))
    assert index.next_versions("org", ["n/00007", "n/01199", "new", "never"]) == {
        "n/00007": 4, "n/01199": 3, "new": 2, "never": 1,
    }
    wrong = [Entry("put", n, 3, blob, 1) for n in names[8:1_100]]  # n/00007 is at 3
    wrong.append(Entry("put", names[1_150], 4, blob, 1))  # its next version is 3
    with pytest.raises(StoreError, match="n/01150"):
        index.apply(_changeset(3, wrong))
    repeated = [Entry("put", "new", 2, blob, 1), Entry("put", "new", 2, blob, 1)]
    with pytest.raises(StoreError, match="'new' version 2"):
        index.apply(_changeset(3, repeated))
    assert index.applied_seq("org") == 2
    assert index.next_version("org", "n/00000") == 3
    assert len(index.latest_under("org", "n/")) == 1_200


def test_hash_prefix_lookups_use_the_names_versions_not_a_hash_index(tmp_path: Path) -> None:
    """``name@blake3:...`` reads the name's own versions (the primary key), never a range of a
    hash index that every version sharing those bytes would fill; the old (namespace, hash)
    index is dropped from indexes made before."""
    path = tmp_path / "index.sqlite"
    Index(path).close()
    with sqlite3.connect(path) as db:
        db.execute("CREATE INDEX idx_versions_namespace_hash ON versions (namespace, hash)")
        db.execute("PRAGMA user_version = 3")
    index = Index(path)
    names = {r["name"] for r in index.queries.rows(
        "SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "idx_versions_namespace_hash" not in names
    plan = " ".join(str(row) for row in index.db.conn.execute(
        "EXPLAIN QUERY PLAN SELECT * FROM versions WHERE namespace = ? AND name = ? "
        "AND +hash >= ? AND +hash < ? ORDER BY version", ["org", "a", "blake3:ab", "blake3:ac"]
    ))
    # The primary key, or the folder queries' covering index led by the same columns: either
    # reads the name's own versions.
    assert ("sqlite_autoindex_versions_1" in plan or "idx_versions_folders" in plan), plan
    assert "(namespace=? AND name=?)" in plan and "hash" not in plan
    index.apply(_changeset(1, [Entry("put", "a", 1, "blake3:" + "ab" * 32, 1),
                               Entry("put", "b", 1, "blake3:" + "ab" * 32, 1)]))
    assert [r.name for r in index.by_hash_prefix("org", "a", "blake3:abab")] == ["a"]


def test_a_new_client_on_a_warm_index_resolves_latest_with_one_request(
    s3_server: S3TestServer, s3_store: S3Store, tmp_path: Path
) -> None:
    """What every ``eos`` command does: a new Catalog on the index an earlier one left."""
    path = tmp_path / "index.sqlite"
    with Catalog(s3_store, path, user="ada") as first:
        first.put_bytes(b"1", "w.txt")
        first.put_bytes(b"2", "w.txt")
    store = S3Store(s3_store.url, endpoint_url=s3_server.endpoint_url)
    with Catalog(store, path, user="ada") as again:
        s3_server.requests.clear()
        assert again.resolve("w.txt").version == 2
        assert len(s3_server.requests.for_bucket(store.bucket)) == 1
        s3_server.requests.clear()
        assert again.resolve("w.txt@1").version == 1
        assert again.ls().files[0].version == 2  # ls brings the prefix up to date: one LIST
        assert len(s3_server.requests.for_bucket(store.bucket)) == 1
