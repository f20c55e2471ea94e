"""Listings: names under a prefix grouped into folders and files, as ``aws s3 ls`` shows them.

Pure functions over version records; the catalog supplies the records from its index.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eoscatalog.log.folder_contents import FolderContents
from eoscatalog.log.records import VersionRecord
from eoscatalog.log.subfolder import SubFolder

__all__ = ["Listing", "contents_of", "group_listing"]


@dataclass(frozen=True)
class Listing:
    """What ``ls`` shows under a prefix: sub-folders (ending with ``/``) and names' versions."""

    namespace: str
    prefix: str
    folders: tuple[str, ...]
    files: tuple[VersionRecord, ...]


def group_listing(
    namespace: str,
    prefix: str,
    records: Sequence[VersionRecord],
    *,
    recursive: bool = False,
    deleted: bool = False,
) -> Listing:
    """Group records (sorted by name) under ``prefix``: folders at ``/``, unless recursive.

    Names whose latest version is a delete marker are left out unless ``deleted``.

    >>> r = [VersionRecord("org", n, 1, "put", "blake3:" + "0" * 64, 1, "t", "ada")
    ...      for n in ("a/x.csv", "a/y/z.csv", "b.csv")]
    >>> listing = group_listing("org", "a/", r[:2])
    >>> listing.folders, [f.name for f in listing.files]
    (('a/y/',), ['a/x.csv'])
    """
    folders: dict[str, None] = {}
    files = []
    for record in records:
        if record.is_delete_marker and not deleted:
            continue
        rest = record.name[len(prefix):]
        if not recursive and "/" in rest:
            folders[prefix + rest.split("/", 1)[0] + "/"] = None
        else:
            files.append(record)
    return Listing(namespace, prefix, tuple(folders), tuple(files))


def contents_of(listing: Listing) -> FolderContents:
    """A recursive listing grouped one level down: each sub-folder with how many of the
    listing's names are under it and their sizes added up, and the names right under the
    prefix as files. ``Folders.contents`` groups the index in SQL instead; this is its answer
    where the index alone is not (an open transaction's staged writes, a locked folder).

    >>> r = [VersionRecord("org", n, 1, "put", "blake3:" + "0" * 64, s, "t", "ada")
    ...      for n, s in (("a/x.csv", 1), ("a/y/z.csv", 2), ("a/y/w.csv", 4))]
    >>> found = contents_of(group_listing("org", "a/", r, recursive=True))
    >>> [(f.path, f.names, f.bytes) for f in found.folders], [f.name for f in found.files]
    ([('a/y/', 2, 6)], ['a/x.csv'])
    """
    start = len(listing.prefix)
    counts: dict[str, list[int]] = {}
    files = []
    for record in listing.files:
        rest = record.name[start:]
        cut = rest.find("/")
        if cut < 0:
            files.append(record)
            continue
        count = counts.setdefault(listing.prefix + rest[:cut + 1], [0, 0])
        count[0] += 1
        count[1] += record.size or 0
    return FolderContents(
        listing.namespace, listing.prefix,
        tuple(SubFolder(listing.namespace, path, n, size)
              for path, (n, size) in sorted(counts.items())),
        tuple(files))
