"""MemoryStore: a per-instance, in-process store for tests and experiments."""

from __future__ import annotations

import builtins
import hashlib
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

from eoscatalog.core.errors import NotFoundError, PreconditionFailedError
from eoscatalog.core.fsio import OnBytes
from eoscatalog.core.hashing import FileState, hash_bytes
from eoscatalog.store.base import Store
from eoscatalog.store.keys import BLOB_PREFIX, QUARANTINE, check_key
from eoscatalog.store.object_info import ObjectInfo
from eoscatalog.store.outboard import Outboard

__all__ = ["MemoryStore"]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


class MemoryStore(Store):
    """Objects in a dict owned by this instance; two instances never share state.

    >>> s = MemoryStore()
    >>> etag = s.put("k", b"v1")
    >>> _ = s.put("k", b"v2", if_match=etag)
    >>> s.get("k")
    b'v2'
    """

    def __init__(self, name: str = "") -> None:
        self.url = f"memory://{name or hex(id(self))}"
        self._objects: dict[str, tuple[bytes, str]] = {}
        self._modified: dict[str, str] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes:
        with self._lock:
            try:
                return self._objects[check_key(key)][0]
            except KeyError:
                raise NotFoundError(f"no object {key!r} in {self.url}") from None

    def put(
        self, key: str, data: bytes, *, if_absent: bool = False, if_match: str | None = None
    ) -> str:
        check_key(key)
        etag = hashlib.md5(data, usedforsecurity=False).hexdigest()
        with self._lock:
            current = self._objects.get(key)
            if if_absent and current is not None:
                raise PreconditionFailedError(f"object {key!r} already exists in {self.url}")
            if if_match is not None and (current is None or current[1] != if_match):
                raise PreconditionFailedError(
                    f"object {key!r} in {self.url} changed since it was read (etag mismatch)"
                )
            self._objects[key] = (bytes(data), etag)
            self._modified[key] = _now()
        return etag

    def move(self, key: str, new_key: str, *, if_absent: bool = False) -> None:
        """Move the object to ``new_key``, its modified time now (as on S3, where a move is a
        copy: gc ages what it moved to ``trash/`` by the move, not by the blob's old time).
        With ``if_absent``, an object at a blob key counts only if it hashes to its key."""
        with self._lock:
            if check_key(key) not in self._objects:
                raise NotFoundError(f"no object {key!r} in {self.url}")
            found = self._objects.get(check_key(new_key))
            if if_absent and found is not None:
                aside = QUARANTINE + new_key
                if not new_key.startswith(BLOB_PREFIX) or key == aside \
                        or hash_bytes(found[0]) == "blake3:" + new_key.rsplit("/", 1)[-1]:
                    raise PreconditionFailedError(
                        f"object {new_key!r} already exists in {self.url}")
                # Wrong bytes under a blob's key are not the blob: aside, as on other stores.
                self._objects[aside] = found
                self._modified[aside] = _now()
            self._objects[new_key] = self._objects.pop(key)
            self._modified.pop(key, None)
            self._modified[new_key] = _now()

    def touch(self, key: str) -> None:
        """Set the object's modified time to now."""
        with self._lock:
            if check_key(key) not in self._objects:
                raise NotFoundError(f"no object {key!r} in {self.url}")
            self._modified[key] = _now()

    def set_modified(self, key: str, when: datetime) -> None:
        """Back-date an object (for tests of garbage collection's grace period)."""
        with self._lock:
            self._modified[check_key(key)] = when.isoformat()

    def head(self, key: str) -> ObjectInfo:
        with self._lock:
            try:
                data, etag = self._objects[check_key(key)]
            except KeyError:
                raise NotFoundError(f"no object {key!r} in {self.url}") from None
        return ObjectInfo(key, len(data), etag, self._modified.get(key))

    def list(self, prefix: str, *, start_after: str | None = None) -> Iterator[ObjectInfo]:
        with self._lock:
            items = sorted(
                (k, len(v[0]), v[1], self._modified.get(k))
                for k, v in self._objects.items()
                if k.startswith(prefix) and (start_after is None or k > start_after)
            )
        for key, size, etag, modified in items:
            yield ObjectInfo(key, size, etag, modified)

    def list_dirs(self, prefix: str) -> builtins.list[str]:
        with self._lock:
            keys = [k for k in self._objects if k.startswith(prefix)]
        return sorted({k[len(prefix) :].split("/", 1)[0] for k in keys if "/" in k[len(prefix) :]})

    def delete(self, key: str) -> None:
        with self._lock:
            self._objects.pop(check_key(key), None)
            self._modified.pop(key, None)

    def iter_chunks(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        data = self.get(key)
        yield data[start:end]

    def _upload_blob(self, key: str, path: Path, expected: str,
                     on_bytes: OnBytes | None = None,
                     unchanged: FileState | None = None) -> Outboard | None:
        return self._upload_in_one(key, path, expected, on_bytes)
