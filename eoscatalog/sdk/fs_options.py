"""The storage options ``eos://`` takes: the catalog's settings, and fsspec's own.

fsspec and the libraries above it pass options of their own to every filesystem they open
(zarr 3 opens every store with ``asynchronous=True``), so ``EosFileSystem`` must accept them;
anything else must be a setting of the catalog (``store``, ``user``...), and an option that is
neither is refused by name rather than passed on to fail somewhere less clear.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from eoscatalog.core.errors import ConfigError
from eoscatalog.local.config import Config

__all__ = ["CATALOG_SETTINGS", "EOS_OPTIONS", "FSSPEC_OPTIONS", "catalog_settings"]

#: fsspec's own options, and what ``eos://`` does with each.
FSSPEC_OPTIONS: dict[str, str] = {
    "skip_instance_cache": "a new filesystem instance rather than a cached one (fsspec's)",
    "use_listings_cache": "accepted, no effect: eos:// keeps no listing cache",
    "listings_expiry_time": "accepted, no effect: eos:// keeps no listing cache",
    "max_paths": "accepted, no effect: eos:// keeps no listing cache",
    # eos:// is synchronous (async_impl is False): an async caller wraps it, as zarr 3 does
    # with fsspec's AsyncFileSystemWrapper, which runs each call on a worker thread.
    "asynchronous": "accepted, no effect: eos:// is synchronous and is wrapped by async callers",
    "loop": "accepted, no effect (see asynchronous)",
    "batch_size": "accepted, no effect (see asynchronous)",
}

#: eos:// options of its own.
EOS_OPTIONS: dict[str, str] = {
    "transaction": "take part in the open transaction of this id (set when an eos:// filesystem "
                   "is pickled inside one: dask workers write into the transaction)",
}

#: The catalog settings a storage option may give (``Config``'s fields, ``home`` included).
CATALOG_SETTINGS: tuple[str, ...] = tuple(f.name for f in fields(Config))


def catalog_settings(options: dict[str, Any]) -> dict[str, Any]:
    """The options that are catalog settings; ConfigError naming any option that is neither a
    catalog setting nor one of fsspec's own.

    >>> catalog_settings({"asynchronous": True, "store": "s3://bucket/team"})
    {'store': 's3://bucket/team'}
    >>> try:
    ...     catalog_settings({"anon": True})
    ... except ConfigError as e:
    ...     print(str(e).split(";")[0])
    eos:// does not take the storage option 'anon'
    """
    unknown = sorted(k for k in options
                     if k not in CATALOG_SETTINGS and k not in FSSPEC_OPTIONS
                     and k not in EOS_OPTIONS)
    if unknown:
        listed = ", ".join(repr(k) for k in unknown)
        raise ConfigError(
            f"eos:// does not take the storage option{'s' if len(unknown) > 1 else ''} "
            f"{listed}; it takes catalog settings ({', '.join(CATALOG_SETTINGS)}) and "
            f"fsspec's own ({', '.join(FSSPEC_OPTIONS)}) and {', '.join(EOS_OPTIONS)}"
        )
    return {k: v for k, v in options.items() if k in CATALOG_SETTINGS}
