"""The first bytes of a gzip file's content, decompressed by streaming from its start and
read by range only as far as needed. A file of several gzip members (BGZF, the block gzip of
VCF, BAM and tabix, is many small members, each at most 64 KiB) reads on across them."""

from __future__ import annotations

import zlib
from collections.abc import Callable

__all__ = ["GzipStream"]

BLOCK = 64 * 1024  # compressed bytes fetched at a time
GZIP_MAGIC = b"\x1f\x8b"


class GzipStream:
    """The content of the gzip bytes ``read(start, end)`` returns, ``size`` of them, decoded
    from the start as far as :meth:`head` asks (never more than a block past it).

    ``complete`` turns true once the whole content is decoded; a stream that ends inside a
    member, or bytes that are not gzip, raise ValueError.

    >>> import gzip
    >>> data = gzip.compress(b"a" * 10) + gzip.compress(b"b" * 10)
    >>> stream = GzipStream(lambda a, b: data[a:b], len(data))
    >>> stream.head(12), stream.complete
    (b'aaaaaaaaaabb', False)
    >>> len(stream.head(100)), stream.complete, stream.members
    (20, True, 2)
    """

    def __init__(self, read: Callable[[int, int], bytes], size: int) -> None:
        self._read, self._size = read, size
        self._next = 0  # the next compressed offset to fetch
        self._input = b""  # fetched, not yet decoded
        self._decoder = zlib.decompressobj(31)
        self._in_member = False  # the decoder has been fed part of a member
        self._out = bytearray()
        self.members = 0  # members finished
        self.complete = False

    def head(self, n: int) -> bytes:
        """The first ``n`` bytes of the content (fewer when it is shorter)."""
        while len(self._out) < n and not self.complete:
            self._step(n - len(self._out))
        return bytes(self._out[:n])

    def _step(self, want: int) -> None:
        if not self._input:
            if self._next >= self._size:
                if self._in_member:
                    raise ValueError(f"truncated gzip: the data ends inside member "
                                     f"{self.members + 1}, after {self._size} bytes")
                if self.members == 0:
                    raise ValueError("not gzip: the file is empty")
                self.complete = True
                return
            block = self._read(self._next, min(self._next + BLOCK, self._size))
            if not block:
                raise ValueError(f"the reader returned no bytes at offset {self._next} of "
                                 f"{self._size}")
            self._next += len(block)
            self._input = block
        if not self._in_member and self.members > 0:
            if len(self._input) < 2 and self._next < self._size:
                self._input += self._read(self._next, self._next + 1)
                self._next += 1
            if self._input[:2] != GZIP_MAGIC:  # trailing padding after the last member
                self.complete, self._input = True, b""
                return
        try:
            data = self._decoder.decompress(self._input, max(want, BLOCK))
        except zlib.error as error:
            where = "" if self.members == 0 else f" (member {self.members + 1})"
            raise ValueError(f"not valid gzip{where}: {error}") from None
        self._out += data
        if self._decoder.eof:
            self._input = self._decoder.unused_data
            self._decoder = zlib.decompressobj(31)
            self._in_member = False
            self.members += 1
        else:
            self._input = self._decoder.unconsumed_tail
            self._in_member = True
