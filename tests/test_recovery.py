"""Failure and recovery paths of the catalog: lost answers, failed checkpoints, damaged local
state, clocks that lag, and changes made by other clients since this one last looked."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from eoscatalog import Catalog, NotFoundError, StoreError
from eoscatalog.core.units import format_time
from eoscatalog.store import MemoryStore, blob_key

T0 = datetime(2036, 6, 1, 12, 0, tzinfo=timezone.utc)  # ahead of the store's clock


class HookedStore(MemoryStore):
    """A MemoryStore that runs ``hook(key)`` around writes, to inject faults."""

    def __init__(self) -> None:
        super().__init__()
        self.before_put: Callable[[str], None] | None = None
        self.after_put: Callable[[str], None] | None = None

    def put(self, key: str, data: bytes, **kw: object) -> str:  # type: ignore[override]
        if self.before_put:
            self.before_put(key)
        etag = super().put(key, data, **kw)  # type: ignore[arg-type]
        if self.after_put:
            self.after_put(key)
        return etag


def clock(start: datetime = T0) -> Callable[[], datetime]:
    times = iter(start + timedelta(seconds=i) for i in range(10_000))
    return lambda: next(times)


def test_rm_after_purging_the_latest_version_continues_the_numbering() -> None:
    store = MemoryStore()
    cat = Catalog(store, ":memory:", user="ada")
    cat.put_bytes(b"one", "x.csv")
    cat.put_bytes(b"two", "x.csv")
    assert cat.purge("x.csv@2") == [2]
    marker = cat.rm("x.csv")
    assert marker.version == 3 and marker.is_delete_marker
    fresh = Catalog(store, ":memory:", user="ada")
    assert [(r.version, r.kind, r.purged) for r in fresh.versions("x.csv")] == [
        (1, "put", False), (2, "put", True), (3, "delete", False)
    ]
    assert fresh.put_bytes(b"three", "x.csv").record.version == 4


def test_a_write_whose_answer_was_lost_is_recognised_as_ours() -> None:
    """The changeset landed, but the client saw 412 (its retry found its own object)."""
    from eoscatalog.core.errors import PreconditionFailedError

    store = HookedStore()
    cat = Catalog(store, ":memory:", user="ada")
    cat.put_bytes(b"v1", "a")

    def lose_answer(key: str) -> None:
        if "/log/" in key:
            store.after_put = None
            raise PreconditionFailedError("lost answer")

    store.after_put = lose_answer
    marker = cat.rm("a")  # must not say "already deleted"
    assert marker.version == 2 and marker.is_delete_marker
    assert [r.kind for r in cat.versions("a")] == ["put", "delete"]
    assert len(list(store.list("catalog/users/ada/log/"))) == 2


def test_a_failed_checkpoint_upload_does_not_fail_the_change(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = HookedStore()

    def deny_checkpoints(key: str) -> None:
        if "/checkpoints/" in key:
            raise StoreError("access denied to checkpoints")

    store.before_put = deny_checkpoints
    cat = Catalog(store, ":memory:", user="ada", checkpoint_every=2)
    cat.put_bytes(b"1", "a")
    with caplog.at_level(logging.WARNING, logger="eoscatalog"):
        result = cat.put_bytes(b"2", "a")
    assert result.created and result.record.version == 2
    assert "could not write checkpoint" in caplog.text
    assert [o.key for o in store.list("catalog/users/ada/checkpoints/")] == []


def test_a_damaged_checkpoint_falls_back_to_the_log(caplog: pytest.LogCaptureFixture) -> None:
    store = MemoryStore()
    cat = Catalog(store, ":memory:", user="ada", checkpoint_every=2)
    for i in range(5):
        cat.put_bytes(str(i).encode(), "a")
    checkpoints = [o.key for o in store.list("catalog/users/ada/checkpoints/")]
    assert checkpoints
    store.put(checkpoints[-1], b"not a database")
    with caplog.at_level(logging.WARNING, logger="eoscatalog"):
        fresh = Catalog(store, ":memory:", user="ada", checkpoint_every=2)
        assert [r.version for r in fresh.versions("a")] == [1, 2, 3, 4, 5]
    assert "ignoring unreadable checkpoint" in caplog.text



def test_a_checkpoint_whose_seq_is_not_a_number_falls_back_to_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = MemoryStore()
    cat = Catalog(store, ":memory:", user="ada", checkpoint_every=2)
    for i in range(5):
        cat.put_bytes(str(i).encode(), "a")
    key = [o.key for o in store.list("catalog/users/ada/checkpoints/")][-1]
    damaged = tmp_path / "checkpoint.sqlite"
    damaged.write_bytes(store.get(key))
    with contextlib.closing(sqlite3.connect(damaged)) as db, db:
        db.execute("UPDATE namespaces SET applied_seq = 'four'")
    store.put(key, damaged.read_bytes())
    with caplog.at_level(logging.WARNING, logger="eoscatalog"):
        fresh = Catalog(store, ":memory:", user="ada", checkpoint_every=2)
        assert [r.version for r in fresh.versions("a")] == [1, 2, 3, 4, 5]
    assert "ignoring unreadable checkpoint" in caplog.text and "#four" in caplog.text


def test_a_damaged_index_is_set_aside_and_rebuilt(tmp_path: Path) -> None:
    store = MemoryStore()
    index = tmp_path / "index.sqlite"
    cat = Catalog(store, index, user="ada")
    cat.put_bytes(b"kept", "a")
    cat.index.close()
    index.write_bytes(b"garbage, not SQLite" * 100)
    again = Catalog(store, index, user="ada")
    assert again.read_bytes("a") == b"kept"
    assert any(p.name.startswith("index.sqlite.damaged-") for p in tmp_path.iterdir())


def test_reindex_of_some_namespaces_keeps_the_others() -> None:
    store = MemoryStore()
    cat = Catalog(store, ":memory:", user="ada")
    cat.put_bytes(b"shared", "eos://org/s.txt")
    cat.put_bytes(b"mine", "mine.txt")
    assert cat.reindex(["org"]) == {"org": 1}
    offline = Catalog(store, cat.index, user="ada", offline=True)
    assert offline.read_bytes("mine.txt") == b"mine"
    assert offline.read_bytes("eos://org/s.txt") == b"shared"


def test_changeset_times_grow_with_the_log_even_when_a_clock_lags() -> None:
    """A writer whose clock is behind still stamps its changeset after the previous one, so a
    time reference settled by a later change never changes its answer, on any client."""
    store = MemoryStore()
    ahead = Catalog(store, ":memory:", user="ada", clock=clock(T0))
    behind = Catalog(store, ":memory:", user="ada", clock=clock(T0 - timedelta(minutes=2)))
    ahead.put_bytes(b"v1", "t.csv")  # 12:00:00
    ahead.put_bytes(b"v2", "t.csv")  # 12:00:01
    instant = f"t.csv@{format_time(T0 + timedelta(milliseconds=500))}"
    later = T0 + timedelta(hours=1)  # readers resolve a time already past by their clock
    reader = Catalog(store, ":memory:", user="ada", clock=clock(later))
    assert reader.resolve(instant).version == 1
    third = behind.put_bytes(b"v3", "t.csv").record  # its clock says 11:58
    assert third.created > ahead.resolve("t.csv@2").created
    assert reader.resolve("t.csv").version == 3
    assert reader.resolve(instant).version == 1
    assert Catalog(store, ":memory:", user="ada", clock=clock(later)).resolve(
        instant).version == 1


def test_a_time_reference_after_the_last_known_change_looks_again() -> None:
    store = MemoryStore()
    writer = Catalog(store, ":memory:", user="ada", clock=clock(T0))
    reader = Catalog(store, ":memory:", user="ada", clock=clock(T0 + timedelta(hours=2)))
    writer.put_bytes(b"v1", "t.csv")
    assert reader.resolve("t.csv").version == 1
    writer.put_bytes(b"v2", "t.csv")  # T0 + 1 s, after the reader's last known change
    later = format_time(T0 + timedelta(hours=1))
    assert reader.resolve(f"t.csv@{later}").version == 2


def test_a_purge_by_another_client_is_seen_by_a_pinned_read() -> None:
    store = MemoryStore()
    ada = Catalog(store, ":memory:", user="ada")
    bob = Catalog(store, ":memory:", user="bob")
    ada.put_bytes(b"PHI by mistake", "x.csv")
    ada.put_bytes(b"clean", "x.csv")
    assert bob.read_bytes("eos://users/ada/x.csv@1") == b"PHI by mistake"
    ada.purge("x.csv@1")
    # once the blob is collected, bob's stale index must not blame the store
    purged_hash = next(r.hash for r in ada.versions("x.csv") if r.version == 1)
    assert purged_hash is not None
    store.delete(blob_key(purged_hash))
    with pytest.raises(NotFoundError, match="purged"):
        bob.read_bytes("eos://users/ada/x.csv@1")


def test_scratch_rollback_and_undelete_keep_expiring() -> None:
    cat = Catalog(MemoryStore(), ":memory:", user="ada", clock=clock(T0))
    cat.put_bytes(b"a", "eos://scratch/ada/tmp.txt")
    cat.put_bytes(b"b", "eos://scratch/ada/tmp.txt")
    rolled = cat.rollback("eos://scratch/ada/tmp.txt", 1)
    assert rolled.expires is not None
    cat.rm("eos://scratch/ada/tmp.txt")
    restored = cat.undelete("eos://scratch/ada/tmp.txt")
    assert restored.expires is not None and restored.expires > rolled.expires
    late = Catalog(cat.store, cat.index, user="ada",
                   clock=lambda: T0 + timedelta(days=30), offline=True)
    with pytest.raises(NotFoundError, match="expired"):
        late.read_bytes("eos://scratch/ada/tmp.txt")
