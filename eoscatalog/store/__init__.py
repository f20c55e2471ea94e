"""Stores: where the bytes and the catalog log live. ``open_store`` picks the backend by URL.

``S3Store`` (and with it botocore) is imported on first use: by ``open_store("s3://...")`` or by
asking this package or :mod:`eoscatalog` for the name, so local stores never load botocore.

>>> import tempfile
>>> open_store("file://" + tempfile.mkdtemp(), create=True).url.startswith("file:///")
True
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from eoscatalog.core.errors import StoreError
from eoscatalog.store.base import Store
from eoscatalog.store.keys import blob_key
from eoscatalog.store.local import LocalStore
from eoscatalog.store.memory import MemoryStore
from eoscatalog.store.object_info import ObjectInfo

if TYPE_CHECKING:
    from eoscatalog.store.s3.store import S3Store
else:

    def __getattr__(name: str) -> object:
        """``S3Store`` on first use (PEP 562): importing the package loads no botocore. Hidden
        from type checkers, which see the import above and still flag a misspelt name."""
        if name == "S3Store":
            from eoscatalog.store.s3.store import S3Store

            globals()["S3Store"] = S3Store  # found directly from now on
            return S3Store
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["LocalStore", "MemoryStore", "ObjectInfo", "S3Store", "Store", "blob_key", "open_store"]


def open_store(url: str, *, create: bool = False,
               upload_journal: str | os.PathLike[str] | None = None, **options: Any) -> Store:
    """Open the store at ``url``: ``file:///path``, ``s3://bucket/prefix`` or ``memory://``.

    ``create`` makes a missing local folder; S3 options (``endpoint_url``, ``region``, ...) go to
    :class:`S3Store`, and ``upload_journal`` (a SQLite file: ``$EOS_HOME/uploads.sqlite``)
    makes its interrupted multipart uploads resumable
    (:class:`~eoscatalog.store.s3.upload_journal.UploadJournal`).
    """
    if url.startswith("s3://"):
        from eoscatalog.store.s3.store import S3Store
        from eoscatalog.store.s3.upload_journal import UploadJournal

        store = S3Store(url, **options)
        if upload_journal is not None:
            store.uploads.journal = UploadJournal(upload_journal)
        return store
    if url.startswith("file://") or url.startswith("/"):
        return LocalStore(url, create=create)
    if url.startswith("memory://"):
        return MemoryStore(url[len("memory://") :])
    scheme = url.split("://", 1)[0] + "://" if "://" in url else url
    raise StoreError(
        f"unknown store URL {url!r} (scheme {scheme!r}): use file:///path/to/folder or "
        "s3://bucket/prefix"
    )

