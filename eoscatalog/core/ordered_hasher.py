"""Hashing a file while it is being written in pieces, in any order: :class:`OrderedHasher`.

A parallel download writes its parts at their offsets as they arrive. Hashing the file only
after the last part has landed costs the whole hash on top of the transfer; hashing in order as
the pieces complete leaves only the last few megabytes to hash when the transfer ends. The
bytes are read back from the file itself (the page cache has them, just written), so what is
hashed is exactly what the file holds: the verification is as strict as hashing the finished
file, and the download loop copies nothing in Python.

>>> import os, tempfile
>>> from eoscatalog.core.hashing import hash_bytes
>>> fd, path = tempfile.mkstemp()
>>> hasher = OrderedHasher(fd, 10)
>>> os.pwrite(fd, b"world", 5); hasher.wrote(5, 5)  # the second half lands first
5
>>> os.pwrite(fd, b"hello", 0); hasher.wrote(0, 5)
5
>>> hasher.result() == hash_bytes(b"helloworld")
True
>>> os.close(fd); os.unlink(path)
"""

from __future__ import annotations

import mmap
import os
import threading

import blake3

from eoscatalog.core.hashing import ALGORITHM, LARGE_CHUNK_SIZE, MAP_WINDOW, MULTITHREAD_THRESHOLD

__all__ = ["OrderedHasher"]


class OrderedHasher:
    """Hash the ``size`` bytes of the file open at ``fd`` (readable) in order, on a thread of
    its own, as the pieces written to it are reported with :meth:`wrote`; :meth:`result` waits
    for the last bytes and returns ``blake3:<hex>``.

    Each byte must be reported exactly once, after it was written, and not written again:
    :meth:`result` refuses a file whose reported pieces do not tile ``[0, size)``. Runs of
    bytes are hashed through memory maps of at most 32 MiB (``EOS_HASH_MMAP=0``: read into one
    buffer), on every core when they are large. :meth:`close` stops the thread and waits for
    it (call it before closing ``fd``); :meth:`result` does too.
    """

    def __init__(self, fd: int, size: int) -> None:
        self.fd, self.size = fd, size
        self._hasher = blake3.blake3(
            max_threads=blake3.blake3.AUTO if size >= MULTITHREAD_THRESHOLD else 1)
        self._pending: dict[int, int] = {}  # start -> stop of pieces written, not yet hashed
        self._reported = 0  # bytes reported so far
        self._hashed = 0  # bytes [0, _hashed) are hashed
        self._frontier = 0  # bytes [0, _frontier) are written (the pieces after _hashed pending)
        self._finishing = False  # every piece is reported: hash what remains, then stop
        self._stopped = False
        self._error: BaseException | None = None
        self._mapped = os.environ.get("EOS_HASH_MMAP", "1") != "0"
        self._cond = threading.Condition(threading.Lock())
        self._thread = threading.Thread(target=self._run, name="eos-ordered-hash", daemon=True)
        self._thread.start()

    def wrote(self, offset: int, length: int) -> None:
        """Report that ``[offset, offset + length)`` of the file is written (and final)."""
        if length <= 0:
            return
        with self._cond:
            self._reported += length
            if offset in self._pending or offset < self._hashed or offset + length > self.size:
                self._error = self._error or RuntimeError(
                    f"internal error: bytes [{offset}, {offset + length}) of a {self.size}-byte "
                    "file were reported twice or out of bounds; please report it")
            else:
                self._pending[offset] = offset + length
                while self._frontier in self._pending:
                    self._frontier = self._pending[self._frontier]
            # Wake the hasher for runs of a few MiB at least: fewer, larger updates, which
            # BLAKE3 spreads over the cores cheaply.
            if (self._frontier - self._hashed >= MULTITHREAD_THRESHOLD
                    or self._frontier == self.size or self._error is not None):
                self._cond.notify()

    def result(self) -> str:
        """Wait until every byte is hashed; return the hash. Raises if a piece is missing or
        was reported twice (nothing may be trusted then) or reading the file failed."""
        with self._cond:
            self._finishing = True
            self._cond.notify()
        self._thread.join()
        if self._error is not None:
            raise self._error
        if self._hashed != self.size or self._reported != self.size or self._pending:
            raise RuntimeError(
                f"internal error: {self._reported} bytes were reported of a {self.size}-byte "
                f"file, {self._hashed} hashed in order; please report it")
        return f"{ALGORITHM}:{self._hasher.hexdigest()}"

    def close(self) -> None:
        """Stop hashing and wait for the thread (the hash is abandoned); again is harmless."""
        with self._cond:
            self._stopped = True
            self._cond.notify()
        self._thread.join()

    def _next_run(self) -> tuple[int, int] | None:
        """The next contiguous run of written bytes to hash, waited for; None: stop."""
        with self._cond:
            while True:
                if self._stopped or self._error is not None or self._hashed >= self.size:
                    return None
                start, stop = self._hashed, self._frontier
                if stop - start >= MULTITHREAD_THRESHOLD or (stop > start and (
                        self._finishing or stop == self.size)):
                    while start < stop:
                        start = self._pending.pop(start)
                    return self._hashed, stop
                if self._finishing:
                    return None  # a piece never came: result() says so
                self._cond.wait()

    def _run(self) -> None:
        try:
            while (run := self._next_run()) is not None:
                self._hash(*run)
                with self._cond:
                    self._hashed = run[1]
        except BaseException as e:  # an I/O error reading the file back: result() raises it
            with self._cond:
                self._error = e

    def _hash(self, start: int, stop: int) -> None:
        if not self._mapped:
            buffer = bytearray(min(LARGE_CHUNK_SIZE, stop - start))
            view = memoryview(buffer)
            while start < stop:
                count = os.preadv(self.fd, [view[:stop - start]], start)
                if count <= 0:
                    raise OSError(f"the file ended at byte {start}, before {stop}")
                self._hasher.update(view[:count])
                start += count
            return
        granularity = mmap.ALLOCATIONGRANULARITY
        while start < stop:
            base = start - start % granularity
            length = min(stop, base + MAP_WINDOW) - base
            with mmap.mmap(self.fd, length, access=mmap.ACCESS_READ, offset=base) as mapped:
                view = memoryview(mapped)
                try:
                    self._hasher.update(view[start - base:])
                finally:
                    view.release()
            start = base + length
