"""The Catalog contract, on every store (memory, local folder, S3 over HTTP).

Covers put, resolve in every reference form, versions, rm / undelete / rollback, tags, purge,
permissions, scratch expiry, checkpoints and reindex, request counts, offline mode, and the
invariants of DESIGN.md (blobs before entries, versions 1..N derived identically by every
client, append-only history). Every test about catalog behaviour runs on all three stores.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from s3server import RequestLog, S3TestServer

from eoscatalog import (
    AmbiguousReferenceError,
    Catalog,
    ConflictError,
    DeletedError,
    EosError,
    InvalidNameError,
    NotFoundError,
    PermissionDeniedError,
    Reference,
    VersionRecord,
    hash_bytes,
)
from eoscatalog.core.units import format_time
from eoscatalog.log.changesets import changeset_key, checkpoint_key
from eoscatalog.log.index import Index
from eoscatalog.rules.resolution import lookup
from eoscatalog.store import S3Store, Store, blob_key

NS = "users/ada"
LOG = f"catalog/{NS}/log/"
T0 = datetime(2036, 3, 1, 10, 0, tzinfo=timezone.utc)  # ahead of the store's clock

# Two byte strings whose BLAKE3 digests share their first 8 hex digits (found by a birthday
# search over b"collide-%d"; checked in the test), so an 8-digit prefix is truly ambiguous.
COLLIDE_A = b"collide-3135"
COLLIDE_B = b"collide-173526"
COLLIDE_PREFIX = "blake3:d6fd0984"

STORE_PRIMITIVES = ("get", "put", "head", "list", "list_dirs", "delete", "iter_chunks")


# -- helpers ------------------------------------------------------------------------------------


class Clock:
    """A controllable clock for ``Catalog(clock=...)``."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def set(self, when: datetime) -> None:
        self.now = when

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class StoreSpy:
    """Record every primitive call (method, key) a store receives, by wrapping the instance."""

    def __init__(self, store: Store, on_put: Callable[[str, bytes], None] | None = None) -> None:
        self.store = store
        self.calls: list[tuple[str, str]] = []
        self.on_put = on_put

    def __enter__(self) -> StoreSpy:
        for method in STORE_PRIMITIVES:
            self._wrap(method)
        return self

    def __exit__(self, *exc: object) -> None:
        for method in STORE_PRIMITIVES:
            vars(self.store).pop(method, None)

    def _wrap(self, method: str) -> None:
        original = getattr(self.store, method)

        def wrapper(key: str, *args: Any, **kwargs: Any) -> Any:
            self.calls.append((method, key))
            if method == "put" and self.on_put is not None:
                self.on_put(key, args[0] if args else kwargs["data"])
            return original(key, *args, **kwargs)

        setattr(self.store, method, wrapper)

    def keys(self, method: str) -> list[str]:
        return [key for m, key in self.calls if m == method]

    @property
    def writes(self) -> list[tuple[str, str]]:
        return [(m, k) for m, k in self.calls if m in ("put", "delete")]


def all_objects(store: Store, prefix: str = "") -> dict[str, bytes]:
    """Every object in the store (under ``prefix``), key -> bytes."""
    return {o.key: store.get(o.key) for o in store.list(prefix)}


def snapshot(store: Store) -> dict[str, str]:
    """Every object's key and etag: one LIST, changes when anything is written or deleted."""
    return {o.key: o.etag for o in store.list("")}


def object_keys(store: Store, prefix: str = "") -> list[str]:
    return [o.key for o in store.list(prefix)]


def log_keys(store: Store, namespace: str = NS) -> list[str]:
    return object_keys(store, f"catalog/{namespace}/log/")


def blob_keys(store: Store) -> list[str]:
    return object_keys(store, "blobs/")


def dicts(records: list[VersionRecord]) -> list[dict[str, Any]]:
    return [r.to_dict() for r in records]


def s3_log_for(request: pytest.FixtureRequest, store: Store) -> RequestLog | None:
    """The moto server's request log when ``store`` is on it, else None (SeaweedFS keeps no
    request log: those runs check what the store spy sees)."""
    params = getattr(request.node, "callspec", None)
    if not isinstance(store, S3Store) or (params and params.params.get("store") == "seaweed"):
        return None
    server: S3TestServer = request.getfixturevalue("s3_server")
    return server.requests


def assert_blobs_complete(catalog: Catalog, names: list[str]) -> None:
    """Invariants 1 and 2: every readable version's blob is stored and hashes to its key."""
    for name in names:
        for record in catalog.versions(name):
            if record.hash is None:
                assert record.kind == "delete"
                continue
            if record.purged:
                continue  # purged bytes may be collected: nothing may read them any more
            assert catalog.store.has_blob(record.hash), f"{record.uri} names a missing blob"
            data = catalog.store.read_blob(record.hash)  # raises IntegrityError on a mismatch
            assert hash_bytes(data) == record.hash
            assert len(data) == record.size


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / "files" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.fixture
def new_catalog(store: Store) -> Iterator[Callable[..., Catalog]]:
    """Make more catalogs on the test's store (default: user ada, a throwaway index)."""
    made: list[Catalog] = []

    def make(index: Index | str | os.PathLike[str] = ":memory:", **options: Any) -> Catalog:
        options.setdefault("user", "ada")
        cat = Catalog(store, index, **options)
        made.append(cat)
        return cat

    yield make
    for cat in made:
        cat.index.close()
        cat.hash_cache.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def timed(new_catalog: Callable[..., Catalog], clock: Clock, tmp_path: Path) -> Catalog:
    """A catalog for user ada whose clock the test controls."""
    return new_catalog(tmp_path / "timed.sqlite", clock=clock)


# -- put ------------------------------------------------------------------------------------------


def test_put_makes_versions_1_2_3(catalog: Catalog, store: Store, tmp_path: Path) -> None:
    results = [catalog.put_bytes(data, "data/t.csv") for data in (b"one", b"two", b"three")]
    assert [r.record.version for r in results] == [1, 2, 3]
    assert all(r.created and r.uploaded for r in results)
    assert results[0].record.uri == "eos://users/ada/data/t.csv@1"
    assert [r.record.kind for r in results] == ["put"] * 3
    assert {r.record.author for r in results} == {"ada"}
    assert results[2].record.hash == hash_bytes(b"three")
    assert results[2].record.size == 5
    assert catalog.resolve("data/t.csv").version == 3
    assert catalog.read_bytes("data/t.csv@1") == b"one"
    assert catalog.read_bytes("data/t.csv@2") == b"two"
    assert catalog.read_bytes("data/t.csv") == b"three"
    assert len(log_keys(store)) == 3
    assert len(blob_keys(store)) == 3
    # get: verified download into a folder (keeps the file name) or to a file path
    out = tmp_path / "out"
    out.mkdir()
    assert catalog.get("data/t.csv@1", out) == out / "t.csv"
    assert (out / "t.csv").read_bytes() == b"one"
    assert catalog.get("data/t.csv", tmp_path / "named.txt").read_bytes() == b"three"


def test_put_of_unchanged_content_and_metadata_makes_no_version(
    catalog: Catalog, store: Store, tmp_path: Path
) -> None:
    first = catalog.put_bytes(b"same", "a.csv", meta={"unit": "m"})
    before = snapshot(store)
    again = catalog.put_bytes(b"same", "a.csv", meta={"unit": "m"})
    assert again.created is False
    assert again.uploaded is False
    assert again.record == first.record
    assert snapshot(store) == before, "an unchanged put wrote to the store"
    assert [r.version for r in catalog.versions("a.csv")] == [1]

    # The same through a file path (hash cache and put_blob path).
    path = write(tmp_path, "b.csv", b"file bytes")
    assert catalog.put(path, "b.csv").created is True
    before = snapshot(store)
    again = catalog.put(path, "b.csv")
    assert (again.created, again.uploaded, again.record.version) == (False, False, 1)
    assert snapshot(store) == before


def test_metadata_change_alone_makes_a_new_version(catalog: Catalog, store: Store) -> None:
    v1 = catalog.put_bytes(b"x", "m.csv", meta={"unit": "m"}).record
    r2 = catalog.put_bytes(b"x", "m.csv", meta={"unit": "km"})
    assert r2.created is True
    assert r2.uploaded is False
    assert r2.record.version == 2
    assert r2.record.hash == v1.hash
    assert r2.record.meta == {"unit": "km"}
    r3 = catalog.put_bytes(b"x", "m.csv")  # dropping the metadata is a change too
    assert (r3.created, r3.record.version, r3.record.meta) == (True, 3, {})
    assert len(blob_keys(store)) == 1
    assert catalog.resolve("m.csv@1").meta == {"unit": "m"}


def test_unchanged_metadata_is_recognised_after_its_json_round_trip(
    catalog: Catalog, store: Store
) -> None:
    """Metadata is stored as JSON; a tuple comes back as a list, an int key as a string.

    Putting the same bytes with the same metadata again must still make no new version.
    """
    catalog.put_bytes(b"x", "shaped.npy", meta={"shape": (3, 4)})
    catalog.put_bytes(b"y", "keyed.bin", meta={1: "a"})
    before = snapshot(store)
    again = catalog.put_bytes(b"x", "shaped.npy", meta={"shape": (3, 4)})
    assert (again.created, again.record.version) == (False, 1)
    again = catalog.put_bytes(b"y", "keyed.bin", meta={1: "a"})
    assert (again.created, again.record.version) == (False, 1)
    assert snapshot(store) == before


def test_put_after_rm_makes_a_new_version_with_the_same_bytes(
    catalog: Catalog, store: Store
) -> None:
    catalog.put_bytes(b"payload", "p.bin")
    catalog.rm("p.bin")
    result = catalog.put_bytes(b"payload", "p.bin")
    assert result.created is True
    assert result.uploaded is False
    assert result.record.version == 3
    assert result.record.kind == "put"
    assert catalog.read_bytes("p.bin") == b"payload"
    assert [r.kind for r in catalog.versions("p.bin")] == ["put", "delete", "put"]
    assert len(blob_keys(store)) == 1


def test_identical_file_under_another_name_is_stored_once(
    catalog: Catalog, store: Store, tmp_path: Path
) -> None:
    first = catalog.put(write(tmp_path, "a.fq", b"ACGT" * 100), "reads/a.fq")
    second = catalog.put(write(tmp_path, "copy-of-a.fq", b"ACGT" * 100), "reads/b.fq")
    assert first.uploaded is True
    assert second.uploaded is False
    assert second.created is True
    assert first.record.hash == second.record.hash
    assert blob_keys(store) == [blob_key(first.record.hash or "")]
    # bytes buffers deduplicate the same way, across namespaces too
    third = catalog.put_bytes(b"ACGT" * 100, "eos://org/shared/a.fq")
    assert (third.created, third.uploaded) == (True, False)
    assert len(blob_keys(store)) == 1


def test_put_many_makes_exactly_one_changeset(
    catalog: Catalog, store: Store, tmp_path: Path
) -> None:
    items: list[tuple[Path | bytes, str]] = [
        (write(tmp_path, f"f{i}.txt", f"file {i}".encode()), f"batch/f{i}.txt") for i in range(4)
    ]
    items.append((b"in memory", "batch/mem.txt"))
    results = catalog.put_many(items, message="first batch")
    assert len(log_keys(store)) == 1
    assert [r.record.name for r in results] == [name for _, name in items]
    assert all(r.created and r.record.version == 1 for r in results)
    assert {r.record.seq for r in results} == {1}
    assert {r.record.message for r in results} == {"first batch"}
    changeset = json.loads(store.get(changeset_key(NS, 1)))
    assert len(changeset["entries"]) == 5

    # A second batch where only two names change: one more changeset with two entries.
    items[0] = (b"changed 0", "batch/f0.txt")
    items[4] = (b"changed mem", "batch/mem.txt")
    results = catalog.put_many(items)
    assert len(log_keys(store)) == 2
    assert [r.created for r in results] == [True, False, False, False, True]
    assert [r.record.version for r in results] == [2, 1, 1, 1, 2]
    assert len(json.loads(store.get(changeset_key(NS, 2)))["entries"]) == 2

    # Nothing changed at all: no changeset.
    catalog.put_many(items)
    assert len(log_keys(store)) == 2

    # Across namespaces: one changeset per namespace.
    catalog.put_many([(b"a", "x.txt"), (b"b", "y.txt"), (b"c", "eos://org/z.txt")])
    assert len(log_keys(store, NS)) == 3
    assert len(log_keys(store, "org")) == 1


def test_put_of_a_missing_path_or_folder_raises_and_writes_nothing(
    catalog: Catalog, store: Store, tmp_path: Path
) -> None:
    catalog.put_bytes(b"existing", "existing.txt")
    folder = tmp_path / "a-folder"
    folder.mkdir()
    before = snapshot(store)
    for bad, expected in ((tmp_path / "nope.txt", "does not exist"), (folder, "is a folder")):
        with pytest.raises(OSError, match=expected) as info:
            catalog.put(bad, "new.txt")
        assert str(bad) in str(info.value)
        assert snapshot(store) == before
    with pytest.raises(NotFoundError):
        catalog.resolve("new.txt")


def test_put_many_with_one_bad_path_writes_nothing(
    catalog: Catalog, store: Store, tmp_path: Path
) -> None:
    """No changeset, and no blob uploaded for the good files either: bad input writes nothing."""
    catalog.put_bytes(b"existing", "existing.txt")
    folder = tmp_path / "a-folder"
    folder.mkdir()
    good = [write(tmp_path, f"good{i}.txt", f"good {i}".encode()) for i in range(3)]
    before = snapshot(store)
    for bad in (tmp_path / "nope.txt", folder):
        items: list[tuple[Path, str]] = [(p, p.name) for p in good]
        items.insert(1, (bad, "bad.txt"))
        with pytest.raises(OSError, match=re.escape(str(bad))):
            catalog.put_many(items)
        new = sorted(set(snapshot(store)) - set(before))
        assert new == [], f"put_many with {bad.name} refused but wrote {new}"


def test_the_same_name_twice_in_one_put_many_is_refused(catalog: Catalog, store: Store) -> None:
    catalog.put_bytes(b"existing", "existing.txt")
    before = snapshot(store)
    spellings = [
        [(b"a", "x.txt"), (b"b", "x.txt")],
        [(b"a", "x.txt"), (b"b", "eos://users/me/x.txt")],
        [(b"a", "e://users/ada/x.txt"), (b"b", "x.txt")],
        [(b"a", "caf\u00e9.txt"), (b"b", "cafe\u0301.txt")],  # NFC makes them one name
    ]
    for items in spellings:
        with pytest.raises(InvalidNameError, match="twice"):
            catalog.put_many(items)
    assert snapshot(store) == before


# -- resolve ---------------------------------------------------------------------------------------


def test_resolve_every_reference_form(catalog: Catalog) -> None:
    hashes = [catalog.put_bytes(d, "t.csv").record.hash or "" for d in (b"1", b"2", b"3")]
    catalog.tag("t.csv@2", "prod")
    expected = {
        "t.csv": 3,
        "t.csv@latest": 3,
        "t.csv@1": 1,
        "t.csv@2": 2,
        "t.csv@prod": 2,
        f"t.csv@{hashes[0][:15]}": 1,  # blake3: + 8 hex digits
        f"t.csv@{hashes[1][:30]}": 2,
        f"t.csv@{hashes[2]}": 3,
        "t.csv@blake3:" + hashes[0][7:20].upper(): 1,
        "eos://users/me/t.csv": 3,
        "eos://users/me/t.csv@1": 1,
        "eos://users/ada/t.csv@prod": 2,
        "e://users/me/t.csv": 3,
        "e://users/ada/t.csv@2": 2,
        "e://users/ada/t.csv@latest": 3,
    }
    for ref, version in expected.items():
        record = catalog.resolve(ref)
        assert (record.namespace, record.name, record.version) == (NS, "t.csv", version), ref
        assert record.hash == hashes[version - 1]
    assert catalog.resolve(Reference(NS, "t.csv", "version", 2)).version == 2
    assert catalog.read_bytes("e://users/me/t.csv@prod") == b"2"


def test_resolve_by_time(timed: Catalog, clock: Clock) -> None:
    for i, data in enumerate((b"a", b"b", b"c")):
        clock.set(T0 + timedelta(hours=i))
        record = timed.put_bytes(data, "t.csv").record
        assert record.created == format_time(T0 + timedelta(hours=i))
    clock.set(T0 + timedelta(days=1))
    cases = {
        "2036-03-01T10:00:00Z": 1,  # exactly the first version's time
        "2036-03-01T10:30:00Z": 1,
        "2036-03-01T11:00:00Z": 2,
        "2036-03-01T11:59:59.999999Z": 2,
        "2036-03-01T12:30:00+02:00": 1,  # 10:30 UTC
        "2036-03-01T12:00:00": 3,  # no zone means UTC
        "2036-03-02": 3,
    }
    for when, version in cases.items():
        assert timed.resolve(f"t.csv@{when}").version == version, when
    for when in ("2036-03-01T09:59:59Z", "2036-03-01", "2020-01-01T00:00:00Z"):
        with pytest.raises(NotFoundError, match="did not exist at") as info:
            timed.resolve(f"t.csv@{when}")
        assert "2036-03-01T10:00:00" in str(info.value), "the message names the first version"

    clock.set(T0 + timedelta(hours=3))
    timed.rm("t.csv")
    clock.set(T0 + timedelta(days=1))
    assert timed.resolve("t.csv@2036-03-01T12:30:00Z").version == 3
    with pytest.raises(DeletedError, match="deleted"):
        timed.resolve("t.csv@2036-03-01T13:30:00Z")


def test_resolve_by_time_sees_versions_written_by_another_client(
    timed: Catalog, clock: Clock, new_catalog: Callable[..., Catalog]
) -> None:
    timed.put_bytes(b"a", "t.csv")
    clock.set(T0 + timedelta(minutes=31))  # a time reference names a moment already past
    assert timed.resolve("t.csv@2036-03-01T10:30:00Z").version == 1
    other = new_catalog(clock=clock)
    clock.set(T0 + timedelta(hours=1))
    other.put_bytes(b"b", "t.csv")
    clock.set(T0 + timedelta(hours=2))
    assert timed.resolve("t.csv@2036-03-01T11:30:00Z").version == 2


def test_resolve_errors_name_the_problem(catalog: Catalog) -> None:
    hashes = [catalog.put_bytes(d, "t.csv").record.hash or "" for d in (b"1", b"2", b"3")]
    catalog.tag("t.csv@1", "v1")
    catalog.tag("t.csv@3", "prod")

    with pytest.raises(NotFoundError, match=r"no name 'nope\.csv' in users/ada") as info:
        catalog.resolve("nope.csv")
    assert isinstance(info.value, KeyError)

    with pytest.raises(NotFoundError, match=r"no version 7.*1\.\.3"):
        catalog.resolve("t.csv@7")

    with pytest.raises(NotFoundError, match=r"no tag 'staging' \(its tags: prod, v1\)"):
        catalog.resolve("t.csv@staging")

    unused = next(
        f"blake3:{c * 8}" for c in "0123456789abcdef" if not any(h[7] == c for h in hashes)
    )
    with pytest.raises(NotFoundError, match=f"hash starting with {unused}"):
        catalog.resolve(f"t.csv@{unused}")

    with pytest.raises(InvalidNameError, match="at least 8"):
        catalog.resolve(f"t.csv@{hashes[0][:14]}")
    with pytest.raises(InvalidNameError, match="nothing after '@'"):
        catalog.resolve("t.csv@")
    with pytest.raises(InvalidNameError, match="versions start at 1"):
        catalog.resolve("t.csv@0")
    with pytest.raises(InvalidNameError, match="unknown scheme"):
        catalog.resolve("s4://users/ada/t.csv")
    with pytest.raises(NotFoundError, match=r"no name 't\.csv' in users/bob"):
        catalog.resolve("eos://users/bob/t.csv")


def test_hash_prefix_matching_two_contents_is_ambiguous(catalog: Catalog, store: Store) -> None:
    hash_a, hash_b = hash_bytes(COLLIDE_A), hash_bytes(COLLIDE_B)
    assert hash_a != hash_b
    assert hash_a.startswith(COLLIDE_PREFIX) and hash_b.startswith(COLLIDE_PREFIX)
    catalog.put_bytes(COLLIDE_A, "c.bin")
    catalog.put_bytes(COLLIDE_B, "c.bin")
    catalog.put_bytes(b"something else", "c.bin")

    with pytest.raises(AmbiguousReferenceError, match="2 different contents") as info:
        catalog.resolve(f"c.bin@{COLLIDE_PREFIX}")
    message = str(info.value)
    assert "more hex digits" in message
    assert "@1" in message and "@2" in message
    assert isinstance(info.value, ValueError)

    # One more digit tells them apart.
    assert catalog.resolve(f"c.bin@{hash_a[:16]}").version == 1
    assert catalog.resolve(f"c.bin@{hash_b[:16]}").version == 2

    # A write that selects by the ambiguous prefix is refused and writes nothing.
    before = snapshot(store)
    with pytest.raises(AmbiguousReferenceError):
        catalog.rollback("c.bin", to=COLLIDE_PREFIX)
    with pytest.raises(AmbiguousReferenceError):
        catalog.tag(f"c.bin@{COLLIDE_PREFIX}", "prod")
    assert snapshot(store) == before

    # lookup itself does not enforce the minimum prefix length: two shared digits are ambiguous.
    short = Reference(NS, "c.bin", "hash", COLLIDE_PREFIX[:9])
    with pytest.raises(AmbiguousReferenceError):
        lookup(catalog.index, short)

    # Several versions holding the same bytes are not ambiguous: the newest is reported.
    catalog.rollback("c.bin", to=1)
    record = catalog.resolve(f"c.bin@{hash_a[:20]}")
    assert (record.version, record.hash) == (4, hash_a)


def test_deleted_name_says_when_by_whom_and_how_to_undelete(
    timed: Catalog, clock: Clock
) -> None:
    timed.put_bytes(b"keep me", "d.txt")
    clock.advance(hours=2)
    marker = timed.rm("d.txt")
    assert marker.kind == "delete" and marker.hash is None and marker.version == 2
    when = format_time(T0 + timedelta(hours=2))
    for ref in ("d.txt", "d.txt@latest", "d.txt@2"):
        with pytest.raises(DeletedError) as info:
            timed.resolve(ref)
        message = str(info.value)
        assert when in message
        assert "ada" in message
        assert "eos undelete" in message
        assert info.value.deleted_at == when
        assert info.value.deleted_by == "ada"
        assert isinstance(info.value, NotFoundError)
    assert timed.read_bytes("d.txt@1") == b"keep me"


# -- versions, rm, undelete, rollback, tags, purge -----------------------------------------------


def test_versions_lists_the_full_history(catalog: Catalog) -> None:
    hash_a = catalog.put_bytes(b"A", "h.txt").record.hash
    hash_b = catalog.put_bytes(b"B", "h.txt").record.hash
    catalog.tag("h.txt@1", "first")
    catalog.rm("h.txt")
    catalog.undelete("h.txt")
    catalog.rollback("h.txt", to=1)
    catalog.tag("h.txt", "prod")
    history = catalog.versions("h.txt")
    assert [r.version for r in history] == [1, 2, 3, 4, 5]
    assert [r.kind for r in history] == ["put", "put", "delete", "undelete", "rollback"]
    assert [r.hash for r in history] == [hash_a, hash_b, None, hash_b, hash_a]
    assert [r.source_version for r in history] == [None, None, None, 2, 1]
    assert [r.tags for r in history] == [("first",), (), (), (), ("prod",)]
    assert {r.author for r in history} == {"ada"}
    assert [r.purged for r in history] == [False] * 5
    assert catalog.versions("eos://users/me/h.txt") == history
    with pytest.raises(NotFoundError, match=r"no name 'other\.txt'"):
        catalog.versions("other.txt")
    with pytest.raises(InvalidNameError, match="'@'"):
        catalog.versions("h.txt@2")


def test_rm_adds_a_delete_marker_and_keeps_older_versions(
    catalog: Catalog, store: Store
) -> None:
    catalog.put_bytes(b"v1", "r.txt")
    catalog.put_bytes(b"v2", "r.txt")
    marker = catalog.rm("r.txt", message="cleanup")
    assert (marker.version, marker.kind, marker.hash, marker.message) == (
        3, "delete", None, "cleanup"
    )
    assert catalog.read_bytes("r.txt@1") == b"v1"
    assert catalog.read_bytes("r.txt@2") == b"v2"
    assert len(log_keys(store)) == 3
    assert len(blob_keys(store)) == 2

    before = snapshot(store)
    with pytest.raises(DeletedError, match="already deleted"):
        catalog.rm("r.txt")
    with pytest.raises(NotFoundError, match="nothing to delete"):
        catalog.rm("never.txt")
    assert snapshot(store) == before


def test_undelete_restores_the_newest_readable_version(catalog: Catalog, store: Store) -> None:
    catalog.put_bytes(b"v1", "u.txt")
    catalog.put_bytes(b"v2", "u.txt")
    catalog.rm("u.txt")
    restored = catalog.undelete("u.txt")
    assert (restored.version, restored.kind, restored.source_version) == (4, "undelete", 2)
    assert restored.hash == hash_bytes(b"v2")
    assert catalog.read_bytes("u.txt") == b"v2"

    before = snapshot(store)
    with pytest.raises(ConflictError, match="not deleted"):
        catalog.undelete("u.txt")
    with pytest.raises(NotFoundError, match="nothing to undelete"):
        catalog.undelete("never.txt")
    assert snapshot(store) == before

    # With the version before the marker purged, undelete brings back the one before it.
    catalog.put_bytes(b"v5", "u.txt")
    catalog.rm("u.txt")
    catalog.purge("u.txt@5")
    restored = catalog.undelete("u.txt")
    assert (restored.version, restored.source_version) == (7, 4)
    assert catalog.read_bytes("u.txt") == b"v2"


def test_rollback_adds_a_version_carrying_the_old_hash(catalog: Catalog, store: Store) -> None:
    hashes = [catalog.put_bytes(d, "rb.txt").record.hash for d in (b"A", b"B", b"C")]
    catalog.tag("rb.txt@2", "good")
    back = catalog.rollback("rb.txt", to=1, message="revert")
    assert (back.version, back.kind, back.source_version, back.hash) == (
        4, "rollback", 1, hashes[0]
    )
    assert back.message == "revert"
    assert catalog.read_bytes("rb.txt") == b"A"
    assert catalog.resolve("rb.txt@3").hash == hashes[2], "the rolled-back-over version stays"

    by_tag = catalog.rollback("rb.txt", to="good")
    assert (by_tag.version, by_tag.source_version, by_tag.hash) == (5, 2, hashes[1])
    by_string = catalog.rollback("rb.txt", to="@3")
    assert (by_string.version, by_string.source_version) == (6, 3)
    by_hash = catalog.rollback("rb.txt", to=(hashes[0] or "")[:20])
    assert (by_hash.version, by_hash.hash) == (7, hashes[0])
    assert len(blob_keys(store)) == 3, "a rollback uploads nothing"


def test_rollback_to_the_content_already_latest_makes_no_version(
    catalog: Catalog, store: Store
) -> None:
    catalog.put_bytes(b"A", "n.txt")
    catalog.put_bytes(b"B", "n.txt")
    catalog.rollback("n.txt", to=1)
    before = snapshot(store)
    for target in (1, 3, "latest"):
        record = catalog.rollback("n.txt", to=target)
        assert record.version == 3
    assert snapshot(store) == before
    assert [r.version for r in catalog.versions("n.txt")] == [1, 2, 3]


def test_rollback_to_a_delete_marker_or_purged_version_errors(
    catalog: Catalog, store: Store
) -> None:
    catalog.put_bytes(b"A", "x.txt")
    catalog.rm("x.txt")
    catalog.put_bytes(b"B", "x.txt")
    catalog.put_bytes(b"C", "x.txt")
    catalog.purge("x.txt@3")
    before = snapshot(store)
    with pytest.raises(DeletedError, match="deleted"):
        catalog.rollback("x.txt", to=2)
    with pytest.raises(NotFoundError, match="purged"):
        catalog.rollback("x.txt", to=3)
    with pytest.raises(NotFoundError, match=r"no version 9.*1\.\.4"):
        catalog.rollback("x.txt", to=9)
    with pytest.raises(NotFoundError, match="no tag 'nope'"):
        catalog.rollback("x.txt", to="nope")
    with pytest.raises(NotFoundError, match=r"no name 'y\.txt'"):
        catalog.rollback("y.txt", to=1)
    assert snapshot(store) == before


def test_tag_and_untag(catalog: Catalog, store: Store) -> None:
    catalog.put_bytes(b"1", "tg.txt")
    catalog.put_bytes(b"2", "tg.txt")
    tagged = catalog.tag("tg.txt@1", "prod", message="release")
    assert (tagged.version, tagged.tags) == (1, ("prod",))
    assert catalog.resolve("tg.txt@prod").version == 1

    # Tagging the same version again writes nothing.
    before = snapshot(store)
    assert catalog.tag("tg.txt@1", "prod").version == 1
    assert snapshot(store) == before

    # Moving a tag needs force.
    with pytest.raises(ConflictError, match="force") as info:
        catalog.tag("tg.txt@2", "prod")
    assert "tg.txt@1" in str(info.value)
    assert snapshot(store) == before
    assert catalog.resolve("tg.txt@prod").version == 1
    moved = catalog.tag("tg.txt@2", "prod", force=True)
    assert moved.version == 2
    assert catalog.resolve("tg.txt@prod").version == 2
    assert [r.tags for r in catalog.versions("tg.txt")] == [(), ("prod",)]

    # Several tags on one version, tags with the latest reference.
    catalog.tag("tg.txt", "paper-2026")
    assert catalog.resolve("tg.txt@2").tags == ("paper-2026", "prod")

    catalog.untag("tg.txt", "prod")
    with pytest.raises(NotFoundError, match=r"no tag 'prod' \(its tags: paper-2026\)"):
        catalog.resolve("tg.txt@prod")
    before = snapshot(store)
    with pytest.raises(NotFoundError, match="no tag 'prod'"):
        catalog.untag("tg.txt", "prod")
    assert snapshot(store) == before


def test_tag_errors_write_nothing(catalog: Catalog, store: Store) -> None:
    catalog.put_bytes(b"1", "tg.txt")
    catalog.rm("tg.txt")
    before = snapshot(store)
    with pytest.raises(DeletedError):
        catalog.tag("tg.txt@2", "gone")  # a delete marker
    with pytest.raises(DeletedError):
        catalog.tag("tg.txt", "gone")  # latest is a delete marker
    with pytest.raises(NotFoundError, match=r"no name 'missing\.txt'"):
        catalog.tag("missing.txt", "prod")
    with pytest.raises(NotFoundError, match="no version 5"):
        catalog.tag("tg.txt@5", "prod")
    for bad in ("latest", "1st", "has space", "a@b", ""):
        with pytest.raises(InvalidNameError, match="tag"):
            catalog.tag("tg.txt@1", bad)
    assert snapshot(store) == before
    assert catalog.tag("tg.txt@1", "ok").version == 1  # a readable old version can be tagged


def test_purge_one_version(catalog: Catalog, store: Store) -> None:
    for data in (b"A", b"B", b"C"):
        catalog.put_bytes(data, "pg.txt")
    catalog.tag("pg.txt@3", "prod")
    catalog.tag("pg.txt@1", "old")
    assert catalog.purge("pg.txt@3") == [3]
    latest = catalog.resolve("pg.txt")
    assert latest.version == 2, "latest falls back when the latest version is purged"
    assert catalog.read_bytes("pg.txt") == b"B"
    with pytest.raises(NotFoundError, match="purged"):
        catalog.resolve("pg.txt@3")
    with pytest.raises(NotFoundError, match=r"no version .* has a hash starting"):
        catalog.resolve(f"pg.txt@{hash_bytes(b'C')}")  # by hash: the purged bytes are gone
    with pytest.raises(NotFoundError, match=r"no tag 'prod' \(its tags: old\)"):
        catalog.resolve("pg.txt@prod")
    history = catalog.versions("pg.txt")
    assert [r.purged for r in history] == [False, False, True]
    assert [r.tags for r in history] == [("old",), (), ()]
    # Version numbers continue after a purge: no reuse.
    assert catalog.put_bytes(b"D", "pg.txt").record.version == 4
    assert catalog.put_bytes(b"C", "pg.txt").record.version == 5
    # Purging again is a no-op.
    before = snapshot(store)
    assert catalog.purge("pg.txt@3") == []
    assert snapshot(store) == before


def test_purge_a_whole_name(catalog: Catalog, store: Store) -> None:
    for data in (b"A", b"B"):
        catalog.put_bytes(data, "all.txt")
    catalog.rm("all.txt")
    catalog.tag("all.txt@1", "t")
    assert catalog.purge("all.txt") == [1, 2, 3]
    with pytest.raises(NotFoundError, match=r"every version .* was purged"):
        catalog.resolve("all.txt")
    for ref in ("all.txt@1", "all.txt@2"):
        with pytest.raises(NotFoundError, match="purged"):
            catalog.resolve(ref)
    history = catalog.versions("all.txt")
    assert [r.version for r in history] == [1, 2, 3]
    assert all(r.purged and r.tags == () for r in history)
    assert catalog.put_bytes(b"A", "all.txt").record.version == 4
    assert catalog.read_bytes("all.txt") == b"A"

    before = snapshot(store)
    for bad in ("all.txt@t", f"all.txt@{hash_bytes(b'A')[:15]}", "all.txt@2026-01-01"):
        with pytest.raises(InvalidNameError, match="purge takes"):
            catalog.purge(bad)
    with pytest.raises(NotFoundError, match="no version 9"):
        catalog.purge("all.txt@9")
    with pytest.raises(NotFoundError, match="nothing to purge"):
        catalog.purge("missing.txt")
    assert snapshot(store) == before


def test_purge_of_name_at_latest_is_refused(catalog: Catalog, store: Store) -> None:
    """``name@latest`` selects one version; purge must not read it as "every version"."""
    catalog.put_bytes(b"A", "pl.txt")
    catalog.put_bytes(b"B", "pl.txt")
    before = snapshot(store)
    with pytest.raises(InvalidNameError, match="purge takes"):
        catalog.purge("pl.txt@latest")
    assert snapshot(store) == before
    assert [r.purged for r in catalog.versions("pl.txt")] == [False, False]


# -- invariants ------------------------------------------------------------------------------------


def _mixed_history(catalog: Catalog, tmp_path: Path, *, check_each_step: bool) -> list[str]:
    """Run a sequence of every kind of write; return the names it made.

    With ``check_each_step``, invariants 1 and 2 are checked after every operation.
    """
    steps: list[Callable[[], object]] = [
        lambda: catalog.put_bytes(b"A", "inv/a.txt"),
        lambda: catalog.put(write(tmp_path, "b", b"B" * 1000), "inv/a.txt"),
        lambda: catalog.put_many([(b"C", "inv/b.txt"), (b"A", "inv/c.txt"), (b"D", "inv/d")]),
        lambda: catalog.tag("inv/a.txt@1", "first"),
        lambda: catalog.rm("inv/a.txt"),
        lambda: catalog.undelete("inv/a.txt"),
        lambda: catalog.rollback("inv/a.txt", to=1),
        lambda: catalog.put_bytes(b"E", "inv/b.txt", meta={"k": 1}),
        lambda: catalog.purge("inv/b.txt@1"),
        lambda: catalog.rm("inv/d"),
        lambda: catalog.put_bytes(b"F", "eos://org/inv/shared.txt"),
        lambda: catalog.purge("inv/c.txt"),
        lambda: catalog.put_bytes(b"A", "inv/c.txt"),
    ]
    names = ["inv/a.txt", "inv/b.txt", "inv/c.txt", "inv/d", "eos://org/inv/shared.txt"]
    for step in steps:
        step()
        if check_each_step:
            assert_blobs_complete(catalog, [n for n in names if _exists(catalog, n)])
    return names


def _exists(catalog: Catalog, name: str) -> bool:
    try:
        catalog.versions(name)
    except NotFoundError:
        return False
    return True


def test_invariant_1_entries_name_only_completely_stored_blobs(
    catalog: Catalog, store: Store, tmp_path: Path
) -> None:
    """Checked twice: at the moment each changeset is written, and after every operation."""
    violations: list[str] = []

    def check_changeset(key: str, data: bytes) -> None:
        if not key.startswith("catalog/") or "/log/" not in key:
            return
        for entry in json.loads(data)["entries"]:
            digest = entry.get("hash")
            if digest and not store.has_blob(digest):
                violations.append(f"{key} names {digest} before it is stored")

    with StoreSpy(store, on_put=check_changeset) as spy:
        names = _mixed_history(catalog, tmp_path, check_each_step=True)
    assert any("/log/" in key for key in spy.keys("put"))
    assert violations == []
    assert len(names) == 5


def test_invariant_3_versions_are_1_to_n_and_every_client_derives_them(
    catalog: Catalog, new_catalog: Callable[..., Catalog], tmp_path: Path
) -> None:
    names = _mixed_history(catalog, tmp_path, check_each_step=False)
    fresh = new_catalog()  # same store, empty index: replays the log
    bob = new_catalog(user="bob")
    for name in names:
        history = catalog.versions(name)
        assert [r.version for r in history] == list(range(1, len(history) + 1)), name
        assert dicts(fresh.versions(name)) == dicts(history), name
        uri = name if name.startswith("eos://") else f"eos://users/ada/{name}"
        assert dicts(bob.versions(uri)) == dicts(history), name


def test_invariant_4_history_is_append_only(catalog: Catalog, store: Store) -> None:
    catalog.put_bytes(b"A", "ap.txt")
    catalog.put_bytes(b"B", "ap.txt")
    catalog.tag("ap.txt@1", "v1")
    operations: list[Callable[[], object]] = [
        lambda: catalog.rollback("ap.txt", to=1),
        lambda: catalog.rm("ap.txt"),
        lambda: catalog.undelete("ap.txt"),
        lambda: catalog.rollback("ap.txt", to=2),
        lambda: catalog.put_bytes(b"C", "ap.txt"),
        lambda: catalog.rm("ap.txt"),
        lambda: catalog.put_bytes(b"A", "ap.txt"),
    ]
    for operation in operations:
        before = dicts(catalog.versions("ap.txt"))
        log_before = all_objects(store, "catalog/")
        operation()
        after = dicts(catalog.versions("ap.txt"))
        assert len(after) == len(before) + 1, "each operation adds exactly one version"
        assert after[: len(before)] == before, "earlier versions changed"
        assert after[-1]["version"] == before[-1]["version"] + 1
        log_after = all_objects(store, "catalog/")
        assert {k: log_after[k] for k in log_before} == log_before, "a log object changed"
        assert len(log_after) == len(log_before) + 1
    assert all(r.hash is None or store.has_blob(r.hash) for r in catalog.versions("ap.txt"))


# -- permissions -----------------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["eos://users/bob/x.txt", "eos://scratch/bob/x.txt"])
def test_writing_another_users_namespace_is_denied(
    catalog: Catalog, new_catalog: Callable[..., Catalog], store: Store, target: str
) -> None:
    bob = new_catalog(user="bob")
    bob.put_bytes(b"bob's", target)
    catalog.put_bytes(b"ada's", "mine.txt")
    before = snapshot(store)
    writes: list[Callable[[], object]] = [
        lambda: catalog.put_bytes(b"new bytes", target),
        lambda: catalog.put_many([(b"ok", "ok.txt"), (b"new bytes", target)]),
        lambda: catalog.rm(target),
        lambda: catalog.rollback(target, to=1),
        lambda: catalog.tag(f"{target}@1", "mine"),
        lambda: catalog.untag(target, "mine"),
        lambda: catalog.purge(target),
    ]
    for attempt in writes:
        with pytest.raises(PermissionDeniedError) as info:
            attempt()
        message = str(info.value)
        assert "users/ada" in message and "scratch/ada" in message and "org" in message
        assert isinstance(info.value, PermissionError)
    with pytest.raises(PermissionDeniedError):
        catalog.undelete(target)
    assert snapshot(store) == before
    # Reading another user's namespace works.
    assert catalog.read_bytes(target) == b"bob's"
    assert catalog.resolve(f"{target}@1").author == "bob"
    assert [r.version for r in catalog.versions(target)] == [1]


def test_org_is_writable_by_everyone(
    catalog: Catalog, new_catalog: Callable[..., Catalog]
) -> None:
    bob = new_catalog(user="bob")
    catalog.put_bytes(b"ada's", "eos://org/shared/t.csv")
    bob.put_bytes(b"bob's", "eos://org/shared/t.csv")
    bob.tag("eos://org/shared/t.csv@1", "reviewed")
    catalog.rm("eos://org/shared/t.csv")
    bob.undelete("eos://org/shared/t.csv")
    history = catalog.versions("e://org/shared/t.csv")
    assert [(r.version, r.author) for r in history] == [
        (1, "ada"), (2, "bob"), (3, "ada"), (4, "bob")
    ]
    assert catalog.read_bytes("eos://org/shared/t.csv@reviewed") == b"ada's"


def test_public_is_writable_only_by_admins(
    catalog: Catalog, new_catalog: Callable[..., Catalog], store: Store
) -> None:
    before = snapshot(store)
    with pytest.raises(PermissionDeniedError, match="only admins") as info:
        catalog.put_bytes(b"x", "eos://public/ref/genome.fa")
    assert "users/ada" in str(info.value) and "org" in str(info.value)
    assert snapshot(store) == before
    admin = new_catalog(admin=True)
    assert admin.put_bytes(b"x", "eos://public/ref/genome.fa").record.version == 1
    admin.tag("eos://public/ref/genome.fa", "hg38")
    assert catalog.read_bytes("eos://public/ref/genome.fa@hg38") == b"x"
    with pytest.raises(PermissionDeniedError):
        catalog.rm("eos://public/ref/genome.fa")


# -- scratch ---------------------------------------------------------------------------------------


def test_scratch_names_expire(
    timed: Catalog, clock: Clock, store: Store, new_catalog: Callable[..., Catalog]
) -> None:
    record = timed.put_bytes(b"temp", "eos://scratch/me/tmp/run.bin").record
    assert record.namespace == "scratch/ada"
    assert record.expires == format_time(T0 + timedelta(days=7))
    assert timed.put_bytes(b"keep", "kept.txt").record.expires is None
    clock.advance(days=6, hours=23)
    assert timed.read_bytes("eos://scratch/ada/tmp/run.bin") == b"temp"
    clock.advance(hours=2)
    for ref in ("eos://scratch/me/tmp/run.bin", "eos://scratch/ada/tmp/run.bin@1"):
        with pytest.raises(NotFoundError, match="expired"):
            timed.resolve(ref)
    assert timed.read_bytes("kept.txt") == b"keep"
    assert len(log_keys(store, "scratch/ada")) == 1

    # The TTL is configurable.
    short = new_catalog(clock=clock, scratch_ttl="1h")
    record = short.put_bytes(b"t", "eos://scratch/ada/short").record
    assert record.expires == format_time(clock.now + timedelta(hours=1))
    clock.advance(minutes=61)
    with pytest.raises(NotFoundError, match="expired"):
        short.resolve("eos://scratch/ada/short")


def test_scratch_put_of_unchanged_content_makes_no_new_version(
    timed: Catalog, store: Store
) -> None:
    """The put contract (no new version when bytes and metadata are unchanged) holds in scratch.

    DESIGN.md: an expiry for scratch names is an entry that acts on a version and makes none.
    """
    timed.put_bytes(b"temp", "eos://scratch/me/same.bin")
    again = timed.put_bytes(b"temp", "eos://scratch/me/same.bin")
    assert again.created is False
    assert [r.version for r in timed.versions("eos://scratch/me/same.bin")] == [1]


# -- checkpoints, reindex, losing the index -------------------------------------------------------


def test_checkpoints_let_a_new_client_replay_only_the_tail(
    request: pytest.FixtureRequest,
    store: Store,
    new_catalog: Callable[..., Catalog],
    tmp_path: Path,
) -> None:
    writer = new_catalog(tmp_path / "writer.sqlite", checkpoint_every=5)
    for i in range(1, 9):
        writer.put_bytes(f"v{i}".encode(), "cp.txt")  # changesets 1-8
    writer.tag("cp.txt@3", "prod")  # 9
    writer.put_bytes(b"other", "other.txt")  # 10
    writer.rm("other.txt")  # 11
    writer.put_bytes(b"v9", "cp.txt")  # 12
    assert len(log_keys(store)) == 12
    assert object_keys(store, f"catalog/{NS}/checkpoints/") == [
        checkpoint_key(NS, 5), checkpoint_key(NS, 10)
    ]

    requests = s3_log_for(request, store)
    reader = new_catalog()  # empty index
    if requests is not None:
        requests.clear()
    with StoreSpy(store) as spy:
        assert reader.resolve("cp.txt").version == 9
    assert [k for k in spy.keys("get") if "/log/" in k] == [
        changeset_key(NS, 11), changeset_key(NS, 12)
    ], "a new client must start from the newest checkpoint and read only the log's tail"
    assert checkpoint_key(NS, 10) in spy.keys("get")
    assert checkpoint_key(NS, 5) not in spy.keys("get")
    if requests is not None:
        assert isinstance(store, S3Store)
        log_gets = [
            r for r in requests.for_bucket(store.bucket)
            if r.method == "GET" and f"/catalog/{NS}/log/" in r.path
        ]
        assert len(log_gets) == 2
    assert dicts(reader.versions("cp.txt")) == dicts(writer.versions("cp.txt"))
    assert dicts(reader.versions("other.txt")) == dicts(writer.versions("other.txt"))
    assert reader.resolve("cp.txt@prod").version == 3
    assert reader.read_bytes("cp.txt@3") == b"v3"


def test_reindex_after_losing_the_index_rebuilds_everything(
    store: Store, new_catalog: Callable[..., Catalog], tmp_path: Path
) -> None:
    path = tmp_path / "lost" / "index.sqlite"
    writer = new_catalog(path, checkpoint_every=5)
    for i in range(7):
        writer.put_bytes(f"{i}".encode(), "ri.txt")
    writer.tag("ri.txt@2", "prod")
    writer.tag("ri.txt@5", "paper")
    writer.purge("ri.txt@4")
    writer.rm("ri.txt")
    writer.put_bytes(b"shared", "eos://org/ri.csv")
    writer.tag("eos://org/ri.csv", "v1")
    names = ["ri.txt", "eos://org/ri.csv"]
    expected = {name: dicts(writer.versions(name)) for name in names}
    writer.index.close()
    for leftover in path.parent.iterdir():
        leftover.unlink()

    rebuilt = new_catalog(path)
    assert rebuilt.index.namespaces() == []
    assert rebuilt.reindex() == {NS: 11, "org": 2}
    for name in names:
        assert dicts(rebuilt.index.versions(*_split(rebuilt, name))) == expected[name]
        assert dicts(rebuilt.versions(name)) == expected[name]
    assert rebuilt.resolve("ri.txt@paper").version == 5
    assert rebuilt.read_bytes("eos://org/ri.csv@v1") == b"shared"

    # reindex on a live index gives the same again
    assert rebuilt.reindex() == {NS: 11, "org": 2}
    for name in names:
        assert dicts(rebuilt.versions(name)) == expected[name]


def _split(catalog: Catalog, name: str) -> tuple[str, str]:
    loc = catalog.location(name)
    return loc.namespace, loc.name


def test_losing_the_index_loses_nothing(
    catalog: Catalog, new_catalog: Callable[..., Catalog]
) -> None:
    contents = [b"first", b"second", b"third"]
    for data in contents:
        catalog.put_bytes(data, "keep.txt")
    catalog.tag("keep.txt@2", "prod")
    fresh = new_catalog()
    for version, data in enumerate(contents, start=1):
        assert fresh.read_bytes(f"keep.txt@{version}") == data
    assert fresh.read_bytes("keep.txt@prod") == b"second"
    assert dicts(fresh.versions("keep.txt")) == dicts(catalog.versions("keep.txt"))


# -- request counts and offline mode ---------------------------------------------------------------


def test_warm_resolve_of_latest_is_one_list_request(
    s3_server: S3TestServer, s3_store: S3Store, tmp_path: Path
) -> None:
    cat = Catalog(s3_store, tmp_path / "index.sqlite", user="ada")
    try:
        cat.put_bytes(b"1", "w.txt")
        cat.put_bytes(b"2", "w.txt")
        cat.tag("w.txt@1", "prod")
        cat.resolve("w.txt")  # warm
        for ref in ("w.txt", "w.txt@latest", "eos://users/me/w.txt", "w.txt@prod"):
            s3_server.requests.clear()
            assert cat.resolve(ref).version in (1, 2)
            records = s3_server.requests.for_bucket(s3_store.bucket)
            assert len(records) == 1, (ref, records)
            assert records[0].method == "GET" and "list-type=2" in records[0].query
        # Pinned references are served from the index with no request at all.
        for ref in ("w.txt@1", f"w.txt@{hash_bytes(b'2')[:15]}"):
            s3_server.requests.clear()
            cat.resolve(ref)
            assert s3_server.requests.for_bucket(s3_store.bucket) == [], ref
    finally:
        cat.index.close()
        cat.hash_cache.close()


def test_warm_resolve_costs_one_store_call(catalog: Catalog, store: Store) -> None:
    catalog.put_bytes(b"1", "w.txt")
    catalog.put_bytes(b"2", "w.txt")
    with StoreSpy(store) as spy:
        assert catalog.resolve("w.txt").version == 2
    assert spy.calls == [("list", LOG)]
    with StoreSpy(store) as spy:
        assert catalog.resolve("w.txt@1").version == 1
    assert spy.calls == []


def test_offline_resolves_from_the_index_without_requests(
    request: pytest.FixtureRequest, catalog: Catalog, store: Store
) -> None:
    catalog.put_bytes(b"1", "o.txt")
    catalog.put_bytes(b"2", "o.txt")
    catalog.tag("o.txt@1", "prod")
    offline = Catalog(store, catalog.index, user="ada", offline=True)
    requests = s3_log_for(request, store)
    if requests is not None:
        requests.clear()
    with StoreSpy(store) as spy:
        assert offline.resolve("o.txt").version == 2
        assert offline.resolve("o.txt@1").version == 1
        assert offline.resolve("o.txt@prod").version == 1
        assert offline.resolve(f"o.txt@{hash_bytes(b'2')[:15]}").version == 2
        assert [r.version for r in offline.versions("o.txt")] == [1, 2]
        with pytest.raises(NotFoundError):
            offline.resolve("not-in-the-index.txt")
        with pytest.raises(NotFoundError):
            offline.resolve("o.txt@3")
    assert spy.calls == []
    if requests is not None:
        assert isinstance(store, S3Store)
        assert requests.for_bucket(store.bucket) == []


def test_offline_refuses_writes_and_writes_nothing(
    request: pytest.FixtureRequest, catalog: Catalog, store: Store, tmp_path: Path
) -> None:
    catalog.put_bytes(b"1", "o.txt")
    offline = Catalog(store, catalog.index, user="ada", offline=True)
    before = snapshot(store)
    attempts: list[Callable[[], object]] = [
        lambda: offline.put_bytes(b"brand new bytes", "o.txt"),
        lambda: offline.put(write(tmp_path, "n.txt", b"new file"), "n.txt"),
        lambda: offline.rm("o.txt"),
        lambda: offline.tag("o.txt@1", "prod"),
        lambda: offline.rollback("o.txt", to=1),
        lambda: offline.purge("o.txt@1"),
    ]
    for attempt in attempts:
        with StoreSpy(store) as spy, pytest.raises(EosError, match="offline"):
            attempt()
        assert spy.writes == [], "an offline write reached the store"
    assert snapshot(store) == before
    assert [r.version for r in catalog.versions("o.txt")] == [1]


# -- bad input writes nothing ---------------------------------------------------------------------

BadCall = Callable[[Catalog, Path], object]

BAD_CALLS: list[tuple[str, BadCall, type[Exception] | tuple[type[Exception], ...], str]] = [
    ("name-dotdot", lambda c, t: c.put_bytes(b"new", "a/../b"), InvalidNameError, r"'\.\.'"),
    ("name-selector", lambda c, t: c.put_bytes(b"new", "x@3"), InvalidNameError, "'@'"),
    ("name-backslash", lambda c, t: c.put_bytes(b"new", "a\\b"), InvalidNameError, "backslash"),
    ("name-leading-slash", lambda c, t: c.put_bytes(b"new", "/abs"), InvalidNameError, "'/'"),
    ("name-empty-segment", lambda c, t: c.put_bytes(b"new", "a//b"), InvalidNameError, "empty"),
    ("name-control", lambda c, t: c.put_bytes(b"new", "a\nb"), InvalidNameError, "control"),
    ("name-too-long", lambda c, t: c.put_bytes(b"new", "x" * 1025), InvalidNameError, "1024"),
    ("bad-namespace", lambda c, t: c.put_bytes(b"new", "eos://teams/x"), InvalidNameError,
     "eos://org/"),
    ("bad-scheme", lambda c, t: c.put_bytes(b"new", "s3://b/x"), InvalidNameError, "scheme"),
    ("other-user", lambda c, t: c.put_bytes(b"new", "eos://users/bob/x"),
     PermissionDeniedError, "users/ada"),
    ("other-scratch", lambda c, t: c.put_bytes(b"new", "eos://scratch/bob/x"),
     PermissionDeniedError, "scratch/ada"),
    ("public-not-admin", lambda c, t: c.put_bytes(b"new", "eos://public/x"),
     PermissionDeniedError, "only admins"),
    ("put-many-one-forbidden",
     lambda c, t: c.put_many([(b"new", "ok.csv"), (b"new2", "eos://users/bob/x")]),
     PermissionDeniedError, "bob"),
    ("put-many-same-name", lambda c, t: c.put_many([(b"new", "n.csv"), (b"new2", "n.csv")]),
     InvalidNameError, "twice"),
    ("put-missing-path", lambda c, t: c.put(t / "missing.csv", "m.csv"), OSError,
     "does not exist"),
    ("put-folder", lambda c, t: c.put(t, "m.csv"), OSError, "is a folder"),
    ("meta-not-json", lambda c, t: c.put_bytes(b"new", "m.csv", meta={"t": datetime(2026, 1, 1)}),
     (TypeError, ValueError), "meta"),
    ("rollback-unknown-version", lambda c, t: c.rollback("data.csv", to=99), NotFoundError,
     r"1\.\.2"),
    ("rollback-unknown-tag", lambda c, t: c.rollback("data.csv", to="staging"), NotFoundError,
     "prod"),
    ("rollback-hash-nothing", lambda c, t: c.rollback("data.csv", to="blake3:00000000"),
     NotFoundError, "blake3:00000000"),
    ("rollback-short-hash", lambda c, t: c.rollback("data.csv", to="blake3:abc"),
     InvalidNameError, "at least 8"),
    ("rollback-missing-name", lambda c, t: c.rollback("missing.csv", to=1), NotFoundError,
     "missing.csv"),
    ("rollback-delete-marker", lambda c, t: c.rollback("gone.csv", to=2), DeletedError,
     "deleted"),
    ("tag-missing-name", lambda c, t: c.tag("missing.csv", "prod"), NotFoundError,
     "missing.csv"),
    ("tag-unknown-version", lambda c, t: c.tag("data.csv@99", "x"), NotFoundError, "99"),
    ("tag-invalid", lambda c, t: c.tag("data.csv", "not a tag"), InvalidNameError, "tag"),
    ("tag-latest", lambda c, t: c.tag("data.csv", "latest"), InvalidNameError, "latest"),
    ("tag-move-without-force", lambda c, t: c.tag("data.csv@1", "prod"), ConflictError,
     "force"),
    ("tag-delete-marker", lambda c, t: c.tag("gone.csv", "x"), DeletedError, "deleted"),
    ("tag-empty-selector", lambda c, t: c.tag("data.csv@", "x"), InvalidNameError, "'@'"),
    ("untag-missing", lambda c, t: c.untag("data.csv", "nosuch"), NotFoundError, "nosuch"),
    ("rm-missing", lambda c, t: c.rm("missing.csv"), NotFoundError, "missing.csv"),
    ("rm-deleted", lambda c, t: c.rm("gone.csv"), DeletedError, "already deleted"),
    ("rm-other-user", lambda c, t: c.rm("eos://users/bob/b.csv"), PermissionDeniedError,
     "users/ada"),
    ("rm-with-selector", lambda c, t: c.rm("data.csv@1"), InvalidNameError, "'@'"),
    ("undelete-not-deleted", lambda c, t: c.undelete("data.csv"), ConflictError, "not deleted"),
    ("undelete-missing", lambda c, t: c.undelete("missing.csv"), NotFoundError, "missing.csv"),
    ("purge-unknown-version", lambda c, t: c.purge("data.csv@99"), NotFoundError, r"1\.\.2"),
    ("purge-tag", lambda c, t: c.purge("data.csv@prod"), InvalidNameError, "purge takes"),
    ("purge-missing", lambda c, t: c.purge("missing.csv"), NotFoundError, "missing.csv"),
]


def test_bad_input_writes_nothing(catalog: Catalog, store: Store, tmp_path: Path) -> None:
    """Each bad call raises the expected error naming the problem, and the store is unchanged.

    One test per store walks every case (a bucket per case would cost more than the checks);
    all failures are reported together, by case.
    """
    catalog.put_bytes(b"1", "data.csv")
    catalog.put_bytes(b"2", "data.csv")
    catalog.tag("data.csv@2", "prod")
    catalog.put_bytes(b"g", "gone.csv")
    catalog.rm("gone.csv")
    failures: list[str] = []
    for case, call, error, pattern in BAD_CALLS:
        before = snapshot(store)
        try:
            call(catalog, tmp_path)
        except error as e:
            if not re.search(pattern, str(e)):
                failures.append(f"{case}: message {str(e)!r} does not match {pattern!r}")
        except Exception as e:
            failures.append(f"{case}: raised {type(e).__name__}: {e}, not {error}")
        else:
            failures.append(f"{case}: did not raise {error}")
        after = snapshot(store)
        if after != before:
            added = sorted(set(after) - set(before))
            failures.append(f"{case}: the store changed (new objects: {added})")
    assert failures == []
    assert [r.version for r in catalog.versions("data.csv")] == [1, 2]
    assert [r.version for r in catalog.versions("gone.csv")] == [1, 2]


def test_a_commit_after_this_writers_own_lists_nothing_but_still_sees_others(
    s3_server: S3TestServer, s3_store: S3Store, tmp_path: Path
) -> None:
    """A writer whose own changeset is the newest it knows plans its next one without listing
    the log (two round trips a commit, not three); had another writer appended meanwhile, the
    seq is taken, and it lists, replays and plans again: versions, refusals and "unchanged"
    all decided on the freshest log."""
    ada = Catalog(s3_store, tmp_path / "ada.sqlite", user="ada")
    bob = Catalog(s3_store, tmp_path / "bob.sqlite", user="bob")
    try:
        ada.put_bytes(b"1", "eos://org/n.txt")
        s3_server.requests.clear()
        ada.put_bytes(b"2", "eos://org/n.txt")
        log_lists = [r for r in s3_server.requests.for_bucket(s3_store.bucket)
                     if r.method == "GET" and "list-type=2" in r.query]
        assert log_lists == []
        bob.put_bytes(b"1", "eos://org/n.txt")  # the bytes of ada's version 1: a new version 3
        assert ada.put_bytes(b"2", "eos://org/n.txt").record.version == 4  # not "unchanged"
        bob.rm("eos://org/n.txt")
        assert ada.undelete("eos://org/n.txt").version == 6  # not "nothing to undelete"
        assert [v.version for v in bob.versions("eos://org/n.txt")] == [1, 2, 3, 4, 5, 6]
    finally:
        ada.close()
        bob.close()


def test_undelete_prefix_restores_every_deleted_name_in_one_changeset(catalog: Catalog) -> None:
    for name in ("run/a.csv", "run/sub/b.csv", "run/c.csv", "running.csv", "keep/d.csv"):
        catalog.put_bytes(name.encode(), name)
    catalog.put_bytes(b"a v2", "run/a.csv")
    catalog.put_bytes(b"gone", "run/purged.csv")
    catalog.rm("run/c.csv")  # deleted before, on its own: restored too
    catalog.rm_prefix("run/")
    catalog.purge("run/purged.csv")  # nothing left to restore: skipped
    catalog.rm("running.csv")  # not under the folder run/: untouched
    restored = catalog.undelete_prefix("run/", message="undo")
    assert [(r.name, r.version, r.source_version) for r in restored] == [
        ("run/a.csv", 4, 2), ("run/c.csv", 3, 1), ("run/sub/b.csv", 3, 1)]
    assert len({r.seq for r in restored}) == 1
    assert catalog.cat("run/a.csv") == b"a v2" and catalog.cat("run/sub/b.csv") == b"run/sub/b.csv"
    assert catalog.versions("running.csv")[-1].is_delete_marker
    with pytest.raises(NotFoundError, match="nothing to undelete"):
        catalog.undelete_prefix("run/")
    with pytest.raises(NotFoundError, match="nothing to undelete"):
        catalog.undelete_prefix("keep/")
