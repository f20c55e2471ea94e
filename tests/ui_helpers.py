"""What the eos ui tests share: a catalog on the local store with a few names, and the app over
it behind Starlette's TestClient (the page's files are stand-ins written to a temp folder)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from eoscatalog import Catalog
from eoscatalog.store import Store
from eoscatalog.ui import create_app

HOSTILE = "<img src=x onerror=alert(1)>.csv"


def fill(cat: Catalog) -> None:
    """org/runs/ with a CSV of two versions, a sub-folder, a hostile name and metadata."""
    cat.put_bytes(b"a,b\n1,2\n", "eos://org/runs/t.csv", message="first")
    cat.put_bytes(b"a,b\n1,3\n", "eos://org/runs/t.csv", message="second",
                  meta={"sample": "liver", "<b>": "<script>alert(1)</script>"})
    cat.put_bytes(b"x\n", "eos://org/runs/sub/n.txt")
    cat.put_bytes(b"h,i\n", f"eos://org/runs/{HOSTILE}", meta={"k": "<img src=x onerror=alert(2)>"})
    cat.put_bytes(b"notes\n", "notes.txt")


def static_folder(root: Path) -> Path:
    """Stand-ins of the page's files (the real ones come with the page)."""
    static = root / "static"
    static.mkdir(parents=True, exist_ok=True)
    (static / "index.html").write_text(
        "<!doctype html><script type=module src=static/main.js></script>")
    (static / "main.js").write_text("// the page\n")
    (static / "app.css").write_text("body {}\n")
    return static


def make_client(cat: Catalog, root: Path, **options: Any) -> TestClient:
    """A TestClient of the app over ``cat`` (``options``: create_app's)."""
    app = create_app(cat, static=static_folder(root), upload_dir=root, **options)
    return TestClient(app, base_url="http://127.0.0.1:8765")


def local_catalog(store: Store, root: Path) -> Iterator[Catalog]:
    """A catalog of user ada over ``store``, its index under ``root``."""
    cat = Catalog(store, root / "index.sqlite", user="ada")
    yield cat
    cat.close()
