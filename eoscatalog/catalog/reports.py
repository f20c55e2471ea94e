"""What ``verify`` and ``gc`` report (:mod:`~eoscatalog.catalog.maintenance`): the blobs found
missing or corrupt, and the objects collected, by reason."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["BlobProblem", "GcReport", "VerifyReport"]


@dataclass(frozen=True)
class BlobProblem:
    """A blob some versions need that is ``missing`` or ``corrupt`` (``actual``: what its bytes
    hash to), and the pinned URIs of those versions."""

    hash: str
    problem: str
    uris: tuple[str, ...]
    actual: str | None = None
    quarantined: str | None = None  # where a corrupt blob was moved
    repaired: bool = False


@dataclass
class VerifyReport:
    """What ``verify`` checked and found."""

    versions: int = 0
    blobs: int = 0
    bytes: int = 0
    problems: list[BlobProblem] = field(default_factory=list)

    @property
    def missing(self) -> list[BlobProblem]:
        return [p for p in self.problems if p.problem == "missing"]

    @property
    def corrupt(self) -> list[BlobProblem]:
        return [p for p in self.problems if p.problem == "corrupt"]

    @property
    def ok(self) -> bool:
        """True when every blob is there and intact (or was repaired)."""
        return all(p.repaired for p in self.problems)


@dataclass
class GcReport:
    """What ``gc`` deleted (or would, in a dry run), by reason, and what it kept."""

    dry_run: bool
    grace_seconds: float
    deleted: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    pruned: dict[str, list[int]] = field(default_factory=dict)  # uri -> versions purged
    kept_young: int = 0  # unreferenced, but inside the grace period
    kept_rechecked: int = 0  # referenced or used again by the time gc came to delete it
    # Blobs a live version names that gc found gone from trash/ and from their key when it
    # came to put them back (logged; the versions need their files put again).
    lost: list[str] = field(default_factory=list)
    live: int = 0

    def add(self, reason: str, what: str, size: int) -> None:
        """Record one deleted (or deletable) object."""
        self.deleted.setdefault(reason, []).append((what, size))

    def bytes(self, reason: str | None = None) -> int:
        """Bytes reclaimed (or reclaimable) for one reason, or for all."""
        groups = [self.deleted.get(reason, [])] if reason else list(self.deleted.values())
        return sum(size for group in groups for _, size in group)
