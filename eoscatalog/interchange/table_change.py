"""How two versions of a table differ, as ``eos diff`` shows it: columns added, removed and
retyped, a new column order, the row counts, the format.

Made by :func:`~eoscatalog.interchange.table_diff.diff_tables`; pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eoscatalog.interchange.table_summary import Column

__all__ = ["TableDiff"]


@dataclass(frozen=True)
class TableDiff:
    """The difference between an old and a new :class:`TableSummary`.

    ``added`` and ``removed`` are (name, type) pairs, ``retyped`` (name, old type, new type)
    triples, in file order; ``reordered`` says the columns both versions have come in another
    order. ``old_error`` and ``new_error`` say why a version could not be read: columns are then
    not compared. Row counts are None where unknown.

    >>> d = TableDiff("csv", "csv", added=(("c", "int"),), retyped=(("a", "int", "float"),),
    ...               old_rows=1000, new_rows=1250)
    >>> d.lines()
    ['columns added: c (int)', 'column a: int -> float', 'rows: 1,000 -> 1,250 (+250)']
    >>> d.row_delta, d.schema_changed
    (250, True)
    >>> TableDiff("csv", "csv", old_rows=3, new_rows=3).lines()
    ['schema unchanged', 'rows: 3 (unchanged)']
    """

    old_format: str
    new_format: str
    added: tuple[Column, ...] = ()
    removed: tuple[Column, ...] = ()
    retyped: tuple[tuple[str, str, str], ...] = ()
    reordered: bool = False
    old_rows: int | None = None
    new_rows: int | None = None
    old_row_groups: int | None = None
    new_row_groups: int | None = None
    old_error: str | None = None
    new_error: str | None = None

    @property
    def comparable(self) -> bool:
        """Whether both versions could be read, so their columns were compared."""
        return self.old_error is None and self.new_error is None

    @property
    def schema_changed(self) -> bool:
        """Whether a column was added, removed, retyped or moved."""
        return bool(self.added or self.removed or self.retyped or self.reordered)

    @property
    def row_delta(self) -> int | None:
        """New rows minus old rows, when both are known."""
        if self.old_rows is None or self.new_rows is None:
            return None
        return self.new_rows - self.old_rows

    @property
    def changed(self) -> bool:
        """Whether anything this diff tells differs (format, columns, rows, row groups)."""
        return (self.old_format != self.new_format or self.schema_changed
                or self.old_rows != self.new_rows or self.old_row_groups != self.new_row_groups
                or not self.comparable)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, in the same terms as :meth:`lines`."""
        return {
            "format": {"old": self.old_format, "new": self.new_format},
            "columns": {
                "added": [{"name": name, "type": kind} for name, kind in self.added],
                "removed": [{"name": name, "type": kind} for name, kind in self.removed],
                "type_changed": [{"name": name, "old": old, "new": new}
                                 for name, old, new in self.retyped],
                "reordered": self.reordered,
            },
            "schema_changed": self.schema_changed,
            "rows": {"old": self.old_rows, "new": self.new_rows, "delta": self.row_delta},
            "row_groups": {"old": self.old_row_groups, "new": self.new_row_groups},
            "errors": {"old": self.old_error, "new": self.new_error},
        }

    def lines(self) -> list[str]:
        """What changed, one fact a line, for people (``eos diff`` prints them indented)."""
        out: list[str] = []
        if self.old_format != self.new_format:
            out.append(f"format: {self.old_format} -> {self.new_format}")
        if self.old_error is not None:
            out.append(f"old version unreadable: {self.old_error}")
        if self.new_error is not None:
            out.append(f"new version unreadable: {self.new_error}")
        if self.comparable:
            out.extend(self._column_lines())
        if self.old_rows is not None or self.new_rows is not None:
            out.append(_change("rows", self.old_rows, self.new_rows))
        if self.old_row_groups is not None and self.new_row_groups is not None and (
                self.old_row_groups != self.new_row_groups):
            out.append(_change("row groups", self.old_row_groups, self.new_row_groups))
        return out

    def _column_lines(self) -> list[str]:
        if not self.schema_changed:
            return ["schema unchanged"]
        out = []
        if self.added:
            out.append("columns added: " + ", ".join(f"{n} ({t})" for n, t in self.added))
        if self.removed:
            out.append("columns removed: " + ", ".join(f"{n} ({t})" for n, t in self.removed))
        out.extend(f"column {name}: {old} -> {new}" for name, old, new in self.retyped)
        if self.reordered:
            out.append("columns reordered")
        return out


def _change(what: str, old: int | None, new: int | None) -> str:
    """``rows: 1,000 -> 1,250 (+250)``; ``rows: 3 (unchanged)``; ``?`` for an unknown count."""
    if old is not None and new is not None:
        if old == new:
            return f"{what}: {old:,} (unchanged)"
        return f"{what}: {old:,} -> {new:,} ({new - old:+,})"
    return f"{what}: {'?' if old is None else f'{old:,}'} -> {'?' if new is None else f'{new:,}'}"
