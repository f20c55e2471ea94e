"""gc beside a put that reuses a blob gc means to delete (issue 12, item 2), interleaved
deterministically on every store.

The blob's bytes were last named by a scratch version that has expired, so gc classes the blob
``expired`` and collects it, while a put of the same bytes finds it stored ("already stored,
no bytes sent") and names it. The put's commit is placed at each point of gc's delete step
that matters: while gc is about to remove the blob (after its last checks), and after gc has
finished (the put decided to reuse before the blob went, and commits after). Every version
must read afterwards.

S3 objects cannot be back-dated, so every catalog runs on a clock two days ahead (the scratch
version, with a one-hour life, has then expired, and every blob is older than the 24 h grace).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from eoscatalog import Catalog, hash_bytes
from eoscatalog.core.errors import ConflictError, NotFoundError
from eoscatalog.log.changesets import Entry
from eoscatalog.store import LocalStore, MemoryStore, Store, blob_key
from eoscatalog.store.keys import QUARANTINE, TRASH

DATA = b"bytes an expired scratch version named\n" * 10
SCRATCH = "eos://scratch/ada/tmp.bin"
MakeCatalog = Callable[..., Catalog]


def two_days_ahead() -> datetime:
    return datetime.now(timezone.utc) + timedelta(days=2)


@pytest.fixture
def catalogs(tmp_path: Path) -> Iterator[MakeCatalog]:
    made: list[Catalog] = []

    def make(store: Store, user: str = "ada", *, admin: bool = False,
             clock: Callable[[], datetime] | None = two_days_ahead) -> Catalog:
        cat = Catalog(store, tmp_path / f"index-{len(made)}.sqlite", user=user, admin=admin,
                      clock=clock, scratch_ttl="1h")
        made.append(cat)
        return cat

    yield make
    for cat in made:
        cat.index.close()
        cat.hash_cache.close()


def expired_blob(store: Store, catalogs: MakeCatalog) -> str:
    """Store DATA as a scratch version (now, on the real clock: it has expired two days on);
    return its blob key."""
    catalogs(store, clock=None).put_bytes(DATA, SCRATCH)
    return blob_key(hash_bytes(DATA))


def on_removal(store: Store, monkeypatch: pytest.MonkeyPatch, key: str,
               action: Callable[[], None]) -> list[bool]:
    """Run ``action`` once, the moment gc first removes ``key`` from its place (a delete or a
    move aside), before it does; return a list that holds True once it ran."""
    fired: list[bool] = []
    delete = store.delete

    def first(k: str) -> None:
        if k == key and not fired:
            fired.append(True)
            action()

    def moving(k: str, new_key: str, **kwargs: Any) -> None:
        first(k)
        type(store).move(store, k, new_key, **kwargs)

    def deleting(k: str) -> None:
        first(k)
        delete(k)

    monkeypatch.setattr(store, "move", moving, raising=False)
    monkeypatch.setattr(store, "delete", deleting)
    return fired


def test_a_put_committed_while_gc_removes_the_blob_keeps_it(
    store: Store, catalogs: MakeCatalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """gc has read the catalog and the blob's last use, and is about to remove it; the put
    reuses the blob, commits and checks the blob is there, all before gc's removal."""
    key = expired_blob(store, catalogs)
    bob = catalogs(store, "bob")
    results = []
    fired = on_removal(store, monkeypatch, key,
                       lambda: results.append(bob.put_bytes(DATA, "eos://users/bob/kept.bin")))
    gc_cat = catalogs(store, admin=True)
    report = gc_cat.gc()
    assert fired and not results[0].uploaded  # "already stored, no bytes sent"
    assert bob.read_bytes("eos://users/bob/kept.bin") == DATA
    assert "expired" not in report.deleted and report.kept_rechecked == 1
    assert not list(store.list(TRASH))
    assert gc_cat.verify(all_namespaces=True).ok


@pytest.mark.parametrize("name", ["eos://users/bob/kept.bin", SCRATCH])
def test_a_put_that_reused_the_blob_before_gc_and_commits_after_stores_it_again(
    store: Store, catalogs: MakeCatalog, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """The put found the blob stored and marked it before gc removed it, and commits only
    after gc is done: it must find the blob gone after its commit and store it again. The
    same put of the scratch name itself makes no version (same bytes), only a new expiry,
    and must do the same."""
    key = expired_blob(store, catalogs)
    writer = catalogs(store, "bob" if "bob" in name else "ada")
    at_commit, gc_done = threading.Event(), threading.Event()
    commit = writer.replay.commit

    def late_commit(*args: Any, **kwargs: Any) -> Any:
        at_commit.set()
        gc_done.wait(60)
        return commit(*args, **kwargs)

    monkeypatch.setattr(writer.replay, "commit", late_commit)
    results: list[Any] = []
    put = threading.Thread(target=lambda: results.append(writer.put_bytes(DATA, name)))
    fired = on_removal(store, monkeypatch, key, lambda: (put.start(), at_commit.wait(60)))
    report = catalogs(store, admin=True).gc()
    gc_done.set()
    put.join(60)
    assert fired and results and not results[0].uploaded
    assert report.deleted["expired"] == [(key, len(DATA))]  # gc saw no commit naming it
    assert writer.read_bytes(name) == DATA
    assert catalogs(store).verify(all_namespaces=True).ok


def test_a_put_of_bytes_only_an_expired_version_names_marks_the_blob_used(
    store: Store, catalogs: MakeCatalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer's idea of live is gc's: bytes named only by an expired scratch version
    are an orphan to gc, so the writer marks them used before its commit."""
    key = expired_blob(store, catalogs)
    touched: list[str] = []
    touch = store.touch
    monkeypatch.setattr(store, "touch", lambda k: (touched.append(k), touch(k))[1])
    bob = catalogs(store, "bob")
    bob.refresh("scratch/ada")  # bob's index knows the expired version
    assert not bob.put_bytes(DATA, "eos://users/bob/kept.bin").uploaded
    assert touched == [key]


def purged_blob(store: Store, catalogs: MakeCatalog, bob: Catalog) -> str:
    """Store DATA under a name of ada's and purge it, after ``bob`` read the name (so bob's
    index, not refreshed since, still takes the blob for live: his put reuses it without a
    touch). Return the blob key."""
    ada = catalogs(store, clock=None)
    ada.put_bytes(DATA, "eos://users/ada/x.bin")
    bob.refresh("users/ada")
    ada.purge("eos://users/ada/x.bin")
    return blob_key(hash_bytes(DATA))


def back_date(store: Store, key: str, days: int) -> None:
    """Make a blob ``days`` old where the store lets us (an S3 object's time is the server's)."""
    when = datetime.now(timezone.utc) - timedelta(days=days)
    if isinstance(store, MemoryStore):
        store.set_modified(key, when)
    elif isinstance(store, LocalStore):
        os.utime(store.root / key, (when.timestamp(), when.timestamp()))


def around_move(store: Store, monkeypatch: pytest.MonkeyPatch, key: str,
                before: Callable[[], None], after: Callable[[], None]) -> list[bool]:
    """Run ``before`` and ``after`` around the first move of ``key`` to ``trash/``."""
    fired: list[bool] = []

    def moving(k: str, new_key: str, **kwargs: Any) -> None:
        first = k == key and new_key == TRASH + key and not fired
        if first:
            fired.append(True)
            before()
        type(store).move(store, k, new_key, **kwargs)
        if first:
            after()

    monkeypatch.setattr(store, "move", moving, raising=False)
    return fired


def test_a_second_gc_leaves_a_running_gcs_trash_alone(
    store: Store, catalogs: MakeCatalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """gc A moves the (old) blob to trash/; gc B runs whole meanwhile (cron); then a put that
    reused the blob before the move commits, and A's second read sees the blob live. B must
    not have deleted A's batch as old (a move stamps its time), and A puts the blob back."""
    bob = catalogs(store, "bob", clock=None)
    key = purged_blob(store, catalogs, bob)
    back_date(store, key, days=3)
    at_commit, committed, release = threading.Event(), threading.Event(), threading.Event()
    commit, restore = bob.replay.commit, bob._writer.reuse.restore
    go_on = threading.Event()

    def late_commit(*args: Any, **kwargs: Any) -> Any:
        at_commit.set()
        go_on.wait(60)
        return commit(*args, **kwargs)

    def late_restore(*args: Any, **kwargs: Any) -> None:
        committed.set()
        release.wait(60)
        restore(*args, **kwargs)

    monkeypatch.setattr(bob.replay, "commit", late_commit)
    monkeypatch.setattr(bob._writer.reuse, "restore", late_restore)
    results: list[Any] = []
    put = threading.Thread(target=lambda: results.append(
        bob.put_bytes(DATA, "eos://users/bob/kept.bin")))
    reports = []

    def second_gc_then_commit() -> None:
        reports.append(catalogs(store, admin=True, clock=None).gc())
        go_on.set()
        committed.wait(60)

    fired = around_move(store, monkeypatch, key, lambda: (put.start(), at_commit.wait(60)),
                        second_gc_then_commit)
    try:
        report = catalogs(store, admin=True).gc()  # A: two days on, the blob is old
        blob_after_a = store.get(key) if store.exists(key) else None
    finally:
        go_on.set()
        release.set()
        put.join(60)
    assert fired and results and not results[0].uploaded
    assert "purged" not in reports[0].deleted  # B left A's batch alone
    assert blob_after_a == DATA and report.lost == []  # A put it back (not bob's restore)
    assert bob.read_bytes("eos://users/bob/kept.bin") == DATA
    assert not list(store.list(TRASH))


def test_a_gc_that_died_after_its_move_is_undone_by_the_next(
    store: Store, catalogs: MakeCatalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """gc A moves a batch aside and dies before its second read, and a put committed in
    between names the blob: the next gc puts it back at once, however young the trash entry."""
    bob = catalogs(store, "bob", clock=None)
    key = purged_blob(store, catalogs, bob)

    class Killed(Exception):
        pass

    def die() -> None:
        raise Killed

    results: list[Any] = []
    around_move(store, monkeypatch, key,
                lambda: results.append(bob.put_bytes(DATA, "eos://users/bob/kept.bin")), die)
    with pytest.raises(Killed):
        catalogs(store, admin=True).gc()  # two days on: the blob is old
    monkeypatch.undo()
    assert not results[0].uploaded and store.exists(TRASH + key) and not store.exists(key)
    report = catalogs(store, admin=True, clock=None).gc()  # now, 24 h grace
    assert bob.read_bytes("eos://users/bob/kept.bin") == DATA
    assert not list(store.list(TRASH)) and report.kept_rechecked == 1
    assert catalogs(store).verify(all_namespaces=True).ok


def test_a_trash_entry_gone_before_its_put_back_is_reported_not_fatal(
    store: Store, catalogs: MakeCatalog, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture
) -> None:
    """Something removed gc's trash entry (an older client's gc, an admin) and a version
    names the blob by the second read: gc does not crash, it logs the blob and counts it as
    lost, and finishes its run (the blob it could not keep is the only one reported)."""
    bob = catalogs(store, "bob", clock=None)
    key = purged_blob(store, catalogs, bob)
    other = catalogs(store, clock=None).put_bytes(b"another orphan\n", "eos://users/ada/o.bin")
    catalogs(store, clock=None).purge("eos://users/ada/o.bin")
    eve = catalogs(store, "eve", clock=None)

    def remove_and_name() -> None:
        store.delete(TRASH + key)
        eve._committer.commit("users/eve", lambda: [Entry(op="put", name="bait", version=1,
                                                 hash=hash_bytes(DATA), size=len(DATA))], "")

    around_move(store, monkeypatch, key, lambda: None, remove_and_name)
    with caplog.at_level(logging.ERROR, logger="eoscatalog"):
        report = catalogs(store, admin=True).gc()
    assert report.lost == [key] and key in caplog.text
    assert report.deleted["purged"] == [(blob_key(other.record.hash or ""), 15)]
    assert not list(store.list(TRASH))


def test_gc_puts_a_blob_back_over_wrong_bytes_planted_at_its_key(
    store: Store, catalogs: MakeCatalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the blob is in trash/, someone writes other bytes at its key and a version comes
    to name it: gc's put back checks what is at the key (it is not the blob), moves it to
    quarantine/ and puts the blob back, rather than trusting it and deleting the blob."""
    bob = catalogs(store, "bob", clock=None)
    key = purged_blob(store, catalogs, bob)
    eve = catalogs(store, "eve", clock=None)

    def plant_and_name() -> None:
        store.put(key, b"X" * len(DATA), if_absent=True)
        eve._committer.commit("users/eve", lambda: [Entry(op="put", name="bait", version=1,
                                                 hash=hash_bytes(DATA), size=len(DATA))], "")

    around_move(store, monkeypatch, key, lambda: None, plant_and_name)
    report = catalogs(store, admin=True).gc()
    assert eve.read_bytes("eos://users/eve/bait") == DATA
    assert store.get(QUARANTINE + key) == b"X" * len(DATA)
    assert not list(store.list(TRASH)) and report.lost == []


COPY_SOURCE = "eos://users/ada/src.bin"


def purge_and_collect(store: Store, catalogs: MakeCatalog) -> Callable[[], None]:
    """What another client and the admin's cron do meanwhile: purge the copy's source, then
    gc (two days on: the blob is old) collects its blob."""
    def run() -> None:
        catalogs(store, clock=None).purge(COPY_SOURCE)
        report = catalogs(store, admin=True).gc()
        assert "purged" in report.deleted
    return run


@pytest.mark.parametrize("dest", ["eos://users/ada/copy.bin", "eos://scratch/ada/copy.bin"])
@pytest.mark.parametrize("how", ["copy", "copy_many"])
def test_a_copy_whose_source_is_purged_and_collected_before_its_commit_refuses(
    store: Store, catalogs: MakeCatalog, monkeypatch: pytest.MonkeyPatch, dest: str, how: str
) -> None:
    """The copy resolved its source (live); another client purges it and gc collects the blob
    before the copy's commit: the copy refuses (its plan checks the source on the freshest
    state), rather than record a version naming a missing blob."""
    copier = catalogs(store, clock=None)
    copier.put_bytes(DATA, COPY_SOURCE)
    commit = copier.replay.commit
    meanwhile = purge_and_collect(store, catalogs)

    def late_commit(*args: Any, **kwargs: Any) -> Any:
        meanwhile()
        return commit(*args, **kwargs)

    monkeypatch.setattr(copier.replay, "commit", late_commit)
    with pytest.raises(NotFoundError, match=r"cannot be copied.*purged"):
        if how == "copy":
            copier.copy(COPY_SOURCE, dest)
        else:
            copier.copy_many([(COPY_SOURCE, dest)])
    assert not _has_versions(copier, dest)
    assert catalogs(store).verify(all_namespaces=True).ok


def _has_versions(cat: Catalog, uri: str) -> bool:
    try:
        return bool(cat.versions(uri))
    except NotFoundError:
        return False


def test_a_copy_whose_blob_is_collected_after_its_plan_says_so(
    store: Store, catalogs: MakeCatalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The purge and gc come after the copy's plan checked its source and before its commit
    lands: the copy checks the blob after its commit and raises, saying what happened, rather
    than return as if the copy were readable."""
    copier = catalogs(store, clock=None)
    copier.put_bytes(DATA, COPY_SOURCE)
    append = copier.replay.append
    meanwhile = purge_and_collect(store, catalogs)

    def late_append(*args: Any, **kwargs: Any) -> Any:
        meanwhile()
        return append(*args, **kwargs)

    monkeypatch.setattr(copier.replay, "append", late_append)
    with pytest.raises(ConflictError, match="purged and collected by gc while the copy"):
        copier.copy(COPY_SOURCE, "eos://scratch/ada/copy.bin")


def test_eos_gc_shows_the_blobs_it_could_not_put_back(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A lost blob is in `eos gc --json` and a warning line of `eos gc`, not only in a log."""
    import json as json_module

    from click.testing import CliRunner

    from eoscatalog.catalog.reports import GcReport
    from eoscatalog.cli.main import cli

    lost = "blobs/blake3/ab/" + "ab" * 32
    monkeypatch.setattr(Catalog, "gc", lambda self, **kw: GcReport(
        dry_run=False, grace_seconds=0.0, lost=[lost]))
    monkeypatch.setenv("EOS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("EOS_USER", "ada")
    monkeypatch.setenv("EOS_ADMIN", "1")
    runner = CliRunner()
    shown = runner.invoke(cli, ["gc", "--json"])
    assert shown.exit_code == 0, shown.output
    assert json_module.loads(shown.stdout)["lost"] == [lost]
    plain = runner.invoke(cli, ["gc"])
    assert plain.exit_code == 0 and lost in plain.stderr and "put the file again" in plain.stderr
