"""A folder version found: which changeset it is, what was asked for, and when it was made."""

from __future__ import annotations

from dataclasses import dataclass

from eoscatalog.core.folder_reference import FolderReference

__all__ = ["Snapshot"]


@dataclass(frozen=True)
class Snapshot:
    """Folder version ``version`` of ``prefix`` in ``namespace``, made by changeset ``seq`` at
    ``at``; ``ref`` is the reference it was asked by (a tag or a time names some version).

    >>> ref = FolderReference("org", "x.zarr/", "tag", "paper")
    >>> Snapshot("org", "x.zarr/", 3, 12, "2026-06-01T00:00:00.000000Z", ref).uri
    'eos://org/x.zarr@3/'
    """

    namespace: str
    prefix: str
    version: int
    seq: int
    at: str
    ref: FolderReference

    @property
    def uri(self) -> str:
        """The pinned folder reference, ``eos://<namespace>/<folder>@<version>/``."""
        return f"eos://{self.namespace}/{self.prefix[:-1]}@{self.version}/"

    @property
    def pinned(self) -> FolderReference:
        """The folder reference by version number: what a lock or a link keeps."""
        return FolderReference(self.namespace, self.prefix, "version", self.version)

    def uri_of(self, name: str) -> str:
        """The pinned URI of ``name`` (a full name under the folder) in this snapshot."""
        return self.pinned.uri_of(name)
