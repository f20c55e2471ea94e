"""Where a catalog's parts come from: a configuration (:meth:`Catalog.open`) or a store URL
or folder (:meth:`Catalog.at`).

>>> from eoscatalog.local.config import Config
>>> import tempfile
>>> config = Config.load(store=f"file://{tempfile.mkdtemp()}", user="ada")
>>> store, options = from_config(config, create=True)
>>> store.url.startswith("file://"), options["user"]
(True, 'ada')
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from eoscatalog.local.blob_cache import BlobCache
from eoscatalog.local.config import Config
from eoscatalog.local.hash_cache import HashCache
from eoscatalog.store import Store, open_store

__all__ = ["from_config", "store_at"]


def from_config(config: Config, *, create: bool = False) -> tuple[Store, dict[str, Any]]:
    """The store a configuration names and the catalog's other arguments (index, user, caches).

    The embedded store is created on first use; a local folder given as the store is created
    only with ``create`` (as ``eos init`` does); an S3 bucket must exist.
    """
    s3: dict[str, Any] = {}
    if config.store_root.startswith("s3://"):
        s3 = {"endpoint_url": config.endpoint_url, "region": config.region,
              "max_attempts": config.max_attempts, "upload_journal": config.uploads_path}
        if config.part_bytes is not None:
            s3["part_size"] = config.part_bytes
    store = open_store(config.store_root, create=create or config.is_embedded, **s3)
    return store, {
        "index": config.index_path, "user": config.user,
        "default_namespace": config.default_namespace, "admin": config.admin,
        "offline": config.offline, "hash_cache": HashCache(config.hashcache_path),
        "cache": BlobCache(config.cache_dir, max_size=config.cache_max_bytes),
        "checkpoint_every": config.checkpoint_every, "scratch_ttl": config.scratch_ttl,
        "single_writer": config.single_writer,
    }


def store_at(store: str | os.PathLike[str], *, create: bool = False) -> Store:
    """The store at a URL (``file://``, ``memory://``, ``s3://``) or a local folder.

    >>> store_at("memory://").url.startswith("memory://")
    True
    """
    return open_store(store if isinstance(store, str) else str(Path(store).resolve()),
                      create=create)
