"""One line of a folder diff: a name added, removed or changed between two folders.

Made by :func:`~eoscatalog.rules.folder_diff.diff_folders`; pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eoscatalog.log.records import VersionRecord

__all__ = ["NameChange", "side_dict"]


def side_dict(record: VersionRecord | None) -> dict[str, Any] | None:
    """A version as one side of a diff shows it (``uri``, ``version``, ``size``, ``hash``),
    or None where the name is missing.

    >>> r = VersionRecord("org", "x/a.csv", 2, "put", "blake3:" + "0" * 64, 10, "t", "ada")
    >>> side_dict(r)["uri"], side_dict(None)
    ('eos://org/x/a.csv@2', None)
    """
    if record is None:
        return None
    return {"uri": record.uri, "version": record.version, "size": record.size,
            "hash": record.hash}


@dataclass(frozen=True)
class NameChange:
    """A name (relative to the folders compared) and its version in folder A and in folder B.

    ``status`` is ``added`` (in B only: ``a`` is None), ``removed`` (in A only: ``b`` is None)
    or ``changed`` (in both, other bytes, or the same bytes with other metadata:
    ``metadata_only``).

    >>> a = VersionRecord("org", "x/t.csv", 1, "put", "blake3:" + "1" * 64, 10, "t", "ada")
    >>> b = VersionRecord("org", "x/t.csv", 2, "put", "blake3:" + "2" * 64, 25, "t", "ada")
    >>> c = NameChange("t.csv", "changed", a, b)
    >>> c.size_delta, c.metadata_only, c.to_dict()["b"]["version"]
    (15, False, 2)
    """

    name: str
    status: str
    a: VersionRecord | None
    b: VersionRecord | None

    @property
    def metadata_only(self) -> bool:
        """Whether the bytes are the same in both and only the metadata differs."""
        return (self.a is not None and self.b is not None and self.a.hash == self.b.hash)

    @property
    def size_delta(self) -> int:
        """Size in B minus size in A (a missing side counts as 0 bytes)."""
        return _size(self.b) - _size(self.a)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``name``, ``status``, ``metadata_only``, ``size_delta``, and ``a`` and
        ``b`` (:func:`side_dict`, null where missing)."""
        return {"name": self.name, "status": self.status, "metadata_only": self.metadata_only,
                "size_delta": self.size_delta, "a": side_dict(self.a), "b": side_dict(self.b)}


def _size(record: VersionRecord | None) -> int:
    return 0 if record is None else record.size or 0
