"""``eos ui`` in a real browser (Debian's chromium through Playwright) against the real server
(``eos ui`` in a process of its own, as users run it): the issue's two browser targets.

The catalog, on a local store: ``eos://org/wide/``, ``ui_names`` names (10,000 in the full run;
one changeset written by ``Replay.append``, naming 64 small blobs stored first), and
``eos://org/uploads/``, one small file.

- **Render**: in a page opened at the namespaces, the time from setting ``location.hash`` to
  ``#/tree/org/wide/`` until every row exists (``[data-test=tree-file]`` count == N, seen by a
  MutationObserver), by ``performance.now()`` in the page and by Python's clock around the
  call; then to the next frame. ``api/tree`` and ``api/du`` (the page waits for both) are timed
  by the page's resource timing. A fresh browser context each run; medians of ``runs``.
- **Upload**: a file of ``ui_upload`` bytes (1 GiB in the full run, written once under the
  work folder's ``data/``, so likely in the page cache) given to the page's file input by
  ``set_input_files(path)``: Playwright passes a local browser the path (CDP
  ``DOM.setFileInputFiles``), Chromium reads the file; no byte goes through Python or the
  driver (their peak memory is reported). While it streams up and commits, the page records
  the gaps between animation frames (a ``requestAnimationFrame`` loop), its long tasks, and
  fetches ``api/tree`` of ``org/uploads/`` every 200 ms, until the commit has answered. One
  upload (a second would be deduplicated). CPU of the server and the browser from /proc.
"""

from __future__ import annotations

import os
import re
import resource
import select
import shutil
import signal
import statistics
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from harness import Bench, Row, eos_cli, write_file

from eoscatalog import Catalog
from eoscatalog.cli.output import format_size
from eoscatalog.core.units import format_time
from eoscatalog.local.config import Config
from eoscatalog.log.changesets import Changeset, Entry

NS = "org"
WIDE = "wide/"
UPLOADS = "uploads/"
BLOBS = 64
RENDER_LIMIT = 1.0  # s
FRAME_LIMIT = 200.0  # ms
POLL_LIMIT = 1.0  # s

# Sets the route and resolves when every row exists, then after the next frame.
RENDER_JS = """async ([hash, n]) => {
  performance.clearResourceTimings();
  const view = document.getElementById("view");
  const rows = () => document.querySelectorAll("[data-test=tree-file]").length === n;
  const t0 = performance.now();
  const dom = await new Promise((ok, fail) => {
    const seen = new MutationObserver(() => {
      if (rows()) { seen.disconnect(); ok(performance.now() - t0); }
    });
    seen.observe(view, {childList: true, subtree: true});
    setTimeout(() => fail(new Error("rows missing after 60 s")), 60000);
    location.hash = hash;
  });
  const painted = await new Promise((ok) => requestAnimationFrame(
    () => setTimeout(() => ok(performance.now() - t0), 0)));
  const timing = (what) => {
    const e = performance.getEntriesByType("resource").find((r) => r.name.includes(what));
    return e ? {start: e.startTime - t0, took: e.responseEnd - e.startTime,
                bytes: e.encodedBodySize} : null;
  };
  const query = "?" + new URLSearchParams({path: hash.slice(7)});
  return {dom, painted, tree: timing("api/tree" + query), du: timing("api/du" + query),
          renderMs: Number(view.dataset.renderMs)};
}"""

# Watches the page: animation frames, and api/tree of a folder every 200 ms, until B.stop.
WATCH_JS = """(folder) => {
  performance.setResourceTimingBufferSize(100000);
  const B = window.bench = {gaps: [], polls: [], stop: false, start: null, done: null};
  let last = performance.now();
  const tick = () => {  // the time the callback ran, not the frame's (main-thread delays)
    const now = performance.now();
    B.gaps.push([last, now - last]);
    last = now;
    if (!B.stop) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  const url = "api/tree?" + new URLSearchParams({path: folder});
  (async () => {
    while (!B.stop) {
      const t = performance.now();
      let ok = false;
      try { const r = await fetch(url); await r.text(); ok = r.ok; } catch (e) { ok = false; }
      const took = performance.now() - t;
      B.polls.push([t, took, ok]);
      await new Promise((wake) => { B.wake = wake; setTimeout(wake, Math.max(0, 200 - took)); });
    }
  })();
  B.long = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) B.long.push([e.startTime, e.duration]);
  }).observe({type: "longtask"});
  document.querySelector("[data-test=upload-input]").addEventListener(
    "change", () => { B.start = performance.now(); B.wake(); });  // a poll at once
  new MutationObserver(() => {
    const row = document.querySelector("[data-test=upload-progress][data-state]");
    if (row && B.done === null) { B.done = performance.now(); B.state = row.dataset.state; }
  }).observe(document.getElementById("view"),
             {subtree: true, attributes: true, attributeFilter: ["data-state"]});
}"""

COLLECT_JS = """() => {
  const B = window.bench;
  B.stop = true;
  const span = (e) => e ? [e.startTime, e.responseEnd] : null;
  const entries = performance.getEntriesByType("resource");
  const put = entries.find(
    (e) => /api\\/upload\\/[^/]+\\/./.test(e.name) && !/commit$/.test(e.name));
  const commit = entries.find((e) => /\\/commit$/.test(e.name));
  return {gaps: B.gaps, polls: B.polls, long: B.long, start: B.start, done: B.done,
          state: B.state, put: span(put), commit: span(commit)};
}"""


def build(bench: Bench, names: int) -> dict[str, str]:
    """The catalog (a fresh home and local store); the environment ``eos ui`` runs in."""
    home, store = bench.work / "homes" / "ui", bench.work / "ui-store"
    shutil.rmtree(home, ignore_errors=True)
    shutil.rmtree(store, ignore_errors=True)
    tmp = bench.work / "ui-tmp"  # where the server keeps a drop until its commit
    tmp.mkdir(parents=True, exist_ok=True)
    env = bench.env(EOS_HOME=str(home), EOS_STORE=store.as_uri(), EOS_USER="bench",
                    EOS_ORG=NS, TMPDIR=str(tmp))
    cat = Catalog.open(Config.load(env, default_namespace=NS), create=True)
    try:
        data = [f"sample,{i}\n{i},{i * i}\n".encode() for i in range(BLOBS)]
        hashes = [cat.store.put_blob_bytes(d) for d in data]
        entries = [Entry("put", f"{WIDE}f{i:05d}.csv", 1, hashes[i % BLOBS],
                         len(data[i % BLOBS])) for i in range(names)]
        entries.append(Entry("put", f"{UPLOADS}README.txt", 1, hashes[0], len(data[0])))
        cat.replay.append(Changeset(NS, 1, format_time(datetime.now(timezone.utc)), "bench",
                                    tuple(entries), message=f"{names:,} names"))
        assert len(cat.ls(f"eos://{NS}/{WIDE}").files) == names
    finally:
        cat.close()
    return env


class UiProcess:
    """``eos ui --port 0 --no-browser`` in a process of its own, and its URL."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        with open(log, "w") as errors:  # its stderr: a pipe nobody reads could fill and block
            self.process = subprocess.Popen(
                [*eos_cli(), "ui", "--port", "0", "--no-browser"], env=env,
                stdout=subprocess.PIPE, stderr=errors, text=True)
        assert self.process.stdout is not None
        deadline, said = time.monotonic() + 60, ""
        while time.monotonic() < deadline and self.process.poll() is None:
            if select.select([self.process.stdout], [], [], 1)[0]:
                said += self.process.stdout.readline()
                found = re.search(r" at (http://\S+)", said)
                if found:
                    self.url = found.group(1)
                    return
        self.close()
        raise RuntimeError(f"eos ui did not start: {said}{log.read_text()[-2000:]}")

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # as Ctrl-C: uvicorn's shutdown
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def render_row(bench: Bench, browser: Any, url: str, names: int, roots: dict[str, int]
               ) -> Row:
    """The folder of ``names`` names, rendered ``runs`` times in fresh contexts."""
    runs: list[dict[str, Any]] = []
    load0 = os.getloadavg()[0]
    for _ in range(max(1, bench.sizes.runs)):
        context = browser.new_context(base_url=url, viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.goto("./#/tree/")
        page.wait_for_selector("#view:not([aria-busy])")
        page.wait_for_selector("#sidebar [data-test=nav-folder]")
        before, start = cpu_of(**roots), time.perf_counter()
        found = page.evaluate(RENDER_JS, [f"#/tree/{NS}/{WIDE}", names])
        found["wall"] = (time.perf_counter() - start) * 1000
        found.update({k: v * 1000 for k, v in spent(before, cpu_of(**roots)).items()})
        runs.append(found)
        context.close()
    load1 = os.getloadavg()[0]
    med = {k: statistics.median(r[k] for r in runs)
           for k in ("dom", "painted", "wall", "renderMs", "server", "browser")}
    tree = statistics.median(r["tree"]["took"] for r in runs)
    du = statistics.median(r["du"]["took"] for r in runs)
    # The page renders when both answers are in (Promise.all): the wait for the API.
    answered = statistics.median(max(r[k]["start"] + r[k]["took"] for k in ("tree", "du"))
                                 for r in runs)
    share = answered / med["dom"]
    value = med["dom"] / 1000
    each = ", ".join(f"{r['dom']:.0f}" for r in runs)
    api = (f"`api/tree` {tree:.0f} ms ({format_size(runs[0]['tree']['bytes'])} of JSON) and "
           f"`api/du` {du:.0f} ms, asked together; both in at {answered:.0f} ms, {share:.0%} "
           f"of it; then building and laying out the rows (the page's `data-render-ms`) "
           f"{med['renderMs']:.0f} ms; CPU in the call (from /proc, median; the sidebar then "
           f"asks for `api/tree` of `{NS}/`, a listing of every name in it): the server "
           f"{med['server']:.0f} ms, Chromium and Playwright's driver {med['browser']:.0f} ms; "
           f"load average {load0:.1f} then {load1:.1f} on {os.cpu_count()} cores")
    return Row(
        f"`eos ui`: a folder of {names:,} names renders (every row in the page)", "", None,
        value, "s", f"< {RENDER_LIMIT:g} s", value < RENDER_LIMIT,
        f"Chromium {browser.version}, headless; from setting `#/tree/{NS}/{WIDE}` to "
        f"{names:,} rows in the DOM, in the page: {each} ms (median of {len(runs)}); to the "
        f"next frame {med['painted']:.0f} ms; Python's clock around the call "
        f"{med['wall']:.0f} ms. The answers: {api}",
        limit="" if value < RENDER_LIMIT else f"{med['dom']:.0f} ms: {api}")


def upload_rows(bench: Bench, browser: Any, url: str, roots: dict[str, int]) -> list[Row]:
    """A large upload through the page's file input, the page watched while it runs."""
    size = bench.sizes.ui_upload
    bench.say(f"ui: writing a {format_size(size)} file to upload (once)")
    path = write_file(bench.work / "data" / f"ui-upload-{size}.bin", size, seed=23)
    context = browser.new_context(base_url=url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"./#/tree/{NS}/{UPLOADS}")
    page.wait_for_selector("[data-test=dropzone]")
    page.evaluate(WATCH_JS, f"{NS}/{UPLOADS}")
    page.wait_for_timeout(2000)  # the idle page's frames, for comparison
    idle = page.evaluate("window.bench.gaps.slice(1).map((g) => g[1])")
    os.sync()  # the file's pages written out, not paid during the upload
    cpu0, load0, t0 = cpu_of(**roots), os.getloadavg()[0], time.perf_counter()
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    page.set_input_files("[data-test=upload-input]", str(path))
    page.wait_for_selector("[data-test=upload-progress][data-state]", timeout=3_600_000)
    wall, cpu = time.perf_counter() - t0, spent(cpu0, cpu_of(**roots))
    rss1, load1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, os.getloadavg()[0]
    driver = _peak(_driver()[1])
    got = page.evaluate(COLLECT_JS)
    context.close()
    assert got["state"] == "done", f"the upload failed: {got['state']}"
    start, done, put, commit = got["start"], got["done"], got["put"], got["commit"]
    # The frames and answers that overlap the upload, from the input's change to the commit's
    # answer (a poll starts at the change).
    gaps = [g for g in got["gaps"] if start <= g[0] + g[1] and g[0] <= done]
    polls = [p for p in got["polls"] if start <= p[0] + p[1] and p[0] <= done]
    assert polls and gaps and all(p[2] for p in polls), polls[:5]

    def phase(t: float) -> str:
        return ("during the PUT" if put[0] <= t <= put[1] else
                "during the commit" if commit and commit[0] <= t <= commit[1] else
                "outside the PUT and the commit (opening the drop, starting the PUT)")

    longest = max(gaps, key=lambda g: g[1])
    slowest = max(polls, key=lambda p: p[1])
    total = (done - start) / 1000
    transfer = (put[1] - put[0]) / 1000
    committed = (commit[1] - commit[0]) / 1000 if commit else 0.0
    label = f"`eos ui`: while a {format_size(size)} upload runs through the page"
    how = (f"one upload of {format_size(size)} through the page's file input (Playwright's "
           f"`set_input_files(path)`: the path went to Chromium by CDP, no byte through "
           f"Python, whose peak RSS was {rss0 // 1024} MiB before and {rss1 // 1024} MiB "
           f"after, nor the driver, peak {driver}); from the input's change to the commit's answer "
           f"{total:.1f} s ({size / total / 1e6:.0f} MB/s; Python's clock "
           f"{wall:.1f} s): the PUT {transfer:.1f} s ({size / transfer / 1e6:.0f} MB/s), the "
           f"commit (`put_many`: hash, copy into the store, changeset) {committed:.1f} s; CPU: "
           f"the server {cpu['server']:.1f} s, Chromium and Playwright's driver "
           f"{cpu['browser']:.1f} s; load average {load0:.1f} then {load1:.1f} on "
           f"{os.cpu_count()} cores")
    frame_ms = longest[1]
    # Long tasks (>= 50 ms on the page's main thread) tell the page's own work from a
    # machine too busy to run it.
    tasks = [t for t in got["long"] if start <= t[0] + t[1] and t[0] <= done]
    over = [t for t in tasks if t[0] < longest[0] + longest[1] and longest[0] < t[0] + t[1]]
    blocked = (f"{len(tasks)} long tasks (>= 50 ms) on the page's main thread"
               + (f", the longest {max(t[1] for t in tasks):.0f} ms" if tasks else "")
               + (f", {sum(t[1] for t in over):.0f} ms of them within the longest gap"
                  if over else ", none within the longest gap" if tasks else ""))
    frames = sorted((g[1] for g in gaps), reverse=True)
    frame_row = Row(
        f"{label}: the longest gap between animation frames", "", None, frame_ms, "ms",
        f"< {FRAME_LIMIT:g} ms", frame_ms < FRAME_LIMIT,
        f"{len(gaps):,} frames, median gap {statistics.median(g[1] for g in gaps):.0f} ms, "
        f"the longest {', '.join(f'{x:.0f}' for x in frames[:5])} ms, the longest "
        f"{phase(longest[0])}; {blocked}; the idle page before it: longest "
        f"{max(idle, default=0):.0f} ms; {how}",
        limit="" if frame_ms < FRAME_LIMIT else
        f"the longest gap ({frame_ms:.0f} ms) came {phase(longest[0])}; "
        f"{sum(g[1] >= FRAME_LIMIT for g in gaps)} of {len(gaps):,} gaps were >= "
        f"{FRAME_LIMIT:g} ms; {blocked}"
        + ("" if over else ": no work of the page held that frame up, the browser waited for "
           "a core")
        + f"; the idle page's longest gap was {max(idle, default=0):.0f} ms; the load average "
        f"{load0:.1f}-{load1:.1f} on {os.cpu_count()} cores")
    poll_s = slowest[1] / 1000
    during = {name: [p[1] for p in polls if phase(p[0]) == name]
              for name in ("during the PUT", "during the commit")}
    poll_row = Row(
        f"{label}: the slowest `api/tree` answer", "", None, poll_s, "s",
        f"< {POLL_LIMIT:g} s", poll_s < POLL_LIMIT,
        f"`api/tree?path={NS}/{UPLOADS}` fetched by the page every 200 ms: {len(polls)} "
        f"answers, median {statistics.median(p[1] for p in polls):.0f} ms, the slowest "
        f"{slowest[1]:.0f} ms {phase(slowest[0])}"
        + "".join(f"; {k}: {len(v)}, the slowest {max(v):.0f} ms"
                  for k, v in during.items() if v),
        limit="" if poll_s < POLL_LIMIT else
        f"the slowest answer ({slowest[1]:.0f} ms) came {phase(slowest[0])} (the median "
        f"{statistics.median(p[1] for p in polls):.0f} ms), the server at "
        f"{cpu['server'] / total:.0%} of a core on average; the load average "
        f"{load0:.1f}-{load1:.1f} on {os.cpu_count()} cores")
    return [frame_row, poll_row]


def _driver() -> tuple[int, str]:
    """Playwright's driver (node, a child of this process): its pid and /proc status."""
    for child in Path("/proc").glob("[0-9]*"):
        try:
            status = (child / "status").read_text()
        except OSError:
            continue
        if f"\nPPid:\t{os.getpid()}\n" in status and status.startswith("Name:\tnode"):
            return int(child.name), status
    raise RuntimeError("Playwright's driver process was not found")


def _peak(status: str) -> str:
    peak = re.search(r"VmHWM:\s+(\d+) kB", status)
    return f"{int(peak.group(1)) // 1024} MiB" if peak else "unknown"


def cpu_of(**roots: int) -> dict[str, dict[int, float]]:
    """The CPU seconds so far (user + system) of each root process and every process under
    it, by pid: ``cpu_of(server=pid)["server"]``."""
    table: dict[int, tuple[int, float]] = {}  # pid -> (parent, CPU seconds)
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        table[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    out: dict[str, dict[int, float]] = {}
    for name, root in roots.items():
        found, todo = {}, [root]
        while todo:
            pid = todo.pop()
            if pid in table:
                found[pid] = table[pid][1]
                todo += [p for p, (parent, _) in table.items() if parent == pid]
        out[name] = found
    return out


def spent(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]]
          ) -> dict[str, float]:
    """CPU seconds spent between two :func:`cpu_of`, by root (processes that ended between
    them are not counted)."""
    return {name: sum(cpu - before[name].get(pid, 0.0) for pid, cpu in procs.items())
            for name, procs in after.items()}


def run(bench: Bench) -> list[Row]:
    """The render row and the two rows of the upload."""
    from playwright.sync_api import sync_playwright
    from uiserver import launch_chromium

    names = bench.sizes.ui_names
    bench.say(f"ui: a catalog with a folder of {names:,} names")
    env = build(bench, names)
    server = UiProcess(env, bench.work / "ui-server.log")
    try:
        with sync_playwright() as p:
            browser = launch_chromium(p)
            try:
                roots = {"server": server.process.pid, "browser": _driver()[0]}
                rows = [render_row(bench, browser, server.url, names, roots)]
                rows += upload_rows(bench, browser, server.url, roots)
            finally:
                browser.close()
    finally:
        server.close()
    cat = Catalog.open(Config.load(env, default_namespace=NS))
    try:
        name = f"eos://{NS}/{UPLOADS}ui-upload-{bench.sizes.ui_upload}.bin"
        assert cat.resolve(name).size == bench.sizes.ui_upload
    finally:
        cat.close()
        for made in ("ui-store", "ui-tmp", "homes/ui"):
            shutil.rmtree(bench.work / made, ignore_errors=True)
    return rows
