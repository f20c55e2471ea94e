"""The Store protocol: a handful of byte-level methods per backend, plus blobs built on them.

A store is the organization's root in object storage. It knows keys and bytes, never names or
versions. Every backend implements the primitives (``get``, ``put`` with create-if-absent and
compare-and-swap, ``head``, ``list``, ``list_dirs``, ``delete``, ``iter_chunks`` and
``_upload_blob``); blob handling (layout, dedup, verified downloads) is written once, here.
"""

from __future__ import annotations

import builtins
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from eoscatalog.core.errors import (
    IntegrityError,
    InvalidNameError,
    NotFoundError,
    PreconditionFailedError,
    StoreError,
)
from eoscatalog.core.faults import crash_point
from eoscatalog.core.fsio import staged
from eoscatalog.core.hashing import (
    FileState,
    StreamHasher,
    digest_of,
    hash_bytes,
    parse_hash,
    verify_hash,
)
from eoscatalog.core.tempfiles import (
    TEMP_PREFIX as TEMP_PREFIX,  # one name pattern for every temp file
)
from eoscatalog.store.outboard import Outboard, outboard_key, save_outboard, wants_outboard

__all__ = ["ObjectInfo", "Progress", "Store", "blob_key", "check_key"]

Progress = Callable[[int], None]  # told how many more bytes moved

BLOB_PREFIX = "blobs/blake3/"
# Markers of recent use (``touch`` on stores where rewriting the object itself costs too much):
# ``touched/<key>``, an empty object whose time is when ``key`` was last reused.
TOUCHED = "touched/"
# Damaged objects moved aside by ``eos verify``, or by a write that found wrong bytes under
# the hash of the file it stores (``quarantine/<key>``).
QUARANTINE = "quarantine/"
# Blobs garbage collection has moved aside and deletes once it has read the catalog again
# (``trash/<key>``): a writer that named one in between gets it back.
TRASH = "trash/"


def blob_key(hash_string: str) -> str:
    """The one place the blob layout is computed: ``blobs/blake3/<2 hex>/<64 hex>``.

    >>> blob_key("blake3:" + "ab" * 32)
    'blobs/blake3/ab/abababababababababababababababababababababababababababababababab'
    """
    digest = digest_of(hash_string)
    return f"{BLOB_PREFIX}{digest[:2]}/{digest}"


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


@dataclass(frozen=True)
class ObjectInfo:
    """What a listing or ``head`` says about one object."""

    key: str
    size: int
    etag: str
    modified: str | None = None  # ISO 8601 with a zone: when it was written (or touched)

    @property
    def modified_at(self) -> datetime | None:
        """``modified`` as an aware datetime."""
        return datetime.fromisoformat(self.modified) if self.modified else None


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
                     on_bytes: Progress | None = None,
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
                 on_bytes: Progress | None = None, ask_first: bool = False,
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
                raise self._mismatch(path, hash_string, actual)
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
        """Whether ``write`` stored the blob (True) or the object already at ``key`` is the
        blob (False: reused). ``first``: nothing was tried yet (the object may be absent).

        ``write`` is a create-if-absent that raises PreconditionFailedError when an object was
        already there: bytes that appeared between the check and the write (another writer's,
        or planted) are checked as any found object is, never trusted. A found object is
        trusted only once checked (:meth:`_reuse_problem`); wrong bytes are moved to
        ``quarantine/`` and the blob is written again (a create that wins needs no check: the
        bytes there are these; one that loses checks what won, and so on, four times at most).
        """
        problem: str | None = None
        for _ in range(4):
            try:
                problem = self._reuse_problem(key, hash_string, size)
            except NotFoundError:  # absent (or collected since a refused create): store it
                problem = None
            else:
                if problem is None:
                    return False
                self._set_aside(key, hash_string, problem)
            try:
                write()
            except PreconditionFailedError:
                continue  # created by someone else since the check: check what is there
            except BaseException:
                if problem is not None:
                    self._put_back_aside(key)
                raise
            return True
        raise IntegrityError(
            f"blob {hash_string} in {self.url} kept holding wrong bytes "
            f"({problem or 'objects kept appearing under its key'}) after it was moved to "
            "quarantine/ and stored again: someone keeps writing there; nothing was recorded. "
            "Ask an admin to look at the store.",
            expected=hash_string, actual=problem or "(objects kept appearing)",
        )

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

    def _set_aside(self, key: str, hash_string: str, problem: str) -> None:
        """Quarantine the wrong object at a blob key, or say why the write cannot go on."""
        try:
            self.quarantine(key)
        except NotFoundError:
            pass  # another writer moved it first
        except StoreError as e:
            raise IntegrityError(
                f"blob {hash_string} in {self.url} holds wrong bytes ({problem}): stored "
                f"damaged, or planted under the hash of this file. It could not be moved to "
                f"quarantine/ ({e}); nothing was recorded. Ask an admin to put this file (an "
                "admin's put moves the bad object aside), then put it again.",
                expected=hash_string, actual=problem,
            ) from None
        try:  # an outboard stored beside wrong bytes describes them, not the blob
            self.delete(outboard_key(hash_string))
        except (NotFoundError, StoreError):
            pass

    def _put_back_aside(self, key: str) -> None:
        """Undo :meth:`_set_aside` after the write failed (the file changed, say): the object
        may have been right after all (a size compared against a file that changed)."""
        try:
            self.move(QUARANTINE + key, key, if_absent=True)
        except (NotFoundError, PreconditionFailedError, StoreError):
            pass

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
                      on_bytes: Progress | None = None) -> Path:
        """Stream a blob into ``dest``, verified on the way; nothing is left behind on failure.

        The bytes go to a temporary file beside ``dest`` and are renamed into place only after
        their hash matched, so ``dest`` is either the complete, verified file or untouched.
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
                       on_bytes: Progress | None = None) -> Outboard | None:
        """Upload a small file in one request, its bytes hashed first (``_upload_blob``)."""
        data = path.read_bytes()
        actual = hash_bytes(data)
        if actual != expected:
            raise self._mismatch(path, expected, actual)
        self._create_new(key, data)
        if on_bytes is not None:
            on_bytes(len(data))
        return Outboard.of_bytes(data, expected) if wants_outboard(len(data)) else None

    def _put_if_absent_ok(self, key: str, data: bytes) -> None:
        """Create-if-absent where losing the race is fine (the winner wrote the same bytes).

        A refusal is trusted only when the object is really there: S3 also refuses with
        409 ConditionalRequestConflict while a concurrent write is in flight, and that
        write may still fail.
        """
        self._create_blob(key, data)

    def _create_new(self, key: str, data: bytes) -> None:
        """Create-if-absent that says when it lost: PreconditionFailedError when an object was
        already at the key (whose bytes the caller must check, not trust)."""
        if not self._create_blob(key, data):
            raise PreconditionFailedError(f"object {key!r} already exists in {self.url}")

    def _create_blob(self, key: str, data: bytes) -> bool:
        """Create-if-absent (``_put_if_absent_ok``); True when these bytes were written,
        False when the object was already there."""
        for _ in range(3):
            try:
                self.put(key, data, if_absent=True)
                return True
            except PreconditionFailedError:
                if self.exists(key):
                    return False
        raise StoreError(f"could not store {key!r} in {self.url}: concurrent writes kept "
                         "conflicting; retry")

    @staticmethod
    def _changed(path: Path, expected: str) -> IntegrityError:
        """The error for a file that changed after it was hashed (seen by its state)."""
        return IntegrityError(
            f"{path} changed while it was being stored (its size, times or identity are not "
            f"those it had when it hashed to {expected}); nothing was stored. Retry once the "
            "file is complete.",
            expected=expected,
            actual="(not hashed again: the file changed)",
        )

    @staticmethod
    def _mismatch(path: Path, expected: str, actual: str) -> IntegrityError:
        return IntegrityError(
            f"{path} changed while it was being stored: it hashed to {expected} before and "
            f"{actual} during the upload; nothing was stored. Retry once the file is complete.",
            expected=expected,
            actual=actual,
        )
