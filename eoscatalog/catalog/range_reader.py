"""A seekable, read-only file object over verified ranged reads of a version's blob, for readers
that want a file (``pyarrow.parquet.ParquetFile`` reads only a Parquet file's footer through it;
``eos diff`` streams a CSV through it).
"""

from __future__ import annotations

import io

from eoscatalog.catalog.ranged import VerifiedRanges

__all__ = ["RangeReader"]


class RangeReader(io.RawIOBase):
    """A raw binary file over ``ranges``; wrap it in :class:`io.BufferedReader` for small reads.

    >>> from eoscatalog.store import MemoryStore
    >>> store = MemoryStore(); h = store.put_blob_bytes(b"hello world")
    >>> f = RangeReader(VerifiedRanges(store, h, 11, "eos://org/x"))
    >>> f.seek(-5, io.SEEK_END), f.read(), f.tell()
    (6, b'world', 11)
    """

    def __init__(self, ranges: VerifiedRanges) -> None:
        super().__init__()
        self.ranges = ranges
        self.position = 0

    def readable(self) -> bool:
        """Always: it reads."""
        return True

    def seekable(self) -> bool:
        """Always: any range can be read."""
        return True

    def tell(self) -> int:
        """The position of the next read."""
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move the position (``whence`` as :meth:`io.IOBase.seek`); return it."""
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.ranges.size}
        if whence not in base:
            raise ValueError(f"invalid whence {whence!r}")
        target = base[whence] + offset
        if target < 0:
            raise ValueError(f"negative seek position {target}")
        self.position = target
        return target

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        """Read up to ``len(buffer)`` verified bytes at the position into ``buffer``."""
        view = memoryview(buffer).cast("B")
        data = self.ranges.read(self.position, self.position + len(view))
        view[:len(data)] = data
        self.position += len(data)
        return len(data)
