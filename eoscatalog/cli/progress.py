"""A progress line for long transfers: files, bytes, rate and time left, on a terminal only.

It writes to standard error with ``\\r`` and only when that is a terminal (and not ``--quiet``),
so scripts and logs never see it. The rate and the time left are measured over the last
``ETA_WINDOW`` seconds, and no time left is shown before that much has passed: the first
moments of a transfer (connections opening, buffers filling, already-stored blobs counted at
once) say little about the rest.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TextIO

from eoscatalog.cli.output import format_size

__all__ = ["ETA_WINDOW", "Progress"]

MIN_INTERVAL = 0.2  # seconds between redraws
ETA_WINDOW = 5.0  # seconds of recent progress the rate and the time left are measured over


class Progress:
    """Count bytes (and files, when ``files`` is given) done and redraw one status line now
    and then.

    >>> import io
    >>> p = Progress(100, stream=io.StringIO(), enabled=True, label="upload")
    >>> p.advance(50); p.close()
    >>> "100 B" in p.stream.getvalue() and "upload" in p.stream.getvalue()
    True
    """

    def __init__(self, total: int | None, *, label: str = "", stream: TextIO | None = None,
                 enabled: bool | None = None, files: int | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.total = None if total is None else max(0, total)
        self.files = files  # how many files the transfer moves (None: not counted)
        self.files_done = 0
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.done = 0
        self._clock = clock
        self._start = clock()
        self._drawn = float("-inf")
        self._samples: deque[tuple[float, int]] = deque([(self._start, 0)])
        self._lock = threading.Lock()

    def advance(self, size: int | None) -> None:
        """Record ``size`` more bytes done (thread-safe) and redraw if it is time."""
        with self._lock:
            self.done += size or 0
            self._maybe_draw()

    def file_done(self) -> None:
        """Record one more file done (thread-safe) and redraw if it is time."""
        with self._lock:
            self.files_done += 1
            self._maybe_draw()

    def close(self) -> None:
        """Draw the final line and end it."""
        if self.enabled:
            with self._lock:
                self._draw(self._clock())
                self.stream.write("\n")
                self.stream.flush()

    def rate(self, now: float) -> float | None:
        """Bytes per second over the last ``ETA_WINDOW`` seconds; None until that much time
        has passed."""
        then, done_then = self._samples[0]
        # Measured from the first report on: the moment before it says nothing of the rate.
        if now - self._start < ETA_WINDOW or then <= self._start or now <= then:
            return None
        return (self.done - done_then) / (now - then)

    def line(self, now: float) -> str:
        """The status line: label, files, done/total, percent, rate, time left."""
        recent = self.rate(now)
        rate = recent if recent is not None else self.done / max(now - self._start, 1e-6)
        files = "" if self.files is None else f"{self.files_done}/{self.files} files  "
        if self.total is None:  # the size is not known ahead (many sources): bytes and rate
            return (f"{self.label} {files}{format_size(self.done)}  "
                    f"{format_size(int(rate))}/s").strip()
        percent = 100.0 * self.done / self.total if self.total else 100.0
        if self.done >= self.total:
            eta = "0:00"
        elif recent is None or recent <= 0:
            eta = "-:--"  # not yet known: better none than a wild guess
        else:
            left = int((self.total - self.done) / recent)
            eta = f"{left // 60}:{left % 60:02d}"
        return (f"{self.label} {files}{format_size(self.done)} / {format_size(self.total)} "
                f"({percent:.0f}%)  {format_size(int(rate))}/s  ETA {eta}").strip()

    def _maybe_draw(self) -> None:
        if not self.enabled:
            return
        now = self._clock()
        if now - self._drawn >= MIN_INTERVAL:
            self._draw(now)

    def _draw(self, now: float) -> None:
        self._drawn = now
        self._samples.append((now, self.done))
        # Keep one sample at or before the window's start, so the window is always full.
        while len(self._samples) > 1 and self._samples[1][0] <= now - ETA_WINDOW:
            self._samples.popleft()
        self.stream.write("\r" + self.line(now).ljust(70))
        self.stream.flush()
