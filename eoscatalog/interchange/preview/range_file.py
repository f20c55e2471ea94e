"""A seekable, read-only file over ranged reads, for readers that want a file object (pyarrow's
Parquet reader in previews; ``eos diff`` streaming a CSV or reading a Parquet footer over
``VerifiedRanges.read``): each read becomes one range read of the bytes asked."""

from __future__ import annotations

import io
import os
from collections.abc import Callable

__all__ = ["RangeFile"]


class RangeFile(io.RawIOBase):
    """Bytes ``read(start, end)`` returns, ``size`` of them, as a raw file; wrap it in
    ``io.BufferedReader`` so small reads share one range read.

    >>> data = b"0123456789"
    >>> f = io.BufferedReader(RangeFile(lambda a, b: data[a:b], len(data)), 4)
    >>> f.seek(-3, os.SEEK_END), f.read(2), f.tell()
    (7, b'78', 9)
    """

    def __init__(self, read: Callable[[int, int], bytes], size: int) -> None:
        super().__init__()
        self._read, self._size, self._at = read, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._at

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        bases = {os.SEEK_SET: 0, os.SEEK_CUR: self._at, os.SEEK_END: self._size}
        if whence not in bases:
            raise ValueError(f"invalid whence {whence!r}")
        if bases[whence] + offset < 0:
            raise ValueError(f"negative seek position {bases[whence] + offset}")
        self._at = bases[whence] + offset
        return self._at

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        """Fill ``buffer`` from the current position with one range read; the bytes read."""
        view = memoryview(buffer).cast("B")
        end = min(self._at + len(view), self._size)
        if end <= self._at:
            return 0
        data = self._read(self._at, end)
        view[:len(data)] = data
        self._at += len(data)
        return len(data)
