"""Folder versions of a large dataset: ``ls`` at a time and at a folder tag, ``versions``,
``diff`` of two versions, and a folder lock.

The dataset: the folder ``eos://org/ds/`` of ``folder_names`` names (100,000 in the full run),
100 per sub-folder ``ds/dNNNN/`` (so the top of the folder lists 1,000 sub-folders), with 20
folder versions, each ONE changeset written through the catalog's own writer
(``Replay.append``): version 1 adds every name (one changeset of 100,000 entries); each later
version changes 2% of the names still there, adds 0.2% new ones and deletes 0.1%. Changeset
21 tags folder version 10 "paper" (a ``folder-tag`` entry: it changes no name, so it makes no
folder version). The entries name a few hundred small blobs, stored first (DESIGN.md's
invariant 1). The same changesets go to an S3 bucket on the benchmark's server, whose client
starts from a copy of the local index, as a warm client would.

Timed (medians of 3 runs or more; each ``eos`` command a process of its own): ``eos ls`` of the
folder at a time and at its tag, ``eos ls -r`` of one sub-folder at a version, ``eos versions``
of the folder, and the same through ``Catalog.ls`` and ``Catalog.folders.versions`` in-process
(local store and S3). ``diff_rows`` (``eos diff`` of two versions) and ``lock_rows`` (a folder
lock) are run when the catalog has those features.
"""

from __future__ import annotations

import os
import random
import sqlite3
import statistics
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from harness import AWS_ENV, Bench, Row, eos_cli, median, run_cli

from eoscatalog import Catalog
from eoscatalog.core.units import format_time, parse_time
from eoscatalog.local.config import Config
from eoscatalog.log.changesets import Changeset, Entry, Log
from eoscatalog.rules.resolution import SETTLE_SECONDS

BLOBS = 256  # distinct blobs the versions name
PER_FOLDER = 100  # names per sub-folder dNNNN/
VERSIONS = 20  # folder versions
TAGGED = 10  # the folder version tagged "paper"
AT_TIME = 12  # the folder version `ls` at a time asks for (a second apart from the next)
NS = "org"
FOLDER = "ds/"
URI = f"eos://{NS}/{FOLDER}"


def _name(i: int) -> str:
    return f"{FOLDER}d{i // PER_FOLDER:04d}/f{i:07d}.csv"


def _config(bench: Bench, home: str, store: str) -> tuple[Config, dict[str, str]]:
    env = bench.env(EOS_HOME=str(bench.work / home), EOS_STORE=store, EOS_USER="ada",
                    AWS_ENDPOINT_URL_S3=bench.server.endpoint_url)
    return Config.load(env, default_namespace=NS), env


def changesets(names: int, hashes: list[str], sizes: list[int]) -> list[Changeset]:
    """The dataset's 20 folder versions (one changeset each) and the folder tag, in log
    order; deterministic."""
    rng = random.Random(15)
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    current: dict[int, int] = {}  # name number -> its newest version (delete markers too)
    live: set[int] = set()
    out: list[Changeset] = []
    next_new = names

    def put(i: int, v: int) -> Entry:
        b = (i * 7 + v) % BLOBS
        return Entry("put", _name(i), v, hashes[b], sizes[b])

    for number in range(1, VERSIONS + 1):
        entries: list[Entry] = []
        if number == 1:
            entries = [put(i, 1) for i in range(names)]
            current.update((i, 1) for i in range(names))
            live.update(range(names))
        else:
            pool = sorted(live)
            changed = rng.sample(pool, max(1, names // 50))
            deleted = rng.sample(sorted(live - set(changed)), max(1, names // 1000))
            added = range(next_new, next_new + max(1, names // 500))
            next_new += len(added)
            for i in changed:
                current[i] += 1
                entries.append(put(i, current[i]))
            for i in deleted:
                current[i] += 1
                entries.append(Entry("delete", _name(i), current[i]))
                live.discard(i)
            for i in added:
                current[i] = 1
                entries.append(put(i, 1))
                live.add(i)
        created = format_time(start + timedelta(minutes=number))
        out.append(Changeset(NS, number, created, "bench", tuple(entries),
                             message=f"folder version {number}"))
    out.append(Changeset(NS, VERSIONS + 1, format_time(start + timedelta(minutes=VERSIONS + 1)),
                         "bench", (Entry("folder-tag", FOLDER, version=TAGGED, tag="paper"),)))
    return out


def build(bench: Bench, local: Catalog, s3: Catalog | None) -> tuple[float, float, float]:
    """Write the dataset to both stores; return the seconds of the first version's changeset
    (written and applied), of the other changesets, and of the S3 log upload."""
    names = bench.sizes.folder_names
    data = [f"value,{i}\n".encode() for i in range(BLOBS)]
    hashes = [local.store.put_blob_bytes(d) for d in data]
    if s3 is not None:
        for d in data:
            s3.store.put_blob_bytes(d)
    first = rest = upload = 0.0
    log = Log(s3.store, NS) if s3 is not None else None
    for changeset in changesets(names, hashes, [len(d) for d in data]):
        if changeset.seq == AT_TIME + 1:
            time.sleep(1.1)  # the log's times are the store's, in whole seconds
        t = time.perf_counter()
        local.replay.append(changeset)
        if changeset.seq == 1:
            first = time.perf_counter() - t
        else:
            rest += time.perf_counter() - t
        if log is not None:
            t = time.perf_counter()
            log.append(changeset)
            upload += time.perf_counter() - t
    return first, rest, upload


class Dataset:
    """The built dataset on both stores, and how to reach it."""

    def __init__(self, bench: Bench) -> None:
        self.bench = bench
        os.environ.update(AWS_ENV)  # boto3 in this process talks to the benchmark's server
        bucket = bench.bucket("eos-folders")
        local_config, self.env = _config(bench, "home-folders",
                                         (bench.work / "folders-store").as_uri())
        self.s3_config, _ = _config(bench, "home-folders-s3", f"s3://{bucket}")
        self.local = Catalog.open(local_config, create=True)
        s3 = Catalog.open(self.s3_config)
        names = bench.sizes.folder_names
        bench.say(f"folders: writing {names:,} names in {VERSIONS} folder versions")
        first, rest, upload = build(bench, self.local, s3)
        s3.close()
        target = sqlite3.connect(self.s3_config.index_path)  # a warm S3 client
        self.local.index.db.conn.backup(target)
        target.close()
        self.s3 = Catalog.open(self.s3_config)
        seqs = self.local.index.folders.seqs(NS, FOLDER)
        assert len(seqs) == VERSIONS, seqs
        self.versions = self.local.folders.versions(URI)
        last = self.versions[-1]
        held = len(self.local.folders.records(self.local.folders.snapshot(URI)))
        self.size = (f"{names:,} names in version 1, {held:,} in version {VERSIONS} (+{last.added} "
                     f"~{last.changed} -{last.removed} in each later version), "
                     f"{PER_FOLDER} per sub-folder; build: version 1 (one changeset of "
                     f"{names:,} entries) {first:.1f} s, versions 2-{VERSIONS} and the tag "
                     f"{rest:.1f} s (write + apply), S3 log upload {upload:.1f} s")
        bench.say(self.size)
        self.when = self.local.index.folders.changeset_time(NS, seqs[AT_TIME - 1])
        wait = (parse_time(self.when) + timedelta(seconds=SETTLE_SECONDS)
                - datetime.now(timezone.utc)).total_seconds()
        if wait > 0:  # a time reference younger than that waits to be settled
            time.sleep(wait + 0.1)

    def close(self) -> None:
        self.local.close()
        self.s3.close()


def _runs(bench: Bench, call: Callable[[], object]) -> list[float]:
    """``call`` timed max(3, runs) times."""
    times = []
    for _ in range(max(3, bench.sizes.runs)):
        t = time.perf_counter()
        call()
        times.append(time.perf_counter() - t)
    return times


def _row(workload: str, times: list[float], limit: float, extra: str = "") -> Row:
    m = median(times)
    return Row(workload, "", None, m, "s", f"< {limit:g} s", m < limit,
               f"runs: {', '.join(f'{x:.3f}' for x in times)}" + (f"; {extra}" if extra else ""))


def ls_rows(d: Dataset) -> list[Row]:
    """``eos ls`` of the folder at a time and at its tag, ``ls -r`` of a sub-folder at a
    version, and ``Catalog.ls`` (local store and S3)."""
    bench = d.bench
    at_time = f"eos://{NS}/{FOLDER[:-1]}@{d.when}/"
    tagged = f"eos://{NS}/{FOLDER[:-1]}@paper/"
    sub = f"{FOLDER}d{bench.sizes.folder_names // PER_FOLDER // 2:04d}/"
    at_version = f"eos://{NS}/{FOLDER[:-1]}@5/{sub[len(FOLDER):]}"
    picked = d.local.folders.snapshot(at_time)
    assert picked.version == AT_TIME, (picked.version, d.when)
    top = d.local.ls(at_time)
    listed = d.local.ls(at_version, recursive=True)

    def cli(*args: str) -> Callable[[], object]:
        return lambda: run_cli([*eos_cli(), "ls", *args], d.env)

    out = run_cli([*eos_cli(), "ls", tagged], d.env)
    assert sum(1 for line in out.splitlines() if line.rstrip().endswith("/")) == len(
        d.local.ls(tagged).folders), out[:500]
    rows = [
        _row(f"`eos ls` of a {d.bench.sizes.folder_names:,}-name folder at a time "
             f"(`ds@<time>/`: {len(top.folders):,} sub-folders)", _runs(bench, cli(at_time)), 1,
             f"the time of folder version {AT_TIME}, picked as version {picked.version}; "
             f"{d.size}"),
        _row("`eos ls` of the folder at its folder tag (`ds@paper/`, version "
             f"{TAGGED})", _runs(bench, cli(tagged)), 1,
             "a tag moves: the command reads the log's new changesets first"),
        _row(f"`eos ls -r` of a sub-folder at a version (`ds@5/{sub[len(FOLDER):]}`: "
             f"{len(listed.files)} names)", _runs(bench, cli("-r", at_version)), 1),
    ]
    for label, cat in (("local store", d.local), ("S3", d.s3)):
        cat.ls(tagged)  # first queries, imports
        rows.append(_row(f"`Catalog.ls` of the folder at its folder tag ({label})",
                         _runs(bench, lambda cat=cat: cat.ls(tagged)), 1,
                         "S3: one LIST of the log (the tag may have moved)" if cat is d.s3
                         else ""))
    every = d.local.ls(f"eos://{NS}/{FOLDER[:-1]}@{TAGGED}/", recursive=True)
    times = _runs(bench, lambda: d.local.ls(f"eos://{NS}/{FOLDER[:-1]}@{TAGGED}/",
                                            recursive=True))
    rows.append(Row(f"`Catalog.ls -r`: every name of the folder at a version "
                    f"({len(every.files):,} names, local store)", "", None, median(times), "s",
                    "no target (a record per name)", True,
                    f"runs: {', '.join(f'{x:.3f}' for x in times)}"))
    return rows


def versions_rows(d: Dataset) -> list[Row]:
    """``eos versions`` of the folder, and ``Catalog.folders.versions`` (local store, S3)."""
    bench = d.bench
    out = run_cli([*eos_cli(), "versions", URI], d.env)
    shown = [line.split()[0] for line in out.splitlines() if line[:1].isdigit()]
    assert shown == [str(v) for v in range(1, VERSIONS + 1)], out[-1000:]
    rows = [_row(f"`eos versions` of the folder ({VERSIONS} folder versions of "
                 f"{bench.sizes.folder_names:,}+ names)",
                 _runs(bench, lambda: run_cli([*eos_cli(), "versions", URI], d.env)), 1,
                 f"what each version changed: {', '.join(v.summary for v in d.versions[:3])}, "
                 "...")]
    for label, cat in (("local store", d.local), ("S3", d.s3)):
        assert len(cat.folders.versions(URI)) == VERSIONS
        rows.append(_row(f"`Catalog.folders.versions` of the folder ({label})",
                         _runs(bench, lambda cat=cat: cat.folders.versions(URI)), 1,
                         "S3: one LIST of the log first" if cat is d.s3 else ""))
    return rows


def snapshot_name_row(d: Dataset) -> Row:
    """Resolving random names in a folder version (``ds@10/dNNNN/fNNNNNNN.csv``)."""
    rng = random.Random(10)
    samples = 10_000 if d.bench.mode == "full" else 2_000
    snap = d.local.folders.snapshot(f"eos://{NS}/{FOLDER[:-1]}@{TAGGED}/")
    names = [r.name for r in d.local.folders.records(snap)]
    refs = [f"eos://{NS}/{FOLDER[:-1]}@{TAGGED}/{rng.choice(names)[len(FOLDER):]}"
            for _ in range(samples)]
    d.local.resolve(refs[0])
    times = []
    for ref in refs:
        t = time.perf_counter()
        d.local.resolve(ref)
        times.append(time.perf_counter() - t)
    med = median(times) * 1e3
    return Row("resolve a name in a folder version (`ds@10/dNNNN/fNNNNNNN.csv`, local store)",
               "", None, med, "ms", "median < 0.5 ms", med < 0.5, f"{_ms(times)} over "
               f"{samples:,} calls")


def _ms(times: list[float]) -> str:
    q = statistics.quantiles(times, n=100) if len(times) > 1 else times * 99
    return f"median {median(times) * 1e3:.3f} ms, p90 {q[89] * 1e3:.3f}, p99 {q[98] * 1e3:.3f}"


# -- rows of features landing on their own branches (enabled when the catalog has them) -------

def has_diff() -> bool:
    """Whether this catalog has ``Catalog.diff`` (``eos diff``, branch i15-diff)."""
    return hasattr(Catalog, "diff")


def diff_rows(d: Dataset) -> list[Row]:
    """``eos diff`` of folder versions 5 and 15, and ``Catalog.diff`` (local store)."""
    bench = d.bench
    a, b = f"eos://{NS}/{FOLDER[:-1]}@5/", f"eos://{NS}/{FOLDER[:-1]}@15/"
    found = getattr(d.local.diff(a, b), "changes", ())  # type: ignore[attr-defined]
    counts = Counter(str(getattr(c, "status", "?")) for c in found)
    said = f"{len(found):,} names differ ({', '.join(f'{n:,} {s}' for s, n in counts.items())})"
    out = run_cli([*eos_cli(), "diff", a, b], d.env)
    lines = len(out.splitlines())
    return [
        _row(f"`eos diff` of two folder versions (`ds@5/` `ds@15/`, {lines:,} lines out)",
             _runs(bench, lambda: run_cli([*eos_cli(), "diff", a, b], d.env)), 2),
        _row("`Catalog.diff` of the same two folder versions (local store)",
             _runs(bench, lambda: d.local.diff(a, b)), 2,  # type: ignore[attr-defined]
             said),
    ]


def has_folder_locks() -> bool:
    """Whether lock files pin folders (``LockedFolder``, branch i15-flock)."""
    try:
        import eoscatalog.lock.folder_pin  # noqa: F401
    except ImportError:
        return False
    from eoscatalog.lock.lock_file import LockFile

    return hasattr(LockFile, "folder_for")


def lock_rows(d: Dataset) -> list[Row]:
    """A lock of the folder (recorded while names are read in folder version 10: one entry),
    then plain names under the folder resolved through it."""
    from eoscatalog import record_inputs, use_lock
    from eoscatalog.lock.lock_file import LockFile

    bench = d.bench
    path = bench.work / "folders.lock"
    version = f"eos://{NS}/{FOLDER[:-1]}@{TAGGED}/"
    snap = d.local.folders.snapshot(version)
    names = [r.name for r in d.local.folders.records(snap)]
    rng = random.Random(11)
    with record_inputs(path):
        for name in rng.sample(names, min(100, len(names))):
            d.local.resolve(version + name[len(FOLDER):])
    lock = LockFile.load(path)
    folders = lock.folders() if callable(lock.folders) else lock.folders
    entries = len(folders) + len(lock.inputs() if callable(lock.inputs) else lock.inputs)
    samples = 10_000
    refs = [f"eos://{NS}/{rng.choice(names)}" for _ in range(samples)]
    times = []
    with use_lock(path):
        got = d.local.resolve(refs[0])
        want = d.local.folders.index.folders.name_at(NS, got.name, snap.seq)
        assert want is not None and got.version == want.version, (got, want)
        for ref in refs:
            t = time.perf_counter()
            d.local.resolve(ref)
            times.append(time.perf_counter() - t)
    med = median(times) * 1e3
    return [
        Row(f"lock of the folder at a version ({len(names):,} names): entries in the lock file",
            "", None, entries, "entries", "1 entry", entries == 1,
            f"recorded while 100 names were read in `ds@{TAGGED}/`; {path.stat().st_size:,} "
            "bytes"),
        Row("resolve a name under a locked folder (local store)", "", None, med, "ms",
            "median < 0.5 ms", med < 0.5, f"{_ms(times)} over {samples:,} calls"),
    ]


def run(bench: Bench) -> list[Row]:
    """The folder rows."""
    d = Dataset(bench)
    try:
        rows = ls_rows(d) + versions_rows(d) + [snapshot_name_row(d)]
        for ready, more, what in ((has_diff(), diff_rows, "`eos diff` (Catalog.diff)"),
                                  (has_folder_locks(), lock_rows, "folder locks")):
            if ready:
                rows += more(d)
            else:
                bench.notes.append(f"Folder rows of {what}: not measured, this tree does not "
                                   "have the feature yet")
    finally:
        d.close()
    return rows
