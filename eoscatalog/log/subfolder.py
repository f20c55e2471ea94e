"""A sub-folder as a folder's tree shows it: its path, and the names and bytes under it."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SubFolder"]


@dataclass(frozen=True)
class SubFolder:
    """The folder ``path`` (ending with ``/``) in ``namespace``, holding ``names`` names (at any
    depth) whose versions hold ``bytes`` bytes together.

    >>> SubFolder("org", "runs/a/", 2, 10).uri
    'eos://org/runs/a/'
    """

    namespace: str
    path: str
    names: int
    bytes: int

    @property
    def uri(self) -> str:
        """The folder's URI, ``eos://<namespace>/<path>``."""
        return f"eos://{self.namespace}/{self.path}"
