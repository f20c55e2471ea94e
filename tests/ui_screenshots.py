"""Screenshots of ``eos ui``'s main pages for docs/ui.md, in Debian's chromium.

Run from the repository root: ``python tests/ui_screenshots.py`` (writes docs/ui/*.png). It fills
a catalog in a temporary folder as the browser tests do (:func:`uiserver.fill`), serves it with
the real app on 127.0.0.1 and photographs the tree, a name's page with its preview, a folder as
of an earlier time, a diff and a search.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from uiserver import UiServer, fill, launch_chromium

from eoscatalog import Catalog, LocalStore
from eoscatalog.ui import create_app

OUT = Path(__file__).resolve().parent.parent / "docs" / "ui"


def shoot(out: Path = OUT) -> list[Path]:
    """Write the screenshots into ``out``; return their paths."""
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp:
        cat = Catalog(LocalStore(Path(tmp) / "store", create=True), Path(tmp) / "index.sqlite",
                      user="ada")
        times = fill(cat)
        with UiServer(create_app(cat)) as server, sync_playwright() as p:
            browser = launch_chromium(p)
            page = browser.new_page(base_url=server.url, viewport={"width": 1280, "height": 860})
            shots = [
                ("tree", "#/tree/org/runs/", "[data-test=du-panel]"),
                ("name", "#/name/org/runs/a.csv", "[data-test=preview-table]"),
                ("parquet", "#/name/org/runs/genes.parquet", "[data-test=parquet-schema]"),
                ("history", "#/history/org/runs/", "[data-test=events]"),
                ("as-of", f"#/tree/org/runs/?at={times['first']}", "[data-test=tree-file]"),
                ("diff", "#/diff?a=org/runs/a.csv@1&b=org/runs/a.csv@2", "[data-test=diff-text]"),
                ("search", "#/search?q=novaseq", "[data-test=search-result]"),
            ]
            page.goto("./")
            for name, fragment, ready in shots:
                page.goto("./" + fragment)
                page.wait_for_selector(ready)
                page.wait_for_selector("#view:not([aria-busy])")
                path = out / f"{name}.png"
                page.screenshot(path=str(path), full_page=name in ("name", "parquet"))
                written.append(path)
            browser.close()
        cat.close()
    return written


if __name__ == "__main__":
    for written in shoot():
        print(written)
