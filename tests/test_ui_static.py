"""The page's own files (eoscatalog/ui/static/): ES modules each small enough to read in one
sitting, HTML inserted by the preview module only, every module reachable from main.js and
served with a JavaScript type (a browser refuses a module script otherwise, under nosniff), and
every file shipped as package data. The page's behaviour is tested in test_ui_browser.py."""

from __future__ import annotations

import ast
import mimetypes
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from ui_helpers import local_catalog

from eoscatalog import Catalog
from eoscatalog.store import LocalStore
from eoscatalog.ui.app import STATIC, create_app

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "eoscatalog"
MAX_JS_LINES = 400
# The one module allowed to insert HTML: a Markdown preview's `html`, rendered by the server
# with raw HTML disabled (docs/ui.md, Security).
PREVIEW_MODULE = "preview.js"
HTML_SINKS = ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write")
JS_TYPES = {"text/javascript", "application/javascript"}
IMPORT = re.compile(r"""\b(?:import|export)\b[^;"'`]*?\bfrom\s*["']([^"']+)["']"""
                    r"""|\bimport\s*\(?\s*["']([^"']+)["']""")


def _files() -> list[Path]:
    return sorted(p for p in STATIC.rglob("*") if p.is_file())


def _is_javascript(path: Path) -> bool:
    return path.suffix in (".js", ".mjs", ".cjs") or mimetypes.guess_type(path.name)[0] in JS_TYPES


def _modules() -> list[Path]:
    return [p for p in _files() if _is_javascript(p)]


def _imports(module: Path) -> list[str]:
    return [a or b for a, b in IMPORT.findall(module.read_text(encoding="utf-8"))]


def test_the_page_is_split_into_modules_none_over_400_lines() -> None:
    modules = _modules()
    assert len(modules) >= 10 and (STATIC / "main.js").is_file()
    long = {p.name: n for p in _files()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_JS_LINES
            and _is_javascript(p)}
    assert long == {}, f"JavaScript files over {MAX_JS_LINES} lines: split them by concept"


def test_html_is_inserted_by_the_preview_module_only() -> None:
    offenders = {p.name: sink for p in _modules() for sink in HTML_SINKS
                 if sink in p.read_text(encoding="utf-8") and p.name != PREVIEW_MODULE}
    assert offenders == {}, ("build the DOM with createElement/textContent (dom.js's h); HTML "
                             f"is inserted only for the Markdown preview, in {PREVIEW_MODULE}")
    preview = (STATIC / PREVIEW_MODULE).read_text(encoding="utf-8")
    assert preview.count("innerHTML") == 2, "the Markdown preview's html, and the comment on it"
    assert "div.innerHTML = p.html" in preview


def test_index_loads_main_as_a_module_and_every_module_is_reachable() -> None:
    index = (STATIC / "index.html").read_text(encoding="utf-8")
    scripts = re.findall(r"<script\b[^>]*>", index)
    assert scripts == ['<script type="module" src="static/main.js">'], \
        "one module script, from a relative URL (no inline script: the CSP allows none)"
    reached: set[str] = set()
    todo = ["main.js"]
    while todo:
        name = todo.pop()
        if name in reached:
            continue
        reached.add(name)
        for spec in _imports(STATIC / name):
            assert re.fullmatch(r"\./[A-Za-z0-9_-]+\.js", spec), \
                f"{name} imports {spec!r}: import a sibling module as './name.js'"
            assert (STATIC / spec[2:]).is_file(), f"{name} imports {spec}, which is missing"
            todo.append(spec[2:])
    assert reached == {p.name for p in _modules()}, "a module nothing imports"
    # Preloaded all at once, not import by import (one round trip instead of four).
    preloaded = set(re.findall(r'<link rel="modulepreload" href="static/([^"]+)">', index))
    assert preloaded == reached - {"main.js"}, "index.html preloads every module main.js imports"


@pytest.fixture
def cat(local_store: LocalStore, tmp_path: Path) -> Iterator[Catalog]:
    yield from local_catalog(local_store, tmp_path)


@pytest.fixture
def client(cat: Catalog, tmp_path: Path) -> TestClient:
    """The app over an empty catalog, with the package's real static files."""
    return TestClient(create_app(cat, upload_dir=tmp_path), base_url="http://127.0.0.1:8765")


def test_modules_are_served_with_a_javascript_type(client: TestClient) -> None:
    assert 'src="static/main.js"' in client.get("/").text
    for module in _modules():
        answer = client.get(f"/static/{module.name}")
        assert answer.status_code == 200 and answer.text == module.read_text(encoding="utf-8")
        kind = answer.headers["content-type"].split(";")[0]
        assert kind in JS_TYPES, f"{module.name} served as {kind}: a browser would not run it"
        assert answer.headers["x-content-type-options"] == "nosniff"
        # Asked again each time, so a page never runs modules of two releases together.
        assert answer.headers["cache-control"] == "no-cache"
        unchanged = client.get(f"/static/{module.name}",
                               headers={"if-none-match": answer.headers["etag"]})
        assert unchanged.status_code == 304
    assert client.get("/static/app.css").headers["content-type"].startswith("text/css")


def test_every_static_file_is_package_data() -> None:
    # (tomllib is Python 3.11+: the section's one line, a list of strings, read as Python.)
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    line = re.search(r"^\[tool\.setuptools\.package-data\]\neoscatalog = (\[.*\])$", pyproject,
                     re.M)
    assert line is not None, "pyproject.toml has no package data for eoscatalog"
    patterns = ast.literal_eval(line.group(1))
    shipped = {p for pattern in patterns for p in PACKAGE.glob(pattern)}
    missing = [str(p.relative_to(PACKAGE)) for p in _files() if p not in shipped]
    assert missing == [], "add them to [tool.setuptools.package-data] in pyproject.toml"

