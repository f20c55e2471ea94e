"""VersionRecord: one version of one name, as the catalog reports it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

__all__ = ["VersionRecord"]


@dataclass(frozen=True)
class VersionRecord:
    """One version of a name: what it holds, who made it, when, and how.

    ``kind`` is ``put``, ``delete`` (a delete marker: no hash), ``rollback``, ``undelete`` or
    ``copy``. ``source_version`` is the version a rollback or undelete restored.

    >>> r = VersionRecord("org", "a.csv", 2, "put", "blake3:" + "0" * 64, 10,
    ...                   "2026-01-01T00:00:00.000000Z", "ada")
    >>> r.uri
    'eos://org/a.csv@2'
    """

    namespace: str
    name: str
    version: int
    kind: str
    hash: str | None
    size: int | None
    created: str
    author: str
    message: str = ""
    seq: int = 0
    source_version: int | None = None
    source: str | None = None
    expires: str | None = None
    purged: bool = False
    meta: dict[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()

    @property
    def uri(self) -> str:
        """The pinned URI of this version."""
        return f"eos://{self.namespace}/{self.name}@{self.version}"

    @property
    def is_delete_marker(self) -> bool:
        return self.kind == "delete"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: the stable shape of ``--json`` output."""
        return {
            "uri": self.uri,
            "namespace": self.namespace,
            "name": self.name,
            "version": self.version,
            "kind": self.kind,
            "hash": self.hash,
            "size": self.size,
            "created": self.created,
            "author": self.author,
            "message": self.message,
            "seq": self.seq,
            "source_version": self.source_version,
            "source": self.source,
            "expires": self.expires,
            "purged": self.purged,
            "meta": dict(self.meta),
            "tags": list(self.tags),
        }

    @classmethod
    def from_row(cls, row: dict[str, Any], tags: tuple[str, ...] = ()) -> VersionRecord:
        """Build a record from an index row (``meta`` stored as JSON text)."""
        return cls(
            namespace=row["namespace"],
            name=row["name"],
            version=row["version"],
            kind=row["kind"],
            hash=row["hash"],
            size=row["size"],
            created=row["created"],
            author=row["author"],
            message=row.get("message") or "",
            seq=row["seq"],
            source_version=row.get("source_version"),
            source=row.get("source"),
            expires=row.get("expires"),
            purged=bool(row.get("purged")),
            meta=json.loads(row["meta"]) if row.get("meta") else {},
            tags=tags,
        )
