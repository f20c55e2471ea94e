"""Listings: names under a prefix grouped into folders and files, as ``aws s3 ls`` shows them.

Pure functions over version records; the catalog supplies the records from its index.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .records import VersionRecord

__all__ = ["Listing", "Usage", "group_listing", "history", "usage"]


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


@dataclass(frozen=True)
class Usage:
    """Space under a prefix. ``logical``: the latest versions' sizes; ``all_versions``: every
    readable version's; ``stored``: each distinct blob once (what the store holds for them);
    ``saved``: what deduplication spared (``all_versions - stored``)."""

    names: int
    versions: int
    logical: int
    all_versions: int
    stored: int

    @property
    def saved(self) -> int:
        return self.all_versions - self.stored


def usage(records: Sequence[VersionRecord]) -> Usage:
    """Add up every version of the names under a prefix (as ``ls --versions`` gives them).

    >>> h = "blake3:" + "0" * 64
    >>> r = [VersionRecord("org", "a", v, "put", h, 10, "t", "ada") for v in (1, 2)]
    >>> u = usage(r); (u.logical, u.all_versions, u.stored, u.saved)
    (10, 20, 10, 10)
    """
    readable = [r for r in records if r.hash and not r.purged]
    latest: dict[str, VersionRecord] = {}
    for record in records:
        if not record.purged:
            latest[record.name] = record  # records come by name, then version
    blobs = {r.hash: r.size or 0 for r in readable}
    return Usage(
        names=sum(1 for r in latest.values() if not r.is_delete_marker),
        versions=len(readable),
        logical=sum(r.size or 0 for r in latest.values() if not r.is_delete_marker),
        all_versions=sum(r.size or 0 for r in readable),
        stored=sum(blobs.values()),
    )


def history(records: Sequence[VersionRecord], limit: int) -> list[VersionRecord]:
    """The newest ``limit`` versions, newest first (by changeset, then name)."""
    return sorted(records, key=lambda r: (r.seq, r.name, r.version), reverse=True)[:limit]
