"""Wrong bytes under the hash of a file someone will upload (issue 12, item 8), on every store.

A member can write any object under ``blobs/`` before the file's owner uploads it (S3 only
refuses to replace an existing blob). A put that finds the blob stored must not trust it: it
reads back and hashes blobs up to ``Store.reuse_read_limit`` (1 MiB) and compares the size of
larger ones, while it still has the bytes; wrong bytes go to ``quarantine/`` and the right
ones are stored, so the put's version reads. Where the store refuses to move the object aside
(a member under the bucket policy), the put refuses and records nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from eoscatalog import Catalog, IntegrityError, NotFoundError, hash_bytes
from eoscatalog.core.errors import StoreError
from eoscatalog.log.changesets import Entry
from eoscatalog.store import Store, blob_key
from eoscatalog.store.keys import QUARANTINE

DATA = b"the victim's real bytes\n" * 50  # 1,200 bytes
SAME_SIZE = b"X" * len(DATA)
SHORTER = b"garbage"


@pytest.fixture
def catalog(store: Store, tmp_path: Path) -> Iterator[Catalog]:
    cat = Catalog(store, tmp_path / "index.sqlite", user="ada")
    yield cat
    cat.index.close()
    cat.hash_cache.close()


def plant(store: Store, garbage: bytes) -> str:
    """Write ``garbage`` where DATA's blob goes (as a member can); return the key."""
    key = blob_key(hash_bytes(DATA))
    store.put(key, garbage, if_absent=True)
    return key


def put(catalog: Catalog, tmp_path: Path, source: str, name: str) -> bool:
    """Put DATA from a buffer or a file; return whether its bytes were sent."""
    if source == "bytes":
        return catalog.put_bytes(DATA, name).uploaded
    path = tmp_path / "data.bin"
    path.write_bytes(DATA)
    return catalog.put(path, name).uploaded


@pytest.mark.parametrize("source", ["bytes", "file"])
@pytest.mark.parametrize("garbage", [SAME_SIZE, SHORTER], ids=["same-size", "other-size"])
def test_a_put_over_planted_bytes_quarantines_them_and_uploads(
    store: Store, catalog: Catalog, tmp_path: Path, source: str, garbage: bytes
) -> None:
    key = plant(store, garbage)
    assert put(catalog, tmp_path, source, "data.bin") is True  # not "already stored"
    assert store.read_blob(hash_bytes(DATA)) == DATA
    assert store.get(QUARANTINE + key) == garbage
    assert catalog.read_bytes("data.bin") == DATA
    assert catalog.verify().ok


def test_a_large_blob_of_the_wrong_size_is_replaced(
    store: Store, catalog: Catalog, tmp_path: Path
) -> None:
    """Above reuse_read_limit only the size is compared (a HEAD): a blob of another size is
    quarantined and replaced."""
    store.reuse_read_limit = 100  # DATA counts as large here
    key = plant(store, SHORTER)
    assert put(catalog, tmp_path, "file", "big.bin") is True
    assert store.read_blob(hash_bytes(DATA)) == DATA
    assert store.get(QUARANTINE + key) == SHORTER


def test_planted_bytes_a_crafted_version_names_are_still_checked(
    store: Store, catalog: Catalog, tmp_path: Path
) -> None:
    """The planter also commits a version naming the hash, so the victim's index knows the
    blob as live: that proves nothing about its bytes, and it is checked all the same."""
    plant(store, SAME_SIZE)
    eve = Catalog(store, tmp_path / "eve.sqlite", user="eve")
    eve._committer.commit("users/eve", lambda: [Entry(op="put", name="bait", version=1,
                                             hash=hash_bytes(DATA), size=len(DATA))], "")
    assert catalog.resolve("eos://users/eve/bait").hash == hash_bytes(DATA)  # known live
    assert put(catalog, tmp_path, "bytes", "data.bin") is True
    assert catalog.read_bytes("data.bin") == DATA
    assert eve.read_bytes("eos://users/eve/bait") == DATA  # repaired for everyone
    eve.index.close()
    eve.hash_cache.close()


def test_a_put_that_cannot_move_planted_bytes_aside_records_nothing(
    store: Store, catalog: Catalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A member under the bucket policy may not delete blobs: the put refuses, says why, and
    records no version naming wrong bytes."""
    plant(store, SAME_SIZE)

    def denied(*args: object, **kwargs: object) -> None:
        raise StoreError("access denied to the store")

    monkeypatch.setattr(store, "move", denied, raising=False)
    with pytest.raises(IntegrityError, match=r"quarantine.*Ask an admin"):
        put(catalog, tmp_path, "bytes", "data.bin")
    with pytest.raises(NotFoundError):
        catalog.resolve("data.bin")


def test_a_put_of_stored_right_bytes_moves_nothing(
    store: Store, catalog: Catalog, tmp_path: Path
) -> None:
    put(catalog, tmp_path, "bytes", "a.bin")
    assert put(catalog, tmp_path, "file", "b.bin") is False
    assert list(store.list(QUARANTINE)) == []


def plant_after_the_check(store: Store, monkeypatch: pytest.MonkeyPatch,
                          garbage: bytes) -> list[bool]:
    """Plant ``garbage`` under DATA's key the moment a write's check finds the key empty (before
    the write): a planter (or another writer) racing the upload. Returns a list that holds True
    once it planted."""
    planted: list[bool] = []
    check = store._reuse_problem

    def racing(key: str, hash_string: str, size: int) -> str | None:
        try:
            return check(key, hash_string, size)
        except NotFoundError:
            if not planted:
                planted.append(True)
                plant(store, garbage)
            raise

    monkeypatch.setattr(store, "_reuse_problem", racing)
    return planted


@pytest.mark.parametrize("write", ["put_blob", "put_blob_data", "put_blob_bytes", "catalog"])
def test_bytes_planted_between_the_check_and_the_write_are_checked(
    store: Store, catalog: Catalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, write: str
) -> None:
    """The write found no blob, then lost its create-if-absent to planted bytes: it must check
    what won (and quarantine it), not report the blob stored."""
    h = hash_bytes(DATA)
    path = tmp_path / "data.bin"
    path.write_bytes(DATA)
    planted = plant_after_the_check(store, monkeypatch, SAME_SIZE)
    if write == "put_blob":
        assert store.put_blob(h, path, ask_first=True) is True
    elif write == "put_blob_data":
        assert store.put_blob_data(h, DATA, ask_first=True) is True
    elif write == "put_blob_bytes":
        assert store.put_blob_bytes(DATA) == h
    else:
        store.blind_put_limit = 0  # asks first on every store, as large files do
        assert catalog.put(path, "data.bin").uploaded is True
        assert catalog.read_bytes("data.bin") == DATA
    assert planted
    assert store.read_blob(h) == DATA
    assert store.get(QUARANTINE + blob_key(h)) == SAME_SIZE


def test_a_restore_over_bytes_planted_since_its_check_replaces_them(store: Store) -> None:
    """A writer restoring a reused blob gc took (``known_absent``: it has just seen the key
    empty) finds planted bytes there: they are checked and replaced, not trusted."""
    key = plant(store, SAME_SIZE)
    assert store.put_blob_bytes(DATA, known_absent=True) == hash_bytes(DATA)
    assert store.read_blob(hash_bytes(DATA)) == DATA
    assert store.get(QUARANTINE + key) == SAME_SIZE
