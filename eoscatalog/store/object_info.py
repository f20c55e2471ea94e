"""What a store says about one object: :class:`ObjectInfo`, the answer of ``head`` and ``list``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["ObjectInfo"]


@dataclass(frozen=True)
class ObjectInfo:
    """What a listing or ``head`` says about one object.

    >>> ObjectInfo("a/b", 1, "e", "2024-01-02T03:04:05+00:00").modified_at.year
    2024
    """

    key: str
    size: int
    etag: str
    modified: str | None = None  # ISO 8601 with a zone: when it was written (or touched)

    @property
    def modified_at(self) -> datetime | None:
        """``modified`` as an aware datetime."""
        return datetime.fromisoformat(self.modified) if self.modified else None
