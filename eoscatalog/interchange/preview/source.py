"""The file a preview reads: its name, size and ranged reader, counting every byte asked of
it, with the first bytes kept (every format looks at them) and its content decompressed on
the way when it is gzip."""

from __future__ import annotations

import codecs
from collections.abc import Callable

from eoscatalog.interchange.preview.gzip_stream import GZIP_MAGIC, GzipStream

__all__ = ["HEAD", "Source"]

HEAD = 64 * 1024  # the first read of every preview


class Source:
    """Ranged reads of one file, counted in ``bytes_read``.

    ``failure`` keeps an exception the reader raised (a store error, an integrity error), so
    the preview raises it again instead of calling the file corrupt when a parser (pyarrow)
    wrapped it in its own error.

    >>> data = b"a,b\\n1,2\\n"
    >>> src = Source("x.csv", len(data), lambda a, b: data[a:b])
    >>> src.head(3), src.head(2), src.bytes_read
    (b'a,b', b'a,', 3)
    """

    def __init__(self, name: str, size: int, read: Callable[[int, int], bytes]) -> None:
        self.name, self.size = name, size
        self._read = read
        self._head = b""
        self.bytes_read = 0
        self.failure: BaseException | None = None
        self.gzip: GzipStream | None = None

    def read(self, start: int, end: int) -> bytes:
        """Bytes ``[start, end)``, clipped to the file; the kept head answers when it can. A
        reader answering short is a ValueError (the file is shorter than its size says)."""
        start, end = max(0, start), min(end, self.size)
        if start >= end:
            return b""
        if end <= len(self._head):
            return self._head[start:end]
        try:
            data = self._read(start, end)
        except BaseException as error:
            self.failure = error
            raise
        self.bytes_read += len(data)
        if len(data) != end - start:
            raise ValueError(f"the file is shorter than its size: {len(data)} bytes at offset "
                             f"{start}, {end - start} asked, of {self.size}")
        return data

    def head(self, n: int) -> bytes:
        """The first ``n`` bytes of the file (all of it when shorter), kept for later reads."""
        n = min(n, self.size)
        if n > len(self._head):
            self._head += self.read(len(self._head), n)
        return self._head[:n]

    @property
    def is_gzip(self) -> bool:
        """Whether the file starts with gzip's magic bytes."""
        return self.head(2) == GZIP_MAGIC

    def decompress(self) -> None:
        """Read the content through gzip from now on (:meth:`content`)."""
        self.gzip = GzipStream(self.read, self.size)

    def content(self, n: int) -> tuple[bytes, bool]:
        """The first ``n`` bytes of the content (decompressed when :meth:`decompress` was
        called), and whether they are all of it."""
        if self.gzip is None:
            return self.head(n), n >= self.size
        data = self.gzip.head(n + 1)
        return data[:n], len(data) <= n

    def lines(self, want: int, cap: int = 4 * 1024 * 1024) -> tuple[list[str], bool]:
        """At least ``want`` complete lines of the content when it has them (reading up to
        ``cap`` bytes), decoded as UTF-8, and whether more content follows them. A last line
        cut by ``cap`` is left out."""
        n = HEAD
        while True:
            data, whole = self.content(n)
            text = decode(data, whole).removeprefix("\ufeff")  # a byte order mark
            lines = text.split("\n")
            if whole:
                if lines and lines[-1] == "":
                    lines.pop()
                return [line.rstrip("\r") for line in lines], False
            if len(lines) - 1 > want or n >= cap:
                return [line.rstrip("\r") for line in lines[:-1]], True
            n *= 4


def decode(data: bytes, whole: bool) -> str:
    """UTF-8 text of ``data``: a character cut by the end of a head is left out, invalid
    bytes are replaced.

    >>> decode("é".encode()[:1], whole=False), decode(b"\\xff", whole=True)
    ('', '\ufffd')
    """
    return codecs.getincrementaldecoder("utf-8")(errors="replace").decode(data, final=whole)
