"""Stores: where the bytes and the catalog log live. ``open_store`` picks the backend by URL.

>>> import tempfile
>>> open_store("file://" + tempfile.mkdtemp(), create=True).url.startswith("file:///")
True
"""

from __future__ import annotations

from typing import Any

from ..errors import StoreError
from .base import ObjectInfo, Store, blob_key
from .local import LocalStore
from .memory import MemoryStore
from .s3 import S3Store

__all__ = ["LocalStore", "MemoryStore", "ObjectInfo", "S3Store", "Store", "blob_key", "open_store"]


def open_store(url: str, *, create: bool = False, **options: Any) -> Store:
    """Open the store at ``url``: ``file:///path``, ``s3://bucket/prefix`` or ``memory://``.

    ``create`` makes a missing local folder; S3 options (``endpoint_url``, ``region``, ...) go to
    :class:`S3Store`.
    """
    if url.startswith("s3://"):
        return S3Store(url, **options)
    if url.startswith("file://") or url.startswith("/"):
        return LocalStore(url, create=create)
    if url.startswith("memory://"):
        return MemoryStore(url[len("memory://") :])
    scheme = url.split("://", 1)[0] + "://" if "://" in url else url
    raise StoreError(
        f"unknown store URL {url!r} (scheme {scheme!r}): use file:///path/to/folder or "
        "s3://bucket/prefix"
    )
