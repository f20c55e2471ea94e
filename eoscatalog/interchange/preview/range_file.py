"""A seekable, read-only file over ranged reads, for readers that want a file object (pyarrow's
Parquet reader): each read becomes one range read of the bytes asked."""

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
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._at, os.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise ValueError(f"negative seek position {base + offset}")
        self._at = base + offset
        return self._at

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        """Fill ``buffer`` from the current position with one range read; the bytes read."""
        end = min(self._at + len(buffer), self._size)
        if end <= self._at:
            return 0
        data = self._read(self._at, end)
        buffer[:len(data)] = data
        self._at += len(data)
        return len(data)
