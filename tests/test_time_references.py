"""`name@<time>` never changes its answer once any client could have resolved it.

A version's time for time references is never earlier than the moment the store recorded its
changeset (S3's LastModified, the changeset file's mtime), however slow the writer's clock and
whatever ``created`` an import carries; a time still to come is refused, and one less than
5 s ago is answered once it is 5 s past.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from eoscatalog import Catalog
from eoscatalog.core.errors import InvalidNameError, NotFoundError
from eoscatalog.core.units import format_time
from eoscatalog.interchange.yaml_catalog import dump_document
from eoscatalog.log.changesets import checkpoint_key
from eoscatalog.log.records import VersionRecord
from eoscatalog.store import Store

SLOW = timedelta(minutes=10)


def shifted(by: timedelta) -> Callable[[], datetime]:
    """A clock that runs ``by`` ahead of the real one (behind, for a negative ``by``)."""
    return lambda: datetime.now(timezone.utc) + by


def _past_the_next_store_second() -> None:
    # Store times are whole seconds: after this, the store's clock is past the time taken
    # before it, so what is committed next is recorded later than that time.
    time.sleep(1.05)


def _reader(store: Store, index: str | Path = ":memory:") -> Catalog:
    # A client resolving the time 31 s later (time references name moments already past).
    return Catalog(store, index, user="ada", clock=shifted(timedelta(seconds=31)))


def test_a_slow_writer_clock_never_changes_a_resolved_time(store: Store, tmp_path: Path) -> None:
    writer = Catalog(store, tmp_path / "writer.sqlite", user="ada")
    slow = Catalog(store, tmp_path / "slow.sqlite", user="ada", clock=shifted(-SLOW),
                   checkpoint_every=2)
    writer.put_bytes(b"v1", "t.csv")
    when = format_time(datetime.now(timezone.utc))
    reader = _reader(store)
    assert reader.resolve(f"t.csv@{when}").version == 1
    _past_the_next_store_second()

    second = slow.put_bytes(b"v2", "t.csv").record  # its clock says 10 minutes ago
    assert second.version == 2 and slow.resolve("t.csv").version == 2
    assert reader.resolve("t.csv").version == 2
    answers = {
        "the reader that resolved it": reader.resolve(f"t.csv@{when}").version,
        "the slow writer itself": Catalog(store, slow.index, user="ada",
                                          clock=shifted(timedelta(seconds=31))).resolve(
            f"t.csv@{when}").version,
        "a new client (from the slow writer's checkpoint)": _reader(store).resolve(
            f"t.csv@{when}").version,
    }
    assert store.exists(checkpoint_key("users/ada", 2))
    assert answers == dict.fromkeys(answers, 1)


def test_an_import_cannot_backdate_versions(store: Store, tmp_path: Path) -> None:
    cat = Catalog(store, tmp_path / "index.sqlite", user="ada")
    cat.put_bytes(b"one", "a.txt")
    two = cat.put_bytes(b"two", "elsewhere.txt").record  # a blob the import can name
    when = format_time(datetime.now(timezone.utc))
    reader = _reader(store)
    assert reader.resolve(f"a.txt@{when}").version == 1
    _past_the_next_store_second()

    old = "2020-01-01T00:00:00.000000Z"
    history = [
        *cat.versions("a.txt"),
        VersionRecord("users/ada", "a.txt", 2, "put", two.hash, two.size, old, "bob"),
    ]
    document = dump_document("users/ada", "", [
        *history, VersionRecord("users/ada", "new.txt", 1, "put", two.hash, two.size, old, "bob"),
    ])
    path = tmp_path / "old.yaml"
    path.write_text(document)
    assert cat.import_yaml(path) == ["a.txt", "new.txt"]
    assert cat.resolve("a.txt").version == 2
    for client in (reader, _reader(store)):
        assert client.resolve(f"a.txt@{when}").version == 1
        with pytest.raises(NotFoundError, match="did not exist at") as info:
            client.resolve("new.txt@2021-01-01")
        assert "2020-01-01" in str(info.value)  # what it says, and when it was recorded
    assert cat.versions("new.txt")[0].created == old  # the history keeps its own times


def test_an_imported_time_to_come_does_not_move_later_versions(store: Store,
                                                                tmp_path: Path) -> None:
    """An imported version's own ``created`` is history, not the log's clock: one far in the
    future must not push the time of every later version in the namespace past it."""
    cat = Catalog(store, tmp_path / "index.sqlite", user="ada")
    two = cat.put_bytes(b"two", "elsewhere.txt").record
    future = "2099-01-01T00:00:00.000000Z"
    path = tmp_path / "future.yaml"
    path.write_text(dump_document("users/ada", "", [
        VersionRecord("users/ada", "new.txt", 1, "put", two.hash, two.size, future, "bob")]))
    assert cat.import_yaml(path) == ["new.txt"]
    cat.put_bytes(b"three", "later.txt")
    reader = Catalog(store, ":memory:", user="ada", clock=shifted(timedelta(hours=1)))
    soon = format_time(datetime.now(timezone.utc) + timedelta(minutes=30))
    assert reader.resolve(f"later.txt@{soon}").version == 1
    assert reader.resolve(f"new.txt@{soon}").version == 1
    assert cat.versions("new.txt")[0].created == future  # the history keeps its own time


@pytest.mark.parametrize("ahead", [timedelta(hours=1), timedelta(seconds=1)])
def test_a_time_still_to_come_is_refused(ahead: timedelta, store: Store) -> None:
    cat = Catalog(store, ":memory:", user="ada")
    cat.put_bytes(b"v1", "t.csv")
    when = format_time(datetime.now(timezone.utc) + ahead)
    with pytest.raises(InvalidNameError, match="still to come"):
        cat.resolve(f"t.csv@{when}")
    with pytest.raises(InvalidNameError, match="still to come"):
        cat.rollback("t.csv", to=when)


def test_a_time_just_past_is_answered_once_settled(store: Store) -> None:
    """A time a moment ago is answered after waiting until it is 5 s past, then reading the
    log: what another client commits meanwhile, late as its clock may be, comes after it."""
    cat = Catalog(store, ":memory:", user="ada")
    cat.put_bytes(b"v1", "t.csv")
    when = format_time(datetime.now(timezone.utc))
    slow = Catalog(store, ":memory:", user="ada", clock=shifted(-SLOW))
    _past_the_next_store_second()
    slow.put_bytes(b"v2", "t.csv")
    assert cat.resolve(f"t.csv@{when}").version == 1
    assert cat.resolve("t.csv").version == 2


def test_indexes_and_checkpoints_from_before_keep_working(tmp_path: Path, store: Store) -> None:
    """An index or checkpoint written before versions had ``at``: their versions' times are
    their ``created``, as before."""
    base = datetime(2036, 1, 1, tzinfo=timezone.utc)
    now = [base]  # set before each write: how often a put reads the clock is not this test's
    path = tmp_path / "old.sqlite"
    writer = Catalog(store, path, user="ada", clock=lambda: now[0], checkpoint_every=2)
    writer.put_bytes(b"1", "t.csv")
    now[0] = base + timedelta(hours=1)
    writer.put_bytes(b"2", "t.csv")  # checkpoint 2
    writer.index.close()
    with sqlite3.connect(path) as db:  # as an index of schema 4 was
        for table in ("versions", "changesets"):
            db.execute(f"ALTER TABLE {table} DROP COLUMN at")
        db.execute("PRAGMA user_version = 4")
    db.close()
    key = checkpoint_key("users/ada", 2)
    old = tmp_path / "checkpoint.sqlite"
    old.write_bytes(store.get(key))
    with sqlite3.connect(old) as db:
        for table in ("versions", "changesets"):
            db.execute(f"ALTER TABLE {table} DROP COLUMN at")
    db.close()
    store.delete(key)
    store.put(key, old.read_bytes())

    later = lambda: base + timedelta(days=1)  # noqa: E731
    for index in (path, ":memory:"):  # the migrated index; a new one from the old checkpoint
        cat = Catalog(store, index, user="ada", clock=later)
        assert cat.resolve(f"t.csv@{format_time(base + timedelta(minutes=30))}").version == 1
        assert cat.resolve(f"t.csv@{format_time(base + timedelta(hours=1))}").version == 2
        cat.index.close()
