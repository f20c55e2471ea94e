"""One version of a folder, as ``eos versions PREFIX/`` shows it (a value the catalog reports)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["FolderVersion"]


@dataclass(frozen=True)
class FolderVersion:
    """Version ``version`` of the folder ``prefix``: the changeset ``seq`` that made it, when
    (``at``: the time ``folder@<time>`` compares against), who, why, and what it changed.

    >>> v = FolderVersion("org", "x.zarr/", 3, 12, "2026-06-01T00:00:00.000000Z",
    ...                   "2026-06-01T00:00:00.000000Z", "ada", "append", 1, 4, 0, 4096, 5)
    >>> v.uri, v.summary
    ('eos://org/x.zarr@3/', '+1 ~4 -0')
    """

    namespace: str
    prefix: str
    version: int
    seq: int
    created: str
    at: str
    author: str
    message: str
    added: int
    changed: int
    removed: int
    bytes_added: int
    entries: int  # versions the changeset made under the folder
    tags: tuple[str, ...] = ()

    @property
    def uri(self) -> str:
        """The folder reference of this version, ``eos://<namespace>/<folder>@<N>/``."""
        return f"eos://{self.namespace}/{self.prefix[:-1]}@{self.version}/"

    @property
    def summary(self) -> str:
        """Names added, changed and removed, as ``+A ~C -R``."""
        return f"+{self.added} ~{self.changed} -{self.removed}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: the stable shape of ``eos versions PREFIX/ --json``."""
        return {
            "uri": self.uri, "namespace": self.namespace, "prefix": self.prefix,
            "version": self.version, "seq": self.seq, "created": self.created, "at": self.at,
            "author": self.author, "message": self.message, "added": self.added,
            "changed": self.changed, "removed": self.removed, "bytes_added": self.bytes_added,
            "entries": self.entries, "tags": list(self.tags),
        }
