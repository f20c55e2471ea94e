"""``api/upload``: files dropped from the desktop into a folder, one changeset per drop.

``POST api/upload`` ``{"folder", "message"}`` opens a drop (refused at once, 403, where the user
may not write); ``PUT api/upload/<id>/<relative path>`` streams one file's bytes to disk;
``POST api/upload/<id>/commit`` puts them all in ONE changeset; ``DELETE api/upload/<id>``
drops them. Writes follow the CLI's rules (``Catalog.check_writable``, then ``put_many``).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from eoscatalog.ui.drops import Drops
from eoscatalog.ui.records import rec, uri_of
from eoscatalog.ui.responses import blocking, catalog_of, endpoint
from eoscatalog.ui.tree import folder_uri

__all__ = ["cancel_upload", "commit_upload", "open_upload", "put_file"]


def drops_of(request: Request) -> Drops:
    """The app's drops in progress."""
    drops: Drops = request.app.state.drops
    return drops


@endpoint
async def open_upload(request: Request) -> Response:
    """``POST api/upload`` ``{"folder": "org/runs/", "message": "..."}`` -> ``{"upload": id}``."""
    try:
        body: Any = json.loads(await request.body() or b"{}")
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("folder"), str) \
            or not isinstance(body.get("message", ""), str):
        raise ValueError('the body must be JSON {"folder": "org/runs/", "message": "..."}')
    uri = folder_uri(body["folder"])
    if "@" in body["folder"]:
        raise ValueError("upload into a folder's latest state, not a version of it (no '@')")
    catalog = catalog_of(request)
    namespace = (await blocking(catalog.folder, uri)).namespace
    await blocking(catalog.check_writable, namespace)
    drop = drops_of(request).open(uri, body.get("message", ""))
    return JSONResponse({"upload": drop})


@endpoint
async def put_file(request: Request) -> Response:
    """``PUT api/upload/<id>/<relative/path>``: the file's bytes as the body -> ``{"size"}``."""
    drops = drops_of(request)
    drop, relative = request.path_params["upload"], request.path_params["path"]
    folder = drops.folder(drop)
    # The name is checked (by the catalog's rules) before a byte is written.
    uri_of(folder.removeprefix("eos://") + relative, what="file path")
    await blocking(catalog_of(request).location, folder + relative)
    size = await drops.receive(drop, relative, request.stream())
    return JSONResponse({"size": size})


@endpoint
async def commit_upload(request: Request) -> Response:
    """``POST api/upload/<id>/commit`` -> ``{"records": [Rec...]}``, one changeset."""
    records = await blocking(drops_of(request).commit, request.path_params["upload"],
                             catalog_of(request))
    return JSONResponse({"records": [rec(r) for r in records]})


@endpoint
async def cancel_upload(request: Request) -> Response:
    """``DELETE api/upload/<id>``: forget the drop and its files."""
    drop = request.path_params["upload"]
    drops_of(request).folder(drop)
    await blocking(drops_of(request).discard, drop)
    return JSONResponse({"upload": drop, "cancelled": True})
