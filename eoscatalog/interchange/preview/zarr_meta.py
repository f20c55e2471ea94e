"""Zarr stores from their metadata documents alone (never a chunk): v2's ``.zgroup``,
``.zarray``, ``.zattrs`` and consolidated ``.zmetadata``, v3's ``zarr.json`` (with its inline
consolidated metadata): the arrays with their shapes, dtypes and chunks, and the groups."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from eoscatalog.interchange.preview.result import Preview

__all__ = ["ZARR_DOCUMENTS", "preview_zarr"]

ZARR_DOCUMENTS = (".zgroup", ".zarray", ".zattrs", ".zmetadata", "zarr.json")
MAX_ARRAYS = 1000
MAX_ATTRIBUTES = 16 * 1024  # characters of the root's attributes shown (as JSON)


def _split(path: str) -> tuple[str, str]:
    """``("a/b", ".zarray")`` of ``"a/b/.zarray"``."""
    parent, _, leaf = path.strip("/").rpartition("/")
    return parent, leaf


def _documents(files: Mapping[str, bytes]) -> dict[str, Any]:
    """Every metadata document by path, consolidated ones spread out."""
    docs: dict[str, Any] = {}
    for path, data in sorted(files.items()):
        parent, leaf = _split(path)
        if leaf not in ZARR_DOCUMENTS:
            continue
        try:
            doc = json.loads(data)
        except (ValueError, RecursionError) as error:
            raise ValueError(f"{path} is not valid JSON: {error}") from None
        if not isinstance(doc, dict):
            raise ValueError(f"{path} is not a JSON object")
        prefix = f"{parent}/" if parent else ""
        if leaf == ".zmetadata" and isinstance(doc.get("metadata"), dict):
            docs.update({prefix + key: value for key, value in doc["metadata"].items()})
        consolidated = doc.get("consolidated_metadata")
        if leaf == "zarr.json" and isinstance(consolidated, dict):
            for key, value in (consolidated.get("metadata") or {}).items():
                docs[f"{prefix}{key}/zarr.json"] = value
        docs[prefix + leaf] = doc
    return docs


def _array(path: str, doc: Mapping[str, Any], zarr_format: int) -> dict[str, Any]:
    if zarr_format == 2:
        dtype, chunks = doc.get("dtype"), doc.get("chunks")
        compressor = (doc.get("compressor") or {}).get("id")
        codecs = [compressor] if compressor else []
    else:
        dtype = doc.get("data_type")
        dtype = dtype.get("name") if isinstance(dtype, dict) else dtype
        chunks = ((doc.get("chunk_grid") or {}).get("configuration") or {}).get("chunk_shape")
        codecs = [c.get("name") for c in doc.get("codecs") or [] if isinstance(c, dict)]
    return {"path": path, "shape": list(doc.get("shape") or []),
            "dtype": dtype if isinstance(dtype, str) else json.dumps(dtype),
            "chunks": list(chunks or []), "zarr_format": zarr_format, "codecs": codecs}


def preview_zarr(name: str, files: Mapping[str, bytes]) -> Preview:
    """The arrays and groups of the Zarr store ``name`` from its metadata documents
    (``files``: their bytes by path relative to the store's root).

    >>> p = preview_zarr("org/x.zarr/", {"zarr.json": b'{"zarr_format": 3, "node_type": '
    ...     b'"group"}', "t/zarr.json": b'{"zarr_format": 3, "node_type": "array", '
    ...     b'"shape": [4], "data_type": "float64", "chunk_grid": {"name": "regular", '
    ...     b'"configuration": {"chunk_shape": [2]}}}'})
    >>> p.details["groups"], [(a["path"], a["shape"], a["chunks"]) for a in p.details["arrays"]]
    ([''], [('t', [4], [2])])
    """
    read = sum(len(data) for data in files.values())
    try:
        docs = _documents(files)
    except ValueError as error:
        return Preview("none", "zarr", reason=f"not valid Zarr metadata: {error}",
                       bytes_read=read)
    arrays, groups, attributes = [], [], None
    for path, doc in docs.items():
        parent, leaf = _split(path)
        if not isinstance(doc, dict):
            continue
        if leaf == ".zarray":
            arrays.append(_array(parent, doc, 2))
        elif leaf == ".zgroup":
            groups.append(parent)
        elif leaf == "zarr.json" and doc.get("node_type") == "array":
            arrays.append(_array(parent, doc, 3))
        elif leaf == "zarr.json" and doc.get("node_type") == "group":
            groups.append(parent)
        if parent == "" and leaf in (".zattrs", "zarr.json"):
            found = doc if leaf == ".zattrs" else doc.get("attributes")
            attributes = found if found else attributes
    if not arrays and not groups:
        return Preview("none", "zarr", bytes_read=read, reason="no Zarr metadata: none of "
                       ".zgroup, .zarray, .zmetadata or zarr.json describes an array or group")
    arrays.sort(key=lambda a: str(a["path"]))
    details: dict[str, Any] = {"arrays": arrays[:MAX_ARRAYS], "groups": sorted(set(groups)),
                               "num_arrays": len(arrays)}
    if attributes is not None and len(json.dumps(attributes)) <= MAX_ATTRIBUTES:
        details["attributes"] = attributes
    rows = [[a["path"] or "/", " x ".join(map(str, a["shape"])), a["dtype"],
             " x ".join(map(str, a["chunks"]))] for a in arrays[:MAX_ARRAYS]]
    return Preview.table("zarr", "zarr", [("array", "string"), ("shape", "string"),
                                          ("dtype", "string"), ("chunks", "string")],
                         rows, truncated=len(arrays) > len(rows), details=details,
                         bytes_read=read)
