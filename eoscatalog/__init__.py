"""eoscatalog: a content-addressed, versioned data catalog over S3 or a local folder.

>>> import eoscatalog
>>> cat = eoscatalog.Catalog(eoscatalog.MemoryStore(), ":memory:", user="ada")
>>> cat.put_bytes(b"hello", "greeting.txt").record.version
1
"""

from __future__ import annotations

import typing as _typing

from . import sqlite as _sqlite  # noqa: F401 - first: imports sqlite-utils lean (see there)
from .cache import BlobCache
from .catalog import Catalog, PutResult
from .config import Config
from .errors import (
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
from .file import File, default_catalog, set_default_catalog
from .hashing import hash_bytes, hash_file
from .lockfile import LockFile
from .locking import active_lock, record_inputs, use_lock
from .names import Location, Reference, parse_reference
from .pins import LockedInput
from .records import VersionRecord
from .redaction import install_redaction as _install_redaction
from .remotes import EFile, NamedFile, S3File, URLFile
from .store import LocalStore, MemoryStore, Store, open_store

# Credentials in the logs of botocore, s3fs and urllib3 are masked from the first import, for S3
# traffic of any library in the process (an s3:// URL an Intake export names, say), not only
# eoscatalog's own S3 stores (which install it too, before their client is built).
_install_redaction()

if _typing.TYPE_CHECKING:
    from .store.s3 import S3Store
else:

    def __getattr__(name: str) -> object:
        """``S3Store`` on first use (PEP 562): ``import eoscatalog`` loads no botocore, which
        only S3 needs (about 0.1 s of imports). Hidden from type checkers, which see the
        import above and still flag a misspelt name."""
        if name == "S3Store":
            from .store.s3 import S3Store

            globals()["S3Store"] = S3Store  # found directly from now on
            return S3Store
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__version__ = "0.1.0"

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
    "use_lock",
]


def __dir__() -> list[str]:
    """The module's names, ``S3Store`` included before its first use."""
    return sorted({*globals(), *__all__})
