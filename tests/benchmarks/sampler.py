"""Where an ``eos`` command spends its time, every thread included: a sampling profiler.

``python sampler.py OUT.json ARGS...`` runs ``eos ARGS...`` (``python -m eoscatalog``) with a
thread that looks at every other thread's Python stack every 5 ms (``sys._current_frames``) and
files each look under one of :data:`CATEGORIES`, then writes the counts, the hottest functions,
the wall time and the process's CPU time to OUT.json. cProfile sees only the thread it was
started on, and eos sends its requests from a pool of threads, so it would show the main
thread waiting; sampling sees them all. :func:`summary` turns OUT.json into the sentence the
report prints.
"""

from __future__ import annotations

import json
import resource
import runpy
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from types import FrameType

INTERVAL = 0.005
# The order is the order of the tests in classify(): the first that matches wins.
CATEGORIES = {
    "imports": "imports (start-up, or a module's first use)",
    "idle": "idle (threads waiting for work or for other threads)",
    "server": "waiting for the server (socket reads and polls)",
    "send": "sending (socket writes of request heads and bodies)",
    "hashing": "hashing (BLAKE3)",
    "request": "request path (botocore, urllib3, http.client, the S3 store)",
    "index": "index and hash cache (SQLite)",
    "eos": "the rest of eoscatalog (scan, plan, files, CLI)",
    "other": "other (the standard library, click)",
}
IDLE = {("threading.py", "wait"), ("threading.py", "_wait_for_tstate_lock"),
        ("threading.py", "join"), ("queue.py", "get"), ("thread.py", "_worker"),
        ("_base.py", "result"), ("_base.py", "as_completed"), ("_base.py", "wait"),
        ("selectors.py", "select")}
REQUEST = ("/botocore/", "/urllib3/", "/http/client.py", "/s3transfer/", "/boto3/",
           "/eoscatalog/store/s3/")
INDEX = ("/sqlite3/", "/sqlite_utils/", "/eoscatalog/log/", "/eoscatalog/core/sqlite.py",
         "/eoscatalog/local/hash_cache.py")


def stack(frame: FrameType) -> tuple[tuple[str, str], ...]:
    """A thread's stack as (file, function) pairs, innermost first: no frame is kept."""
    out = []
    f: FrameType | None = frame
    while f is not None:
        out.append((f.f_code.co_filename.replace("\\", "/"), f.f_code.co_name))
        f = f.f_back
    return tuple(out)


def classify(frames: tuple[tuple[str, str], ...]) -> tuple[str, str]:
    """The category of one thread's stack, and its innermost function (``file:function``)."""
    files = [name for name, _ in frames]
    leaf_file, leaf_name = frames[0]
    where = f"{Path(leaf_file).name}:{leaf_name}"
    if any("importlib._bootstrap" in name for name in files):
        return "imports", where
    if (Path(leaf_file).name, leaf_name) in IDLE:
        return "idle", where
    if where in ("socket.py:readinto", "ssl.py:recv_into", "ssl.py:read", "wait.py:do_poll",
                 "wait.py:select_wait_for_socket"):
        return "server", where
    if leaf_file.endswith("/http/client.py") and leaf_name == "send":
        return "send", where
    for category, marks in (("hashing", ("/blake3/", "/eoscatalog/core/hashing.py")),
                            ("request", REQUEST), ("index", INDEX), ("eos", ("/eoscatalog/",))):
        if any(mark in name for name in files for mark in marks):
            return category, where
    return "other", where


class Sampler:
    """A daemon thread counting every other thread's category every ``INTERVAL`` seconds."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.leaves: Counter[str] = Counter()
        self.samples = 0
        self.started = time.perf_counter()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> Sampler:
        self._thread.start()
        return self

    def _run(self) -> None:
        me = threading.get_ident()
        switch = sys.getswitchinterval()
        while not self._done.wait(INTERVAL):
            self.samples += 1
            # The frames are read into plain tuples and let go before any other thread runs:
            # a frame object held past its function's return keeps the function's locals
            # alive (a SQLite cursor left open, say), which would change the program measured.
            sys.setswitchinterval(10.0)
            try:
                frames = sys._current_frames()
                stacks = [stack(frame) for ident, frame in frames.items() if ident != me]
                del frames
            finally:
                sys.setswitchinterval(switch)
            for frames_of_thread in stacks:
                category, where = classify(frames_of_thread)
                self.counts[category] += 1
                if category not in ("idle", "server", "send"):
                    self.leaves[f"{category} {where}"] += 1

    def write(self, out: Path) -> None:
        self._done.set()
        self._thread.join(1)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        out.write_text(json.dumps({
            "interval": INTERVAL, "samples": self.samples,
            "wall": time.perf_counter() - self.started,
            "cpu": usage.ru_utime + usage.ru_stime,
            "counts": dict(self.counts), "top": self.leaves.most_common(6)}))


def summary(data: dict[str, object]) -> str:
    """One sentence: CPU and wall time, then each category's share of the busy thread time.

    >>> summary({"interval": 0.005, "samples": 100, "wall": 0.5, "cpu": 0.4,
    ...          "counts": {"request": 60, "idle": 50, "imports": 40}, "top": []})
    "wall 0.50 s, CPU 0.40 s; busy thread time 0.50 s: imports (start-up, or a module's \
first use) 40%, request path (botocore, urllib3, http.client, the S3 store) 60%"
    """
    counts: dict[str, int] = data["counts"]  # type: ignore[assignment]
    interval = float(data["interval"])  # type: ignore[arg-type]
    busy = sum(n for c, n in counts.items() if c != "idle") or 1
    shares = [f"{CATEGORIES[c]} {100 * counts[c] / busy:.0f}%"
              for c in CATEGORIES if c != "idle" and counts.get(c)]
    top: list[tuple[str, int]] = data["top"]  # type: ignore[assignment]
    hottest = "; hottest: " + ", ".join(f"{w.split(' ', 1)[1]} ({w.split(' ', 1)[0]}) "
                                        f"{100 * n / busy:.0f}%" for w, n in top[:4]) if top else ""
    return (f"wall {float(data['wall']):.2f} s, CPU {float(data['cpu']):.2f} s; "  # type: ignore[arg-type]
            f"busy thread time {busy * interval:.2f} s: " + ", ".join(shares) + hottest)


def main(argv: list[str]) -> None:
    out = Path(argv[0])
    sampler = Sampler().start()
    sys.argv = ["eos", *argv[1:]]
    try:
        runpy.run_module("eoscatalog", run_name="__main__", alter_sys=True)
    finally:
        sampler.write(out)


if __name__ == "__main__":
    main(sys.argv[1:])
