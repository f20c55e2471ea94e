"""``verify`` and ``gc``: the maintenance half of Catalog, on every store, and ``eos verify`` /
``eos gc`` through the real command on the local store and S3.

verify reports exactly the missing and corrupt blobs of readable versions (hash, every version
using it, what the bytes hash to), moves corrupt ones to ``quarantine/`` and repairs from good
copies; gc (DESIGN.md invariant 5) deletes only blobs that no live version or tag references and
that are older than the grace period, and every live version reads afterwards.

Times: a MemoryStore object is back-dated with ``set_modified``, a local one with ``os.utime``;
S3 objects cannot be back-dated, so gc runs with a ``clock`` two days ahead instead (every blob
is then older than the 24 h grace).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from conftest import make_bucket

from eoscatalog import Catalog, IntegrityError, NotFoundError, PermissionDeniedError, hash_bytes
from eoscatalog.catalog.reports import BlobProblem, GcReport
from eoscatalog.core.errors import EosError, InvalidNameError
from eoscatalog.core.tempfiles import TEMP_PREFIX
from eoscatalog.local.blob_cache import BlobCache
from eoscatalog.store import LocalStore, MemoryStore, S3Store, Store, blob_key
from eoscatalog.store.keys import QUARANTINE, TOUCHED

ROOT = Path(__file__).resolve().parent.parent
ADA = "eos://users/ada/"
Clock = Callable[[], datetime]
MakeCatalog = Callable[..., Catalog]


# -- helpers ------------------------------------------------------------------------------------


def now() -> datetime:
    return datetime.now(timezone.utc)


def ahead(days: float = 2) -> Clock:
    """A clock ``days`` ahead of real time: every blob written now is older than 24 h there."""
    return lambda: now() + timedelta(days=days)


@pytest.fixture
def catalogs(tmp_path: Path) -> Iterator[MakeCatalog]:
    """Catalogs over a store, each with its own index (as separate clients have)."""
    made: list[Catalog] = []

    def make(store: Store, user: str = "ada", *, admin: bool = False, clock: Clock | None = None,
             scratch_ttl: str = "7d", cache: bool = False) -> Catalog:
        cat = Catalog(store, tmp_path / f"index-{len(made)}.sqlite", user=user, admin=admin,
                      clock=clock, scratch_ttl=scratch_ttl,
                      cache=BlobCache(tmp_path / "cache") if cache else None)
        made.append(cat)
        return cat

    yield make
    for cat in made:
        cat.index.close()
        cat.hash_cache.close()


def overwrite(store: Store, key: str, data: bytes) -> None:
    """Damage an object behind the catalog's back (a bit flip on disk, a stray upload)."""
    if isinstance(store, LocalStore):
        path = store.root / key
        path.chmod(0o644)  # blobs are stored read-only
        path.write_bytes(data)
    elif isinstance(store, S3Store):
        store.client.put_object(Bucket=store.bucket, Key=store.prefix + key, Body=data)
    else:
        store.put(key, data)


def backdate(store: Store, key: str, when: datetime) -> None:
    if isinstance(store, MemoryStore):
        store.set_modified(key, when)
    elif isinstance(store, LocalStore):
        os.utime(store.root / key, (when.timestamp(), when.timestamp()))
    else:
        raise AssertionError("S3 objects cannot be back-dated: use a clock ahead instead")


def problem(hash_string: str, kind: str, uris: list[str], actual: str | None = None,
            quarantined: bool = False, repaired: bool = False) -> BlobProblem:
    return BlobProblem(hash_string, kind, tuple(uris), actual,
                       QUARANTINE + blob_key(hash_string) if quarantined else None, repaired)


def by_hash(problems: list[BlobProblem]) -> dict[str, BlobProblem]:
    return {p.hash: p for p in problems}


def deleted(report: GcReport) -> dict[str, list[tuple[str, int]]]:
    return {reason: sorted(items) for reason, items in report.deleted.items()}


def files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


# -- verify -------------------------------------------------------------------------------------


def test_verify_all_good(store: Store, catalogs: MakeCatalog) -> None:
    cat = catalogs(store)
    cat.put_many([(b"alpha", "a.txt"), (b"alpha", "b.txt"), (b"gamma!", "c.txt")])
    cat.put_bytes(b"alpha 2", "a.txt")
    cat.rm("c.txt")  # a delete marker: nothing to check, but c.txt@1 is still readable
    report = cat.verify()
    assert report.ok and report.problems == [] and report.missing == report.corrupt == []
    assert (report.versions, report.blobs, report.bytes) == (4, 3, 5 + 6 + 7)
    assert cat.verify("eos://org/").versions == 0  # nothing there: vacuously fine
    assert cat.verify("a").versions == 2  # a prefix, matched as text


def test_verify_reports_missing_and_corrupt_quarantines_and_put_repairs(
    store: Store, catalogs: MakeCatalog, tmp_path: Path
) -> None:
    cat = catalogs(store, cache=True)
    good_a, good_b = b"shared bytes A", b"bytes B"
    h_a, h_b = hash_bytes(good_a), hash_bytes(good_b)
    cat.put_many([(good_a, "a.txt"), (good_a, "d/b.txt"), (b"fine", "c.txt")])
    cat.put_bytes(good_b, "a.txt")
    cat.put_bytes(good_a, "eos://org/a.txt")  # outside the prefix checked below
    store.delete(blob_key(h_b))
    overwrite(store, blob_key(h_a), b"rotten")
    rotten = hash_bytes(b"rotten")
    corrupt = problem(h_a, "corrupt", [ADA + "a.txt@1", ADA + "d/b.txt@1"], rotten)
    missing = problem(h_b, "missing", [ADA + "a.txt@2"])

    report = cat.verify(quarantine=False)
    assert by_hash(report.problems) == {h_a: corrupt, h_b: missing}
    assert (report.missing, report.corrupt) == ([missing], [corrupt])
    assert not report.ok and (report.versions, report.blobs) == (4, 3)
    assert store.get(blob_key(h_a)) == b"rotten"  # left where it was
    assert not store.exists(QUARANTINE + blob_key(h_a))
    with pytest.raises(IntegrityError):
        cat.read_bytes("a.txt@1")
    # The damaged object holds the key: a put of the good bytes checks what it finds there
    # before trusting it, moves it to quarantine/ and stores the good bytes.
    assert cat.put_bytes(good_a, "again-a.txt").uploaded
    assert store.get(blob_key(h_a)) == good_a
    assert store.get(QUARANTINE + blob_key(h_a)) == b"rotten"  # kept for inspection

    overwrite(store, blob_key(h_a), b"rotten")
    report = cat.verify()
    assert by_hash(report.problems) == {
        h_a: problem(h_a, "corrupt", [ADA + "a.txt@1", ADA + "again-a.txt@1", ADA + "d/b.txt@1"],
                     corrupt.actual, quarantined=True),
        h_b: missing,
    }
    assert not store.exists(blob_key(h_a))
    assert store.get(QUARANTINE + blob_key(h_a)) == b"rotten"

    cat.put_bytes(good_a, "repair-a.txt")
    cat.put_bytes(good_b, "repair-b.txt")
    report = cat.verify()
    assert report.ok and report.problems == []
    assert cat.read_bytes("a.txt@1") == cat.read_bytes("d/b.txt") == good_a
    assert cat.read_bytes("a.txt@2") == good_b
    assert cat.get("a.txt@1", tmp_path / "out.txt").read_bytes() == good_a
    assert cat.verify("eos://org/").ok


def test_verify_repairs_from_a_folder(store: Store, catalogs: MakeCatalog,
                                      tmp_path: Path) -> None:
    cat = catalogs(store)
    lost, rotten, unknown = b"lost bytes", b"rotten bytes", b"no copy anywhere"
    cat.put_many([(lost, "x/lost.bin"), (rotten, "x/rotten.bin"), (unknown, "x/unknown.bin")])
    h_lost, h_rotten, h_unknown = map(hash_bytes, (lost, rotten, unknown))
    store.delete(blob_key(h_lost))
    overwrite(store, blob_key(h_rotten), b"garbage")
    store.delete(blob_key(h_unknown))
    backup = tmp_path / "backup"
    (backup / "deep" / "er").mkdir(parents=True)
    (backup / "deep" / "er" / "renamed.dat").write_bytes(lost)
    (backup / "rotten.bin").write_bytes(rotten)
    (backup / "unrelated.txt").write_bytes(b"something else")

    with pytest.raises(NotFoundError, match="no-such-folder"):
        cat.verify("x/", repair_from=tmp_path / "no-such-folder", quarantine=False)
    # A corrupt blob left in place holds its key, so only the missing one can be put back.
    report = cat.verify("x/", repair_from=backup, quarantine=False)
    assert {p.hash: p.repaired for p in report.problems} == {
        h_lost: True, h_rotten: False, h_unknown: False
    }
    store.delete(blob_key(h_lost))
    report = cat.verify("x/", repair_from=backup)
    assert by_hash(report.problems) == {
        h_lost: problem(h_lost, "missing", [ADA + "x/lost.bin@1"], repaired=True),
        h_rotten: problem(h_rotten, "corrupt", [ADA + "x/rotten.bin@1"], hash_bytes(b"garbage"),
                          quarantined=True, repaired=True),
        h_unknown: problem(h_unknown, "missing", [ADA + "x/unknown.bin@1"]),
    }
    assert not report.ok  # one is still missing
    assert store.get(QUARANTINE + blob_key(h_rotten)) == b"garbage"
    assert cat.read_bytes("x/lost.bin") == lost and cat.read_bytes("x/rotten.bin") == rotten

    (backup / "found-later.bin").write_bytes(unknown)
    report = cat.verify("x/", repair_from=backup)
    assert report.ok and [p.repaired for p in report.problems] == [True]
    assert cat.verify("x/").problems == []
    assert cat.read_bytes("x/unknown.bin") == unknown
    # The folder is looked at only when something needs repair.
    assert cat.verify(repair_from=tmp_path / "no-such-folder").ok


def test_verify_skips_purged_versions_and_delete_markers(store: Store,
                                                         catalogs: MakeCatalog) -> None:
    cat = catalogs(store)
    cat.put_many([(b"phi", "p.txt"), (b"kept", "k.txt"), (b"hidden", "d.txt")])
    cat.put_bytes(b"phi 2", "p.txt")
    cat.purge("p.txt")
    cat.rm("d.txt")
    store.delete(blob_key(hash_bytes(b"phi")))
    store.delete(blob_key(hash_bytes(b"phi 2")))
    report = cat.verify()
    assert report.ok and (report.versions, report.blobs) == (2, 2)  # k@1, d@1; no marker
    # A name hidden by a delete marker still reads as d.txt@1: its blob is checked.
    store.delete(blob_key(hash_bytes(b"hidden")))
    assert cat.verify().problems == [
        problem(hash_bytes(b"hidden"), "missing", [ADA + "d.txt@1"])
    ]


def test_verify_all_namespaces_covers_org_and_every_user(store: Store,
                                                         catalogs: MakeCatalog) -> None:
    ada, bob = catalogs(store), catalogs(store, "bob")
    ada.put_bytes(b"ada's", "mine.txt")
    bob.put_bytes(b"bob's", "his.txt")
    bob.put_bytes(b"shared", "shared.txt")
    ada.put_bytes(b"shared", "eos://org/shared.txt")
    ada.put_bytes(b"org only", "eos://org/team.txt")
    for data in (b"ada's", b"bob's", b"shared", b"org only"):
        overwrite(store, blob_key(hash_bytes(data)), b"bad " + data)
    assert [p.uris for p in ada.verify(quarantine=False).problems] == [(ADA + "mine.txt@1",)]
    assert {p.uris for p in ada.verify("eos://org/", quarantine=False).problems} == {
        ("eos://org/shared.txt@1",), ("eos://org/team.txt@1",)
    }
    report = ada.verify(all_namespaces=True, quarantine=False)
    assert {p.hash: set(p.uris) for p in report.problems} == {
        hash_bytes(b"ada's"): {ADA + "mine.txt@1"},
        hash_bytes(b"bob's"): {"eos://users/bob/his.txt@1"},
        hash_bytes(b"shared"): {"eos://users/bob/shared.txt@1", "eos://org/shared.txt@1"},
        hash_bytes(b"org only"): {"eos://org/team.txt@1"},
    }
    assert all(p.problem == "corrupt" for p in report.problems)
    assert (report.versions, report.blobs) == (5, 4)


def test_one_percent_of_blobs_corrupted(store: Store, catalogs: MakeCatalog,
                                        tmp_path: Path) -> None:
    cat = catalogs(store, cache=True)
    assert cat.cache is not None
    files = {f"bulk/f{i:03}.bin": f"file {i} ".encode() * (1 + i % 7) for i in range(200)}
    cat.put_many([(data, name) for name, data in files.items()], message="200 files")
    chosen = random.Random(20260301).sample(sorted(files), 2)
    bad = {hash_bytes(files[name]): name for name in chosen}
    for h, name in bad.items():
        overwrite(store, blob_key(h), b"flipped " + files[name])

    for h, name in bad.items():
        for attempt in range(3):
            dest = tmp_path / f"out-{attempt}.bin"
            with pytest.raises(IntegrityError) as e:
                cat.get(name, dest)
            assert e.value.expected == h and e.value.actual == hash_bytes(b"flipped " + files[name])
            assert not dest.exists()
            with pytest.raises(IntegrityError):
                cat.read_bytes(name)
            assert cat.cache.lookup(h) is None and not cat.cache.path(h).exists()
    digests = {h.split(":")[1] for h in bad}
    assert [p for p in files_under(cat.cache.root)  # no entry, temp file or lock left
            if p.name.startswith(TEMP_PREFIX) or any(d in p.name for d in digests)] == []
    assert list(tmp_path.glob(f"{TEMP_PREFIX}*")) == []
    for name in chosen:
        with pytest.raises(IntegrityError):
            cat.read_bytes(name)  # still refused: nothing bad was cached on the way

    report = cat.verify("bulk/")
    assert (report.versions, report.blobs) == (200, 200)
    assert {p.hash for p in report.problems} == set(bad)
    assert all(p.problem == "corrupt" and p.quarantined for p in report.problems)
    assert {p.uris for p in report.problems} == {(ADA + name + "@1",) for name in chosen}

    cat.put_many([(files[name], name) for name in chosen])  # same bytes: no new version
    assert cat.verify("bulk/").ok
    for h, name in bad.items():
        assert cat.get(name, tmp_path / "good.bin").read_bytes() == files[name]
        assert cat.cache.lookup(h) is None  # a get to a path writes once, not into the cache
        assert [r.version for r in cat.versions(name)] == [1]


# -- gc -----------------------------------------------------------------------------------------


def test_gc_reasons_bytes_and_every_live_version_still_reads(store: Store,
                                                             catalogs: MakeCatalog) -> None:
    writer = catalogs(store, scratch_ttl="1h")
    keeper = catalogs(store, scratch_ttl="7d")
    writer.put_many([(b"alpha-1", "a.txt"), (b"beta", "b.txt"), (b"gamma-1", "c.txt"),
                     (b"secret phi", "p.txt"), (b"shared", "q.txt"), (b"shared", "r.txt"),
                     (b"s-old", "s.txt")])
    writer.put_many([(b"alpha-2", "a.txt"), (b"gamma-2", "c.txt"), (b"secret phi 2", "p.txt"),
                     (b"s-new", "s.txt")])
    writer.rm("b.txt")  # hidden by a delete marker, still readable as b.txt@1
    writer.tag("c.txt@1", "prod")
    writer.purge("p.txt")  # both versions
    writer.purge("q.txt")  # its blob is still r.txt's
    writer.purge("s.txt@1")
    orphan = store.put_blob_bytes(b"orphan: its changeset never came")
    writer.put_bytes(b"scratch, 1h", "eos://scratch/ada/tmp.bin")
    keeper.put_bytes(b"scratch, 7d", "eos://scratch/ada/keep.bin")
    live = [b"alpha-1", b"alpha-2", b"beta", b"gamma-1", b"gamma-2", b"shared", b"s-new",
            b"scratch, 7d"]

    def key(data: bytes) -> str:
        return blob_key(hash_bytes(data))

    expected = {
        "purged": sorted((key(d), len(d)) for d in (b"secret phi", b"secret phi 2", b"s-old")),
        "unreferenced": [(blob_key(orphan), 32)],
        "expired": [(key(b"scratch, 1h"), 11)],
    }
    # Two hours on, tmp.bin expired an hour ago: inside the grace period, its blob stays.
    early = catalogs(store, admin=True, clock=ahead(2 / 24)).gc(dry_run=True)
    assert "expired" not in early.deleted and early.live == len(live) + 1
    gc_cat = catalogs(store, admin=True, clock=ahead(2))
    dry = gc_cat.gc(dry_run=True)
    assert dry.dry_run and deleted(dry) == expected
    assert (dry.live, dry.kept_young, dry.kept_rechecked) == (len(live), 0, 0)
    assert all(store.exists(k) for group in expected.values() for k, _ in group)

    report = gc_cat.gc()
    assert not report.dry_run and report.grace_seconds == 24 * 3600
    assert deleted(report) == expected
    assert (report.live, report.kept_young, report.kept_rechecked) == (len(live), 0, 0)
    assert report.bytes("purged") == 10 + 12 + 5 and report.bytes("expired") == 11
    assert report.bytes() == 27 + 32 + 11
    assert not any(store.exists(k) for group in expected.values() for k, _ in group)
    assert all(store.exists(key(d)) for d in live)

    for cat in (writer, gc_cat):  # invariant 5: every live version reads, on both clocks
        assert cat.read_bytes("a.txt@1") == b"alpha-1"
        assert cat.read_bytes("a.txt") == b"alpha-2"
        assert cat.read_bytes("b.txt@1") == b"beta"  # a deleted name's older version
        assert cat.read_bytes("c.txt@prod") == b"gamma-1"
        assert cat.read_bytes("c.txt") == b"gamma-2"
        assert cat.read_bytes("r.txt") == b"shared"
        assert cat.read_bytes("s.txt@2") == b"s-new"
        assert cat.read_bytes("eos://scratch/ada/keep.bin") == b"scratch, 7d"
    assert deleted(gc_cat.gc()) == {}  # nothing left to collect


def test_verify_after_gc_does_not_check_collected_scratch_versions(
    store: Store, catalogs: MakeCatalog
) -> None:
    """gc collects a scratch version's blob once it expired (plus the grace period); verify,
    on the same clock, must not then report that blob as missing (the version is unreadable
    anyway: resolving it says it expired)."""
    writer = catalogs(store, scratch_ttl="1h")
    writer.put_bytes(b"temporary", "eos://scratch/ada/tmp.bin")
    gc_cat = catalogs(store, admin=True, clock=ahead(2))
    assert list(gc_cat.gc().deleted) == ["expired"]
    report = gc_cat.verify(all_namespaces=True)
    assert report.ok, report.problems


def test_no_write_after_gc_names_a_collected_scratch_blob(store: Store,
                                                          catalogs: MakeCatalog) -> None:
    """gc collected the blobs of a deleted scratch name's expired versions: bringing the name
    back (undelete) must refuse, as rollback and copy do, or give a version that reads; never
    a version naming a blob that is gone (invariant 1)."""
    t0 = now()
    clock = [t0]
    writer = catalogs(store, scratch_ttl="1h", clock=lambda: clock[0])
    writer.put_bytes(b"v1", "eos://scratch/ada/f.bin")
    writer.put_bytes(b"v2", "eos://scratch/ada/f.bin")
    writer.rm("eos://scratch/ada/f.bin")
    clock[0] = t0 + timedelta(days=2)
    gc_cat = catalogs(store, admin=True, clock=lambda: clock[0])
    assert sorted(gc_cat.gc().deleted) == ["expired"]
    with pytest.raises(NotFoundError, match="expired"):
        writer.rollback("eos://scratch/ada/f.bin", 1)
    with pytest.raises(NotFoundError, match="expired"):
        writer.copy("eos://scratch/ada/f.bin@2", "eos://org/kept.bin")
    try:
        record = writer.undelete("eos://scratch/ada/f.bin")
    except EosError:
        return  # refused: the versions expired
    assert writer.read_bytes(record.uri) == b"v2", f"{record.uri} names a collected blob"


def test_gc_keeps_young_blobs(store: Store, catalogs: MakeCatalog) -> None:
    writer = catalogs(store)
    writer.put_bytes(b"to purge", "p.txt")
    writer.purge("p.txt")
    young = store.put_blob_bytes(b"young orphan")
    writer.put_bytes(b"live", "l.txt")
    gc_cat = catalogs(store, admin=True)
    report = gc_cat.gc()
    assert deleted(report) == {}
    assert (report.live, report.kept_young) == (1, 2)
    assert store.exists(blob_key(young)) and store.exists(blob_key(hash_bytes(b"to purge")))
    if isinstance(store, S3Store):
        return  # S3 objects cannot be back-dated; the clock-ahead tests cover S3
    old = store.put_blob_bytes(b"old orphan")
    backdate(store, blob_key(old), now() - timedelta(days=3))
    backdate(store, blob_key(hash_bytes(b"to purge")), now() - timedelta(hours=25))
    report = gc_cat.gc()
    assert deleted(report) == {"purged": [(blob_key(hash_bytes(b"to purge")), 8)],
                               "unreferenced": [(blob_key(old), 10)]}
    assert (report.live, report.kept_young) == (1, 1)
    assert store.exists(blob_key(young)) and not store.exists(blob_key(old))
    backdate(store, blob_key(young), now() - timedelta(hours=2))
    assert gc_cat.gc(grace="1h").deleted == {"unreferenced": [(blob_key(young), 12)]}


def test_gc_needs_admin_unless_dry_run_and_grace_zero(store: Store,
                                                      catalogs: MakeCatalog) -> None:
    writer = catalogs(store)
    writer.put_bytes(b"purge me", "p.txt")
    writer.purge("p.txt")
    with pytest.raises(PermissionDeniedError, match="EOS_ADMIN"):
        writer.gc()
    with pytest.raises(PermissionDeniedError, match="EOS_ADMIN"):
        writer.gc(grace="0")
    assert writer.gc(dry_run=True).kept_young == 1  # anyone may look
    assert writer.gc(dry_run=True, grace="0").deleted == {
        "purged": [(blob_key(hash_bytes(b"purge me")), 8)]
    }
    admin = catalogs(store, admin=True)
    with pytest.raises(InvalidNameError):
        admin.gc(grace="soon")
    with pytest.raises(InvalidNameError):
        admin.gc(grace="-1h")
    if not isinstance(store, S3Store):
        time.sleep(0.01)  # a modified time strictly before "now"
    report = admin.gc(grace="0")
    assert report.grace_seconds == 0
    assert report.deleted == {"purged": [(blob_key(hash_bytes(b"purge me")), 8)]}
    assert not store.exists(blob_key(hash_bytes(b"purge me")))
    for grace in (0, "0s", "0h", 0.0):
        assert admin.gc(grace=grace).grace_seconds == 0


def test_gc_rechecks_the_catalog_before_deleting(store: Store, catalogs: MakeCatalog,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A changeset naming a candidate blob lands while gc lists the blobs, before it deletes."""
    writer = catalogs(store)
    gc_cat = catalogs(store, admin=True, clock=ahead(2))
    listing = store.list
    racing: list[tuple[bytes, str]] = []

    def list_then_race(prefix: str, *, start_after: str | None = None) -> Iterator[Any]:
        found = list(listing(prefix, start_after=start_after))
        if prefix.startswith("blobs/") and racing:
            writer.put_bytes(*racing.pop())
        return iter(found)

    monkeypatch.setattr(store, "list", list_then_race)
    data = b"orphan, named while gc runs"
    orphan = store.put_blob_bytes(data)
    racing.append((data, "late.txt"))
    report = gc_cat.gc()
    assert racing == [] and deleted(report) == {} and report.kept_rechecked == 1
    assert store.exists(blob_key(orphan)) and writer.read_bytes("late.txt") == data

    # recheck=False is what the re-read prevents: the same race loses the blob.
    other = b"another orphan"
    store.put_blob_bytes(other)
    racing.append((other, "later.txt"))
    assert deleted(gc_cat.gc(recheck=False)) == {
        "unreferenced": [(blob_key(hash_bytes(other)), len(other))]
    }
    with pytest.raises(NotFoundError):
        writer.read_bytes("later.txt")


@pytest.mark.parametrize("source", ["file", "bytes"])
def test_reuse_marker_protects_a_blob_in_flight(store: Store, catalogs: MakeCatalog,
                                                tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                source: str) -> None:
    """An old orphan blob; a writer puts the same bytes (dedup: the blob is reused, not sent)
    and gc runs after the blob was stored but before the changeset naming it. The reuse
    (``touch``) must keep the blob, and the new version reads."""
    data = b"old orphan bytes, reused by a writer"
    h = store.put_blob_bytes(data)
    key = blob_key(h)
    if isinstance(store, S3Store):
        time.sleep(1.1)  # S3 times are whole seconds: the reuse must fall in a later second
        cutoff = now().replace(microsecond=0)
        gc_cat = catalogs(store, admin=True, clock=lambda: cutoff + timedelta(hours=24))
    else:
        backdate(store, key, now() - timedelta(days=3))
        gc_cat = catalogs(store, admin=True)
    writer = catalogs(store)
    reports: list[GcReport] = []
    commit = writer._committer.commit_shared

    def gc_then_commit(*args: Any, **kwargs: Any) -> Any:
        reports.append(gc_cat.gc())
        return commit(*args, **kwargs)

    monkeypatch.setattr(writer._committer, "commit_shared", gc_then_commit)
    if source == "file":
        path = tmp_path / "reused.bin"
        path.write_bytes(data)
        result = writer.put(path, "reused.bin")
    else:
        result = writer.put_bytes(data, "reused.bin")
    assert not result.uploaded  # deduplicated
    [report] = reports
    assert deleted(report) == {}, "gc deleted a blob a writer was reusing"
    assert report.kept_young + report.kept_rechecked == 1
    assert store.exists(key) and writer.read_bytes("reused.bin") == data
    monkeypatch.undo()
    assert writer.verify().ok


def test_gc_removes_old_partial_files_on_a_local_store(local_store: LocalStore,
                                                       catalogs: MakeCatalog) -> None:
    writer = catalogs(local_store)
    writer.put_bytes(b"live", "l.txt")
    shard = local_store.root / "blobs" / "blake3" / "ab"
    shard.mkdir(parents=True, exist_ok=True)
    old, young = shard / f"{TEMP_PREFIX}killed", shard / f"{TEMP_PREFIX}in-flight"
    old.write_bytes(b"half a blob")
    young.write_bytes(b"being written")
    when = (now() - timedelta(days=2)).timestamp()
    os.utime(old, (when, when))
    gc_cat = catalogs(local_store, admin=True)
    partial = [("blobs/blake3/ab/" + old.name, 11)]
    assert gc_cat.gc(dry_run=True).deleted == {"partial": partial}
    assert old.exists()
    report = gc_cat.gc()
    assert report.deleted == {"partial": partial} and report.live == 1
    assert not old.exists() and young.exists()
    assert writer.read_bytes("l.txt") == b"live"


def test_gc_aborts_abandoned_multipart_uploads_on_s3(s3_store: S3Store, s3_client: Any,
                                                     catalogs: MakeCatalog) -> None:
    writer = catalogs(s3_store)
    writer.put_bytes(b"live", "l.txt")
    bucket = s3_store.bucket
    digest = "ab" * 32
    abandoned = s3_store.prefix + f"blobs/blake3/ab/{digest}"
    upload = s3_client.create_multipart_upload(Bucket=bucket, Key=abandoned)["UploadId"]
    s3_client.upload_part(Bucket=bucket, Key=abandoned, UploadId=upload, PartNumber=1,
                          Body=b"x" * 1234)
    outside = s3_client.create_multipart_upload(Bucket=bucket, Key="elsewhere/big.bin")

    def uploads() -> list[str]:
        return [u["Key"] for u in s3_client.list_multipart_uploads(Bucket=bucket)
                .get("Uploads", [])]

    gc_cat = catalogs(s3_store, admin=True, clock=ahead(9))
    partial = [(f"multipart upload of blobs/blake3/ab/{digest}", 1234)]
    assert gc_cat.gc(dry_run=True).deleted == {"partial": partial}
    assert sorted(uploads()) == sorted([abandoned, "elsewhere/big.bin"])
    report = gc_cat.gc()
    assert report.deleted == {"partial": partial} and report.bytes("partial") == 1234
    assert s3_client.list_multipart_uploads(Bucket=bucket, Prefix=s3_store.prefix).get(
        "Uploads", []) == []
    assert uploads() == ["elsewhere/big.bin"]  # outside the store root: not ours
    s3_client.abort_multipart_upload(Bucket=bucket, Key="elsewhere/big.bin",
                                     UploadId=outside["UploadId"])
    assert writer.read_bytes("l.txt") == b"live"


def test_gc_removes_stale_reuse_markers_on_s3(s3_store: S3Store, catalogs: MakeCatalog) -> None:
    writer = catalogs(s3_store)
    lost, live, orphan = b"its blob is gone", b"live and reused", b"orphan, reused"
    writer.put_bytes(live, "live.txt")
    for data in (lost, live, orphan):
        s3_store.put_blob_bytes(data)
        s3_store.touch(blob_key(hash_bytes(data)))  # as a writer reusing the blob does
    markers = {d: TOUCHED + blob_key(hash_bytes(d)) for d in (lost, live, orphan)}
    assert all(s3_store.exists(m) for m in markers.values())
    s3_store.delete(blob_key(hash_bytes(lost)))

    gc_cat = catalogs(s3_store, admin=True, clock=ahead(2))
    report = gc_cat.gc()
    assert deleted(report) == {
        "markers": [(markers[lost], 0)],
        "unreferenced": [(blob_key(hash_bytes(orphan)), len(orphan))],
    }
    assert not s3_store.exists(markers[lost])
    assert not s3_store.exists(markers[orphan])  # deleted with its blob
    assert s3_store.exists(markers[live])  # its blob is there
    assert writer.read_bytes("live.txt") == live


# -- the command line ---------------------------------------------------------------------------
# Each `eos` process costs a second or two of start-up, so the setup goes through the API
# (Catalog.open over the same EOS_HOME) and only the commands under test run as processes.


def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
            s3: tuple[str, str] | None = None) -> dict[str, str]:
    """The environment of the `eos` processes, also set in this one for Catalog.open."""
    values = {"EOS_HOME": str(tmp_path / "home"), "EOS_USER": "ada", "PYTHONPATH": str(ROOT)}
    if s3 is not None:
        endpoint, bucket = s3
        values.update(EOS_STORE=f"s3://{bucket}/eos", AWS_ENDPOINT_URL=endpoint)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def eos(env: dict[str, str], *args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "eoscatalog", *args],
                          env={**os.environ, **env}, capture_output=True, text=True, timeout=120)
    assert proc.returncode == code, (args, proc.stdout, proc.stderr)
    return proc


def setup_purged_and_corrupt(tmp_path: Path) -> tuple[Store, str, str]:
    """d/a.txt (its blob then corrupted) and d/p.txt (purged); return the store and hashes."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_bytes(b"alpha\n")
    (src / "p.txt").write_bytes(b"phi!!\n")
    with Catalog.open() as cat:
        cat.put_many([(src / "a.txt", "d/a.txt"), (src / "p.txt", "d/p.txt")])
        cat.purge("d/p.txt")
        store = cat.store
        h_a, h_p = hash_bytes(b"alpha\n"), hash_bytes(b"phi!!\n")
        overwrite(store, blob_key(h_a), b"alphx\n")
        assert store.exists(blob_key(h_p))
    return store, h_a, h_p


def test_cli_verify_and_gc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = cli_env(tmp_path, monkeypatch)
    store, h_a, h_p = setup_purged_and_corrupt(tmp_path)
    bad = hash_bytes(b"alphx\n")

    assert eos(env, "verify", "--no-quarantine", code=1).stdout.splitlines() == [
        f"corrupt: {h_a} (its bytes hash to {bad}), not repaired; "
        "used by eos://users/ada/d/a.txt@1",
        "checked 1 versions, 1 blobs (6 B): 0 missing, 1 corrupt",
    ]
    assert json.loads(eos(env, "verify", "--json", code=1).stdout) == {
        "versions": 1, "blobs": 1, "bytes": 6, "ok": False,
        "problems": [{"hash": h_a, "problem": "corrupt", "actual": bad,
                      "uris": ["eos://users/ada/d/a.txt@1"],
                      "quarantined": QUARANTINE + blob_key(h_a), "repaired": False}],
    }
    with Catalog.open() as cat:
        cat.put(tmp_path / "src" / "a.txt", "d/a.txt")  # the good bytes again: repaired
    assert eos(env, "verify").stdout.splitlines() == [
        "checked 1 versions, 1 blobs (6 B): 0 missing, 0 corrupt"
    ]

    assert eos(env, "gc", "--dry-run", "--grace", "0").stdout.splitlines() == [
        "would delete 1 purged (6 B)",
        "would delete 6 B in all; kept 1 live blobs, 0 younger than the grace period, "
        "0 used again while gc ran",
    ]
    assert "EOS_ADMIN" in eos(env, "gc", "--grace", "0", code=1).stderr
    assert store.exists(blob_key(h_p))
    report = json.loads(eos({**env, "EOS_ADMIN": "1"}, "gc", "--grace", "0", "--json").stdout)
    assert report == {"dry_run": False, "grace_seconds": 0.0, "live": 1, "kept_young": 0,
                      "kept_rechecked": 0, "pruned": {},
                      "deleted": {"purged": {"count": 1, "bytes": 6}}, "lost": []}
    assert not store.exists(blob_key(h_p)) and store.exists(blob_key(h_a))
    with Catalog.open() as cat:
        assert cat.read_bytes("d/a.txt") == b"alpha\n"


def test_cli_verify_and_gc_on_s3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 s3_server: Any, s3_client: Any) -> None:
    env = cli_env(tmp_path, monkeypatch, (s3_server.endpoint_url, make_bucket(s3_client)))
    _, h_a, h_p = setup_purged_and_corrupt(tmp_path)
    bad = hash_bytes(b"alphx\n")
    assert eos(env, "verify", code=1).stdout.splitlines() == [
        f"corrupt: {h_a} (its bytes hash to {bad}), moved to "
        f"{QUARANTINE}{blob_key(h_a)}; used by eos://users/ada/d/a.txt@1",
        "checked 1 versions, 1 blobs (6 B): 0 missing, 1 corrupt",
    ]
    with Catalog.open() as cat:
        assert cat.store.get(QUARANTINE + blob_key(h_a)) == b"alphx\n"
    assert eos({**env, "EOS_ADMIN": "1"}, "gc", "--grace", "0").stdout.splitlines() == [
        "deleted 1 purged (6 B)",
        "deleted 6 B in all; kept 0 live blobs, 0 younger than the grace period, "
        "0 used again while gc ran",
    ]
    with Catalog.open() as cat:
        assert not cat.store.exists(blob_key(h_p))
