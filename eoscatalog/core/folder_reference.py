"""A folder at one of its versions: the value a folder reference (``eos://org/x.zarr@3/``)
parses to (:mod:`eoscatalog.core.folder_refs` parses them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from eoscatalog.core.errors import InvalidNameError
from eoscatalog.core.units import format_time

__all__ = ["FolderReference"]


@dataclass(frozen=True)
class FolderReference:
    """A folder (``prefix`` ends with ``/``; ``""`` is the namespace's root) and which of its
    versions: ``kind`` is ``version`` (value: int), ``tag`` (str) or ``time`` (an aware UTC
    datetime).

    >>> FolderReference("org", "runs/", "tag", "paper-2026").uri
    'eos://org/runs@paper-2026/'
    """

    namespace: str
    prefix: str
    kind: str
    value: int | str | datetime

    @property
    def selector(self) -> str:
        """The ``@...`` part, as written in a URI."""
        if self.kind == "time":
            if not isinstance(self.value, datetime):
                raise InvalidNameError(f"a time reference needs a datetime, not {self.value!r}")
            return "@" + format_time(self.value)
        return f"@{self.value}"

    @property
    def uri(self) -> str:
        """``eos://<namespace>/<folder>@<selector>/``."""
        return f"eos://{self.namespace}/{self.prefix[:-1]}{self.selector}/"

    def uri_of(self, name: str) -> str:
        """The URI of ``name`` (a full name under the folder) in this snapshot.

        >>> FolderReference("org", "x.zarr/", "version", 3).uri_of("x.zarr/a/0")
        'eos://org/x.zarr@3/a/0'
        """
        return self.uri + name[len(self.prefix):]

    @property
    def is_pinned(self) -> bool:
        """True for a version number or a time (a tag can move)."""
        return self.kind in ("version", "time")
