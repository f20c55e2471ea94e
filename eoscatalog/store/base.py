"""The Store protocol: a handful of byte-level methods per backend, plus blobs built on them.

A store is the organization's root in object storage. It knows keys and bytes, never names or
versions. Every backend implements the primitives (``get``, ``put`` with create-if-absent and
compare-and-swap, ``head``, ``list``, ``list_dirs``, ``delete``, ``iter_chunks`` and
``_upload_blob``); blob handling (dedup, checked reuse, verified downloads) is written once,
here. The layout of keys is :mod:`~eoscatalog.store.keys`; what ``head`` and ``list`` answer,
:mod:`~eoscatalog.store.object_info`; checking a blob found stored, :class:`BlobReuse`
(:mod:`~eoscatalog.store.reuse`).
"""

from __future__ import annotations

import builtins
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from eoscatalog.core.errors import NotFoundError, PreconditionFailedError, StoreError
from eoscatalog.core.faults import crash_point
from eoscatalog.core.fsio import OnBytes, staged
from eoscatalog.core.hashing import FileState, StreamHasher, hash_bytes, parse_hash, verify_hash
from eoscatalog.store.file_errors import mismatch_error
from eoscatalog.store.keys import QUARANTINE, TOUCHED, blob_key
from eoscatalog.store.object_info import ObjectInfo
from eoscatalog.store.outboard import Outboard, save_outboard, wants_outboard
from eoscatalog.store.reuse import BlobReuse

__all__ = ["Store"]


class Store(ABC):
    """Byte-level access to one store root.

    >>> from eoscatalog.store import MemoryStore
    >>> s = MemoryStore()
    >>> _ = s.put("a/b", b"1", if_absent=True)
    >>> s.get("a/b")
    b'1'
    """

    url: str
    #: Blobs up to this many bytes are written with one create-if-absent request, without a
    #: ``head`` first: a refusal means the store had them (dedup still works, it only costs
    #: the bytes). 0: always ask first (stores where asking costs nothing).
    blind_put_limit: int = 0
    #: A blob a write finds already stored (and so does not send) is checked before it is
    #: trusted, while the writer still has the bytes: read back and hashed up to this many
    #: bytes, its size compared above. Wrong bytes under the key (a damaged object, or one
    #: planted under the hash of a file someone will upload) are quarantined and replaced.
    reuse_read_limit: int = 1024 * 1024

    # -- primitives every backend implements -------------------------------------------------

    @abstractmethod
    def get(self, key: str) -> bytes:
        """Return an object's bytes; NotFoundError if absent."""

    @abstractmethod
    def put(
        self, key: str, data: bytes, *, if_absent: bool = False, if_match: str | None = None
    ) -> str:
        """Write an object and return its etag.

        ``if_absent``: create only if no object is at the key (PreconditionFailedError else).
        ``if_match``: replace only if the current etag is this one (compare-and-swap).
        """

    @abstractmethod
    def head(self, key: str) -> ObjectInfo:
        """Size and etag of an object; NotFoundError if absent."""

    @abstractmethod
    def list(self, prefix: str, *, start_after: str | None = None) -> Iterator[ObjectInfo]:
        """Objects whose key starts with ``prefix`` (and sorts after ``start_after``), in order."""

    @abstractmethod
    def list_dirs(self, prefix: str) -> builtins.list[str]:
        """The next path segments below ``prefix`` (which ends with ``/``) that hold objects."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove an object; removing an absent one is not an error."""

    @abstractmethod
    def iter_chunks(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Stream an object's bytes ``[start, end)`` in chunks; NotFoundError if absent."""

    @abstractmethod
    def _upload_blob(self, key: str, path: Path, expected: str,
                     on_bytes: OnBytes | None = None,
                     unchanged: FileState | None = None) -> Outboard | None:
        """Store the file at ``path`` under ``key`` if absent, checking it hashes to ``expected``.

        Raises IntegrityError (and stores nothing) if the file's bytes do not match, e.g.
        because it changed after it was hashed, and PreconditionFailedError when an object
        was already at the key (the caller checks those bytes). ``on_bytes`` is told of
        bytes as they go.
        With ``unchanged`` (the state the file was hashed in, quiet), a backend may instead
        check that the file it read is still in that state, and not hash the bytes again.
        Returns the blob's outboard (its chunk hashes, from the bytes stored) when the blob is
        large enough to have one (:func:`~eoscatalog.store.outboard.wants_outboard`).
        """

    @abstractmethod
    def touch(self, key: str) -> None:
        """Make an object's modified time now (NotFoundError if absent).

        A writer that reuses an existing blob touches it, so garbage collection, which spares
        blobs younger than its grace period, cannot remove it before the writer's changeset
        names it.
        """

    def move(self, key: str, new_key: str, *, if_absent: bool = False) -> None:
        """Move an object to ``new_key`` (NotFoundError if absent), replacing what is there,
        or with ``if_absent`` refusing to (PreconditionFailedError)."""
        raise StoreError(f"{self.url} cannot move objects aside")

    def quarantine(self, key: str) -> str:
        """Move a damaged object to ``quarantine/<key>`` (kept for inspection, out of the way of
        a repair); return the new key."""
        target = QUARANTINE + key
        self.move(key, target)
        return target

    def last_used(self, key: str) -> datetime | None:
        """When an object was last written or touched: the later of its own time and its
        ``touched/`` marker's, if it has one (None if the store cannot say)."""
        own = self.head(key).modified_at
        try:
            marker = self.head(TOUCHED + key).modified_at
        except NotFoundError:
            return own
        times = [t for t in (own, marker) if t is not None]
        return max(times) if times else None

    def clean_partial(self, older_than: datetime, *,
                      dry_run: bool = False) -> builtins.list[tuple[str, int]]:
        """Remove what interrupted writes left before ``older_than`` (temporary files,
        unfinished multipart uploads); return ``(what, bytes)`` for each."""
        return []

    def presigned_url(self, key: str, expires_in: int, filename: str | None = None) -> str:
        """A link that lets anyone holding it GET this one object for ``expires_in`` seconds.

        ``filename`` is the name a browser, ``wget`` or ``curl -OJ`` should save it under
        (where the link can say so), rather than the object's key.
        """
        raise StoreError(f"{self.url} cannot make links: use an S3 or a local store")

    def reader_location(self, key: str) -> tuple[str, dict[str, Any] | None]:
        """Where other programs (fsspec, pandas, intake) read an object: a URL or path, and
        fsspec storage options. Never credentials: readers take those from their environment.
        """
        raise StoreError(
            f"{self.url} keeps its objects inside this process, where other programs cannot "
            "read them: export from a local or an S3 store"
        )

    def s3_options(self) -> dict[str, Any] | None:
        """The endpoint and region of an S3 store (plain ``s3://`` URLs are reached with them);
        None for any other store."""
        return None

    def credentials_expire_at(self) -> datetime | None:
        """When the credentials that sign links stop working (None: they do not expire)."""
        return None

    @property
    def supports_conditional_writes(self) -> bool:
        """Whether create-if-absent and compare-and-swap are honoured (probed once on S3)."""
        return True

    def exists(self, key: str) -> bool:
        """True when an object is at ``key``."""
        try:
            self.head(key)
        except NotFoundError:
            return False
        return True

    def close(self) -> None:  # noqa: B027 - optional hook, most backends hold nothing
        """Release connections and pools."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"

    # -- blobs, written once for every backend ------------------------------------------------

    def has_blob(self, hash_string: str) -> bool:
        """True when the store holds an object at the blob's key."""
        return self.exists(blob_key(hash_string))

    def put_blob(self, hash_string: str, path: str | os.PathLike[str], *,
                 on_bytes: OnBytes | None = None, ask_first: bool = False,
                 unchanged: FileState | None = None, size: int | None = None) -> bool:
        """Store a file's bytes under their hash; return False when the blob was already there.

        The bytes are hashed again while they are written, so a file that changed after it was
        hashed raises IntegrityError instead of storing wrong bytes under the key (with
        ``unchanged``, the state the file was hashed in: a file read in that same state needs
        no second hash; see :class:`~eoscatalog.core.hashing.FileState`). A file no
        larger than :attr:`blind_put_limit` is sent in one create-if-absent request without
        asking first (:meth:`asks_first`); a larger one (or any, with ``ask_first``) only
        after a ``head`` found no blob. ``size``: the file's size when it was hashed (default:
        now). A blob found stored is checked first (:attr:`reuse_read_limit`).
        """
        hash_string = parse_hash(hash_string)
        key = blob_key(hash_string)
        path = Path(path)
        if size is None:
            size = path.stat().st_size
        if not ask_first and not self.asks_first(size):
            data = path.read_bytes()
            actual = hash_bytes(data)
            if actual != hash_string:
                raise mismatch_error(path, hash_string, actual)
            written = self._create_blob(key, data) or self._settle_reuse(
                key, hash_string, len(data), lambda: self._write_blob_bytes(key, data))
            if written and on_bytes is not None:
                on_bytes(len(data))
            if written:
                self._save_outboard_of(data, hash_string)
            return written

        def upload() -> None:
            outboard = self._upload_blob(key, path, hash_string, on_bytes, unchanged)
            if outboard is not None:
                save_outboard(self, outboard)  # after the blob: an outboard never precedes it

        return self._settle_reuse(key, hash_string, size, upload, first=True)

    def asks_first(self, size: int) -> bool:
        """Whether a blob of ``size`` bytes is looked for before it is sent (see
        :attr:`blind_put_limit`; always on a store that ignores create-if-absent)."""
        return size > self.blind_put_limit or not self.supports_conditional_writes

    def put_blob_data(self, hash_string: str, data: bytes, *, ask_first: bool = False) -> bool:
        """Store bytes the caller has just hashed to ``hash_string`` (from this very buffer);
        return False when the blob was already there.

        With ``ask_first`` (or when :meth:`asks_first` says so) the store is asked before the
        bytes are sent; otherwise one create-if-absent write is the whole exchange.
        """
        key = blob_key(parse_hash(hash_string))

        def write() -> None:
            self._write_blob_bytes(key, data)

        if ask_first or self.asks_first(len(data)):
            written = self._settle_reuse(key, hash_string, len(data), write, first=True)
        else:
            written = self._create_blob(key, data) or self._settle_reuse(
                key, hash_string, len(data), write)
        if written:
            self._save_outboard_of(data, hash_string)
        return written

    def put_blob_bytes(self, data: bytes, *, known_absent: bool = False) -> str:
        """Store an in-memory buffer as a blob and return its hash.

        ``known_absent`` skips the existence check when the caller has just made it.
        """
        hash_string = hash_bytes(data)
        key = blob_key(hash_string)
        if known_absent:
            try:
                self._write_blob_bytes(key, data)
                written = True
            except PreconditionFailedError:  # stored (or planted) since the caller looked
                written = self._settle_reuse(key, hash_string, len(data),
                                             lambda: self._write_blob_bytes(key, data))
        else:
            written = self._settle_reuse(key, hash_string, len(data),
                                         lambda: self._write_blob_bytes(key, data), first=True)
        if written:
            self._save_outboard_of(data, hash_string)
        return hash_string

    def _save_outboard_of(self, data: bytes, hash_string: str) -> None:
        """Store the outboard of a large blob just written from ``data`` (hashed by the caller)."""
        if wants_outboard(len(data)):
            save_outboard(self, Outboard.of_bytes(data, hash_string))

    def _settle_reuse(self, key: str, hash_string: str, size: int, write: Callable[[], None],
                      *, first: bool = False) -> bool:
        """Whether ``write`` (a create-if-absent) stored the blob (True) or the object already
        at ``key`` is the blob (False: reused, once checked by :meth:`_reuse_problem`; wrong
        bytes are quarantined and the blob written again: :class:`BlobReuse`). ``first``:
        nothing was tried yet (the object may be absent)."""
        return BlobReuse(self, self._reuse_problem).settle(key, hash_string, size, write)

    def _reuse_problem(self, key: str, hash_string: str, size: int) -> str | None:
        """What is wrong with the object at a blob key a write means to reuse (None: it is
        the blob); NotFoundError when there is none. Up to :attr:`reuse_read_limit` bytes it
        is read and hashed (one GET, no HEAD first), above that its size is compared."""
        if size <= self.reuse_read_limit:
            data = self.get(key)
            actual = hash_bytes(data)
            return None if actual == hash_string else f"{len(data)} bytes hashing to {actual}"
        stored = self.head(key).size
        return None if stored == size else f"{stored} bytes, not {size}"

    def _write_blob_bytes(self, key: str, data: bytes) -> None:
        """Store already-hashed bytes at a blob key (backends may make them read-only);
        PreconditionFailedError when an object is already there (checked by the caller)."""
        self._create_new(key, data)

    def read_blob(self, hash_string: str) -> bytes:
        """Return a blob's bytes after checking they hash to ``hash_string``."""
        hash_string = parse_hash(hash_string)
        key = blob_key(hash_string)
        hasher = StreamHasher()
        parts = []
        for chunk in self._blob_chunks(key, hash_string):
            hasher.update(chunk)
            parts.append(chunk)
        verify_hash(hash_string, hasher.hash, f"blob {hash_string} in {self.url}")
        return b"".join(parts)

    def download_blob(self, hash_string: str, dest: str | os.PathLike[str], *,
                      on_bytes: OnBytes | None = None, durable: bool = False,
                      size: int | None = None) -> Path:
        """Stream a blob into ``dest``, verified on the way; nothing is left behind on failure.

        The bytes go to a temporary file beside ``dest`` and are renamed into place only after
        their hash matched, so ``dest`` is either the complete, verified file or untouched.
        ``durable`` says the caller fsyncs ``dest`` next (S3 writes its bytes out meanwhile).
        ``size`` is what the catalog says the blob holds, a hint only (S3 fetches a small blob
        in one request); the hash decides.
        """
        dest = Path(dest)
        hash_string = parse_hash(hash_string)
        key = blob_key(hash_string)
        with staged(dest, durable=False) as temp:
            hasher = StreamHasher()
            for chunk in self._blob_chunks(key, hash_string):
                hasher.update(chunk)
                temp.write(chunk)
                if on_bytes is not None:
                    on_bytes(len(chunk))
            crash_point("get.temp-written")
            verify_hash(hash_string, hasher.hash, f"blob {hash_string} in {self.url}")
            temp.replace()
        return dest

    def _blob_chunks(self, key: str, hash_string: str) -> Iterator[bytes]:
        try:
            yield from self.iter_chunks(key)
        except NotFoundError:
            raise NotFoundError(
                f"blob {hash_string} is missing from {self.url}: the catalog names it but the "
                "store lost it; upload the file again to restore it"
            ) from None

    def _upload_in_one(self, key: str, path: Path, expected: str,
                       on_bytes: OnBytes | None = None) -> Outboard | None:
        """Upload a small file in one request, its bytes hashed first (``_upload_blob``)."""
        data = path.read_bytes()
        actual = hash_bytes(data)
        if actual != expected:
            raise mismatch_error(path, expected, actual)
        self._create_new(key, data)
        if on_bytes is not None:
            on_bytes(len(data))
        return Outboard.of_bytes(data, expected) if wants_outboard(len(data)) else None

    def _create_new(self, key: str, data: bytes) -> None:
        """Create-if-absent that says when it lost: PreconditionFailedError when an object was
        already at the key (whose bytes the caller must check, not trust)."""
        if not self._create_blob(key, data):
            raise PreconditionFailedError(f"object {key!r} already exists in {self.url}")

    def _create_blob(self, key: str, data: bytes) -> bool:
        """Create-if-absent where losing the race is fine (the winner wrote the same bytes, or
        the caller checks them): True when these bytes were written, False when the object was
        already there.

        A refusal is trusted only when the object is really there: S3 also refuses with
        409 ConditionalRequestConflict while a concurrent write is in flight, and that
        write may still fail.
        """
        for _ in range(3):
            try:
                self.put(key, data, if_absent=True)
                return True
            except PreconditionFailedError:
                if self.exists(key):
                    return False
        raise StoreError(f"could not store {key!r} in {self.url}: concurrent writes kept "
                         "conflicting; retry")
