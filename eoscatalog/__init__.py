"""eoscatalog: a content-addressed, versioned data catalog over S3 or a local folder.

>>> import eoscatalog
>>> cat = eoscatalog.Catalog(eoscatalog.MemoryStore(), ":memory:", user="ada")
>>> cat.put_bytes(b"hello", "greeting.txt").record.version
1
"""

from __future__ import annotations

import typing as _typing

from eoscatalog.catalog.catalog import Catalog, PutResult, Transaction
from eoscatalog.core.errors import (
    AmbiguousReferenceError,
    ConfigError,
    ConflictError,
    DeletedError,
    EosError,
    EosWarning,
    IntegrityError,
    InvalidCatalogFileError,
    InvalidChangesetError,
    InvalidMetadataError,
    InvalidNameError,
    NameExistsError,
    NotFoundError,
    PermissionDeniedError,
    PreconditionFailedError,
    StoreError,
)
from eoscatalog.core.hashing import hash_bytes, hash_file
from eoscatalog.core.names import Location, Reference, parse_reference
from eoscatalog.core.version import __version__
from eoscatalog.local.blob_cache import BlobCache
from eoscatalog.local.config import Config
from eoscatalog.lock.active import active_lock, record_inputs, use_lock
from eoscatalog.lock.lock_file import LockFile
from eoscatalog.lock.pin import LockedInput
from eoscatalog.log.records import VersionRecord
from eoscatalog.store import LocalStore, MemoryStore, Store, open_store
from eoscatalog.store.s3.redaction import install_redaction as _install_redaction

# Credentials in the logs of botocore, s3fs and urllib3 are masked from the first import, for S3
# traffic of any library in the process (an s3:// URL an Intake export names, say), not only
# eoscatalog's own S3 stores (which install it too, before their client is built).
_install_redaction()

# Loaded on first use (PEP 562): the File API, which the ``eos`` command does not use, and S3Store,
# which only S3 needs (botocore). ``eos sync`` and ``eos --version`` import neither.
_LAZY = {"File": "eoscatalog.sdk.file", "default_catalog": "eoscatalog.sdk.file",
         "set_default_catalog": "eoscatalog.sdk.file", "transaction": "eoscatalog.sdk.file",
         "EFile": "eoscatalog.sdk.remotes", "NamedFile": "eoscatalog.sdk.remotes",
         "S3File": "eoscatalog.sdk.remotes", "URLFile": "eoscatalog.sdk.remotes",
         "S3Store": "eoscatalog.store.s3.store"}

if _typing.TYPE_CHECKING:
    from eoscatalog.sdk.file import File, default_catalog, set_default_catalog, transaction
    from eoscatalog.sdk.remotes import EFile, NamedFile, S3File, URLFile
    from eoscatalog.store.s3.store import S3Store
else:

    def __getattr__(name: str) -> object:
        """A name of ``_LAZY`` on first use (PEP 562). Hidden from type checkers, which see
        the imports above and still flag a misspelt name."""
        module = _LAZY.get(name)
        if module is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        import importlib

        value = getattr(importlib.import_module(module), name)
        globals()[name] = value  # found directly from now on
        return value


__all__ = [
    "AmbiguousReferenceError",
    "BlobCache",
    "Catalog",
    "Config",
    "ConfigError",
    "ConflictError",
    "DeletedError",
    "EFile",
    "EosError",
    "EosWarning",
    "File",
    "IntegrityError",
    "InvalidCatalogFileError",
    "InvalidChangesetError",
    "InvalidMetadataError",
    "InvalidNameError",
    "LocalStore",
    "Location",
    "LockFile",
    "LockedInput",
    "MemoryStore",
    "NameExistsError",
    "NamedFile",
    "NotFoundError",
    "PermissionDeniedError",
    "PreconditionFailedError",
    "PutResult",
    "Reference",
    "S3File",
    "S3Store",
    "Store",
    "StoreError",
    "Transaction",
    "URLFile",
    "VersionRecord",
    "__version__",
    "active_lock",
    "default_catalog",
    "hash_bytes",
    "hash_file",
    "open_store",
    "parse_reference",
    "record_inputs",
    "set_default_catalog",
    "transaction",
    "use_lock",
]


def __dir__() -> list[str]:
    """The module's names, ``S3Store`` included before its first use."""
    return sorted({*globals(), *__all__})
