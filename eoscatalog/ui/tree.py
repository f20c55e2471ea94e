"""``api/tree`` and ``api/du``: a folder's sub-folders (with their names and bytes) and files.

A folder's sub-folders and their counts come from ``Catalog.folders.contents``, grouped by the
index in SQL (one row per sub-folder, no record per name): a folder of 100,000 names answers in
one index scan. At a time (``at``), it is the folder as it was then (``org/runs@<time>/``). The
path ``""`` lists the namespaces as folders, each counted by the index (``Catalog.du``).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from eoscatalog.catalog.catalog import Catalog
from eoscatalog.core.errors import NotFoundError
from eoscatalog.ui.records import rec, uri_of
from eoscatalog.ui.responses import blocking, catalog_of, endpoint, query

__all__ = ["du", "folder_uri", "tree", "tree_of"]


def folder_uri(path: str, at: str = "") -> str:
    """The URI of the folder ``path`` (``org/runs/``), at a time or version when ``at`` is set.

    >>> folder_uri("org/runs/"), folder_uri("org/runs/", "2026-06-01T00:00:00Z")
    ('eos://org/runs/', 'eos://org/runs@2026-06-01T00:00:00Z/')
    """
    if not path.endswith("/"):
        raise ValueError(f"invalid folder path {path!r}: a folder path ends with '/', "
                         f"as in {path}/")
    uri = uri_of(path, what="folder path")
    if at:
        if "@" in path:
            raise ValueError(f"the folder path {path!r} is pinned already: give at= or @, "
                             "not both")
        uri = f"{uri[:-1]}@{at}/"
    return uri


def tree_of(catalog: Catalog, path: str, at: str = "") -> dict[str, Any]:
    """The answer of ``api/tree``: folders with their counts, files as Recs, and totals."""
    if not path:
        return _namespaces(catalog, at)
    try:
        found = catalog.folders.contents(folder_uri(path, at))
    except NotFoundError as e:
        if not at or "did not exist at" not in str(e):
            raise
        # Before the folder's first version: it was empty then, which is what the tree shows.
        return {"path": path, "at": at, "folders": [], "files": [], "names": 0, "bytes": 0,
                "note": str(e)}
    base = f"{found.namespace}/"
    return {
        "path": path, "at": at or None,
        "folders": [{"name": f.path[len(found.prefix):], "path": base + f.path,
                     "names": f.names, "bytes": f.bytes} for f in found.folders],
        "files": [rec(record) for record in found.files],
        "names": found.names, "bytes": found.bytes,
    }


def _namespaces(catalog: Catalog, at: str) -> dict[str, Any]:
    folders = []
    for namespace in catalog.namespaces():
        usage = catalog.du(f"eos://{namespace}/")
        folders.append({"name": namespace + "/", "path": namespace + "/",
                        "names": usage.names, "bytes": usage.logical})
    return {"path": "", "at": at or None, "folders": folders, "files": [],
            "names": sum(f["names"] for f in folders),
            "bytes": sum(f["bytes"] for f in folders)}


@endpoint
async def tree(request: Request) -> Response:
    """``GET api/tree?path=org/runs/&at=<time>``."""
    found = await blocking(tree_of, catalog_of(request), query(request, "path", default=""),
                           query(request, "at", default=""))
    return JSONResponse(found)


@endpoint
async def du(request: Request) -> Response:
    """``GET api/du?path=org/runs/``: the space of the names under a folder, and what dedup
    saved (``stored`` counts each blob once)."""
    path = query(request, "path", default="")
    catalog = catalog_of(request)
    if path:
        usages = [await blocking(catalog.du, folder_uri(path))]
    else:  # every namespace (a blob two namespaces hold counts in each one's stored)
        usages = [await blocking(catalog.du, f"eos://{ns}/")
                  for ns in await blocking(catalog.namespaces)]
    found = {key: sum(getattr(u, key) for u in usages)
             for key in ("names", "versions", "logical", "all_versions", "stored", "saved")}
    return JSONResponse({"path": path, **found})
