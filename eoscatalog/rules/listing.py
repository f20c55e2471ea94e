"""Listings: names under a prefix grouped into folders and files, as ``aws s3 ls`` shows them.

Pure functions over version records; the catalog supplies the records from its index.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eoscatalog.log.records import VersionRecord

__all__ = ["Listing", "group_listing"]


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
