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

import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from eoscatalog import Catalog, hash_bytes
from eoscatalog.store import Store, blob_key
from eoscatalog.store.base import TRASH

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
