"""A malformed or crafted changeset is skipped, the same way on every client; it never stops a
namespace, gc or `verify --all`, and the changesets after it apply."""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from eoscatalog import Catalog
from eoscatalog.cli.main import cli
from eoscatalog.core.hashing import hash_bytes
from eoscatalog.log.changesets import changeset_key, checkpoint_key
from eoscatalog.store import Store

NS = "users/ada"
BLOB = hash_bytes(b"one")


def _changeset(**changes: Any) -> dict[str, Any]:
    entry = {"op": "put", "name": "a.csv", "version": 2, "hash": BLOB, "size": 3}
    entry.update(changes.pop("entry", {}))
    data = {"format": 1, "namespace": NS, "seq": 2, "created": "2026-01-01T00:00:00.000000Z",
            "author": "mallory", "message": "", "writer": "x", "entries": [entry]}
    data.update(changes)
    return data


CRAFTED: dict[str, bytes | dict[str, Any]] = {
    "bad-json": b"{not json",
    "not-an-object": b"[1, 2]",
    "wrong-namespace": _changeset(namespace="org"),
    "wrong-seq": _changeset(seq=7),
    "dotdot-name": _changeset(entry={"name": "a/../../etc/passwd", "version": 1}),
    "absolute-name": _changeset(entry={"name": "/etc/passwd", "version": 1}),
    "nul-in-name": _changeset(entry={"name": "a\x00b", "version": 1}),
    "bad-hash": _changeset(entry={"hash": "blake3:zz"}),
    "no-hash": _changeset(entry={"hash": None}),
    "version-gap": _changeset(entry={"version": 5}),
    "version-as-text": _changeset(entry={"version": "2"}),
    "size-as-text": _changeset(entry={"size": "3"}),
    "negative-size": _changeset(entry={"size": -1}),
    "unknown-op": _changeset(entry={"op": "explode"}),
    "meta-not-object": _changeset(entry={"meta": [1]}),
    "created-not-a-time": _changeset(created=12345),
    "entries-not-a-list": _changeset(entries={"a": 1}),
    "tag-of-missing-version": _changeset(entry={"op": "tag", "tag": "prod", "version": 9,
                                                "hash": None, "size": None}),
}


def _write(store: Store, crafted: bytes | dict[str, Any], seq: int = 2) -> str:
    raw = crafted if isinstance(crafted, bytes) else json.dumps(crafted).encode()
    key = changeset_key(NS, seq)
    store.put(key, raw, if_absent=True)
    return key


def _state(cat: Catalog) -> list[Any]:
    return [cat.index.applied_seq(NS), [r.to_dict() for r in cat.versions("a.csv")],
            cat.index.bad_changesets(NS)]


@pytest.mark.parametrize("case", list(CRAFTED))
def test_a_crafted_changeset_is_skipped_and_the_namespace_stays_usable(
    case: str, store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    writer = Catalog(store, tmp_path / "writer.sqlite", user="ada", admin=True)
    writer.put_bytes(b"one", "a.csv")  # seq 1
    key = _write(store, CRAFTED[case])
    with caplog.at_level(logging.WARNING, logger="eoscatalog"):
        assert writer.resolve("a.csv").version == 1
    assert key in caplog.text and "skipped" in caplog.text
    second = writer.put_bytes(b"two", "a.csv").record  # a good changeset after it
    assert (second.version, second.seq) == (2, 3)
    assert writer.read_bytes("a.csv") == b"two"
    assert [k for k, _ in writer.bad_changesets()] == [key]

    # Every client derives the same state: a new one, and one sharing nothing with the writer.
    fresh = Catalog(store, ":memory:", user="ada")
    assert fresh.read_bytes("a.csv@1") == b"one" and fresh.read_bytes("a.csv") == b"two"
    assert _state(fresh) == _state(writer)
    # gc and verify of the whole store still run.
    assert writer.verify(all_namespaces=True).problems == []
    writer.gc(dry_run=True)


@pytest.mark.parametrize("crafted", [b"{not json", _changeset(seq=999)], ids=["bad", "valid"])
def test_a_changeset_past_a_gap_in_the_log_never_stops_the_namespace(
    crafted: bytes | dict[str, Any], store: Store, tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A member can write any seq: one far past the end is not read until the log reaches it."""
    writer = Catalog(store, tmp_path / "writer.sqlite", user="ada")
    writer.put_bytes(b"one", "a.csv")  # seq 1
    key = _write(store, crafted, seq=999)
    with caplog.at_level(logging.WARNING, logger="eoscatalog"):
        assert writer.resolve("a.csv").version == 1
    assert key in caplog.text and "gap" in caplog.text
    second = writer.put_bytes(b"two", "a.csv").record
    assert (second.version, second.seq) == (2, 2)
    fresh = Catalog(store, ":memory:", user="ada")
    assert fresh.read_bytes("a.csv") == b"two"
    assert _state(fresh) == _state(writer)


def test_a_checkpoint_past_the_end_of_the_log_is_ignored(store: Store, tmp_path: Path) -> None:
    """A checkpoint summarizes the log up to its seq: one where the log has no changeset is not
    loaded (a cold client would otherwise skip every changeset up to it)."""
    writer = Catalog(store, tmp_path / "writer.sqlite", user="ada", checkpoint_every=1)
    writer.put_bytes(b"one", "a.csv")  # seq 1, checkpoint 1
    crafted = tmp_path / "crafted.sqlite"
    crafted.write_bytes(store.get(checkpoint_key(NS, 1)))
    with sqlite3.connect(crafted) as db:  # the state at seq 1, claiming seq 50
        db.execute("UPDATE namespaces SET applied_seq = 50")
    db.close()
    store.put(checkpoint_key(NS, 50), crafted.read_bytes(), if_absent=True)
    writer.put_bytes(b"two", "a.csv")  # seq 2
    for seq in (1, 50):  # under its own seq, and under one the log has
        store.delete(checkpoint_key(NS, seq))
        store.put(checkpoint_key(NS, seq), crafted.read_bytes())
        fresh = Catalog(store, ":memory:", user="ada")
        assert fresh.resolve("a.csv").version == 2
        assert fresh.index.applied_seq(NS) == 2
    assert fresh.put_bytes(b"three", "a.csv").record.seq == 3


def test_good_changesets_after_several_bad_ones_apply(store: Store) -> None:
    writer = Catalog(store, ":memory:", user="ada")
    writer.put_bytes(b"one", "a.csv")
    _write(store, CRAFTED["bad-json"], 2)
    other = Catalog(store, ":memory:", user="ada")
    other.put_bytes(b"two", "a.csv")  # seq 3, on the state before seq 2
    _write(store, _changeset(seq=4, entry={"name": "a/../x", "version": 1}), 4)
    assert writer.put_bytes(b"three", "a.csv").record.version == 3  # seq 5
    assert [(r.version, r.seq) for r in Catalog(store, ":memory:", user="ada").versions(
        "a.csv")] == [(1, 1), (2, 3), (3, 5)]
    assert [s for s, _ in writer.index.bad_changesets(NS)] == [2, 4]


def test_a_changeset_naming_a_missing_blob_is_applied_and_verify_reports_it(
    store: Store,
) -> None:
    """Blobs are not looked for at replay (a request per entry): verify finds them."""
    writer = Catalog(store, ":memory:", user="ada")
    writer.put_bytes(b"one", "a.csv")
    _write(store, _changeset(entry={"hash": hash_bytes(b"never stored")}))
    assert writer.resolve("a.csv").version == 2
    assert [p.uris for p in writer.verify(all_namespaces=True).missing] == [
        ("eos://users/ada/a.csv@2",)]


def test_a_newer_format_is_not_skipped(store: Store) -> None:
    writer = Catalog(store, ":memory:", user="ada")
    writer.put_bytes(b"one", "a.csv")
    _write(store, _changeset(format=2))
    with pytest.raises(Exception, match="upgrade eoscatalog"):
        writer.resolve("a.csv")
    assert writer.index.bad_changesets(NS) == []


def test_eos_admin_changesets_lists_and_shows_them(local_store: Store, tmp_path: Path) -> None:
    runner = CliRunner()
    root = local_store.root  # type: ignore[attr-defined]
    env = {"EOS_STORE": root.parent.as_uri(), "EOS_ORG": root.name}
    path = tmp_path / "one.csv"
    path.write_bytes(b"one")
    result = runner.invoke(cli, ["put", str(path), "a.csv"], env=env)
    assert result.exit_code == 0, result.output
    key = _write(local_store, CRAFTED["dotdot-name"])
    listed = runner.invoke(cli, ["admin", "changesets", "--bad"], env=env)
    assert listed.exit_code == 0, listed.output
    assert key in listed.stdout and "'..'" in listed.stdout
    as_json = runner.invoke(cli, ["admin", "changesets", "--bad", "--json"], env=env)
    assert [d["key"] for d in json.loads(as_json.stdout)] == [key]
    shown = runner.invoke(cli, ["admin", "changesets", NS, "--show", "2"], env=env)
    assert shown.exit_code == 0 and "etc/passwd" in shown.stdout
    usage = runner.invoke(cli, ["admin", "changesets"], env=env)
    assert usage.exit_code == 2 and "--bad" in usage.stderr
