"""Writing a download's bytes out to disk while it runs (:class:`Writeback`), so the fsync that
makes the file durable at the end finds little left to write."""

from __future__ import annotations

import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor

__all__ = ["WRITEBACK_EVERY", "Writeback"]

WRITEBACK_EVERY = 64 * 1024 * 1024


class Writeback:
    """Write a download's bytes out to disk in the background (``fdatasync`` every ``every``
    bytes, one at a time), so the fsync that makes it durable at the end finds little left."""

    def __init__(self, fd: int, every: int | None = None) -> None:
        self.fd, self.every, self.pending = fd, every or WRITEBACK_EVERY, 0
        self.lock = threading.Lock()
        self.pool = ThreadPoolExecutor(1)
        self.running: Future[None] | None = None

    def wrote(self, count: int) -> None:
        """Count ``count`` more bytes written; start an ``fdatasync`` when enough are pending
        and none is running."""
        with self.lock:
            self.pending += count
            if self.pending < self.every or (self.running and not self.running.done()):
                return
            self.pending = 0
            self.running = self.pool.submit(os.fdatasync, self.fd)

    def close(self) -> None:
        """Wait for the running ``fdatasync``; raise its I/O error, if any."""
        self.pool.shutdown(wait=True)
        if self.running is not None:
            self.running.result()  # an I/O error surfaces here
