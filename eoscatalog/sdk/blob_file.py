"""fsspec's file object over a version's blob, read in verified ranges.

The ranges come from :meth:`Catalog.open_ranges <eoscatalog.catalog.catalog.Catalog.open_ranges>`
(every range checked before it is returned: a small blob whole, a large one chunk by chunk
against its outboard); a read from start to end is also checked against the whole hash.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fsspec.spec import AbstractBufferedFile, AbstractFileSystem

from eoscatalog.core.errors import IntegrityError
from eoscatalog.core.hashing import StreamHasher
from eoscatalog.log.records import VersionRecord

__all__ = ["BlobFile"]


class BlobFile(AbstractBufferedFile):  # type: ignore[misc]  # fsspec is untyped
    """A version's bytes read in ranges from its blob, every range verified
    (``read_range(start, end)``, e.g. ``Catalog.open_ranges(record).read``); a read from start
    to end is also checked against the whole hash.

    >>> import fsspec
    >>> from eoscatalog import Catalog
    >>> cat = Catalog.at("memory://", user="ada")
    >>> record = cat.put_bytes(b"hello world", "a.txt").record
    >>> f = BlobFile(fsspec.filesystem("memory"), "a.txt", record, cat.open_ranges(record).read)
    >>> f.read()
    b'hello world'
    """

    def __init__(self, fs: AbstractFileSystem, path: str, record: VersionRecord,
                 read_range: Callable[[int, int], bytes], **kwargs: Any):
        self.record = record
        self.read_range = read_range
        self._hasher: StreamHasher | None = StreamHasher()
        self._hashed = 0
        super().__init__(fs, path, mode="rb", size=record.size or 0, **kwargs)

    def _fetch_range(self, start: int, end: int) -> bytes:
        data = self.read_range(start, end)
        end = start + len(data)
        if self._hasher is not None and data:
            if start == self._hashed:
                self._hasher.update(data)
                self._hashed = end
                actual = self._hasher.hash
                if end == self.size and actual != self.record.hash:
                    raise IntegrityError(
                        f"{self.record.uri}: the blob's bytes hash to {actual}, not "
                        f"{self.record.hash}; run `eos verify` and re-put the good bytes",
                        expected=str(self.record.hash), actual=actual,
                    )
            elif start > self._hashed:
                self._hasher = None  # random access: the whole-read check no longer applies
        return data
