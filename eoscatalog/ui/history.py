"""A folder's history (``api/history``), diffs (``api/diff``) and search (``api/search``).

A folder's history is its folder versions (one per changeset that changed a name under it,
``Catalog.folders.versions``) and the changesets themselves, newest first, with the names each
changed (``Catalog.log``). A diff of two names carries a unified diff of their text when both
are small text files, and the table comparison of ``Catalog.diff`` for two tables.
"""

from __future__ import annotations

import difflib
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from eoscatalog.catalog.catalog import Catalog
from eoscatalog.core.errors import NotFoundError
from eoscatalog.log.records import VersionRecord
from eoscatalog.rules.folder_difference import FolderDiff
from eoscatalog.ui.records import rec, ref_of, uri_of
from eoscatalog.ui.responses import blocking, catalog_of, endpoint, query
from eoscatalog.ui.tree import folder_uri

__all__ = ["DIGESTS", "EVENTS", "TEXT_DIFF_BYTES", "diff", "diff_of", "history", "history_of",
           "search"]

EVENTS = 200  # the newest changes a folder's history shows
DIGESTS = 10  # the newest folder versions whose snapshot digest the history shows
TEXT_DIFF_BYTES = 1024 * 1024  # text diffs of versions up to this size (each)
TEXT_DIFF_LINES = 5000  # and at most this many lines of diff


def history_of(catalog: Catalog, path: str) -> dict[str, Any]:
    """The answer of ``api/history``: folder versions newest first, changesets newest first."""
    uri = folder_uri(path)
    try:
        versions = catalog.folders.versions(uri)
    except NotFoundError:
        versions = []
    events: dict[tuple[str, int], dict[str, Any]] = {}
    for event in catalog.log(uri, limit=EVENTS):
        found = events.setdefault((event.namespace, event.seq), {
            "seq": event.seq, "created": event.created, "author": event.author,
            "message": event.message, "names": [], "kinds": []})
        found["names"].append(f"{event.namespace}/{event.target}")
        found["kinds"].append(event.what)
    shown = []
    for n, v in enumerate(reversed(versions)):
        ref = f"{path[:-1]}@{v.version}/"
        # The digest (what a folder lock checks) reads the version's snapshot: the newest only.
        digest = catalog.folders.digest(catalog.folders.snapshot(uri_of(ref))) \
            if n < DIGESTS else None
        shown.append({"version": v.version, "created": v.created, "at": v.at,
                      "author": v.author, "message": v.message, "tags": list(v.tags),
                      "digest": digest, "summary": v.summary, "added": v.added,
                      "changed": v.changed, "removed": v.removed, "ref": ref})
    return {"path": path, "folder_versions": shown, "events": list(events.values())}


@endpoint
async def history(request: Request) -> Response:
    """``GET api/history?path=org/runs/``."""
    return JSONResponse(await blocking(history_of, catalog_of(request), query(request, "path")))


def _text(catalog: Catalog, record: VersionRecord) -> list[str] | None:
    if record.hash is None or (record.size or 0) > TEXT_DIFF_BYTES:
        return None
    data = catalog.cat(record.uri)
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8").splitlines(keepends=True)
    except UnicodeDecodeError:
        return None


def _text_diff(catalog: Catalog, a: VersionRecord, b: VersionRecord) -> str | None:
    old, new = _text(catalog, a), _text(catalog, b)
    if old is None or new is None:
        return None
    lines = list(difflib.unified_diff(old, new, ref_of(a), ref_of(b)))[:TEXT_DIFF_LINES]
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def diff_of(catalog: Catalog, a: str, b: str) -> dict[str, Any]:
    """The answer of ``api/diff``: two names, or two folders (refs ending with ``/``)."""
    found = catalog.diff(uri_of(a), uri_of(b))
    if isinstance(found, FolderDiff):
        return {"kind": "folder", "a": found.a.removeprefix("eos://"),
                "b": found.b.removeprefix("eos://"),
                "added": [rec(c.b) for c in found.added if c.b is not None],
                "removed": [rec(c.a) for c in found.removed if c.a is not None],
                "changed": [[rec(c.a), rec(c.b)] for c in found.changed
                            if c.a is not None and c.b is not None],
                "unchanged": found.unchanged}
    return {"kind": "name", "a": rec(found.a), "b": rec(found.b), "same": found.same,
            "same_bytes": found.same_bytes,
            "text": None if found.same_bytes else _text_diff(catalog, found.a, found.b),
            "table": None if found.table is None else found.table.to_dict()}


@endpoint
async def diff(request: Request) -> Response:
    """``GET api/diff?a=ref&b=ref``."""
    return JSONResponse(await blocking(diff_of, catalog_of(request), query(request, "a"),
                                       query(request, "b")))


@endpoint
async def search(request: Request) -> Response:
    """``GET api/search?q=text&path=org/``: at most 200 of the latest versions whose name,
    tags or metadata hold the text."""
    text, path = query(request, "q"), query(request, "path", default="")
    prefix = uri_of(path, what="path") if path else ""
    hits = await blocking(catalog_of(request).search, text, prefix, 200)
    return JSONResponse({"q": text, "path": path, "results": [
        {"ref": ref_of(h.record), "record": rec(h.record), "matched": h.matched,
         "detail": h.detail} for h in hits]})
