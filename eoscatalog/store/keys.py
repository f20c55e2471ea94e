"""The store's layout: where blobs and the markers beside them live, and which keys are valid.

Keys are relative ``/``-paths under the store root. Blobs live under their hash
(:func:`blob_key`); the other top-level folders hold what maintenance sets aside or marks.
Every backend refuses a key that could escape its root (:func:`check_key`).
"""

from __future__ import annotations

from eoscatalog.core.errors import InvalidNameError
from eoscatalog.core.hashing import digest_of

__all__ = ["BLOB_PREFIX", "OUTBOARD_PREFIX", "QUARANTINE", "TOUCHED", "TRANSACTIONS", "TRASH",
           "blob_key", "check_key", "outboard_key"]

BLOB_PREFIX = "blobs/blake3/"
# Large blobs' chunk hashes (:mod:`~eoscatalog.store.outboard`), beside ``blobs/``, not in it.
OUTBOARD_PREFIX = "outboards/blake3/"
# Markers of recent use (``touch`` on stores where rewriting the object itself costs too much):
# ``touched/<key>``, an empty object whose time is when ``key`` was last reused.
TOUCHED = "touched/"
# Damaged objects moved aside by ``eos verify``, or by a write that found wrong bytes under
# the hash of the file it stores (``quarantine/<key>``).
QUARANTINE = "quarantine/"
# Blobs garbage collection has moved aside and deletes once it has read the catalog again
# (``trash/<key>``): a writer that named one in between gets it back.
TRASH = "trash/"
# Writes staged by other processes (dask workers) for an open transaction, until it publishes
# (``transactions/<id>/``, :mod:`~eoscatalog.log.staged`); gc removes abandoned ones.
TRANSACTIONS = "transactions/"


def blob_key(hash_string: str) -> str:
    """The one place the blob layout is computed: ``blobs/blake3/<2 hex>/<64 hex>``.

    >>> blob_key("blake3:" + "ab" * 32)
    'blobs/blake3/ab/abababababababababababababababababababababababababababababababab'
    """
    digest = digest_of(hash_string)
    return f"{BLOB_PREFIX}{digest[:2]}/{digest}"


def outboard_key(hash_string: str) -> str:
    """Where a blob's outboard is: ``outboards/blake3/<2 hex>/<64 hex>``.

    >>> outboard_key("blake3:" + "ab" * 32)[:22]
    'outboards/blake3/ab/ab'
    """
    digest = digest_of(hash_string)
    return f"{OUTBOARD_PREFIX}{digest[:2]}/{digest}"


def check_key(key: str) -> str:
    """Refuse keys that could escape the store root (defence in depth: keys are built inside).

    >>> check_key("catalog/org/log/000000000001.json")
    'catalog/org/log/000000000001.json'
    """
    bad = (
        not key
        or key.startswith("/")
        or "\\" in key
        or "\x00" in key
        or any(part in ("", ".", "..") for part in key.split("/"))
    )
    if bad:
        raise InvalidNameError(f"invalid store key {key!r}: keys are relative '/'-paths")
    return key
