"""Value objects the catalog reports: a version (VersionRecord), a change (Event), space (Usage),
a search result (SearchHit)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["RECORD_COLUMNS", "Event", "SearchHit", "Usage", "VersionRecord"]

# The index columns a VersionRecord is made of, in the order VersionRecord.from_values takes.
RECORD_COLUMNS = ("namespace", "name", "version", "kind", "hash", "size", "created", "author",
                  "message", "seq", "source_version", "source", "expires", "purged", "meta")


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
    def from_values(cls, values: Sequence[Any]) -> VersionRecord:
        """Build a record from an index row's values in :data:`RECORD_COLUMNS` order: no dict
        per row, for listings of many names (``eos sync`` compares 10,000 at once)."""
        (namespace, name, version, kind, hash_string, size, created, author, message, seq,
         source_version, source, expires, purged, meta) = values
        return cls(namespace, name, version, kind, hash_string, size, created, author,
                   message or "", seq, source_version, source, expires, bool(purged),
                   json.loads(meta) if meta else {})

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


@dataclass(frozen=True)
class Event:
    """One change to one name, as ``eos log`` shows it: an entry of a changeset.

    ``op`` is a version-making op (``put``, ``delete``, ``rollback``, ``undelete``, ``copy``:
    ``version`` is the new version) or ``tag`` (``tag`` now points at ``version``), ``untag``,
    ``purge`` (``versions`` are gone for good) or ``expire`` (a scratch version's new expiry);
    ``folder-tag`` and ``folder-untag`` tag a folder (``name`` ends with ``/``) at its folder
    version ``version``.

    >>> Event("org", "a.csv", "rollback", 3, 1, "t", "ada", source_version=1).what
    'rollback of 1'
    >>> Event("org", "a.csv", "purge", None, 4, "t", "ada", versions=(1, 2)).what
    'purge 1,2'
    """

    namespace: str
    name: str
    op: str
    version: int | None
    seq: int
    created: str
    author: str
    message: str = ""
    source_version: int | None = None
    tag: str | None = None
    versions: tuple[int, ...] = ()
    hash: str | None = None
    size: int | None = None
    expires: str | None = None

    @property
    def what(self) -> str:
        """What happened, in a few words (the WHAT column of ``eos log``)."""
        if self.op in ("rollback", "undelete") and self.source_version:
            return f"{self.op} of {self.source_version}"
        if self.op in ("tag", "untag", "folder-tag", "folder-untag"):
            return f"{self.op.removeprefix('folder-')} {self.tag}"
        if self.op == "purge":
            return "purge " + ",".join(map(str, self.versions))
        if self.op == "expire":
            return f"expire {self.expires or 'never'}"
        return self.op

    @property
    def target(self) -> str:
        """``name@version`` when the change concerns one version, else the name; a folder's
        version is written ``folder@N/``."""
        if self.op.startswith("folder-"):
            return f"{self.name[:-1]}@{self.version}/" if self.version else self.name
        return f"{self.name}@{self.version}" if self.version else self.name

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: the stable shape of ``eos log --json``."""
        return {
            "namespace": self.namespace, "name": self.name, "op": self.op,
            "version": self.version, "seq": self.seq, "created": self.created,
            "author": self.author, "message": self.message,
            "source_version": self.source_version, "tag": self.tag,
            "versions": list(self.versions), "hash": self.hash, "size": self.size,
            "expires": self.expires,
        }

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Event:
        """Build an event from a row of the index's ``events`` table."""
        versions = row.get("versions") or ""
        return cls(
            namespace=row["namespace"], name=row["name"], op=row["op"],
            version=row.get("version"), seq=row["seq"], created=row["created"],
            author=row["author"], message=row.get("message") or "",
            source_version=row.get("source_version"), tag=row.get("tag"),
            versions=tuple(int(v) for v in versions.split(",") if v),
            hash=row.get("hash"), size=row.get("size"), expires=row.get("expires"),
        )


@dataclass(frozen=True)
class Usage:
    """Space under a prefix. ``logical``: the latest versions' sizes; ``all_versions``: every
    readable version's; ``stored``: each distinct blob once (what the store holds for them);
    ``saved``: what deduplication spared (``all_versions - stored``).

    >>> Usage(names=1, versions=2, logical=10, all_versions=20, stored=10).saved
    10
    """

    names: int
    versions: int
    logical: int
    all_versions: int
    stored: int

    @property
    def saved(self) -> int:
        """Bytes deduplication spared: every version's size minus each blob counted once."""
        return self.all_versions - self.stored


@dataclass(frozen=True)
class SearchHit:
    """A version ``Catalog.search`` found, and how: ``matched`` is ``name``, ``tag`` or
    ``meta``; ``detail`` the name, the tag, or the metadata ``key: value`` that matched."""

    record: VersionRecord
    matched: str
    detail: str
