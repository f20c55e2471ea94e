"""eoscatalog: a content-addressed, versioned data catalog over S3 or a local folder.

>>> import eoscatalog
>>> cat = eoscatalog.Catalog(eoscatalog.MemoryStore(), ":memory:", user="ada")
>>> cat.put_bytes(b"hello", "greeting.txt").record.version
1
"""

from __future__ import annotations

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
    InvalidMetadataError,
    InvalidNameError,
    NotFoundError,
    PermissionDeniedError,
    PreconditionFailedError,
    StoreError,
)
from .hashing import hash_bytes, hash_file
from .names import Location, Reference, parse_reference
from .records import VersionRecord
from .store import LocalStore, MemoryStore, S3Store, Store, open_store

__version__ = "0.1.0"

__all__ = [
    "AmbiguousReferenceError",
    "Catalog",
    "Config",
    "ConfigError",
    "ConflictError",
    "DeletedError",
    "EosError",
    "EosWarning",
    "IntegrityError",
    "InvalidMetadataError",
    "InvalidNameError",
    "LocalStore",
    "Location",
    "MemoryStore",
    "NotFoundError",
    "PermissionDeniedError",
    "PreconditionFailedError",
    "PutResult",
    "Reference",
    "S3Store",
    "Store",
    "StoreError",
    "VersionRecord",
    "__version__",
    "hash_bytes",
    "hash_file",
    "open_store",
    "parse_reference",
]
