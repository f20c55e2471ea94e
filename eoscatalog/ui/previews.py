"""``api/preview``: what a file holds, read by range only (``eoscatalog.interchange.preview``).

A name is previewed through verified ranged reads of its blob (``Catalog.open_ranges``): a
Parquet file's footer and first pages, a CSV's head, never the whole file. A folder ref ending
``.zarr/`` (``org/x.zarr/``, ``org/x.zarr@3/``) previews the Zarr store's metadata documents.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from eoscatalog.catalog.catalog import Catalog
from eoscatalog.interchange.preview import preview, preview_zarr
from eoscatalog.ui.records import uri_of
from eoscatalog.ui.responses import blocking, catalog_of, endpoint, query

__all__ = ["MAX_ZARR_DOCUMENTS", "ZARR_DOCUMENTS", "preview_of", "preview_route"]

ZARR_DOCUMENTS = {".zgroup", ".zarray", ".zattrs", ".zmetadata", "zarr.json"}
MAX_ZARR_DOCUMENTS = 2000  # metadata documents read for one Zarr preview, at most


def preview_of(catalog: Catalog, ref: str) -> dict[str, Any]:
    """The answer of ``api/preview``: ``Preview.to_json()``."""
    uri = uri_of(ref)
    if ref.endswith("/"):
        return _zarr(catalog, ref, uri)
    record = catalog.resolve(uri)
    if record.hash is None:
        raise ValueError(f"{record.uri} is a delete marker: it holds no bytes to preview")
    ranges = catalog.open_ranges(record)
    return preview(record.name, record.size or 0, ranges.read).to_json()


def _zarr(catalog: Catalog, ref: str, uri: str) -> dict[str, Any]:
    folder = ref.rstrip("/").split("@")[0]
    if not folder.lower().endswith(".zarr"):
        raise ValueError(f"cannot preview the folder {ref!r}: only Zarr stores (a folder "
                         "ending .zarr/) preview as a whole; pick a file in it")
    listing = catalog.ls(uri, recursive=True)
    start = len(listing.prefix)
    files: dict[str, bytes] = {}
    for record in listing.files:
        relative = record.name[start:]
        if relative.rsplit("/", 1)[-1] in ZARR_DOCUMENTS and record.hash is not None:
            files[relative] = catalog.open_ranges(record).read(0, record.size or 0)
            if len(files) >= MAX_ZARR_DOCUMENTS:
                break
    return preview_zarr(folder.rsplit("/", 1)[-1], files).to_json()


@endpoint
async def preview_route(request: Request) -> Response:
    """``GET api/preview?ref=...``."""
    return JSONResponse(await blocking(preview_of, catalog_of(request), query(request, "ref")))
