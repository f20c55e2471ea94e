"""Keeping a store healthy: ``verify`` (every blob there and intact), ``gc`` (collect what
nothing references) and the retention rules gc may prune by, as functions over the catalog's
:class:`~eoscatalog.catalog.commit.Committer` (its store, index, clock and settings); ``Catalog``'s
methods of the same names delegate here.

Garbage collection keeps DESIGN.md's invariant 5: it deletes only blobs that no live version
(readable, or hidden by a delete marker but still readable as ``@N``) and no tag references, and
that are older than a grace period (default 24 h). Writers that reuse an existing blob mark it
used (``Store.touch``) before their changeset names it, and check after their commit that
it is still there; gc re-reads the catalog and each blob's last use just before it moves a blob
aside (``trash/``), and the catalog again before it deletes what it moved, so a write in flight
keeps its blob (:func:`~eoscatalog.catalog.collecting.collect` says why).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

from eoscatalog.catalog.collecting import collect, empty_trash, used_since
from eoscatalog.catalog.commit import Committer
from eoscatalog.catalog.reports import BlobProblem, GcReport, VerifyReport
from eoscatalog.core.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    PreconditionFailedError,
)
from eoscatalog.core.hashing import StreamHasher
from eoscatalog.core.names import Location
from eoscatalog.core.units import format_time, parse_duration
from eoscatalog.local.hash_cache import HashCache
from eoscatalog.log.changesets import Entry, list_namespaces
from eoscatalog.log.index import Index
from eoscatalog.log.records import VersionRecord
from eoscatalog.rules.retention import (
    POLICY_KEY,
    RetentionRule,
    dump_rules,
    load_rules,
    rule_for,
    versions_to_prune,
)
from eoscatalog.store import Store, blob_key
from eoscatalog.store.keys import TOUCHED, TRANSACTIONS
from eoscatalog.store.object_info import ObjectInfo
from eoscatalog.store.outboard import (
    ChunkHasher,
    repair_outboard,
    sweep_orphan_outboards,
    wants_outboard,
)

__all__ = ["gc", "retention_rules", "set_retention", "verify"]

BLOBS = "blobs/blake3/"
CHECK_THREADS = 8


def _refresh_all(committer: Committer) -> list[str]:
    """Bring every namespace of the store up to date in the index; return them."""
    namespaces = list_namespaces(committer.store)
    for namespace in namespaces:
        committer.replay.refresh(namespace)
    return namespaces


# -- verify -------------------------------------------------------------------------------


def verify(committer: Committer, hash_cache: HashCache, loc: Location | None, *,
           repair_from: str | os.PathLike[str] | None = None,
           quarantine: bool = True) -> VerifyReport:
    """Check that every readable version's blob under ``loc`` (None: in every namespace)
    exists and hashes to its key; report exactly the missing and corrupt ones. Purged
    versions, delete markers and expired scratch versions have no bytes to check.

    A corrupt blob is moved to ``quarantine/`` (unless ``quarantine=False``), so a later
    put of the good bytes stores them again instead of finding the key taken;
    ``repair_from`` (a folder) puts back every missing or corrupt blob whose bytes are in a
    file there. An intact blob over 4 MiB gets its outboard (chunk hashes for ranged
    reads) written, or replaced where the stored one differs.
    """
    store, index = committer.store, committer.index
    now = format_time(committer.now())
    if loc is None:
        records = [r for ns in _refresh_all(committer)
                   for r in index.readable_versions(ns, "", now)]
    else:
        records = index.readable_versions(loc.namespace, loc.name, now)
    by_hash: dict[str, list[VersionRecord]] = {}
    for record in records:
        if record.hash is None:
            raise RuntimeError(
                f"internal error: {record.uri} has no hash (a delete marker where bytes were "
                "expected); please report it"
            )
        by_hash.setdefault(record.hash, []).append(record)
    report = VerifyReport(versions=len(records), blobs=len(by_hash))
    with ThreadPoolExecutor(CHECK_THREADS) as pool:
        checked = list(pool.map(lambda h, size: _check_blob(store, h, size), by_hash,
                                [rs[0].size or 0 for rs in by_hash.values()]))
    for hash_string, (actual, size) in zip(by_hash, checked, strict=True):
        report.bytes += size
        if actual == hash_string:
            continue
        uris = tuple(r.uri for r in by_hash[hash_string])
        moved = None
        if actual is not None and quarantine:
            moved = store.quarantine(blob_key(hash_string))
        report.problems.append(BlobProblem(
            hash_string, "missing" if actual is None else "corrupt", uris, actual, moved
        ))
    if repair_from is not None and report.problems:
        report.problems = _repair(store, hash_cache, report.problems, Path(repair_from))
    return report


def _check_blob(store: Store, hash_string: str, size: int = 0) -> tuple[str | None, int]:
    """What the stored blob hashes to (None: missing) and its size; a large blob found
    intact gets its outboard written, or replaced if the stored one differs."""
    hasher = StreamHasher()
    chunks = ChunkHasher(size) if wants_outboard(size) else None
    try:
        for chunk in store.iter_chunks(blob_key(hash_string)):
            hasher.update(chunk)
            if chunks is not None and hasher.size <= size:
                chunks.update(chunk)
    except NotFoundError:
        return None, 0
    if chunks is not None and hasher.hash == hash_string and hasher.size == size:
        repair_outboard(store, chunks.finish(hash_string))
    return hasher.hash, hasher.size


def _repair(store: Store, hash_cache: HashCache, problems: list[BlobProblem],
            folder: Path) -> list[BlobProblem]:
    wanted = {p.hash for p in problems if p.problem == "missing" or p.quarantined}
    found: dict[str, Path] = {}
    for path in _files_under(folder):
        if not wanted - found.keys():
            break
        digest = hash_cache.hash(path)
        if digest in wanted and digest not in found:
            found[digest] = path
    repaired = []
    for problem in problems:
        source = found.get(problem.hash)
        if source is not None:
            store.put_blob(problem.hash, source)
            problem = BlobProblem(problem.hash, problem.problem, problem.uris,
                                  problem.actual, problem.quarantined, repaired=True)
        repaired.append(problem)
    return repaired


# -- retention ----------------------------------------------------------------------------


def retention_rules(store: Store) -> list[RetentionRule]:
    """The store's retention rules (``eos admin retention list``)."""
    try:
        return load_rules(store.get(POLICY_KEY))
    except NotFoundError:
        return []


def set_retention(committer: Committer, locate: Callable[[], Location], *,
                  keep_last: int | None = None, keep_tagged: bool = True,
                  keep_days: float | None = None, remove: bool = False) -> list[RetentionRule]:
    """Add, replace or (``remove``) the retention rule of the prefix ``locate()`` parses (once
    the caller is known to be an admin and the values are checked); return the rules now in
    force. The policy file changes by compare-and-swap: of two admins, one retries.
    """
    store = committer.store
    if not committer.settings.admin:
        raise PermissionDeniedError("retention rules are the admins' to set: EOS_ADMIN=1")
    if keep_last is not None and keep_last < 1:
        raise ValueError("--keep-last must be at least 1 (the latest version is always kept)")
    if keep_days is not None and keep_days < 0:
        raise ValueError("--keep-days cannot be negative")
    loc = locate()
    for _ in range(10):
        try:
            info = store.head(POLICY_KEY)
            rules = load_rules(store.get(POLICY_KEY))
        except NotFoundError:
            info, rules = None, []
        rules = [r for r in rules if (r.namespace, r.prefix) != (loc.namespace, loc.name)]
        if remove and len(rules) == len(retention_rules(store)):
            raise NotFoundError(f"no retention rule for {loc.uri}")
        if not remove:
            rules.append(RetentionRule(loc.namespace, loc.name, keep_last, keep_tagged,
                                       keep_days))
        try:
            if info is None:
                store.put(POLICY_KEY, dump_rules(rules), if_absent=True)
            else:
                store.put(POLICY_KEY, dump_rules(rules), if_match=info.etag)
            return sorted(rules, key=lambda r: (r.namespace, r.prefix))
        except PreconditionFailedError:
            continue  # another admin changed the rules: read them again
    raise ConflictError("the retention rules kept changing under this update; retry")


def _folder_tagged(index: Index, namespace: str) -> dict[str, set[int]]:
    """The versions of each name that a folder tag of ``namespace`` pins (the name's version
    in the tagged folder version): a ``keep_tagged`` rule keeps them like tagged versions, so
    ``folder@tag/`` still reads every byte after gc --prune."""
    pinned: dict[str, set[int]] = {}
    for tag in index.folders.tags_under(namespace, ""):
        for rec in index.folders.snapshot(namespace, tag["prefix"], tag["target_seq"]):
            pinned.setdefault(rec.name, set()).add(rec.version)
    return pinned


def _prune(committer: Committer, report: GcReport, dry_run: bool) -> None:
    """Purge the versions retention rules do not keep (one changeset per namespace)."""
    index = committer.index
    rules = retention_rules(committer.store)
    now = committer.now()
    for namespace in sorted({r.namespace for r in rules}):
        names = {rec.name for rec in index.versions_under(namespace, "")}
        in_folder_tags = _folder_tagged(index, namespace)
        entries: list[Entry] = []
        for name in sorted(names):
            rule = rule_for(rules, namespace, name)
            if rule is None:
                continue
            doomed = versions_to_prune(index.versions(namespace, name), rule, now,
                                       also_tagged=in_folder_tags.get(name, set()))
            if doomed:
                report.pruned[f"eos://{namespace}/{name}"] = doomed
                entries.append(Entry(op="purge", name=name, versions=tuple(doomed)))
        if entries and not dry_run:
            def plan(es: list[Entry] = entries) -> list[Entry]:
                return es

            committer.commit(namespace, plan, "gc --prune: versions no retention rule keeps")


# -- gc -----------------------------------------------------------------------------------


def gc(committer: Committer, *, grace: str | float = "24h", dry_run: bool = False,
       recheck: bool = True, prune: bool = False) -> GcReport:
    """Delete blobs that nothing live references and that are older than ``grace``;
    abort or remove what interrupted uploads left behind. Needs admin rights.

    Reasons reported: ``purged`` (only purged versions named it), ``expired`` (only
    scratch versions past their expiry plus the grace period), ``unreferenced`` (no
    version ever named it: an upload whose changeset never came), ``partial``
    (temporary files, unfinished multipart uploads), ``markers`` (stale reuse markers),
    ``outboards`` (chunk hashes of blobs that are gone).
    ``prune`` first purges the old versions that the store's retention rules do not
    keep (``report.pruned``), so their blobs go in the same run if old enough.
    ``recheck=False`` skips the re-reads just before each delete: only for tests that
    prove the re-check is needed.
    """
    store, index = committer.store, committer.index
    if not dry_run and not committer.settings.admin:
        raise PermissionDeniedError(
            "eos gc deletes blobs of every namespace, which needs admin rights: set "
            "EOS_ADMIN=1 (or admin: true in config.yaml), or run it with --dry-run"
        )
    seconds = 0.0 if _is_zero(grace) else parse_duration(grace)
    cutoff = committer.now() - timedelta(seconds=seconds)
    report = GcReport(dry_run=dry_run, grace_seconds=seconds)
    _refresh_all(committer)
    if prune:
        _prune(committer, report, dry_run)
    states = index.blob_states(format_time(cutoff))
    candidates = []
    for info in store.list(BLOBS):
        hash_string = "blake3:" + info.key.rsplit("/", 1)[-1]
        if states.get(hash_string) == "live":
            report.live += 1
        elif info.modified_at is not None and info.modified_at >= cutoff:
            report.kept_young += 1
        else:
            candidates.append((info.key, hash_string, info.size))
    if not dry_run:
        empty_trash(store, index, cutoff, report)
    if recheck and not dry_run:
        collect(store, index, lambda: _refresh_all(committer), candidates, cutoff, report)
    else:
        if recheck and candidates:
            _refresh_all(committer)
            states = index.blob_states(format_time(cutoff))
        for key, hash_string, size in candidates:
            if recheck and (states.get(hash_string) == "live"
                            or used_since(store, key, cutoff)):
                report.kept_rechecked += 1
                continue
            report.add(states.get(hash_string, "unreferenced"), key, size)
            if not dry_run:
                store.delete(key)
                store.delete(TOUCHED + key)
    for what, size in store.clean_partial(cutoff, dry_run=dry_run):
        report.add("partial", what, size)
    _sweep_markers(store, cutoff, dry_run, report)
    _sweep_transactions(store, cutoff, dry_run, report)
    for what, size in sweep_orphan_outboards(store, cutoff, dry_run=dry_run):
        report.add("outboards", what, size)
    return report


def _sweep_markers(store: Store, cutoff: datetime, dry_run: bool, report: GcReport) -> None:
    """Remove reuse markers whose blob is gone, once they are past the grace period."""
    for info in store.list(TOUCHED):
        blob = info.key[len(TOUCHED):]
        if info.modified_at is not None and info.modified_at >= cutoff:
            continue
        if store.exists(blob):
            continue
        report.add("markers", info.key, info.size)
        if not dry_run:
            store.delete(info.key)


def _sweep_transactions(store: Store, cutoff: datetime, dry_run: bool,
                        report: GcReport) -> None:
    """Remove what abandoned transactions staged (``transactions/<id>/``): a transaction none
    of whose objects is younger than the grace period was never published, or its committing
    process died."""
    by_id: dict[str, list[ObjectInfo]] = {}
    for info in store.list(TRANSACTIONS):
        by_id.setdefault(info.key[len(TRANSACTIONS):].split("/", 1)[0], []).append(info)
    for infos in by_id.values():
        if any(i.modified_at is None or i.modified_at >= cutoff for i in infos):
            continue
        for info in infos:
            report.add("transactions", info.key, info.size)
            if not dry_run:
                store.delete(info.key)


def _is_zero(grace: str | float) -> bool:
    """``0``, ``0s``, ``0h``...: no grace at all (safe only when no write can be in flight)."""
    text = str(grace).strip().rstrip("smhdwinec").strip()
    try:
        return float(text) == 0
    except ValueError:
        return False


def _files_under(folder: Path) -> Iterable[Path]:
    """Regular files below ``folder`` (symlinks are not followed)."""
    if folder.is_file():
        yield folder
        return
    if not folder.is_dir():
        raise NotFoundError(f"--repair-from {folder}: no such folder")
    for dirpath, _, filenames in os.walk(folder):
        for filename in sorted(filenames):
            path = Path(dirpath) / filename
            if path.is_file() and not path.is_symlink():
                yield path
