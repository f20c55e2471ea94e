"""A Hypothesis state machine of writes, retention, time and garbage collection (invariants 4, 5).

The catalog (a MemoryStore, one client, admin) runs put (new bytes, bytes other names hold,
a name's own latest bytes again, bytes no readable version names any more), rm, undelete,
rollback, tag, untag, purge (a version or a whole name), orphan uploads (blobs no changeset
names: an upload whose commit never came), retention rules set and removed, the clock moving
on by hours or days, and ``gc`` (grace 0, 1 h or 24 h; with or without ``prune``; dry run or
not; after a wait, or at an edge: an instant where one of its comparisons sits on its
boundary, or a microsecond either side), over three names in ``org`` and one in
``scratch/ada`` (which expires after two days). A plain model keeps every version (its bytes,
creation time, expiry, purged or not), the tags, the retention rules and, per blob, when it
was last written or reused.

Times are the model's: the catalog reads the model's clock, and since a MemoryStore stamps
writes with the wall clock, every blob the catalog writes or touches is found by its stamp
(it differs from the one the model last set) and back-dated to the model's ``now``. Which
blobs were written or touched is itself checked: new bytes are written, reused bytes that no
version live now names (none, or only purged or expired ones) are touched, and nothing else is.

After every step: the store holds exactly the model's blobs; every name's versions (kind,
hash, creation time, expiry, purged, tags) are the model's; every readable version reads back
its bytes and every purged, deleted or expired one refuses; ``verify`` finds nothing wrong;
and a dry run of gc with prune, for each grace, reports what the model predicts. Before each
gc, dry runs at the next few edges; then the gc itself. What the model predicts: with
``prune``, each name under a rule (the longest matching prefix, chosen by the model) loses the
versions that rule does not keep (the model's own reckoning, checked against
``versions_to_prune`` too); then the blobs deleted, by reason, are exactly those no live
version names (none ever: ``unreferenced``; only purged versions: ``purged``; only scratch
versions expired by ``now - grace``: ``expired``) and last written or reused before
``now - grace``; the others are counted as live or young.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import NamedTuple

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from eoscatalog import Catalog, ConflictError, DeletedError, EosError, NotFoundError, hash_bytes
from eoscatalog.core.units import format_time
from eoscatalog.log.records import VersionRecord
from eoscatalog.rules.retention import RetentionRule, versions_to_prune
from eoscatalog.store import MemoryStore, blob_key

USER = "ada"
SCRATCH = f"scratch/{USER}"
Key = tuple[str, str]  # (namespace, name)
# The scratch name first: Hypothesis draws the first of a list most often, and expiry makes
# the rarest states (expired versions to undelete, renew or collect).
SCRATCH_KEY: Key = (SCRATCH, "tmp.bin")
KEYS: tuple[Key, ...] = (SCRATCH_KEY, ("org", "raw/a.bin"), ("org", "raw/b.bin"), ("org", "c.bin"))
PREFIXES: tuple[Key, ...] = (("org", ""), (SCRATCH, ""), ("org", "raw/"))
TAGS = ("prod", "paper")
SCRATCH_TTL = timedelta(days=2)
START = datetime(2030, 1, 1, tzinfo=timezone.utc)
BLOBS = "blobs/blake3/"

# A small pool: the same bytes under several names and versions, orphans later reused.
CONTENTS = (b"", b"one", b"two", b"three", b"\x00\xff")
contents = st.sampled_from(CONTENTS)
# Bytes only the scratch name holds, so that its expiry alone decides their blob's fate.
put_items = st.tuples(st.sampled_from(KEYS), contents) | st.tuples(
    st.just(SCRATCH_KEY), st.sampled_from([b"tmp-1", b"tmp-2"]))
orphan_contents = st.sampled_from((b"orphan-1", b"orphan-2", *CONTENTS))


GRACES = {"0": timedelta(0), "1h": timedelta(hours=1), "24h": timedelta(hours=24)}
PROBES = 6  # dry runs at the next edges before each gc


class GcRun(NamedTuple):
    """The options of one ``gc`` call."""

    grace: str
    prune: bool
    dry_run: bool


# When a gc runs: after a wait, or at an edge (what, which one, offset in microseconds): an
# instant where one of its comparisons sits on its boundary, or a microsecond either side
# (see GcMachine._edges).
Edge = tuple[str, int, int]
gc_runs = st.builds(
    GcRun,
    grace=st.sampled_from(list(GRACES)),
    prune=st.sampled_from([True, True, False]),
    dry_run=st.sampled_from([False, False, True]),
)
gc_times = st.sampled_from([timedelta(hours=h) for h in (0, 1, 24, 25, 72)]) | st.tuples(
    st.sampled_from(["written", "expires", "made"]), st.integers(0, 7),
    st.sampled_from([0, 1, -1]))
retention_rules = st.builds(
    lambda prefix, keep_last, keep_tagged, keep_days: RetentionRule(
        *prefix, keep_last, keep_tagged, keep_days),
    st.sampled_from(PREFIXES), st.none() | st.integers(1, 2), st.booleans(),
    st.none() | st.sampled_from([0.0, 0.5, 1.0, 2.0]),
)


def uri(key: Key) -> str:
    return f"eos://{key[0]}/{key[1]}"


def expect_error(expected: type[EosError], action: Callable[[], object]) -> None:
    """``action`` raises exactly ``expected`` (not a parent or a sibling)."""
    with pytest.raises(EosError) as info:
        action()
    assert type(info.value) is expected, (
        f"expected {expected.__name__}, got {type(info.value).__name__}: {info.value}"
    )


@dataclass(frozen=True)
class Version:
    """The model of one version: bytes (None: a delete marker), when its changeset was made,
    when it expires (scratch only) and whether it was purged."""

    kind: str
    data: bytes | None
    created: datetime
    expires: datetime | None = None
    purged: bool = False

    @property
    def hash(self) -> str | None:
        return None if self.data is None else hash_bytes(self.data)

    def expired(self, when: datetime) -> bool:
        return self.expires is not None and self.expires <= when

    def readable(self, when: datetime) -> bool:
        return self.data is not None and not self.purged and not self.expired(when)


@dataclass
class Prediction:
    """What the model expects of one gc: versions purged per name (``prune``), blobs deleted
    by reason (key and size), and how many blobs it keeps as live and as young."""

    purges: dict[Key, list[int]]
    deleted: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    live: int = 0
    young: int = 0


class GcMachine(RuleBasedStateMachine):
    """The catalog and its store against the model described in the module docstring."""

    def __init__(self) -> None:
        super().__init__()
        self.now = START
        self.store = MemoryStore()
        self.catalog = Catalog(self.store, ":memory:", user=USER, admin=True,
                               clock=lambda: self.now, scratch_ttl=SCRATCH_TTL.total_seconds())
        self.history: dict[Key, list[Version]] = {key: [] for key in KEYS}
        self.tags: dict[Key, dict[str, int]] = {key: {} for key in KEYS}
        self.rules: dict[Key, RetentionRule] = {}
        self.blobs: dict[str, tuple[bytes, datetime]] = {}  # hash -> bytes, last written/reused
        self.stamps: dict[str, str] = {}  # blob key -> the modified time this test last set
        self.last_created: dict[str, datetime] = {}  # namespace -> its last changeset's time

    def teardown(self) -> None:
        self.catalog.close()

    # -- the model's helpers ---------------------------------------------------------------------

    def _changeset(self, namespace: str) -> datetime:
        """A changeset's time: ``now``, or just after the namespace's last one (a lagging or
        stopped clock), as Replay.commit makes it."""
        last = self.last_created.get(namespace)
        created = self.now if last is None or self.now > last else last + timedelta(
            microseconds=1)
        self.last_created[namespace] = created
        return created

    def _expiry(self, key: Key) -> datetime | None:
        return self.now + SCRATCH_TTL if key[0].startswith("scratch/") else None

    def _add(self, key: Key, kind: str, data: bytes | None) -> None:
        expires = self._expiry(key) if data is not None else None
        self.history[key].append(Version(kind, data, self._changeset(key[0]), expires))

    def _latest(self, key: Key) -> tuple[int, Version] | None:
        """``latest`` as the index has it: the newest version not purged (maybe a marker)."""
        return next(((n, v) for n, v in reversed(list(enumerate(self.history[key], 1)))
                     if not v.purged), None)

    def _named(self, hash_string: str) -> bool:
        """Whether a live version names the blob (not purged, not expired now): gc's own
        test at ``now`` (``hash_is_live``), which decides whether a reused blob is touched."""
        return any(v.hash == hash_string and not v.purged and not v.expired(self.now)
                   for history in self.history.values() for v in history)

    def _readable_error(self, key: Key, number: int | None) -> type[EosError] | None:
        """The error reading ``key@number`` (None: latest) raises, or None if it reads."""
        if number is None:
            latest = self._latest(key)
            number = latest[0] if latest else None
        if number is None or number > len(self.history[key]):
            return NotFoundError
        version = self.history[key][number - 1]
        if version.purged:
            return NotFoundError
        if version.data is None:
            return DeletedError
        return NotFoundError if version.expired(self.now) else None

    def _purge(self, key: Key, numbers: list[int]) -> None:
        for number in numbers:
            self.history[key][number - 1] = replace(self.history[key][number - 1], purged=True)
        self.tags[key] = {t: n for t, n in self.tags[key].items() if n not in numbers}

    def _to_prune(self, key: Key, retention: RetentionRule) -> list[int]:
        """The versions of ``key`` no keep of ``retention`` keeps: versions with bytes, not
        purged, other than the latest (a delete marker counts as latest), the last
        ``keep_last`` with bytes, the tagged ones (``keep_tagged``) and those made within
        ``keep_days`` of now."""
        history = list(enumerate(self.history[key], 1))
        candidates = [n for n, v in history if v.data is not None and not v.purged]
        if not candidates:
            return []
        kept = {max(n for n, v in history if not v.purged)}
        if retention.keep_last:
            kept |= set(candidates[-retention.keep_last:])
        if retention.keep_tagged:
            kept |= set(self.tags[key].values())
        if retention.keep_days is not None:
            since = self.now - timedelta(days=retention.keep_days)
            kept |= {n for n in candidates if self.history[key][n - 1].created >= since}
        return [n for n in candidates if n not in kept]

    def _records(self, key: Key) -> list[VersionRecord]:
        """The model's history as the index would list it (for ``versions_to_prune``)."""
        tagged: dict[int, list[str]] = {}
        for tag, number in self.tags[key].items():
            tagged.setdefault(number, []).append(tag)
        return [
            VersionRecord(
                key[0], key[1], n, v.kind, v.hash, None if v.data is None else len(v.data),
                format_time(v.created), USER,
                expires=None if v.expires is None else format_time(v.expires),
                purged=v.purged, tags=tuple(sorted(tagged.get(n, ()))),
            )
            for n, v in enumerate(self.history[key], 1)
        ]

    def _edges(self, grace: timedelta, what: str | None = None,
               offset: int | None = None) -> list[datetime]:
        """Instants from now on where a gc with ``grace`` (or a prune) decides on a boundary
        (``>=`` against ``>`` there tells a right gc from a wrong one), or ``offset``
        microseconds either side (all three when None): when a blob was ``written`` plus the
        grace, when a scratch version ``expires`` plus the grace, when a version was ``made``
        plus a rule's ``keep_days`` (all of them when ``what`` is None)."""
        versions = [v for history in self.history.values() for v in history]
        edges = {
            "written": {modified + grace for _, modified in self.blobs.values()},
            "expires": {v.expires + grace for v in versions if v.expires is not None},
            "made": {v.created + timedelta(days=r.keep_days) for v in versions
                     for r in self.rules.values() if r.keep_days is not None},
        }
        chosen = [e for kind, group in edges.items() if what in (None, kind) for e in group]
        shifts = [timedelta(microseconds=o) for o in ((-1, 0, 1) if offset is None else
                                                      (offset,))]
        return sorted({e + shift for e in chosen for shift in shifts if e + shift >= self.now})

    def _sync_blob_times(self, written: set[str]) -> None:
        """Check that the catalog wrote or touched exactly the blobs ``written`` (hashes) since
        the last step, and back-date them to the model's ``now``."""
        listing = {info.key: info.modified for info in self.store.list(BLOBS)}
        changed = {k for k, modified in listing.items() if self.stamps.get(k) != modified}
        assert changed == {blob_key(h) for h in written}, "blobs written or touched"
        for hash_string in written:
            data, _ = self.blobs[hash_string]
            self.blobs[hash_string] = (data, self.now)
            self.store.set_modified(blob_key(hash_string), self.now)
            self.stamps[blob_key(hash_string)] = self.now.isoformat()

    # -- rules -----------------------------------------------------------------------------------

    @initialize(items=st.lists(put_items, min_size=3, max_size=10))
    def seed(self, items: list[tuple[Key, bytes]]) -> None:
        self.put(items)

    # One argument, not two: Hypothesis orders rules by their number of arguments, then name,
    # and draws the first most often. A few puts per step (one changeset each): histories
    # long enough for rollback, undelete and retention to choose among versions.
    @rule(items=st.lists(put_items, min_size=1, max_size=4))
    def put(self, items: list[tuple[Key, bytes]]) -> None:
        for key, data in items:
            self._put(key, data)

    def _put(self, key: Key, data: bytes) -> None:
        digest = hash_bytes(data)
        uploaded = digest not in self.blobs
        # Reused bytes that no version names (orphans, purged) are touched; named ones are not.
        written = {digest} if uploaded or not self._named(digest) else set()
        if uploaded:
            self.blobs[digest] = (data, self.now)
        latest = self._latest(key)
        unchanged = latest is not None and latest[1].data == data
        result = self.catalog.put_bytes(data, uri(key))
        assert (result.uploaded, result.created) == (uploaded, not unchanged)
        if latest is None or not unchanged:
            self._add(key, "put", data)
            assert result.record.version == len(self.history[key])
        else:
            assert result.record.version == latest[0]
            expires = self._expiry(key)
            if expires is not None and latest[1].expires != expires:
                # A scratch name put again unchanged: its expiry is renewed, no version.
                self._changeset(key[0])
                self.history[key][latest[0] - 1] = replace(latest[1], expires=expires)
        self._sync_blob_times(written)

    @rule(data=orphan_contents)
    def upload_orphan(self, data: bytes) -> None:
        """Bytes stored with no changeset naming them (an upload whose commit never came).
        Already stored bytes are left as they are: ``put_blob_bytes`` does not touch."""
        digest = hash_bytes(data)
        written = {digest} if digest not in self.blobs else set()
        if written:
            self.blobs[digest] = (data, self.now)
        assert self.store.put_blob_bytes(data) == digest
        self._sync_blob_times(written)

    def _with_bytes(self) -> list[Key]:
        """Names whose latest version (purged ones aside) has bytes, expired or not."""
        return [k for k in KEYS if (latest := self._latest(k)) is not None
                and latest[1].data is not None]

    @precondition(lambda self: self._with_bytes())
    @rule(data=st.data())
    def put_again(self, data: st.DataObject) -> None:
        """Put a name's latest bytes again: no version; a scratch name's expiry is renewed
        (and its blob stored again if gc took it after it expired)."""
        key = data.draw(st.sampled_from(self._with_bytes()), label="key")
        latest = self._latest(key)
        assert latest is not None and latest[1].data is not None
        self._put(key, latest[1].data)

    def _unnamed_blobs(self) -> list[str]:
        """Stored blobs no readable version names: purged bytes first (Hypothesis draws the
        first most often), then expired ones and orphans."""
        versions = [v for history in self.history.values() for v in history]
        readable = {v.hash for v in versions if v.readable(self.now)}
        purged = {v.hash for v in versions if v.purged}
        return sorted((h for h in self.blobs if h not in readable),
                      key=lambda h: (h not in purged, h))

    @precondition(lambda self: self._unnamed_blobs())
    @rule(data=st.data())
    def reuse(self, data: st.DataObject) -> None:
        """Put bytes whose blob no readable version names (gc may be about to take it): an
        orphan or purged blob is touched, one an expired version still names is not."""
        digest = data.draw(st.sampled_from(self._unnamed_blobs()), label="blob")
        key = data.draw(st.sampled_from(KEYS), label="key")
        self._put(key, self.blobs[digest][0])

    def _draw_key(self, data: st.DataObject, deleted: bool) -> Key:
        """A name whose latest version is (``deleted``) or is not a delete marker, most
        often, so that rm and undelete often do something; any name otherwise."""
        fitting = [k for k in KEYS if (latest := self._latest(k)) is not None
                   and (latest[1].data is None) == deleted]
        return data.draw((st.sampled_from(fitting) if fitting else st.nothing())
                         | st.sampled_from(KEYS), label="key")

    @rule(data=st.data())
    def rm(self, data: st.DataObject) -> None:
        key = self._draw_key(data, deleted=False)
        latest = self._latest(key)
        if latest is None:
            expect_error(NotFoundError, lambda: self.catalog.rm(uri(key)))
        elif latest[1].data is None:
            expect_error(DeletedError, lambda: self.catalog.rm(uri(key)))
        else:
            record = self.catalog.rm(uri(key))
            self._add(key, "delete", None)
            assert (record.version, record.kind) == (len(self.history[key]), "delete")
        self._sync_blob_times(set())

    @rule(data=st.data())
    def undelete(self, data: st.DataObject) -> None:
        """Undelete, at once or once the scratch TTL passed (what it would restore may have
        expired, and gc may have taken its bytes)."""
        key = self._draw_key(data, deleted=True)
        self.now += data.draw(st.sampled_from([timedelta(0), SCRATCH_TTL]), label="after")
        latest = self._latest(key)
        if latest is None:
            expect_error(NotFoundError, lambda: self.catalog.undelete(uri(key)))
        elif latest[1].data is not None:
            expect_error(ConflictError, lambda: self.catalog.undelete(uri(key)))
        else:
            # The newest version before the marker that is readable now (not purged, expired).
            restorable = next(
                ((n, v) for n, v in reversed(list(enumerate(self.history[key], 1)))
                 if n < latest[0] and v.readable(self.now)), None)
            if restorable is None:
                expect_error(NotFoundError, lambda: self.catalog.undelete(uri(key)))
            else:
                record = self.catalog.undelete(uri(key))
                self._add(key, "undelete", restorable[1].data)
                assert (record.version, record.source_version) == (
                    len(self.history[key]), restorable[0])
        self._sync_blob_times(set())

    def _draw_version(self, data: st.DataObject, key: Key) -> int:
        """A version of ``key``, or one past its last (which does not exist)."""
        return data.draw(st.integers(1, len(self.history[key]) + 1), label="version")

    @rule(key=st.sampled_from(KEYS), data=st.data())
    def rollback(self, key: Key, data: st.DataObject) -> None:
        to = self._draw_version(data, key)
        error = self._readable_error(key, to)
        if error is not None:
            expect_error(error, lambda: self.catalog.rollback(uri(key), to))
        else:
            target = self.history[key][to - 1]
            latest = self._latest(key)
            record = self.catalog.rollback(uri(key), to)
            if latest is not None and latest[1].data == target.data:
                assert record.version == latest[0]  # already holds those bytes: no version
            else:
                self._add(key, "rollback", target.data)
                assert (record.version, record.source_version) == (len(self.history[key]), to)
        self._sync_blob_times(set())

    @rule(data=st.data())
    def tag(self, data: st.DataObject) -> None:
        """Tag ``key@version``, or its latest version (moving a tag needs ``force``)."""
        key = data.draw(st.sampled_from(KEYS), label="key")
        history = self.history[key]
        # Readable versions, oldest first, most often: tags retention must keep.
        readable = [n for n, v in enumerate(history, 1) if v.readable(self.now)]
        version = data.draw(
            (st.sampled_from(readable) if readable else st.nothing())
            | st.integers(1, len(history) + 1) | st.none(), label="version")
        tag = data.draw(st.sampled_from(TAGS), label="tag")
        force = data.draw(st.booleans(), label="force")
        ref = uri(key) if version is None else f"{uri(key)}@{version}"
        error = self._readable_error(key, version)
        current = self.tags[key].get(tag)
        if error is None:
            latest = self._latest(key)
            assert latest is not None
            target = version if version is not None else latest[0]
            if current is not None and current != target and not force:
                error = ConflictError
        if error is not None:
            expect_error(error, lambda: self.catalog.tag(ref, tag, force=force))
        else:
            record = self.catalog.tag(ref, tag, force=force)
            assert record.version == target
            if current != target:
                self.tags[key][tag] = target
                self._changeset(key[0])
        self._sync_blob_times(set())

    @rule(data=st.data())
    def untag(self, data: st.DataObject) -> None:
        """Remove a tag (one that exists, when there is one)."""
        tagged = [(key, tag) for key in KEYS for tag in self.tags[key]]
        key, tag = data.draw(st.sampled_from(tagged or [(KEYS[0], TAGS[0])]), label="tag")
        if tag not in self.tags[key]:
            expect_error(NotFoundError, lambda: self.catalog.untag(uri(key), tag))
        else:
            self.catalog.untag(uri(key), tag)
            del self.tags[key][tag]
            self._changeset(key[0])
        self._sync_blob_times(set())

    @rule(key=st.sampled_from(KEYS), data=st.data())
    def purge(self, key: Key, data: st.DataObject) -> None:
        """Purge one version or the whole name (purging what is purged writes nothing)."""
        # 0: the whole name (less often than one version, which keeps histories long enough
        # for retention to prune).
        number = data.draw(st.integers(0, len(self.history[key]) + 1), label="version")
        version = number or None
        history = self.history[key]
        ref = uri(key) if version is None else f"{uri(key)}@{version}"
        if not history or (version is not None and version > len(history)):
            expect_error(NotFoundError, lambda: self.catalog.purge(ref))
        else:
            chosen = range(1, len(history) + 1) if version is None else [version]
            expected = [n for n in chosen if not history[n - 1].purged]
            assert self.catalog.purge(ref) == expected
            if expected:
                self._purge(key, expected)
                self._changeset(key[0])
        self._sync_blob_times(set())

    @initialize(rules=st.lists(retention_rules, max_size=3, unique_by=lambda r: r.uri))
    def retention(self, rules: list[RetentionRule]) -> None:
        """Rules from the start (in runs that turn ``set_retention`` off, too)."""
        for retention in rules:
            self.set_retention(retention)

    @rule(retention=retention_rules)
    def set_retention(self, retention: RetentionRule) -> None:
        prefix = (retention.namespace, retention.prefix)
        self.rules[prefix] = retention
        rules = self.catalog.set_retention(
            uri(prefix), keep_last=retention.keep_last, keep_tagged=retention.keep_tagged,
            keep_days=retention.keep_days)
        assert rules == [self.rules[p] for p in sorted(self.rules)]

    @rule(data=st.data())
    def remove_retention(self, data: st.DataObject) -> None:
        """Remove a rule (one that is set, when there is one)."""
        prefix = data.draw(st.sampled_from(sorted(self.rules) or PREFIXES), label="prefix")
        if prefix not in self.rules:
            expect_error(NotFoundError,
                         lambda: self.catalog.set_retention(uri(prefix), remove=True))
        else:
            del self.rules[prefix]
            rules = self.catalog.set_retention(uri(prefix), remove=True)
            assert rules == [self.rules[p] for p in sorted(self.rules)]

    @rule(days=st.integers(0, 3), hours=st.sampled_from([0, 1, 6, 23]))
    def advance_time(self, days: int, hours: int) -> None:
        self.now += timedelta(days=days, hours=hours)

    # Two arguments: Hypothesis orders rules by their number of arguments, then name, and
    # draws the first most often; that should be put (histories long enough to prune), not gc.
    @rule(run=gc_runs, when=gc_times)
    def gc(self, run: GcRun, when: timedelta | Edge) -> None:
        """gc after a wait (so runs that turned ``advance_time`` off still age blobs), or at
        an edge. Dry runs at the next edges first: each is a boundary the real run may miss."""
        grace = GRACES[run.grace]
        now = self.now
        for instant in self._edges(grace)[:PROBES]:
            self.now = instant  # a dry run changes nothing: the clock can come back
            self._check_gc(run.grace, prune=True, dry_run=True)
        self.now = now
        if isinstance(when, timedelta):
            self.now += when
        else:
            what, which, offset = when
            edges = self._edges(grace, what, offset) or self._edges(grace)
            self.now = edges[which % len(edges)] if edges else self.now
        prediction = self._check_gc(run.grace, prune=run.prune, dry_run=run.dry_run)
        if not run.dry_run:
            for key, doomed in prediction.purges.items():
                self._purge(key, doomed)
            for namespace in sorted({key[0] for key in prediction.purges}):
                self._changeset(namespace)  # one changeset of purges per namespace
            for key, _ in (item for items in prediction.deleted.values() for item in items):
                self.blobs.pop("blake3:" + key.rsplit("/", 1)[-1])
                self.stamps.pop(key)
        self._sync_blob_times(set())

    def _check_gc(self, grace: str, *, prune: bool, dry_run: bool) -> Prediction:
        """Run gc now and check its report against the model's prediction."""
        prediction = self._predict(GRACES[grace], prune=prune, dry_run=dry_run)
        report = self.catalog.gc(grace=grace, dry_run=dry_run, prune=prune)
        where = f"gc(grace={grace}, prune={prune}, dry_run={dry_run}) at {self.now}"
        assert report.pruned == {uri(k): v for k, v in prediction.purges.items()}, where
        assert {r: sorted(items) for r, items in report.deleted.items()} == {
            r: sorted(items) for r, items in prediction.deleted.items()
        }, where
        assert (report.live, report.kept_young, report.kept_rechecked) == (
            prediction.live, prediction.young, 0), where
        return prediction

    def _predict(self, grace: timedelta, *, prune: bool, dry_run: bool) -> Prediction:
        """What gc does now (the model is left as it is).

        ``prune``: each name under a rule (the most specific: the longest prefix) loses the
        versions that rule does not keep; a dry run only reports them, so its blobs are judged
        on the versions as they are. Then each stored blob is ``live`` (a version neither
        purged nor expired by ``now - grace`` names it), ``young`` (written or reused since
        ``now - grace``) or deleted: ``expired`` (only expired versions name it), ``purged``
        (only purged ones) or ``unreferenced`` (none).
        """
        purges: dict[Key, list[int]] = {}
        for key in KEYS if prune else ():
            prefixes = [p for ns, p in self.rules if ns == key[0] and key[1].startswith(p)]
            if not prefixes or not self.history[key]:
                continue
            chosen = self.rules[(key[0], max(prefixes, key=len))]
            doomed = self._to_prune(key, chosen)
            assert doomed == versions_to_prune(self._records(key), chosen, self.now)
            if doomed:
                purges[key] = doomed
        cutoff = self.now - grace
        states: dict[str, int] = {}  # 2 live, 1 expired, 0 purged (blob_states)
        for key, history in self.history.items():
            gone = set() if dry_run else set(purges.get(key, ()))
            for number, v in enumerate(history, 1):
                if v.hash is None:
                    continue
                state = (0 if v.purged or number in gone
                         else 1 if v.expires is not None and v.expires <= cutoff else 2)
                states[v.hash] = max(state, states.get(v.hash, 0))
        prediction = Prediction(purges)
        for digest, (data, modified) in sorted(self.blobs.items()):
            state = states.get(digest, -1)
            if state == 2:
                prediction.live += 1
            elif modified >= cutoff:
                prediction.young += 1
            else:
                reason = {1: "expired", 0: "purged", -1: "unreferenced"}[state]
                prediction.deleted.setdefault(reason, []).append((blob_key(digest), len(data)))
        return prediction

    # -- invariants ------------------------------------------------------------------------------

    @invariant()
    def dry_runs_predicted(self) -> None:
        """A dry run with prune, for each grace, reports what the model predicts now."""
        for grace in GRACES:
            self._check_gc(grace, prune=True, dry_run=True)

    @invariant()
    def store_holds_the_models_blobs(self) -> None:
        listing = {info.key: info.modified for info in self.store.list(BLOBS)}
        assert listing == {blob_key(h): modified.isoformat()
                           for h, (_, modified) in self.blobs.items()}

    @invariant()
    def versions_match_the_model(self) -> None:
        for key in KEYS:
            if not self.history[key]:
                expect_error(NotFoundError, lambda k=key: self.catalog.versions(uri(k)))
                continue
            tagged = {n: tuple(sorted(t for t, m in self.tags[key].items() if m == n))
                      for n in range(1, len(self.history[key]) + 1)}
            got = [(r.version, r.kind, r.hash, r.created, r.expires, r.purged, r.tags)
                   for r in self.catalog.versions(uri(key))]
            assert got == [
                (r.version, r.kind, r.hash, r.created, r.expires, r.purged, tagged[r.version])
                for r in self._records(key)
            ], uri(key)

    @invariant()
    def readable_versions_read_back(self) -> None:
        readable = 0
        hashes = set()
        for key in KEYS:
            for number, version in enumerate(self.history[key], 1):
                ref = f"{uri(key)}@{number}"
                error = self._readable_error(key, number)
                if error is not None:
                    expect_error(error, lambda r=ref: self.catalog.read_bytes(r))
                    continue
                assert self.catalog.read_bytes(ref) == version.data, ref
                readable += 1
                hashes.add(version.hash)
        report = self.catalog.verify(all_namespaces=True)
        assert report.ok and not report.problems, report.problems
        assert (report.versions, report.blobs) == (readable, len(hashes))


@pytest.mark.slow
def test_gc_state_machine() -> None:
    """Fixed seed (derandomized) so CI runs the same examples every time."""
    run_state_machine_as_test(
        GcMachine,
        settings=settings(max_examples=40, stateful_step_count=30, deadline=None,
                          derandomize=True, database=None),
    )
