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
from eoscatalog.sdk.file import File, default_catalog, set_default_catalog, transaction
from eoscatalog.sdk.remotes import EFile, NamedFile, S3File, URLFile
from eoscatalog.store import LocalStore, MemoryStore, Store, open_store
from eoscatalog.store.s3.redaction import install_redaction as _install_redaction

# Credentials in the logs of botocore, s3fs and urllib3 are masked from the first import, for S3
# traffic of any library in the process (an s3:// URL an Intake export names, say), not only
# eoscatalog's own S3 stores (which install it too, before their client is built).
_install_redaction()

if _typing.TYPE_CHECKING:
    from eoscatalog.store.s3.store import S3Store
else:

    def __getattr__(name: str) -> object:
        """``S3Store`` on first use (PEP 562): ``import eoscatalog`` loads no botocore, which
        only S3 needs (about 0.1 s of imports). Hidden from type checkers, which see the
        import above and still flag a misspelt name."""
        if name == "S3Store":
            from eoscatalog.store.s3.store import S3Store

            globals()["S3Store"] = S3Store  # found directly from now on
            return S3Store
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")



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
