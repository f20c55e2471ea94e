"""``eos ui`` in a real browser: Debian's chromium, driven by Playwright, against the real web app
(uvicorn on 127.0.0.1, a free port) over a catalog on the local store filled by the module.

One browser and one server per module (Chromium on two cores is slow to start); each test opens
a fresh page, and fails on any page error or console error (a CSP violation is one), and on any
dialog (an ``alert`` from a hostile name would be one).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Route, sync_playwright
from starlette.applications import Starlette
from starlette.routing import Mount
from uiserver import (
    CSV_V2,
    GONE_MESSAGE,
    HOSTILE_META,
    HOSTILE_NAME,
    ODD_NAME,
    UiServer,
    fill,
    launch_chromium,
)

from eoscatalog import Catalog, LocalStore
from eoscatalog.ui import create_app


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Catalog, dict[str, str]]]:
    """A catalog on a local store, filled by :func:`uiserver.fill`, and the times it gives."""
    root = tmp_path_factory.mktemp("ui")
    cat = Catalog(LocalStore(root / "store", create=True), root / "index.sqlite", user="ada")
    times = fill(cat)
    yield cat, times
    cat.close()


# As JupyterHub's proxy serves it: every test then checks that the page's URLs are relative.
PROXY_PATH = "user/ada/proxy/8888/"


@pytest.fixture(scope="module")
def server(filled: tuple[Catalog, dict[str, str]]) -> Iterator[str]:
    """The real app on uvicorn in a thread, on a free port of 127.0.0.1, under a path as
    JupyterHub's proxy serves it: its base URL."""
    app = Starlette(routes=[Mount("/" + PROXY_PATH.rstrip("/"), app=create_app(filled[0]))])
    with UiServer(app) as running:
        yield running.url + PROXY_PATH


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        chromium = launch_chromium(p)
        yield chromium
        chromium.close()


class Watched:
    """A page and what went wrong on it: page errors, console errors, dialogs."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.problems: list[str] = []
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        page.on("console", lambda m: m.type == "error" and self.problems.append(
            f"console error: {m.text}"))
        page.on("dialog", self._dialog)
        page.on("response", lambda r: r.status >= 400 and self.problems.append(
            f"HTTP {r.status}: {r.url}"))

    def _dialog(self, dialog: Any) -> None:
        self.problems.append(f"dialog: {dialog.message}")
        dialog.dismiss()


@pytest.fixture
def watched(browser: Browser, server: str) -> Iterator[Watched]:
    context = browser.new_context(base_url=server, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    w = Watched(context.new_page())
    yield w
    context.close()


@pytest.fixture
def page(watched: Watched) -> Iterator[Page]:
    """A fresh page; the test fails if the page raised, logged an error or opened a dialog."""
    yield watched.page
    assert watched.problems == []


# The folder listing's rows are laid out only when on screen (content-visibility: auto): the
# tests read them with text_content, which does not depend on layout, not inner_text.
def _open(page: Page, fragment: str = "") -> None:
    page.goto("./" + fragment)
    page.wait_for_selector("#view:not([aria-busy])")


def test_the_tree_opens_on_the_namespaces_and_leads_to_a_folder(page: Page) -> None:
    _open(page)
    assert page.locator("[data-test=tree-folder] a").all_text_contents() == ["org/"]
    page.click("[data-test=tree] a:text-is('org/')")
    page.click("[data-test=tree] a:text-is('runs/')")
    page.wait_for_url("**#/tree/org/runs/")
    page.wait_for_selector("[data-test=tree-file]")
    files = page.locator("[data-test=tree-file] .cell-name a").all_text_contents()
    assert sorted(files) == sorted(["README.md", "a.csv", "genes.parquet", "notes.txt",
                                    HOSTILE_NAME])
    assert page.locator("[data-test=tree-folder] a").all_text_contents() == ["later/"]
    du = page.inner_text("[data-test=du-panel]")
    assert "Stored vs logical bytes" in du and "saved" in du
    # The filter keeps the names holding its text; a column header sorts by that column.
    page.fill("[data-test=tree-filter]", ".CSV")
    page.wait_for_function(
        "() => document.querySelectorAll('[data-test=tree-file]').length === 2")
    page.click("[data-test=sort-size]")  # the largest first
    assert page.locator("[data-test=tree-file] .cell-name a").all_text_contents() == [
        "a.csv", HOSTILE_NAME]
    page.click("[data-test=sort-size]")
    assert page.locator("[data-test=tree-file] .cell-name a").all_text_contents() == [
        HOSTILE_NAME, "a.csv"]
    # The sidebar tree follows: org/ open, runs/ marked as the current folder.
    assert page.locator("#sidebar li.current > .nav-row a").inner_text() == "runs/"


def test_a_names_page_shows_its_versions_snippets_and_a_csv_preview(page: Page) -> None:
    _open(page, "#/tree/org/runs/")
    page.click("[data-test=tree-file] a:text-is('a.csv')")
    page.wait_for_url("**#/name/org/runs/a.csv")
    assert page.inner_text("[data-test=name-title]").startswith("org/runs/a.csv")
    versions = page.locator("[data-test=versions] [data-test=version]")
    assert versions.count() == 2
    assert "paper-2026" in versions.nth(0).inner_text()
    snippets = page.locator("[data-test=snippet] code").all_inner_texts()
    assert any("File(remote=" in s for s in snippets)
    assert any(s.startswith("eos://org/runs/a.csv") for s in snippets)
    assert any("pd.read_csv(" in s for s in snippets)
    assert "novaseq" in page.inner_text("[data-test=meta]")
    table = page.wait_for_selector("[data-test=preview] [data-test=preview-table]")
    assert table is not None
    text = table.inner_text()
    assert "sample" in text and "s3" in text and "30" in text
    href = page.get_attribute("[data-test=download]", "href")
    assert href is not None and href.startswith("api/raw?")  # relative, for any proxy prefix
    assert page.request.get(href).body() == CSV_V2


def test_the_version_timeline_shows_rollbacks_deletes_and_undeletes_apart(page: Page) -> None:
    _open(page, "#/name/org/runs/notes.txt")
    versions = page.locator("[data-test=version]")
    assert versions.count() == 5
    kinds = [versions.nth(i).get_attribute("data-kind") for i in range(5)]
    assert kinds == ["undelete", "delete", "rollback", "put", "put"]
    texts = versions.all_inner_texts()
    assert "undelete (restores v3)" in texts[0]
    assert "deleted" in texts[1]
    assert "rollback to v1" in texts[2]


def test_a_parquet_preview_shows_schema_row_groups_and_rows(page: Page) -> None:
    _open(page, "#/name/org/runs/genes.parquet")
    page.wait_for_selector("[data-test=preview][data-kind=parquet]")
    schema = page.inner_text("[data-test=parquet-schema]")
    assert "gene" in schema and "score" in schema
    assert "3 rows in 2 row group(s)" in page.inner_text("[data-test=preview]")
    groups = page.locator("[data-test=parquet-row-groups] tbody tr").all_inner_texts()
    assert any("BRCA1" in g and "TP53" in g for g in groups)  # gene's min and max, group 0
    assert any("EGFR" in g for g in groups)  # group 1
    rows = page.inner_text("[data-test=preview-table]")  # the first row group's rows
    assert "BRCA1" in rows and "TP53" in rows
    assert "Showing the beginning only." in page.inner_text("[data-test=preview]")


def test_a_markdown_preview_is_rendered_html(page: Page) -> None:
    _open(page, "#/name/org/runs/README.md")
    heading = page.wait_for_selector("[data-test=preview-markdown] h1")
    assert heading is not None and heading.inner_text() == "Sequencing runs"
    assert page.locator("[data-test=preview-markdown] li").count() == 2


def test_an_earlier_time_shows_the_older_tree_with_a_permalink(
        page: Page, filled: tuple[Catalog, dict[str, str]]) -> None:
    _, times = filled
    _open(page, "#/tree/org/runs/")
    assert page.locator("[data-test=tree-file]").count() == 5
    picker = page.locator("[data-test=at-events]")
    picker.locator(f"option[value='{times['first']}']").wait_for(state="attached")
    picker.select_option(times["first"])
    page.wait_for_url("**#/tree/org/runs/?at=*")
    page.wait_for_selector("[data-test=folder-title] .at")
    assert page.locator("[data-test=tree-file] .cell-name a").all_text_contents() == ["a.csv"]
    assert page.locator("[data-test=tree-folder]").count() == 0
    assert page.get_attribute("[data-test=tree-file] a", "href") == "#/name/org/runs/a.csv@1"
    # The URL is the permalink: opened afresh, it shows the same older tree.
    permalink = page.url
    page.goto("about:blank")
    page.goto(permalink)
    page.wait_for_selector("[data-test=folder-title] .at")
    assert page.locator("[data-test=tree-file]").count() == 1
    # The date-time input goes to the same kind of permalink, read as UTC: before the folder
    # existed, the tree is empty and says why.
    page.fill("[data-test=at-picker]", "2020-01-02T03:04:05")
    page.wait_for_url("**#/tree/org/runs/?at=2020-01-02T03:04:05Z")
    assert "did not exist" in page.wait_for_selector("[data-test=tree-note]").inner_text()
    assert page.locator("[data-test=tree-file]").count() == 0


def test_a_folders_history_lists_its_versions_and_diffs_them(page: Page) -> None:
    _open(page, "#/history/org/runs/")
    versions = page.locator("[data-test=folder-version]")
    assert versions.count() >= 10
    newest = versions.nth(0).inner_text()
    assert "later" in newest and "+1 ~0 -0" in newest and "blake3:" in newest
    versions.nth(0).locator("a:text-is('diff')").click()
    page.wait_for_selector("[data-test=diff][data-kind=folder]")
    assert "org/runs/later/added.txt@1" in page.inner_text("[data-test=diff]")
    assert "1 added, 0 removed, 0 changed" in page.inner_text("[data-test=diff]")


def test_a_diff_of_two_versions_shows_the_changed_lines(page: Page) -> None:
    _open(page, "#/name/org/runs/a.csv")
    page.click("[data-test=compare]")
    page.wait_for_url("**#/diff?a=org/runs/a.csv@1&b=org/runs/a.csv@2")
    diff = page.wait_for_selector("[data-test=diff]")
    assert diff is not None
    text = page.inner_text("[data-test=diff-text]")
    assert "-s2,20" in text and "+s2,25" in text and "+s3,30" in text
    assert page.locator("[data-test=diff-text] .add").count() >= 2


def test_a_folder_diff_between_two_times(page: Page,
                                         filled: tuple[Catalog, dict[str, str]]) -> None:
    _, times = filled
    _open(page, f"#/diff?a=org/runs@{times['first']}/&b=org/runs@{times['last']}/")
    page.wait_for_selector("[data-test=diff][data-kind=folder]")
    text = page.inner_text("[data-test=diff]")
    assert "org/runs/genes.parquet@1" in text and "org/runs/a.csv@2" in text


def test_search_finds_names_tags_and_metadata(page: Page) -> None:
    _open(page)
    page.keyboard.press("/")  # to the search box
    page.keyboard.type("novaseq")
    page.keyboard.press("Enter")
    page.wait_for_url("**#/search?q=novaseq")
    results = page.wait_for_selector("[data-test=search-results] [data-test=search-result]")
    assert results is not None
    assert "org/runs/a.csv@2" in page.inner_text("[data-test=search-results]")
    _open(page, "#/search?q=paper-2026")
    page.wait_for_selector("[data-test=search-result]")
    assert "org/runs/a.csv@2" in page.inner_text("[data-test=search-results]")


def test_an_image_and_a_zarr_store_are_previewed_and_unknown_bytes_say_why(page: Page) -> None:
    _open(page, "#/name/org/media/dot.png")
    image = page.wait_for_selector("[data-test=preview-image]")
    assert image is not None
    page.wait_for_function(
        "() => document.querySelector('[data-test=preview-image]').naturalWidth === 4")
    assert "4 \u00d7 3 image/png" in page.inner_text("[data-test=preview]")
    _open(page, "#/tree/org/media/cube.zarr/")
    arrays = page.wait_for_selector("[data-test=zarr-arrays]")
    assert arrays is not None
    row = page.locator("[data-test=zarr-arrays] tbody tr").inner_text()
    assert "temp" in row and "[10,20]" in row and "float32" in row and "[5,10]" in row
    _open(page, "#/name/org/media/blob.bin")
    reason = page.wait_for_selector("[data-test=preview-reason]")
    assert reason is not None and "no preview" in reason.inner_text()


def test_a_deleted_name_shows_its_marker_and_its_readable_versions(page: Page) -> None:
    _open(page, "#/name/org/media/gone.txt")
    assert "deleted" in page.inner_text("[data-test=name-title]")
    assert page.locator("[data-test=snippet]").count() == 0
    assert "nothing to preview" in page.inner_text("[data-test=preview]")
    page.click("[data-test=version][data-version='1'] a.vnum")
    page.wait_for_url("**#/name/org/media/gone.txt@1")
    page.wait_for_selector("[data-test=preview-text]")
    assert "the current one is v2 (a delete marker)" in page.inner_text("[data-test=older-version]")
    assert page.inner_text("[data-test=preview-text]") == "gone\n"


def test_a_delete_marker_has_its_own_page_with_the_undelete_command_to_copy(
        page: Page, filled: tuple[Catalog, dict[str, str]]) -> None:
    cat, _ = filled
    before = len(cat.versions("eos://org/media/gone.txt"))
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    _open(page, "#/name/org/media/gone.txt@1")
    page.click("[data-test=version][data-kind=delete] a.vnum")
    page.wait_for_url("**#/name/org/media/gone.txt@2")
    deleted = page.wait_for_selector("[data-test=deleted]")
    assert deleted is not None
    assert deleted.inner_text().startswith(f"Deleted at v2 by ada ({GONE_MESSAGE}) on ")
    assert page.inner_text("[data-test=name-title]").startswith("org/media/gone.txt")
    assert page.locator("[data-test=snippet], [data-test=download], [data-test=share]").count() == 0
    assert "nothing to preview" in page.inner_text("[data-test=preview]")
    undelete = page.locator("[data-test=undelete]")
    assert undelete.locator("code").inner_text() == "eos undelete eos://org/media/gone.txt"
    undelete.locator("button").click()
    assert page.evaluate("navigator.clipboard.readText()") == (
        "eos undelete eos://org/media/gone.txt")
    assert len(cat.versions("eos://org/media/gone.txt")) == before  # the page wrote nothing
    # A marker undone since: its page says so and offers no command.
    _open(page, "#/name/org/runs/notes.txt")
    page.click("[data-test=version][data-kind=delete] a.vnum")
    page.wait_for_url("**#/name/org/runs/notes.txt@4")
    assert page.wait_for_selector("[data-test=deleted]") is not None
    assert page.inner_text("[data-test=deleted]").startswith("Deleted at v4 by ada on ")
    assert "written again since" in page.inner_text("main")
    assert "the current one is v5" in page.inner_text("[data-test=older-version]")
    assert page.locator("[data-test=undelete]").count() == 0


def test_copy_buttons_copy_the_snippets(page: Page) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    _open(page, "#/name/org/runs/a.csv")
    snippet = page.locator("[data-test=snippet]").filter(has_text="pd.read_csv")
    snippet.locator("button").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == snippet.locator("code").inner_text()
    assert copied.startswith('pd.read_csv("eos://org/runs/a.csv')


def test_the_share_button_shows_a_link_on_s3(page: Page) -> None:
    """On S3 (here the page is told so: the API's share links are tested on moto by
    tests/test_ui_api.py), the share button asks api/share and shows the link to copy."""
    def info(route: Route) -> None:
        answer = route.fetch().json()
        route.fulfill(json={**answer, "s3": True})

    page.route("**/api/info", info)
    page.route("**/api/share?*", lambda r: r.fulfill(json={
        "url": "https://bucket.example/blobs/x?X-Amz-Signature=abc",
        "expires": "2026-06-03T00:00:00Z"}))
    _open(page, "#/name/org/runs/a.csv")
    page.click("[data-test=share]")
    link = page.wait_for_selector(".share-url")
    assert link is not None
    assert link.input_value() == "https://bucket.example/blobs/x?X-Amz-Signature=abc"


def test_a_drop_of_files_uploads_them_in_one_changeset(
        page: Page, filled: tuple[Catalog, dict[str, str]]) -> None:
    cat, _ = filled
    _open(page, "#/tree/org/runs/later/")
    page.wait_for_selector("[data-test=dropzone]")
    # A real drop event, carrying Files in a DataTransfer, as the desktop sends it.
    page.evaluate("""() => {
        const dt = new DataTransfer();
        dt.items.add(new File(["x,y\\n1,2\\n"], "dropped.csv", {type: "text/csv"}));
        dt.items.add(new File(["hello"], "readme.txt", {type: "text/plain"}));
        const zone = document.querySelector("[data-test=dropzone]");
        const init = {bubbles: true, cancelable: true, dataTransfer: dt};
        zone.dispatchEvent(new DragEvent("dragover", init));
        zone.dispatchEvent(new DragEvent("drop", init));
    }""")
    page.wait_for_selector("[data-test=upload-progress][data-state=done]")
    assert page.get_attribute("[data-test=upload-progress] progress", "max") is not None
    page.wait_for_selector("[data-test=tree-file] a:text-is('dropped.csv')")
    first = cat.resolve("eos://org/runs/later/dropped.csv")
    second = cat.resolve("eos://org/runs/later/readme.txt")
    assert cat.cat("eos://org/runs/later/dropped.csv") == b"x,y\n1,2\n"
    assert first.seq == second.seq, "a drop is one changeset"
    # The fallback file input does the same.
    page.set_input_files("[data-test=upload-input]", files=[
        {"name": "picked.txt", "mimeType": "text/plain", "buffer": b"picked"}])
    page.wait_for_selector("[data-test=tree-file] a:text-is('picked.txt')")
    assert cat.cat("eos://org/runs/later/picked.txt") == b"picked"


def test_a_large_upload_shows_progress_and_the_page_stays_responsive(
        page: Page, filled: tuple[Catalog, dict[str, str]], tmp_path: Path) -> None:
    cat, _ = filled
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(1 << 20) * 8)  # 8 MiB
    # At 8 MiB/s (Chromium's network emulation) the upload takes about a second, long enough
    # to see it progress; on loopback unthrottled it would be over before the next frame.
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": 0, "downloadThroughput": -1,
        "uploadThroughput": 8 << 20})
    _open(page, "#/tree/org/runs/later/")
    page.wait_for_selector("[data-test=dropzone]")
    # Watch from inside the page: every progress value shown, and the longest gap between two
    # animation frames (a page busy with the upload would stop drawing).
    page.evaluate("""() => {
        window.seen = new Set();
        window.longestFrame = 0;
        let last = performance.now();
        const tick = (now) => {
            window.longestFrame = Math.max(window.longestFrame, now - last);
            last = now;
            const bar = document.querySelector("[data-test=upload-progress] progress");
            if (bar) window.seen.add(bar.value / bar.max);
            if (!document.querySelector("[data-test=upload-progress][data-state]")) {
                requestAnimationFrame(tick);
            }
        };
        requestAnimationFrame(tick);
    }""")
    page.set_input_files("[data-test=upload-input]", str(big))
    page.wait_for_selector("[data-test=upload-progress][data-state=done]", timeout=60_000)
    seen = page.evaluate("[...window.seen]")
    assert any(0 < f < 1 for f in seen), f"no progress between 0 and 1: {seen}"
    longest = page.evaluate("window.longestFrame")
    print(f"progress seen: {sorted(seen)[:8]}..., longest frame {longest:.0f} ms")
    assert longest < 500, f"the page froze for {longest:.0f} ms during the upload"
    assert cat.resolve("eos://org/runs/later/big.bin").size == 8 << 20


def test_hostile_names_and_metadata_render_as_text_and_run_nothing(
        page: Page, watched: Watched) -> None:
    _open(page, "#/tree/org/runs/")
    assert HOSTILE_NAME in (page.text_content("[data-test=tree]") or "")
    page.click(f"[data-test=tree-file] a:text-is('{HOSTILE_NAME}')")
    page.wait_for_selector("[data-test=preview-table]")
    assert page.inner_text("[data-test=name-title]").startswith(f"org/runs/{HOSTILE_NAME}")
    assert HOSTILE_META in page.inner_text("[data-test=meta]")
    assert HOSTILE_META in page.inner_text("[data-test=message]")
    _open(page, "#/search?q=pwned")
    page.wait_for_selector("[data-test=search-result]")
    assert HOSTILE_NAME in page.inner_text("[data-test=search-results]")
    _open(page, "#/history/org/runs/")
    assert HOSTILE_META in page.inner_text("[data-test=events]")
    # Markdown with raw HTML and a javascript: link: the HTML shows as text, the link is none.
    _open(page, "#/name/org/odd/evil.md")
    page.wait_for_selector("[data-test=preview-markdown] h1")
    markdown = page.locator("[data-test=preview-markdown]")
    assert "<img src=x" in markdown.inner_text()
    assert markdown.locator("img, script, [href^='javascript']").count() == 0
    assert page.evaluate("typeof window.pwned") == "undefined"
    assert page.locator("img[onerror], script:not([src])").count() == 0
    assert [p for p in watched.problems if "dialog" in p] == []


def test_names_that_urls_escape_survive_the_routes_and_the_api(page: Page) -> None:
    _open(page, "#/tree/org/odd/")
    page.click(f"[data-test=tree-file] a:text-is('{ODD_NAME}')")
    page.wait_for_selector("[data-test=preview-table]")
    assert page.inner_text("[data-test=name-title]").startswith(f"org/odd/{ODD_NAME}")
    permalink = page.url
    page.goto("about:blank")
    page.goto(permalink)
    page.wait_for_selector("[data-test=preview-table]")
    assert page.inner_text("[data-test=name-title]").startswith(f"org/odd/{ODD_NAME}")
    _open(page, "#/search?q=" + "a%26b%3D")
    page.wait_for_selector("[data-test=search-result]")
    assert f"org/odd/{ODD_NAME}@1" in page.inner_text("[data-test=search-results]")


def test_an_api_error_is_shown_in_the_error_element(page: Page, watched: Watched) -> None:
    _open(page, "#/name/org/runs/missing.csv")
    error = page.wait_for_selector("[data-test=error]:visible")
    assert error is not None and "missing.csv" in error.inner_text()
    # The failed request is logged by the browser as a console error: expected here.
    watched.problems[:] = [p for p in watched.problems if "404" not in p]


def test_a_folder_of_ten_thousand_names_renders_in_under_a_second(page: Page) -> None:
    files = [{"namespace": "org", "name": f"big/f{i:05d}.csv", "path": f"org/big/f{i:05d}.csv",
              "version": 1, "kind": "put", "hash": "blake3:" + "0" * 64, "size": i,
              "created": "2026-06-01T00:00:00.000000Z", "author": "ada", "message": "",
              "tags": [], "meta": {}, "source_version": None, "ref": f"org/big/f{i:05d}.csv@1"}
             for i in range(10_000)]
    body = json.dumps({"path": "org/big/", "at": None, "folders": [], "files": files,
                       "names": 10_000, "bytes": sum(range(10_000))})

    def big_tree(route: Route) -> None:
        if "path=org%2Fbig%2F" in route.request.url:
            route.fulfill(body=body, content_type="application/json")
        else:
            route.continue_()

    page.route("**/api/tree?*", big_tree)
    page.route("**/api/du?*", lambda r: r.fulfill(json={
        "names": 10_000, "versions": 10_000, "logical": 1, "all_versions": 1, "stored": 1,
        "saved": 0}))
    page.route("**/api/history?*", lambda r: r.fulfill(json={"path": "org/big/",
                                                             "folder_versions": [], "events": []}))
    _open(page, "#/search")
    # In the page: from the click on the folder's permalink to its 10,000 rows laid out,
    # the request and the JSON included.
    total = page.evaluate("""() => new Promise((done) => {
        const start = performance.now();
        const seen = () => {
            const rows = document.querySelectorAll("[data-test=tree-file]").length;
            if (rows === 10000 && !document.querySelector("#view[aria-busy]")) {
                done(performance.now() - start);
            } else requestAnimationFrame(seen);
        };
        location.hash = "#/tree/org/big/";
        requestAnimationFrame(seen);
    })""")
    rendered = float(page.get_attribute("#view", "data-render-ms") or "inf")
    print(f"10,000 names: {total:.0f} ms from the click, {rendered:.0f} ms from the answer")
    assert rendered < 1000, f"10,000 names took {rendered:.0f} ms to render"
    assert total < 1500, f"10,000 names took {total:.0f} ms from the click (fetch included)"
