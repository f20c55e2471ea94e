"""A large ``eos put`` killed at half its bytes, then rerun: how much of the file the rerun
sends again.

The put goes through a counting relay (counting_proxy.py) between eos and the server, so the
bytes are counted on the client's side of the wire, the same way on every server (SeaweedFS
counts nothing for us). The relay lets exactly half the file's size through, request heads
included, then SIGKILLs the eos process and cuts its connections; the rerun (same home, same
store, same file) goes through the relay too, and its bytes sent over the file's size are the
row. A put that keeps nothing of a killed upload sends about 100%; one that resumes the parts
the server already holds, about 50% plus the parts that were in flight.
"""

from __future__ import annotations

import os
import signal
import subprocess
from urllib.parse import urlsplit

from counting_proxy import CountingProxy
from harness import Bench, Row, eos_cli, run_cli, write_file
from peer_tools import Tools

from eoscatalog.cli.output import format_size

LIMIT = 55.0  # % of the file's bytes the rerun may send


def killed_put(bench: Bench, tools: Tools) -> Row:
    """The row: the rerun's bytes sent, as a share of the file."""
    size = bench.sizes.memory_file
    source = write_file(bench.work / "data" / "memory.bin", size, seed=4)
    where = urlsplit(tools.url)
    proxy = CountingProxy((where.hostname or "127.0.0.1", where.port or 80)).start()
    try:
        env = {**tools.eos_env("killed", "eos-killed"), "AWS_ENDPOINT_URL": proxy.url}
        # set before the start; eos sends nothing before ``process`` is bound
        proxy.reset(stop_at=size // 2, on_stop=lambda: os.kill(process.pid, signal.SIGKILL))
        process = subprocess.Popen([*eos_cli(), "put", str(source), "killed.bin"], env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, err = process.communicate(timeout=3600)
        killed = process.returncode == -signal.SIGKILL
        first = proxy.sent
        proxy.reset()
        run_cli([*eos_cli(), "put", str(source), "killed.bin"], env)
        again = proxy.sent
    finally:
        proxy.stop()
        tools.purge("eos-killed")
    share = 100 * again / size
    how = (f"killed (SIGKILL) after {format_size(first)} of {format_size(size)} went up"
           if killed else f"the first put was not killed: it ended with code "
                          f"{process.returncode} after {format_size(first)} "
                          f"({err.decode(errors='replace')[-300:]!r})")
    return Row(f"a {format_size(size)} `eos put` killed at 50% of its bytes, rerun: bytes "
               "the rerun sends", "", None, share, "%", f"<= {LIMIT:.0f}% of the file",
               killed and share <= LIMIT,
               f"{how}; the rerun sent {format_size(again)} (request heads included), counted "
               "by a relay between eos and the server", tools.endpoint.name, {"eos": share},
               f"the rerun sent {share:.0f}% of the file's bytes again, so it reused at most "
               f"{max(0.0, 100 - share):.0f}% of the file from the killed put's upload (of "
               f"{100 * first / size:.0f}% sent)" if share > LIMIT else "")
