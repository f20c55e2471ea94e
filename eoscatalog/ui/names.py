"""A name's page (``api/name``), its bytes (``api/raw``) and its share link (``api/share``)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from eoscatalog.catalog.catalog import Catalog
from eoscatalog.core.errors import DeletedError, NotFoundError
from eoscatalog.core.units import parse_duration
from eoscatalog.log.records import VersionRecord
from eoscatalog.ui.records import download_url, path_of, rec, ref_of, uri_of
from eoscatalog.ui.responses import blocking, catalog_of, endpoint, query

__all__ = ["CHUNK", "INLINE_IMAGES", "SHARE_EXPIRY", "name", "name_page", "raw", "share",
           "snippets"]

CHUNK = 4 * 1024 * 1024  # bytes per verified ranged read while streaming api/raw
SHARE_EXPIRY = "48h"
# Shown inline when asked (inline=1); never SVG, which can carry script.
INLINE_IMAGES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
                 ".gif": "image/gif", ".webp": "image/webp"}


def snippets(record: VersionRecord) -> dict[str, str]:
    """Code that reads exactly this version: ``File(remote=...)``, the URI, pandas."""
    uri = record.uri
    lower = record.name.lower()
    reader = "read_parquet" if lower.endswith((".parquet", ".pq")) else \
        "read_csv" if lower.endswith((".csv", ".tsv", ".csv.gz", ".tsv.gz")) else None
    sep = ', sep="\\t"' if ".tsv" in lower else ""
    return {"file": f"File(remote={json.dumps(uri)})", "uri": uri,
            "pandas": f"pd.{reader}({json.dumps(uri)}{sep})" if reader else
            f"fsspec.open({json.dumps(uri)}).open().read()"}


def _record(catalog: Catalog, ref: str) -> tuple[VersionRecord, list[VersionRecord]]:
    """The version ``ref`` means and every version of its name, newest first. A deleted name's
    page is its delete marker, and so is a delete marker's own ref (``org/a.csv@3``), so its
    history (and the way back) still shows."""
    uri = uri_of(ref)
    try:
        record = catalog.resolve(uri)
    except NotFoundError as error:
        # resolve gives readable versions only; a delete marker is a version all the same.
        reference = catalog.reference(uri)
        versions = catalog.versions(reference.location)
        if reference.kind == "latest" and versions:
            return versions[-1], versions[::-1]
        marker = next((v for v in versions if isinstance(error, DeletedError)
                       and reference.kind == "version" and v.version == reference.value
                       and v.kind == "delete"), None)
        if marker is None:
            raise
        return marker, versions[::-1]
    return record, catalog.versions(f"eos://{path_of(record)}")[::-1]


def name_page(catalog: Catalog, ref: str) -> dict[str, Any]:
    """The answer of ``api/name``."""
    record, versions = _record(catalog, ref)
    readable = record.hash is not None
    return {
        "record": rec(record), "versions": [rec(v) for v in versions],
        "snippets": snippets(record) if readable else {},
        "download": download_url(record) if readable else None,
        "share": ("api/share?ref=" + quote(ref_of(record), safe="/@")
                  if readable and catalog.s3_options() is not None else None),
    }


@endpoint
async def name(request: Request) -> Response:
    """``GET api/name?ref=org/a.csv@3``."""
    return JSONResponse(await blocking(name_page, catalog_of(request), query(request, "ref")))


def share_link(catalog: Catalog, ref: str) -> dict[str, str]:
    """A link to a version's bytes for 48 hours, on S3; a local store has none to give."""
    if catalog.s3_options() is None:
        raise ValueError(f"share links need an S3 store; this catalog's store is "
                         f"{catalog.store.url}: download the file and send it instead")
    record = catalog.resolve(uri_of(ref))
    expires = datetime.now(timezone.utc) + timedelta(seconds=parse_duration(SHARE_EXPIRY))
    url = catalog.url(record.uri, expires=SHARE_EXPIRY)
    return {"url": url, "ref": ref_of(record),
            "expires": expires.strftime("%Y-%m-%dT%H:%M:%SZ")}


@endpoint
async def share(request: Request) -> Response:
    """``GET api/share?ref=...``: ``{"url", "expires"}``."""
    return JSONResponse(await blocking(share_link, catalog_of(request), query(request, "ref")))


def _disposition(record: VersionRecord, inline: bool) -> str:
    filename = record.name.rsplit("/", 1)[-1]
    ascii_name = "".join(c if c.isascii() and (c.isalnum() or c in "._-+=,() ") else "_"
                         for c in filename)
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


@endpoint
async def raw(request: Request) -> Response:
    """``GET api/raw?ref=...``: the verified bytes, streamed by ranged reads; an attachment
    unless ``inline=1`` and an image."""
    catalog = catalog_of(request)
    record = await blocking(catalog.resolve, uri_of(query(request, "ref")))
    ranges = await blocking(catalog.open_ranges, record)
    size = record.size or 0
    suffix = "." + record.name.rsplit(".", 1)[-1].lower() if "." in record.name else ""
    inline = request.query_params.get("inline") == "1" and suffix in INLINE_IMAGES

    # The first chunk is read (and verified) before the answer starts: a damaged blob is a
    # clean 502; one found damaged later cuts the download short of its Content-Length.
    first = await blocking(ranges.read, 0, min(size, CHUNK))

    async def body() -> AsyncIterator[bytes]:
        yield first
        for start in range(CHUNK, size, CHUNK):
            yield await blocking(ranges.read, start, min(size, start + CHUNK))

    headers = {"Content-Disposition": _disposition(record, inline),
               "Content-Length": str(size), "Cache-Control": "private, max-age=0"}
    media = INLINE_IMAGES[suffix] if inline else "application/octet-stream"
    return StreamingResponse(body(), media_type=media, headers=headers)
