"""``eos cp``: copies into, out of and within the catalog, as ``aws s3 cp`` and Gencove's ``d cp``.

The catalog side is always an ``eos://`` (or ``e://``) URI, as S3's is always ``s3://``:

- local -> eos: uploads (new versions; unchanged files make none); ``-r`` for a folder, all in
  one changeset;
- eos -> local: verified downloads, written once (not through the cache); ``-r`` for a prefix;
- eos -> eos: new versions with the same hash: no byte moves; ``-r`` in one changeset;
- s3:// or https:// -> eos: an import (downloaded, checked, then put; the source is kept in the
  version's metadata).

``-r`` takes ``--exclude``/``--include`` globs as ``eos sync`` does. A dry run checks what the
run would refuse and lists every file it would copy, without comparing it with what the
destination holds (as ``aws s3 cp --dryrun`` does).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from eoscatalog.catalog.catalog import Catalog, PutResult
from eoscatalog.core.errors import InvalidNameError, NotFoundError
from eoscatalog.core.names import Location, kind_of, split_reference
from eoscatalog.lock.active import use_lock
from eoscatalog.log.records import VersionRecord
from eoscatalog.transfer.external import download_s3, download_url
from eoscatalog.transfer.folder_source import source_folder
from eoscatalog.transfer.sync import download_tree
from eoscatalog.transfer.sync_plan import (
    PathFilter,
    check_one_file_per_name,
    check_targets,
    scan_local,
)

__all__ = ["Transfer", "run_cp", "run_mv"]

DOWNLOAD_THREADS = 8


@dataclass(frozen=True)
class Transfer:
    """One file eos cp (or eos mv) handled: ``upload``, ``unchanged``, ``download``, ``copy``,
    ``import`` or ``move``, from ``source`` to ``dest`` (a path, or the pinned URI of the new
    version)."""

    action: str
    source: str
    dest: str

    def line(self) -> str:
        """The line people see."""
        if self.action == "unchanged":
            return f"unchanged: {self.source} is already {self.dest}"
        extra = " (no bytes moved)" if self.action in ("copy", "move") else ""
        return f"{self.action}: {self.source} to {self.dest}{extra}"

    def to_dict(self) -> dict[str, str]:
        """The ``--json`` shape: action, source, dest."""
        return {"action": self.action, "source": self.source, "dest": self.dest}


def _into(dest: str, source_name: str) -> str:
    """A destination ending with ``/`` receives the source's last path segment."""
    return dest + PurePosixPath(source_name).name if dest.endswith("/") else dest


def run_cp(catalog: Catalog, source: str, dest: str, *, recursive: bool = False,
           dry_run: bool = False, exclude: Sequence[str] = (), include: Sequence[str] = (),
           on_bytes: Callable[[int], None] | None = None) -> list[Transfer]:
    """Copy SOURCE to DEST; return what happened to each file (with ``dry_run``, what would:
    nothing is written).

    With ``recursive``, ``exclude`` globs leave out paths or file names below the folder and
    ``include`` globs keep what they would leave out. ``on_bytes`` is told of bytes as they
    are uploaded or downloaded (progress lines).
    """
    if (exclude or include) and not recursive:
        raise InvalidNameError("--exclude and --include filter what -r copies: add -r")
    keep = PathFilter(tuple(exclude), tuple(include))
    src, dst = kind_of(source), kind_of(dest)
    if dst == "eos" and not dest.endswith("/") and not catalog.prefix(dest).name:
        dest += "/"  # a namespace's root is a folder: eos://users/me means eos://users/me/
    if dst == "eos" and src == "local":
        return _upload(catalog, Path(source).expanduser(), dest, recursive, keep, dry_run,
                       on_bytes)
    if src == "eos" and dst == "local":
        return _download(catalog, source, Path(dest).expanduser(), recursive, dest, keep,
                         dry_run, on_bytes)
    if src == "eos" and dst == "eos":
        return _copy(catalog, source, dest, recursive, keep, dry_run)
    if src in ("s3", "url") and dst == "eos":
        if recursive:
            raise InvalidNameError(f"-r imports folders of local files; import {source} one "
                                   "object at a time")
        return _import(catalog, source, dest, dry_run)
    raise InvalidNameError(
        f"eos cp copies into, out of or within the catalog; {source!r} to {dest!r} is "
        f"{src} to {dst} (use cp, or aws s3 cp, for that)"
    )


def _upload(catalog: Catalog, source: Path, dest: str, recursive: bool, keep: PathFilter,
            dry_run: bool, on_bytes: Callable[[int], None] | None) -> list[Transfer]:
    if source.is_dir():
        if not recursive:
            raise IsADirectoryError(f"{source} is a folder: add -r to copy what it holds")
        folder = catalog.folder(dest)
        files = list(scan_local(source, keep.exclude, keep.include))
        check_one_file_per_name(files)
        names = [catalog.location(Location(folder.namespace, folder.name + f.relative))
                 for f in files]  # checked here, so a dry run refuses what the run would
        if dry_run:
            catalog.check_writable(folder.namespace)
            return [Transfer("upload", str(f.path), loc.uri) for f, loc in zip(files, names,
                                                                               strict=True)]
        results = catalog.put_many(zip((f.path for f in files), names, strict=True),
                                   on_bytes=on_bytes)
        return [_put_line(f.path, r.record.uri, r.created) for f, r in zip(files, results,
                                                                        strict=True)]
    if dry_run:
        if not source.is_file():
            what = "is not a regular file" if source.exists() else "does not exist"
            raise FileNotFoundError(f"cannot copy {source}: it {what}")
        loc = _writable(catalog, _into(dest, source.name))
        return [Transfer("upload", str(source), loc.uri)]
    result = catalog.put(source, _into(dest, source.name), on_bytes=on_bytes)
    return [_put_line(source, result.record.uri, result.created)]


def _writable(catalog: Catalog, name: str | Location) -> Location:
    """A destination name, checked as the write would check it (for dry runs)."""
    loc = catalog.location(name)
    catalog.check_writable(loc.namespace)
    return loc


def _put_line(path: Path, uri: str, created: bool) -> Transfer:
    return Transfer("upload" if created else "unchanged", str(path), uri)


def _download(catalog: Catalog, source: str, dest: Path, recursive: bool, dest_text: str,
              keep: PathFilter, dry_run: bool,
              on_bytes: Callable[[int], None] | None) -> list[Transfer]:
    if not recursive:
        if dry_run:
            record = catalog.resolve(source)
            into = dest_text.endswith("/") or dest.is_dir()  # as Catalog.get decides
            path = dest / record.name.rsplit("/", 1)[-1] if into else dest
            return [Transfer("download", source, str(path))]
        if dest_text.endswith("/"):
            dest.mkdir(parents=True, exist_ok=True)
        path = catalog.get(source, dest, on_bytes=on_bytes)
        return [Transfer("download", source, str(path))]
    folder, listed = source_folder(catalog, source)
    listed = catalog.folders.download_source(listed)  # recorded as one folder input
    records = _under(catalog, folder, keep, listed)
    items = [(r, r.name[len(folder.name):]) for r in records]
    where = dest_text.rstrip("/") or dest_text
    if dry_run:  # the same checks as a download, before anything is written
        targets = check_targets(dest, [(Location(r.namespace, r.name).uri, relative)
                                       for r, relative in items], where)
    else:
        targets = download_tree(catalog, items, dest, where=where, on_bytes=on_bytes)
    return [Transfer("download", r.uri, str(t)) for r, t in zip(records, targets, strict=True)]


def _copy(catalog: Catalog, source: str, dest: str, recursive: bool, keep: PathFilter,
          dry_run: bool) -> list[Transfer]:
    if not recursive:
        name = split_reference(source)[0]
        if dry_run:
            with use_lock(None):  # copies read past a lock, as Catalog.copy_many does
                catalog.resolve(source)
            return [Transfer("copy", source, _writable(catalog, _into(dest, name)).uri)]
        [result] = catalog.copy_many([(source, _into(dest, name))])
        return [_copy_line(source, result)]
    (src, listed), dst = source_folder(catalog, source), catalog.folder(dest)
    records = _under(catalog, src, keep, listed)
    pairs = [(r.uri, Location(dst.namespace, dst.name + r.name[len(src.name):]))
             for r in records]
    if dry_run:
        return [Transfer("copy", uri, _writable(catalog, loc).uri) for uri, loc in pairs]
    copies = catalog.copy_many(pairs)
    return [_copy_line(r.uri, c) for r, c in zip(records, copies, strict=True)]


def _copy_line(source: str, result: PutResult) -> Transfer:
    return Transfer("copy" if result.created else "unchanged", source, result.record.uri)


def _under(catalog: Catalog, folder: Location, keep: PathFilter,
           listed: str | Location | None = None) -> list[VersionRecord]:
    """Every live name below a folder (``listed``: a folder version of it) that ``keep`` keeps,
    or NotFoundError: -r of nothing is a mistake."""
    records = [r for r in catalog.ls(folder if listed is None else listed, recursive=True).files
               if not keep.leaves_out(r.name[len(folder.name):])]
    if not records:
        left = " once --exclude is applied" if keep.exclude else ""
        raise NotFoundError(
            f"nothing under {folder.uri}{left}: check the prefix with `eos ls {folder.uri}`"
        )
    return records


def _import(catalog: Catalog, source: str, dest: str, dry_run: bool) -> list[Transfer]:
    name = PurePosixPath(source.split("?", 1)[0]).name or "download"
    if dry_run:
        loc = _writable(catalog, _into(dest, name))
        return [Transfer("import", source.split("?", 1)[0], loc.uri)]
    with tempfile.TemporaryDirectory(prefix="eos-import-") as tmp:
        local = Path(tmp) / name
        if source.startswith("s3://"):
            endpoint = (catalog.s3_options() or {}).get("endpoint_url")
            download_s3(source, local, endpoint_url=endpoint)
        else:
            download_url(source, local)
        result = catalog.put(local, _into(dest, name), meta={"source": source.split("?", 1)[0]})
    return [Transfer("import", source.split("?", 1)[0], result.record.uri)]


def run_mv(catalog: Catalog, source: str, dest: str, *, recursive: bool = False,
           dry_run: bool = False) -> list[Transfer]:
    """Move names within the catalog: a copy (no byte moves) and a delete marker on the
    source, in ONE changeset when both are in one namespace (two otherwise: the copy first).

    The source keeps its history (``eos undelete`` brings it back); the destination gets a new
    version recording where it came from.
    """
    if kind_of(source) != "eos" or kind_of(dest) != "eos":
        raise InvalidNameError(
            f"eos mv moves names within the catalog: {source!r} and {dest!r} must both be "
            "eos:// URIs (use eos cp to copy in or out)"
        )
    name, selector = split_reference(source)
    if selector is not None:
        raise InvalidNameError(f"eos mv moves a name, not a version: drop '@{selector}' "
                               f"(eos cp {source} ... copies that version)")
    if not dest.endswith("/") and not catalog.prefix(dest).name:
        dest += "/"
    if recursive:
        src, dst = catalog.folder(source), catalog.folder(dest)
        if dst.namespace == src.namespace and dst.name.startswith(src.name):
            raise InvalidNameError(f"cannot move {src.uri} into itself ({dst.uri})")
        records = _under(catalog, src, PathFilter())
        pairs = [(Location(r.namespace, r.name), Location(dst.namespace,
                                                          dst.name + r.name[len(src.name):]))
                 for r in records]
    else:
        origin = catalog.location(name)
        target = catalog.location(_into(dest, origin.name))
        if target == origin:
            raise InvalidNameError(f"{origin.uri} is already there: nothing to move")
        catalog.resolve(origin.uri)  # a missing or deleted name is an error before any write
        pairs = [(origin, target)]
    if dry_run:
        for origin, target in pairs:
            catalog.check_writable(origin.namespace)
            _writable(catalog, target)
        return [Transfer("move", o.uri, t.uri) for o, t in pairs]
    results = catalog.copy_many([(o.uri, t) for o, t in pairs],
                                deletes=[o for o, _ in pairs],
                                message=f"mv {source} {dest}")
    return [Transfer("move", o.uri, r.record.uri) for (o, _), r in zip(pairs, results,
                                                                      strict=True)]
