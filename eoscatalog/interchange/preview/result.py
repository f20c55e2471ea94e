"""The answer of a preview: one frozen value with ``to_json()``, the shape the web page reads
(see the module docstring of :mod:`eoscatalog.interchange.preview`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Preview"]

MAX_ROWS = 50  # rows shown of a table
MAX_TEXT = 64 * 1024  # characters of text shown


@dataclass(frozen=True)
class Preview:
    """What a file looks like from its first bytes (or its footer).

    ``kind`` says how to show it (``table``, ``parquet``, ``text``, ``markdown``, ``json``,
    ``image``, ``sequence``, ``zarr``, or ``none`` with ``reason`` saying why not);
    ``format`` what it is (``csv``, ``parquet``, ``vcf``, ...). ``bytes_read`` counts the
    bytes asked of the reader.

    >>> Preview("none", "bin", reason="binary file of unknown format").to_json()["reason"]
    'binary file of unknown format'
    """

    kind: str
    format: str
    reason: str = ""
    columns: tuple[tuple[str, str], ...] = ()  # (name, type)
    rows: tuple[tuple[str, ...], ...] = ()
    text: str = ""
    html: str = ""
    truncated: bool = False
    details: Mapping[str, Any] = field(default_factory=dict)
    bytes_read: int = 0

    @classmethod
    def table(cls, kind: str, format: str, columns: Sequence[tuple[str, str]],
              rows: Sequence[Sequence[str]], **more: Any) -> Preview:
        """A table preview (the first :data:`MAX_ROWS` rows of ``rows`` are kept)."""
        return cls(kind, format, columns=tuple(columns),
                   rows=tuple(tuple(row) for row in rows[:MAX_ROWS]), **more)

    def to_json(self) -> dict[str, Any]:
        """The preview as JSON-ready values (every key always present)."""
        return {
            "kind": self.kind,
            "format": self.format,
            "reason": self.reason,
            "columns": [{"name": name, "type": type_} for name, type_ in self.columns],
            "rows": [list(row) for row in self.rows],
            "text": self.text,
            "html": self.html,
            "truncated": self.truncated,
            "details": dict(self.details),
            "bytes_read": self.bytes_read,
        }
