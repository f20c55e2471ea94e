"""How two versions of names differ, as ``eos diff A B`` shows it for two names: both versions,
whether their bytes are the same, the size and metadata change, and for two tables (CSV, TSV,
Parquet) how their schema and row count differ.

Made by the catalog (``Catalog.diff``), with the table part from
:func:`~eoscatalog.interchange.table_diff.diff_tables`; pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eoscatalog.interchange.table_change import TableDiff
from eoscatalog.log.records import VersionRecord

__all__ = ["NameDiff"]


@dataclass(frozen=True)
class NameDiff:
    """Version ``a`` and version ``b`` (of one name or of two) and, when both are tables whose
    bytes differ and tables were asked for, ``table``: how B's schema and rows differ from A's.

    >>> a = VersionRecord("org", "t.csv", 1, "put", "blake3:" + "1" * 64, 10, "t", "ada")
    >>> b = VersionRecord("org", "t.csv", 2, "put", "blake3:" + "1" * 64, 10, "t", "ada",
    ...                   meta={"k": "v"})
    >>> d = NameDiff(a, b)
    >>> d.same_bytes, d.size_delta, d.metadata_changed, d.same
    (True, 0, True, False)
    """

    a: VersionRecord
    b: VersionRecord
    table: TableDiff | None = None

    kind = "name"

    @property
    def same_bytes(self) -> bool:
        """Whether both versions hold the same bytes (the same hash)."""
        return self.a.hash == self.b.hash

    @property
    def size_delta(self) -> int:
        """B's size minus A's."""
        return (self.b.size or 0) - (self.a.size or 0)

    @property
    def metadata_changed(self) -> bool:
        """Whether the versions' metadata differ."""
        return self.a.meta != self.b.meta

    @property
    def same(self) -> bool:
        """Whether bytes and metadata are the same."""
        return self.same_bytes and not self.metadata_changed

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (``eos diff --json``): ``kind`` ``"name"``, ``a`` and ``b`` (each
        :meth:`VersionRecord.to_dict`), ``same``, ``same_bytes``, ``size_delta``,
        ``metadata_changed``, and ``table`` (:meth:`TableDiff.to_dict`, or null: not two
        tables, the same bytes, or tables not asked for)."""
        return {
            "kind": self.kind,
            "a": self.a.to_dict(),
            "b": self.b.to_dict(),
            "same": self.same,
            "same_bytes": self.same_bytes,
            "size_delta": self.size_delta,
            "metadata_changed": self.metadata_changed,
            "table": None if self.table is None else self.table.to_dict(),
        }
