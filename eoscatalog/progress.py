"""A progress line for long transfers: bytes, rate and time left, on a terminal only.

It writes to standard error with ``\\r`` and only when that is a terminal (and not ``--quiet``),
so scripts and logs never see it.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

from .output import format_size

__all__ = ["Progress"]

MIN_INTERVAL = 0.2  # seconds between redraws


class Progress:
    """Count bytes done out of ``total`` and redraw one status line now and then.

    >>> import io
    >>> p = Progress(100, stream=io.StringIO(), enabled=True, label="upload")
    >>> p.advance(50); p.close()
    >>> "100 B" in p.stream.getvalue() and "upload" in p.stream.getvalue()
    True
    """

    def __init__(self, total: int | None, *, label: str = "", stream: TextIO | None = None,
                 enabled: bool | None = None) -> None:
        self.total = None if total is None else max(0, total)
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.done = 0
        self._start = time.monotonic()
        self._drawn = 0.0
        self._lock = threading.Lock()

    def advance(self, size: int | None) -> None:
        """Record ``size`` more bytes done (thread-safe) and redraw if it is time."""
        with self._lock:
            self.done += size or 0
            now = time.monotonic()
            if self.enabled and now - self._drawn >= MIN_INTERVAL:
                self._drawn = now
                self._draw(now)

    def close(self) -> None:
        """Draw the final line and end it."""
        if self.enabled:
            with self._lock:
                self._draw(time.monotonic())
                self.stream.write("\n")
                self.stream.flush()

    def line(self, now: float) -> str:
        """The status line: label, done/total, percent, rate, time left (or done and rate)."""
        elapsed = max(now - self._start, 1e-6)
        rate = self.done / elapsed
        if self.total is None:  # the size is not known ahead (many sources): bytes and rate
            return f"{self.label} {format_size(self.done)}  {format_size(int(rate))}/s".strip()
        percent = 100.0 * self.done / self.total if self.total else 100.0
        left = (self.total - self.done) / rate if rate > 0 and self.total > self.done else 0.0
        return (f"{self.label} {format_size(self.done)} / {format_size(self.total)} "
                f"({percent:.0f}%)  {format_size(int(rate))}/s  ETA {int(left) // 60}:"
                f"{int(left) % 60:02d}").strip()

    def _draw(self, now: float) -> None:
        self.stream.write("\r" + self.line(now).ljust(70))
        self.stream.flush()
