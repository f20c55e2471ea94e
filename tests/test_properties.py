"""Property-based tests (Hypothesis) of the catalog, on the local store and on S3 over HTTP.

* Round trips: arbitrary bytes (empty, small, around the 1 MiB read chunk, above the 4 MiB
  multi-threaded hashing threshold) come back exactly through ``put_bytes``/``read_bytes`` and
  ``put``/``get``, under the name, ``@1`` and ``@blake3:<prefix>``; equal bytes are stored once.
* A state machine of put, rm, undelete, rollback, tag, untag, purge and get over a few names,
  checked after every step against a plain dict model (each name's versions, which of them are
  purged, and tags), by this client, by a fresh one and by a replay of the log alone. Operations
  the model calls illegal must raise the same error in the catalog and write nothing; no-ops
  (equal bytes put again, purging what is purged) write nothing either.

Hypothesis runs many examples per test, so every example builds its own store (a temporary
folder, or a fresh S3 bucket) instead of reusing function-scoped fixtures.
"""

from __future__ import annotations

import random
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from conftest import S3Endpoint, make_bucket
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from eoscatalog import (
    Catalog,
    ConflictError,
    DeletedError,
    EosError,
    NotFoundError,
    VersionRecord,
    hash_bytes,
)
from eoscatalog.log.changesets import Log
from eoscatalog.log.index import Index
from eoscatalog.store import LocalStore, S3Store, Store

USER = "ada"
NAMESPACE = f"users/{USER}"
MIB = 1024 * 1024

StoreMaker = Callable[[], AbstractContextManager[tuple[Store, Path]]]

# -- stores built per example --------------------------------------------------------------------


@contextmanager
def local_store() -> Iterator[tuple[Store, Path]]:
    """A fresh local store and a scratch folder, both removed afterwards."""
    tmp = Path(tempfile.mkdtemp(prefix="eos-prop-"))
    try:
        yield LocalStore(tmp / "store" / "acme", create=True), tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def s3_store(s3_client: Any, endpoint_url: str, **options: Any) -> Iterator[tuple[Store, Path]]:
    """A fresh bucket (a fresh, empty store: small listings keep examples fast) and a scratch
    folder."""
    tmp = Path(tempfile.mkdtemp(prefix="eos-prop-"))
    store = S3Store(f"s3://{make_bucket(s3_client)}/acme", endpoint_url=endpoint_url, **options)
    try:
        yield store, tmp
    finally:
        store.close()
        shutil.rmtree(tmp, ignore_errors=True)


def close_index(catalog: Catalog) -> None:
    """Close a catalog's local state but not its store (``Catalog.close`` would close both)."""
    catalog.index.close()
    catalog.hash_cache.close()


def expect_error(
    expected: type[EosError], action: Callable[[], object], mentioning: str | None = None
) -> None:
    """``action`` raises exactly ``expected`` (not a parent or sibling class), with a message
    that contains ``mentioning`` if given."""
    with pytest.raises(EosError) as info:
        action()
    assert type(info.value) is expected, (
        f"expected {expected.__name__}, got {type(info.value).__name__}: {info.value}"
    )
    assert mentioning is None or mentioning in str(info.value), (
        f"expected {mentioning!r} in the message: {info.value}"
    )


# -- round trips ---------------------------------------------------------------------------------


def _pseudo_random_bytes(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


# Hypothesis draws small buffers itself; larger ones are built from a drawn seed and size, at the
# edges of the 1 MiB read/hash chunk and above the 4 MiB multi-threaded hashing threshold.
large_bytes = st.builds(
    _pseudo_random_bytes,
    st.integers(0, 2**32),
    st.sampled_from([MIB - 1, MIB, MIB + 1, 4 * MIB + 3]),
)
any_bytes = st.one_of(st.just(b""), st.binary(max_size=2048), large_bytes)


def check_round_trip(store: Store, tmp: Path, data: bytes) -> None:
    catalog = Catalog(store, tmp / "index.sqlite", user=USER)
    try:
        expected = hash_bytes(data)
        first = catalog.put_bytes(data, "in/memory.bin")
        assert (first.record.version, first.record.hash, first.record.size) == (
            1, expected, len(data)
        )
        assert first.created and first.uploaded
        assert catalog.read_bytes("in/memory.bin") == data
        assert catalog.read_bytes("in/memory.bin@1") == data
        assert catalog.read_bytes(f"in/memory.bin@{expected[:15]}") == data
        assert store.read_blob(expected) == data

        # The same bytes from a file under another name: a new name, no new blob.
        src = tmp / "src" / "file.bin"
        src.parent.mkdir(parents=True, exist_ok=True)
        src.write_bytes(data)
        second = catalog.put(src, "from/file.bin")
        assert (second.record.version, second.record.hash, second.record.size) == (
            1, expected, len(data)
        )
        assert second.created and not second.uploaded
        out = tmp / "out"
        out.mkdir()
        assert catalog.get("from/file.bin", out) == out / "file.bin"
        assert (out / "file.bin").read_bytes() == data
        assert catalog.get("in/memory.bin@1", out / "copy.dat").read_bytes() == data
        # The downloads, complete, and nothing else (no temporary file left behind).
        assert sorted(p.name for p in out.iterdir()) == ["copy.dat", "file.bin"]

        # Bytes never seen before, from a file: the file upload path stores a new blob.
        fresh = data + b"\x00fresh"
        src.write_bytes(fresh)
        third = catalog.put(src, "from/file.bin")
        assert (third.record.version, third.record.hash) == (2, hash_bytes(fresh))
        assert third.created and third.uploaded
        assert catalog.get("from/file.bin", out / "v2").read_bytes() == fresh
        assert catalog.read_bytes("from/file.bin@1") == data
        assert store.read_blob(hash_bytes(fresh)) == fresh
    finally:
        close_index(catalog)


@settings(max_examples=30, deadline=None)
@given(data=any_bytes)
def test_round_trip_local(data: bytes) -> None:
    with local_store() as (store, tmp):
        check_round_trip(store, tmp, data)


@pytest.mark.slow
# The endpoint fixture is per test but the same server for every example: each makes a bucket.
@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=any_bytes, multipart=st.booleans())
def test_round_trip_s3(s3_server_any: S3Endpoint, data: bytes, multipart: bool) -> None:
    """On moto and SeaweedFS; ``multipart`` sends files through the multipart upload path (one
    part below 5 MiB)."""
    options = {"multipart_threshold": 0, "part_size": 5 * MIB} if multipart else {}
    with s3_store(s3_server_any.client, s3_server_any.endpoint_url, **options) as (store, tmp):
        check_round_trip(store, tmp, data)


# -- the state machine ---------------------------------------------------------------------------

NAMES = ("data/a.bin", "données/é.csv")
TAGS = ("prod", "paper-2026")
CHECKPOINT_EVERY = 3  # so fresh clients start from a checkpoint and replay a short tail
# A small pool makes equal bytes (no-op puts, dedup, rollbacks to the same content) common.
contents = st.one_of(st.sampled_from([b"", b"one", b"two", b"\x00\xff"]), st.binary(max_size=64))
# What purge_existing may write to the name right after the purge (the first most often).
FOLLOW_UPS = ("rm", "put", "undelete", "rollback", "nothing")


@dataclass(frozen=True)
class Version:
    """The model of one version: its kind, bytes (None for a delete marker) and whether it was
    purged (it keeps its number, but nothing can read it, tag it or restore it any more)."""

    kind: str
    data: bytes | None
    purged: bool = False

    @property
    def hash(self) -> str | None:
        return None if self.data is None else hash_bytes(self.data)

    @property
    def readable(self) -> bool:
        return self.data is not None and not self.purged


def hash_ref(name: str, digest: str) -> str:
    """``name@blake3:<16 hex digits>``: a hash prefix long enough never to be ambiguous here."""
    return f"{name}@{digest[: len('blake3:') + 16]}"


class CatalogMachine(RuleBasedStateMachine):
    """The catalog against a plain dict model of every name's versions (purged ones included:
    they keep their numbers) and tags.

    Subclasses set ``make_store`` (a fresh store per run). On a slow store they may turn off
    ``read_all`` (download each version's bytes once, check its hash at every step) and
    ``online_reads`` (see :meth:`check_client`).
    """

    make_store: StoreMaker
    read_all: bool = True
    online_reads: bool = True

    def __init__(self) -> None:
        super().__init__()
        self._resources = ExitStack()
        self.store, self.tmp = self._resources.enter_context(type(self).make_store())
        self.catalog = Catalog(
            self.store, self.tmp / "index.sqlite", user=USER, checkpoint_every=CHECKPOINT_EVERY
        )
        self.replayed = Index(":memory:")  # the log alone, applied changeset by changeset
        self.fresh_checked = -1  # self.changesets when a fresh client last agreed
        self.history: dict[str, list[Version]] = {name: [] for name in NAMES}
        self.tags: dict[str, dict[str, int]] = {name: {} for name in NAMES}
        self.stored: set[bytes] = set()  # contents whose blob is in the store
        self.changesets = 0
        self.read: set[tuple[str, int]] = set()  # versions whose bytes were downloaded

    def teardown(self) -> None:
        close_index(self.catalog)
        self.replayed.close()
        self._resources.close()

    # -- the model's helpers ---------------------------------------------------------------------

    def _new_version(self, name: str, version: Version, record: VersionRecord) -> None:
        self.history[name].append(version)
        self.changesets += 1
        assert (record.version, record.kind, record.hash, record.purged) == (
            len(self.history[name]), version.kind, version.hash, False
        )

    def assert_history(self, name: str, records: list[VersionRecord]) -> None:
        """``records`` (oldest first) are the model's versions of ``name``, with its tags."""
        assert [(r.version, r.kind, r.hash, r.purged) for r in records] == [
            (i, v.kind, v.hash, v.purged) for i, v in enumerate(self.history[name], 1)
        ], name
        tagged: dict[int, set[str]] = {}
        for tag, version in self.tags[name].items():
            tagged.setdefault(version, set()).add(tag)
        assert {r.version: set(r.tags) for r in records if r.tags} == tagged, name

    def _latest(self, name: str) -> tuple[int, Version] | None:
        """``latest``: the newest version not purged (possibly a delete marker), and its number.

        None for a name with no version, or whose every version was purged."""
        return next(
            (
                (number, version)
                for number, version in reversed(list(enumerate(self.history[name], 1)))
                if not version.purged
            ),
            None,
        )

    def _live_latest(self, name: str) -> tuple[int, Version] | None:
        """``latest`` if it is readable (not a delete marker)."""
        latest = self._latest(name)
        return latest if latest is not None and latest[1].kind != "delete" else None

    # -- rules -----------------------------------------------------------------------------------

    @initialize(puts=st.lists(st.tuples(st.sampled_from(NAMES), contents), min_size=1, max_size=6))
    def seed(self, puts: list[tuple[str, bytes]]) -> None:
        """A few versions to start from. Swarm testing turns rules off at random for a whole run
        (each rule in half the runs, on average), but never this one: without it, half the runs
        had no version to rm, roll back, tag or purge."""
        for name, data in puts:
            self.put(name, data, as_file=False)

    # Two rules of two arguments, not one of three: Hypothesis orders rules by their number of
    # arguments and draws the first ones most often, and every other rule needs versions.
    @rule(name=st.sampled_from(NAMES), data=contents)
    def put_bytes(self, name: str, data: bytes) -> None:
        self.put(name, data, as_file=False)

    @rule(name=st.sampled_from(NAMES), data=contents)
    def put_file(self, name: str, data: bytes) -> None:
        self.put(name, data, as_file=True)

    def put(self, name: str, data: bytes, as_file: bool) -> None:
        if as_file:
            # One file per name, rewritten again and again: the hash cache must notice.
            path = self.tmp / "uploads" / name.replace("/", "_")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            result = self.catalog.put(path, name)
        else:
            result = self.catalog.put_bytes(data, name)
        assert result.uploaded == (data not in self.stored)  # equal bytes are stored once
        self.stored.add(data)
        latest = self._live_latest(name)
        if latest is not None and latest[1].data == data:
            # No version: the result is the latest (readable) one, purged numbers skipped.
            assert not result.created
            assert (result.record.version, result.record.hash) == (latest[0], hash_bytes(data))
        else:
            # Purged versions keep their numbers: a new version continues after them.
            assert result.created
            self._new_version(name, Version("put", data), result.record)

    @precondition(lambda self: self._names("live"))
    @rule(data=st.data(), as_file=st.booleans())
    def put_same(self, data: st.DataObject, as_file: bool) -> None:
        """Put the latest bytes again (often after the versions above them were purged): no
        version, no upload."""
        self._put_same(data.draw(st.sampled_from(self._names("live")), label="name"), as_file)

    def _put_same(self, name: str, as_file: bool) -> None:
        latest = self._live_latest(name)
        assert latest is not None and latest[1].data is not None
        self.put(name, latest[1].data, as_file)

    def _names(self, kind: str) -> list[str]:
        """Names whose latest version is a delete marker (``deleted``) or is readable."""
        return [
            name for name in NAMES
            if (latest := self._latest(name)) is not None
            and (latest[1].kind == "delete") == (kind == "deleted")
        ]

    @rule(name=st.sampled_from(NAMES))
    def rm(self, name: str) -> None:
        latest = self._latest(name)
        if latest is None:  # no version, or all purged
            expect_error(NotFoundError, lambda: self.catalog.rm(name))
        elif latest[1].kind == "delete":
            expect_error(DeletedError, lambda: self.catalog.rm(name))
        else:
            self._new_version(name, Version("delete", None), self.catalog.rm(name))

    @precondition(lambda self: self._names("live"))
    @rule(data=st.data())
    def rm_live(self, data: st.DataObject) -> None:
        """rm of a readable name: legal sequences (put, put, rm, undelete) come up often."""
        self.rm(data.draw(st.sampled_from(self._names("live")), label="name"))

    @rule(name=st.sampled_from(NAMES))
    def undelete(self, name: str) -> None:
        history = self.history[name]
        latest = self._latest(name)
        if latest is None:
            expect_error(NotFoundError, lambda: self.catalog.undelete(name))
        elif latest[1].kind != "delete":
            expect_error(ConflictError, lambda: self.catalog.undelete(name))
        else:
            # The newest readable version before the marker (the ones after it are purged).
            number, restored = next(
                ((i, v) for i, v in reversed(list(enumerate(history, 1))) if v.readable),
                (None, None),
            )
            if restored is None:
                expect_error(NotFoundError, lambda: self.catalog.undelete(name), "purged")
                return
            record = self.catalog.undelete(name)
            self._new_version(name, Version("undelete", restored.data), record)
            assert record.source_version == number

    @precondition(lambda self: self._names("deleted"))
    @rule(data=st.data())
    def undelete_deleted(self, data: st.DataObject) -> None:
        self.undelete(data.draw(st.sampled_from(self._names("deleted")), label="name"))

    def _rollback(self, name: str, to: int | None, selector: int | str) -> None:
        """Roll ``name`` back to model version ``to`` (None: the selector names nothing)."""
        history = self.history[name]
        if to is None or to > len(history):
            expect_error(NotFoundError, lambda: self.catalog.rollback(name, selector))
        elif history[to - 1].purged:
            expect_error(NotFoundError, lambda: self.catalog.rollback(name, selector), "purged")
        elif history[to - 1].kind == "delete":
            expect_error(DeletedError, lambda: self.catalog.rollback(name, selector))
        else:
            target = history[to - 1]
            record = self.catalog.rollback(name, selector)
            latest = self._live_latest(name)
            if latest is not None and latest[1].data == target.data:
                assert (record.version, record.hash) == (latest[0], target.hash)
            else:
                self._new_version(name, Version("rollback", target.data), record)
                assert record.source_version == to

    @rule(name=st.sampled_from(NAMES), to=st.integers(1, 8))
    def rollback(self, name: str, to: int) -> None:
        self._rollback(name, to, to)

    @precondition(lambda self: any(self.history.values()))
    @rule(data=st.data())
    def rollback_existing(self, data: st.DataObject) -> None:
        """Rollback to a version that exists (possibly a delete marker or purged)."""
        name = data.draw(st.sampled_from([n for n, h in self.history.items() if h]), label="name")
        to = data.draw(st.integers(1, len(self.history[name])), label="to")
        self._rollback(name, to, to)

    @rule(name=st.sampled_from(NAMES), tag=st.sampled_from(TAGS))
    def rollback_to_tag(self, name: str, tag: str) -> None:
        self._rollback(name, self.tags[name].get(tag), tag)

    @rule(
        name=st.sampled_from(NAMES),
        version=st.none() | st.integers(1, 8),
        tag=st.sampled_from(TAGS),
        force=st.booleans(),
    )
    def tag(self, name: str, version: int | None, tag: str, force: bool) -> None:
        """Tag ``name`` (its latest version) or ``name@version``."""
        history = self.history[name]
        ref = name if version is None else f"{name}@{version}"
        latest = self._latest(name)
        target = version if version is not None else latest[0] if latest else None

        def act() -> VersionRecord:
            return self.catalog.tag(ref, tag, force=force)

        current = self.tags[name].get(tag)
        if target is None or target > len(history):
            expect_error(NotFoundError, act)
        elif history[target - 1].purged:
            expect_error(NotFoundError, act, "purged")
        elif history[target - 1].kind == "delete":
            expect_error(DeletedError, act)
        elif current is not None and current != target and not force:
            expect_error(ConflictError, act)
        else:
            record = act()
            assert (record.version, record.hash) == (target, history[target - 1].hash)
            assert tag in record.tags
            if current != target:
                self.tags[name][tag] = target
                self.changesets += 1

    @precondition(lambda self: any(self.history.values()))
    @rule(data=st.data(), tag=st.sampled_from(TAGS), force=st.booleans())
    def tag_existing(self, data: st.DataObject, tag: str, force: bool) -> None:
        """Tag a version that exists, so moving a tag (with and without force) is common."""
        name = data.draw(st.sampled_from([n for n, h in self.history.items() if h]), label="name")
        version = data.draw(st.integers(1, len(self.history[name])), label="version")
        self.tag(name, version, tag, force)

    @rule(name=st.sampled_from(NAMES), tag=st.sampled_from(TAGS))
    def untag(self, name: str, tag: str) -> None:
        if tag not in self.tags[name]:
            expect_error(NotFoundError, lambda: self.catalog.untag(name, tag))
        else:
            self.catalog.untag(name, tag)
            del self.tags[name][tag]
            self.changesets += 1

    @rule(name=st.sampled_from(NAMES), version=st.integers(1, 8) | st.none())
    def purge(self, name: str, version: int | None) -> None:
        """Purge ``name@version``, or every version of ``name``: they keep their numbers, become
        unreadable and lose their tags; purging what is already purged writes nothing."""
        history = self.history[name]
        ref = name if version is None else f"{name}@{version}"
        if not history or (version is not None and version > len(history)):
            expect_error(NotFoundError, lambda: self.catalog.purge(ref))
            return
        chosen = range(1, len(history) + 1) if version is None else [version]
        expected = [number for number in chosen if not history[number - 1].purged]
        assert self.catalog.purge(ref) == expected
        if not expected:
            return
        for number in expected:
            history[number - 1] = replace(history[number - 1], purged=True)
        self.tags[name] = {t: n for t, n in self.tags[name].items() if n not in expected}
        self.changesets += 1

    @precondition(lambda self: any(self._latest(name) for name in NAMES))
    @rule(data=st.data())
    def purge_existing(self, data: st.DataObject) -> None:
        """Purge existing versions of a name, put what is latest now again, then, often, write to
        the name at once.

        The targets are the states where purging changes what a write means: the latest version
        (``latest`` falls back to an older one), everything above the newest delete marker (the
        name reads as deleted again), the version undelete would restore (it must go further
        back), any version, or the whole name. Every new version must skip the purged numbers,
        and a put of the bytes of the version that is latest now must make none.
        """
        names = [name for name in NAMES if self._latest(name)]  # something left to purge
        name = data.draw(st.sampled_from(names), label="name")
        history = self.history[name]
        alive = [i for i, v in enumerate(history, 1) if not v.purged]
        markers = [i for i in alive if history[i - 1].kind == "delete"]
        # Hypothesis draws the first choices of a list most often: the rare states come first.
        targets: dict[str, list[int | None]] = {}
        if markers and markers[-1] < alive[-1]:
            targets["above_marker"] = [i for i in alive if i > markers[-1]]
        restorable = [i for i in alive if markers and i < markers[-1] and history[i - 1].readable]
        if restorable:
            targets["restorable"] = restorable[-1:]  # what undelete would bring back
        targets["latest"] = [alive[-1]]
        which = data.draw(st.sampled_from([*targets, "any", "all"]), label="which")
        if which == "any":
            targets[which] = [data.draw(st.integers(1, len(history)), label="version")]
        elif which == "all":
            targets[which] = [None]
        for version in targets[which]:
            self.purge(name, version)
        if self._live_latest(name) is not None:
            self._put_same(name, as_file=False)  # what is latest now: no version
        first = "undelete" if which in ("above_marker", "restorable") else "rm"
        then = data.draw(
            st.sampled_from([first, *(f for f in FOLLOW_UPS if f != first)]), label="then"
        )
        if then == "put":
            self.put(name, data.draw(contents, label="data"), as_file=False)
        elif then == "rm":
            self.rm(name)
        elif then == "undelete":
            self.undelete(name)
        elif then == "rollback":
            to = data.draw(st.integers(1, len(self.history[name])), label="to")
            self._rollback(name, to, to)

    @rule(name=st.sampled_from(NAMES), version=st.none() | st.integers(1, 8))
    def get(self, name: str, version: int | None) -> None:
        """Download latest or ``@version`` to a file: the model's bytes, or an error and no file."""
        history = self.history[name]
        ref = name if version is None else f"{name}@{version}"
        latest = self._latest(name)
        number = version if version is not None else latest[0] if latest else None
        dest = self.tmp / "downloads" / f"get-{uuid.uuid4().hex}"
        if number is None or number > len(history):
            expect_error(NotFoundError, lambda: self.catalog.get(ref, dest))
        elif history[number - 1].purged:
            expect_error(NotFoundError, lambda: self.catalog.get(ref, dest), "purged")
        elif history[number - 1].kind == "delete":
            expect_error(DeletedError, lambda: self.catalog.get(ref, dest))
        else:
            assert self.catalog.get(ref, dest).read_bytes() == history[number - 1].data
            dest.unlink()
        assert not dest.exists()

    # -- invariants ------------------------------------------------------------------------------

    def check_client(self, catalog: Catalog, *, read: bool, online: bool) -> None:
        """Everything ``catalog`` says about every name agrees with the model.

        Not ``online``, the catalog is brought up to date once and then asked through an offline
        view of the same index: the same resolution, without one LIST per question.
        """
        if not online:
            catalog.refresh(NAMESPACE)
            view = Catalog(catalog.store, catalog.index, user=USER, offline=True)
            try:
                self._check_answers(view, read=read)
            finally:
                view.hash_cache.close()
        else:
            self._check_answers(catalog, read=read)

    def _check_answers(self, catalog: Catalog, *, read: bool) -> None:
        for name in NAMES:
            history = self.history[name]
            if not history:
                expect_error(NotFoundError, lambda n=name: catalog.versions(n))
                expect_error(NotFoundError, lambda n=name: catalog.resolve(n))
                continue
            self.assert_history(name, catalog.versions(name))
            latest = self._latest(name)
            if latest is None:
                expect_error(NotFoundError, lambda n=name: catalog.resolve(n), "purged")
            elif latest[1].kind == "delete":
                expect_error(DeletedError, lambda n=name: catalog.resolve(n))
            else:
                assert catalog.resolve(name).version == latest[0]
            for tag in TAGS:
                ref = f"{name}@{tag}"
                if tag in self.tags[name]:
                    assert catalog.resolve(ref).version == self.tags[name][tag]
                else:
                    expect_error(NotFoundError, lambda r=ref: catalog.resolve(r))
            # By hash: the newest readable version holding those bytes; purged ones are gone.
            for digest in {v.hash for v in history if v.hash}:
                ref = hash_ref(name, digest)
                holders = [
                    i for i, v in enumerate(history, 1) if v.hash == digest and not v.purged
                ]
                if holders:
                    assert catalog.resolve(ref).version == holders[-1]
                else:
                    expect_error(NotFoundError, lambda r=ref: catalog.resolve(r))
            if not read:
                continue
            if latest is not None and latest[1].kind != "delete":
                assert catalog.read_bytes(name) == latest[1].data
            for number, version in enumerate(history, 1):
                ref = f"{name}@{number}"
                if version.purged:
                    expect_error(NotFoundError, lambda r=ref: catalog.read_bytes(r), "purged")
                    continue
                if version.kind == "delete":
                    expect_error(DeletedError, lambda r=ref: catalog.read_bytes(r))
                    continue
                assert catalog.resolve(ref).hash == version.hash
                if self.read_all or (name, number) not in self.read:
                    assert catalog.read_bytes(ref) == version.data
                    self.read.add((name, number))
            beyond = f"{name}@{len(history) + 1}"
            expect_error(NotFoundError, lambda r=beyond: catalog.resolve(r))

    @invariant()
    def catalog_matches_model(self) -> None:
        self.check_client(self.catalog, read=True, online=self.online_reads)

    @invariant()
    def fresh_client_derives_the_same(self) -> None:
        """A new client with an empty index (newest checkpoint plus the log's tail) agrees.

        Its one refresh is the cold start; the online path is the writer's to check above. After
        a step that wrote nothing (which ``log_replays_to_the_model`` checks against the store),
        a new client would derive what it derived last time: it is not asked again."""
        if self.fresh_checked == self.changesets:
            return
        fresh = Catalog(self.store, ":memory:", user=USER)
        try:
            self.check_client(fresh, read=False, online=False)
        finally:
            close_index(fresh)
        self.fresh_checked = self.changesets

    @invariant()
    def log_replays_to_the_model(self) -> None:
        """One changeset per change (none for no-ops and refused operations), a checkpoint every
        CHECKPOINT_EVERY, and the log alone, replayed changeset by changeset into an empty index
        (no checkpoint), gives the model's versions, purges and tags."""
        log = Log(self.store, NAMESPACE)
        assert log.seqs_after(0) == list(range(1, self.changesets + 1))
        assert log.checkpoint_seqs() == list(
            range(CHECKPOINT_EVERY, self.changesets + 1, CHECKPOINT_EVERY)
        )
        # Changesets are immutable: each is read and applied once, in order.
        for seq in range(self.replayed.applied_seq(NAMESPACE) + 1, self.changesets + 1):
            assert self.replayed.apply(log.read(seq))
        for name in NAMES:
            self.assert_history(name, self.replayed.versions(NAMESPACE, name))


@pytest.mark.slow
def test_state_machine_local() -> None:
    class LocalMachine(CatalogMachine):
        make_store = staticmethod(local_store)

    run_state_machine_as_test(
        LocalMachine, settings=settings(max_examples=40, stateful_step_count=30, deadline=None)
    )


@pytest.mark.slow
def test_state_machine_s3(s3_server_any: S3Endpoint) -> None:
    """On moto, then on SeaweedFS."""
    s3_client, endpoint = s3_server_any.client, s3_server_any.endpoint_url

    class S3Machine(CatalogMachine):
        make_store = staticmethod(lambda: s3_store(s3_client, endpoint))
        read_all = False  # hashes every step; each version's bytes downloaded once
        online_reads = False  # one refresh per check instead of one LIST per question

    run_state_machine_as_test(
        S3Machine, settings=settings(max_examples=14, stateful_step_count=20, deadline=None)
    )
