"""How two folders differ, as ``eos diff A/ B/`` shows it: the names added, removed and changed,
how many are unchanged, and the bytes gained and lost.

Made by :func:`~eoscatalog.rules.folder_diff.diff_folders`; pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eoscatalog.rules.name_change import NameChange

__all__ = ["FolderDiff"]


@dataclass(frozen=True)
class FolderDiff:
    """The difference between folder A (``a``: its URI, pinned when it is a folder version) and
    folder B: ``changes`` in name order (names relative to each folder), ``unchanged`` the count
    of names with the same bytes and metadata in both.

    ``bytes_added`` adds up the sizes of the names added and what the changed names grew by;
    ``bytes_removed`` the sizes of the names removed and what the changed names shrank by: B's
    total size is A's plus one minus the other.

    >>> FolderDiff("eos://org/x@1/", "eos://org/x@2/", (), unchanged=3).to_dict()["totals"]
    {'added': 0, 'removed': 0, 'changed': 0, 'unchanged': 3, 'bytes_added': 0, 'bytes_removed': 0}
    """

    a: str
    b: str
    changes: tuple[NameChange, ...]
    unchanged: int = 0
    a_version: int | None = None
    b_version: int | None = None

    kind = "folder"

    @property
    def added(self) -> list[NameChange]:
        """The names only B has."""
        return [c for c in self.changes if c.status == "added"]

    @property
    def removed(self) -> list[NameChange]:
        """The names only A has."""
        return [c for c in self.changes if c.status == "removed"]

    @property
    def changed(self) -> list[NameChange]:
        """The names both have, with other bytes or other metadata."""
        return [c for c in self.changes if c.status == "changed"]

    @property
    def same(self) -> bool:
        """Whether both folders hold the same names with the same bytes and metadata."""
        return not self.changes

    @property
    def bytes_added(self) -> int:
        """Bytes B has that A has not: names added, and growth of names changed."""
        return sum(c.size_delta for c in self.changes if c.size_delta > 0)

    @property
    def bytes_removed(self) -> int:
        """Bytes A has that B has not: names removed, and shrinkage of names changed."""
        return -sum(c.size_delta for c in self.changes if c.size_delta < 0)

    def counts(self) -> dict[str, int]:
        """How many names were added, removed, changed, and are unchanged, and the bytes."""
        found = {"added": 0, "removed": 0, "changed": 0}
        for c in self.changes:
            found[c.status] += 1
        return {**found, "unchanged": self.unchanged, "bytes_added": self.bytes_added,
                "bytes_removed": self.bytes_removed}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (``eos diff --json``): ``kind`` ``"folder"``, ``a`` and ``b`` (``uri``,
        ``version``: the folder version compared), ``same``, ``added``,
        ``removed``, ``changed`` (lists of :meth:`NameChange.to_dict`) and ``totals``
        (:meth:`counts`)."""
        return {
            "kind": self.kind,
            "a": {"uri": self.a, "version": self.a_version},
            "b": {"uri": self.b, "version": self.b_version},
            "same": self.same,
            "added": [c.to_dict() for c in self.added],
            "removed": [c.to_dict() for c in self.removed],
            "changed": [c.to_dict() for c in self.changed],
            "totals": self.counts(),
        }
