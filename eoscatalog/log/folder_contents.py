"""What a folder holds, one level down: its sub-folders (each with its count and bytes) and the
versions of the names right under it, as ``Catalog.folders.contents`` returns it."""

from __future__ import annotations

from dataclasses import dataclass

from eoscatalog.log.records import VersionRecord
from eoscatalog.log.subfolder import SubFolder

__all__ = ["FolderContents"]


@dataclass(frozen=True)
class FolderContents:
    """The folder ``prefix`` of ``namespace``: ``folders`` (sorted by path) and ``files`` (the
    names right under it, by name); ``names`` and ``bytes`` add up both, at every depth.

    >>> FolderContents("org", "runs/", (SubFolder("org", "runs/a/", 2, 10),), ()).names
    2
    """

    namespace: str
    prefix: str
    folders: tuple[SubFolder, ...]
    files: tuple[VersionRecord, ...]

    @property
    def names(self) -> int:
        """How many names the folder holds, at every depth."""
        return sum(f.names for f in self.folders) + len(self.files)

    @property
    def bytes(self) -> int:
        """The bytes of the names' versions, at every depth (a version without a size: 0)."""
        return sum(f.bytes for f in self.folders) + sum(r.size or 0 for r in self.files)
