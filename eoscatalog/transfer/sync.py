"""``eos sync``: make a folder and a catalog prefix, or two catalog prefixes, hold the same
files.

It plans first (:mod:`eoscatalog.transfer.sync_plan`, pure)
and then acts, so ``dry_run`` reports exactly
what a real run would do. An upload sync stores every new blob (in parallel) and then publishes
ONE changeset with all new versions and delete markers: the sync appears whole or not at all,
and a sync killed part-way leaves only blobs, which the rerun finds and does not send again. A
sync between two prefixes moves no byte: it publishes new versions with the same hashes (and
delete markers) as one changeset. A ``delete`` sync from a source holding nothing is refused: it
would empty the destination, and is far more often a mistyped prefix than a wish.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from eoscatalog.catalog.catalog import Catalog
from eoscatalog.core.errors import InvalidNameError, NotFoundError
from eoscatalog.core.names import Location, is_uri, kind_of
from eoscatalog.core.units import parse_time
from eoscatalog.log.records import VersionRecord
from eoscatalog.transfer.folder_source import source_folder
from eoscatalog.transfer.sync_plan import (
    Action,
    LocalFile,
    PathFilter,
    check_targets,
    plan_copy,
    plan_download,
    plan_upload,
    scan_local,
)

__all__ = ["SyncReport", "download_tree", "run_sync"]

DOWNLOAD_THREADS = 16


@dataclass(frozen=True)
class SyncReport:
    """What a sync planned (and, unless it was a dry run, did).

    ``source`` and ``dest`` are a folder's path or an ``eos://<namespace>/<prefix>`` URI.
    """

    direction: str  # "upload", "download" or "copy" (eos:// to eos://)
    source: str
    dest: str
    actions: tuple[Action, ...]
    dry_run: bool
    hashed: int  # local files read to compare them (0 when the hash cache knew them all)

    @property
    def local(self) -> Path | None:
        """The folder of an upload or a download (None for a copy within the catalog)."""
        if self.direction == "copy":
            return None
        return Path(self.source if self.direction == "upload" else self.dest)

    @property
    def remote(self) -> str:
        """The catalog prefix of an upload or a download; a copy's destination."""
        return self.source if self.direction == "download" else self.dest

    def lines(self) -> list[str]:
        """One line per action, for people."""
        first = self.source if self.direction == "copy" else str(self.local)
        return [a.describe(first, self.remote) for a in self.actions]

    @property
    def transferred(self) -> int:
        """Bytes the actions move (uploads and downloads)."""
        return sum(a.size or 0 for a in self.actions if a.kind in ("upload", "download"))


def run_sync(
    catalog: Catalog,
    source: str,
    dest: str,
    *,
    delete: bool = False,
    dry_run: bool = False,
    exclude: Sequence[str] = (),
    include: Sequence[str] = (),
    message: str = "",
    on_action: Callable[[Action], None] | None = None,
    on_bytes: Callable[[int], None] | None = None,
    on_plan: Callable[[SyncReport], None] | None = None,
    on_file: Callable[[], None] | None = None,
) -> SyncReport:
    """Sync a folder to an ``eos://`` prefix, back, or one prefix to another.

    The catalog side must be a URI. ``delete`` also removes what the source lacks (delete
    markers in the catalog, files in a folder), and is refused when the source holds nothing.
    ``exclude`` globs match whole relative paths or file names; ``include`` globs keep what
    they would leave out (on both sides, so ``delete`` never touches what is left out).
    ``on_action`` is told each action as it completes, ``on_bytes`` of the bytes each transfer
    moved, ``on_file`` of each file moved, ``on_plan`` of the plan before anything moves
    (progress).
    """
    kinds = (kind_of(source), kind_of(dest))
    if kinds not in (("local", "eos"), ("eos", "local"), ("eos", "eos")):
        raise InvalidNameError(
            f"sync needs one folder and one eos:// (or e://) prefix, or two prefixes, got "
            f"{source!r} and {dest!r}; e.g. eos sync ./project-1/ eos://users/me/project-1/"
        )
    keep = PathFilter(tuple(exclude), tuple(include))
    if is_uri(source) and is_uri(dest):
        src, listed = source_folder(catalog, source)
        return _copy(catalog, src, catalog.folder(dest), delete=delete,
                     dry_run=dry_run, keep=keep, message=message, on_action=on_action,
                     on_plan=on_plan, listed=listed)
    if is_uri(dest):
        return _upload(catalog, Path(source).expanduser(), catalog.folder(dest),
                       delete=delete, dry_run=dry_run, keep=keep, message=message,
                       on_action=on_action, on_bytes=on_bytes, on_plan=on_plan, shown=source,
                       on_file=on_file)
    folder, listed = source_folder(catalog, source)
    listed = catalog.folders.download_source(listed)  # recorded as one folder input
    return _download(catalog, folder, Path(dest).expanduser(),
                     delete=delete, dry_run=dry_run, keep=keep, on_action=on_action,
                     on_bytes=on_bytes, on_plan=on_plan, shown=dest, on_file=on_file,
                     listed=listed)


def _refuse_deleting_everything(actions: Sequence[Action], source: str, dest: str,
                                check: str, filtered: bool) -> None:
    """A --delete sync from a source holding nothing would empty the destination: refuse."""
    if any(a.kind.startswith("delete") for a in actions):
        left = " once --exclude is applied" if filtered else ""
        raise NotFoundError(
            f"nothing under {source}{left}: refusing to delete everything in {dest}; "
            f"check the {check}"
        )


def _counting_hasher(catalog: Catalog, root: Path, files: Sequence[LocalFile],
                     remote: dict[str, VersionRecord], prefix: str,
                     ) -> tuple[Callable[[LocalFile], str], list[int]]:
    """A ``hash_of`` for planning, and the count of files it read.

    The hash cache is asked once, for every file the plan may compare by hash (those whose
    size matches the remote version's), in a few batched queries; only the files it does not
    know are read.
    """
    count = [0]
    comparable = [f for f in files if (r := remote.get(prefix + f.relative)) is not None
                  and r.size == f.size]
    known = catalog.hash_cache.lookup_many(
        ((_absolute(f), f.stat or os.stat(_absolute(f))) for f in comparable),
        under=os.path.abspath(root))

    def hash_of(f: LocalFile) -> str:
        path = _absolute(f)
        if path in known:
            return known[path]
        count[0] += 1
        return catalog.hash_cache.hash(path)

    return hash_of, count


def _absolute(f: LocalFile) -> str:
    return f.absolute or os.path.abspath(f.where)


def _remote_map(catalog: Catalog, folder: Location, keep: PathFilter,
                listed: str | Location | None = None) -> dict[str, VersionRecord]:
    """The latest version of every name under the folder (``listed``: their versions in a
    folder version of it), less the excluded ones (so that --delete never touches what
    --exclude leaves out, on either side)."""
    listing = catalog.ls(folder if listed is None else listed, recursive=True, deleted=True)
    if not keep.exclude:  # nothing left out: no glob to try on each of 10,000 names
        return {r.name: r for r in listing.files}
    return {r.name: r for r in listing.files if not keep.leaves_out(r.name[len(folder.name):])}


def _upload(catalog: Catalog, root: Path, folder: Location, *, delete: bool, dry_run: bool,
            keep: PathFilter, message: str,
            on_action: Callable[[Action], None] | None,
            on_bytes: Callable[[int], None] | None,
            on_plan: Callable[[SyncReport], None] | None, shown: str,
            on_file: Callable[[], None] | None = None) -> SyncReport:
    # A dry run refuses what the run would; the store's conditional-write probe (writes, on
    # S3) waits until there is something to write, so a sync with nothing to do writes nothing.
    catalog.check_writable(folder.namespace, probe=False)
    with ThreadPoolExecutor(1) as pool:  # the folder is scanned while the catalog refreshes
        scanning = pool.submit(lambda: list(scan_local(root, keep.exclude, keep.include)))
        if not root.is_dir():
            scanning.result()  # its error first: nothing to sync before any request
        remote = _remote_map(catalog, folder, keep)
        files = scanning.result()
    hash_of, hashed = _counting_hasher(catalog, root, files, remote, folder.name)
    with catalog.hash_cache.batch():
        actions = plan_upload(files, remote, hash_of, prefix=folder.name, delete=delete)
    if not files:
        _refuse_deleting_everything(actions, shown, folder.uri, f"folder with `ls {shown}`",
                                    bool(keep.exclude))
    if actions:
        catalog.check_writable(folder.namespace)
    report = SyncReport("upload", str(root), folder.uri, tuple(actions), dry_run, hashed[0])
    if on_plan:
        on_plan(report)
    if dry_run or not actions:
        return report
    by_relative = {f.relative: f for f in files}
    uploads = [(by_relative[a.relative].path, Location(folder.namespace, folder.name + a.relative))
               for a in actions if a.kind == "upload"]
    deletes = [Location(folder.namespace, folder.name + a.relative)
               for a in actions if a.kind == "delete-remote"]
    catalog.put_many(uploads, deletes=deletes, message=message or f"sync {root}",
                     on_bytes=on_bytes, on_file=on_file)
    if on_action:
        for action in actions:
            on_action(action)
    return report


def _download(catalog: Catalog, folder: Location, root: Path, *, delete: bool, dry_run: bool,
              keep: PathFilter, on_action: Callable[[Action], None] | None,
              on_bytes: Callable[[int], None] | None,
              on_plan: Callable[[SyncReport], None] | None, shown: str,
              on_file: Callable[[], None] | None = None,
              listed: str | Location | None = None) -> SyncReport:
    remote = _remote_map(catalog, folder, keep, listed)
    files = list(scan_local(root, keep.exclude, keep.include)) if root.exists() else []
    hash_of, hashed = _counting_hasher(catalog, root, files, remote, folder.name)
    with catalog.hash_cache.batch():
        actions = plan_download(remote, files, hash_of, prefix=folder.name, delete=delete,
                                where=shown)
    if all(r.is_delete_marker for r in remote.values()):
        _refuse_deleting_everything(actions, folder.uri, shown,
                                    f"prefix with `eos ls {folder.uri}`", bool(keep.exclude))
    report = SyncReport("download", folder.uri, str(root), tuple(actions), dry_run, hashed[0])
    if on_plan:
        on_plan(report)
    if dry_run or not actions:
        return report
    for action in actions:  # local deletes first: a file may have to become a folder
        if action.kind == "delete-local":
            os.unlink(root.joinpath(*action.relative.split("/")))
            if on_action:
                on_action(action)
    downloads = [(remote[folder.name + a.relative], a.relative) for a in actions
                 if a.kind == "download"]
    download_tree(catalog, downloads, root, where=shown, on_bytes=on_bytes, on_file=on_file)
    if on_action:
        for action in actions:
            if action.kind == "download":
                on_action(action)
    return report


def _copy(catalog: Catalog, source: Location, dest: Location, *, delete: bool, dry_run: bool,
          keep: PathFilter, message: str, on_action: Callable[[Action], None] | None,
          on_plan: Callable[[SyncReport], None] | None,
          listed: str | Location | None = None) -> SyncReport:
    catalog.check_writable(dest.namespace)
    if source.namespace == dest.namespace and (source.name.startswith(dest.name)
                                               or dest.name.startswith(source.name)):
        # Each run would copy the destination into itself once more.
        raise InvalidNameError(
            f"cannot sync {source.uri} to {dest.uri}: one holds the other; sync into a prefix "
            "outside the source"
        )
    src = _remote_map(catalog, source, keep, listed)
    dst = _remote_map(catalog, dest, keep)
    actions = plan_copy(src, dst, source_prefix=source.name, dest_prefix=dest.name,
                        delete=delete)
    if all(r.is_delete_marker for r in src.values()):
        _refuse_deleting_everything(actions, source.uri, dest.uri,
                                    f"prefix with `eos ls {source.uri}`", bool(keep.exclude))
    report = SyncReport("copy", source.uri, dest.uri, tuple(actions), dry_run, 0)
    if on_plan:
        on_plan(report)
    if dry_run or not actions:
        return report
    copies = [(src[source.name + a.relative].uri, Location(dest.namespace, dest.name + a.relative))
              for a in actions if a.kind == "copy"]
    deletes = [Location(dest.namespace, dest.name + a.relative)
               for a in actions if a.kind == "delete-remote"]
    catalog.copy_many(copies, deletes=deletes, message=message or f"sync {source.uri}")
    if on_action:
        for action in actions:
            on_action(action)
    return report


def download_tree(
    catalog: Catalog,
    items: Sequence[tuple[VersionRecord, str]],
    root: Path,
    *,
    where: str | None = None,
    on_bytes: Callable[[int], None] | None = None,
    on_file: Callable[[], None] | None = None,
) -> list[Path]:
    """Download versions to ``root/<relative>`` in parallel, every target checked first.

    Nothing is written if any target would land outside ``root``, clash with a file where a
    folder must be, or clash with another name (``p`` and ``p/a.txt``; ``where`` names
    ``root`` in that message as the user wrote it). Each file gets its version's time as its
    mtime (as ``aws s3 sync`` does), and its hash is remembered, so the next sync reads no byte
    of it.
    """
    targets = check_targets(root, _files(items), where or str(root))
    root.mkdir(parents=True, exist_ok=True)

    def fetch(pair: tuple[tuple[VersionRecord, str], Path]) -> Path:
        (record, _), target = pair
        if record.hash is None:
            raise RuntimeError(
                f"internal error: {record.uri} has no hash (a delete marker where bytes were "
                "expected); please report it"
            )
        catalog.fetch_to(record, target, on_bytes=on_bytes, follow_lock=False)
        when = parse_time(record.created).timestamp()
        os.utime(target, (when, when))
        catalog.hash_cache.remember(target, record.hash)
        if on_file is not None:
            on_file()
        return target

    # The hashes are written in one transaction at the end, not one per file.
    with catalog.hash_cache.batch(), ThreadPoolExecutor(DOWNLOAD_THREADS) as pool:
        return list(pool.map(fetch, zip(items, targets, strict=True)))


def _files(items: Sequence[tuple[VersionRecord, str]]) -> list[tuple[str, str]]:
    """``(uri without version, path under the folder)`` for :func:`check_targets`."""
    return [(Location(r.namespace, r.name).uri, relative) for r, relative in items]
