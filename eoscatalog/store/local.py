"""LocalStore: a store root in a local folder (``file://``), the embedded default.

Writes go to a temporary file beside the target, are fsynced and then linked (create-if-absent:
``link`` fails if the target exists, atomically) or renamed (plain and compare-and-swap writes)
into place, so a reader never sees a partial object.
"""

from __future__ import annotations

import builtins
import contextlib
import fcntl
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from eoscatalog.core.errors import NotFoundError, PreconditionFailedError, StoreError
from eoscatalog.core.faults import crash_point
from eoscatalog.core.fsio import OnBytes, Staged, copy_file, fsync_folder, staged
from eoscatalog.core.hashing import FileState, hash_file
from eoscatalog.core.tempfiles import TEMP_PREFIX
from eoscatalog.store.base import Store
from eoscatalog.store.file_errors import mismatch_error
from eoscatalog.store.keys import BLOB_PREFIX, QUARANTINE, TOUCHED, check_key
from eoscatalog.store.object_info import ObjectInfo
from eoscatalog.store.outboard import Outboard, wants_outboard

__all__ = ["LocalStore", "path_from_file_url"]

READ_CHUNK = 1024 * 1024
LOCK_FILE = ".eos-lock"


def path_from_file_url(url: str) -> Path:
    """``file:///data/org`` -> ``/data/org``; a plain path is returned as it is.

    >>> path_from_file_url("file:///tmp/eos%20store/org")
    PosixPath('/tmp/eos store/org')
    """
    if url.startswith("file://"):
        parsed = urlparse(url)
        if parsed.netloc not in ("", "localhost"):
            raise StoreError(
                f"store URL {url!r} names host {parsed.netloc!r}; local stores use file:///path"
            )
        return Path(unquote(parsed.path))
    return Path(url).expanduser()


def _is_internal(filename: str) -> bool:
    """Temp files and the lock file are the store's own, never objects."""
    return filename.startswith(TEMP_PREFIX) or filename == LOCK_FILE


def _hashes_to_its_key(path: Path, key: str) -> bool:
    """Whether the file at a blob key holds that blob (False too when it is gone)."""
    try:
        return hash_file(path) == "blake3:" + key.rsplit("/", 1)[-1]
    except FileNotFoundError:
        return False


def _holds_objects(folder: str) -> bool:
    return any(
        not _is_internal(name) for *_, names in os.walk(folder) for name in names
    )


class LocalStore(Store):
    """A store root in a folder.

    ``create=True`` makes the folder if needed; otherwise a missing folder is a StoreError that
    says how to create it.

    >>> import tempfile
    >>> s = LocalStore(tempfile.mkdtemp(), create=True)
    >>> _ = s.put("catalog/x", b"1", if_absent=True)
    >>> [o.key for o in s.list("catalog/")]
    ['catalog/x']
    """

    def __init__(self, root: str | os.PathLike[str], *, create: bool = False) -> None:
        root_path = path_from_file_url(os.fspath(root)).resolve()
        if create:
            try:
                root_path.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise StoreError(
                    f"cannot create the store folder {root_path}: {e.strerror or e}; make its "
                    "parent a writable folder, or choose another (EOS_HOME for the embedded "
                    "store, `eos init --store` for another)") from None
        if not root_path.is_dir():
            what = "is not a folder" if root_path.exists() else "does not exist"
            raise StoreError(
                f"no store at {root_path}: the folder {what}. `eos init --store file:///PATH` "
                "creates one (PATH is the folder that holds the organization's folder), or "
                "fix EOS_STORE"
            )
        self.root = root_path
        self.url = root_path.as_uri()

    # -- paths ---------------------------------------------------------------------------------

    def reader_location(self, key: str) -> tuple[str, dict[str, Any] | None]:
        """The object's absolute path (fsspec reads it with no options).

        >>> import tempfile
        >>> LocalStore(tempfile.mkdtemp()).reader_location("blobs/x")[0].endswith("/blobs/x")
        True
        """
        return str(self._path(key)), None

    def _path(self, key: str) -> Path:
        path = self.root.joinpath(*check_key(key).split("/"))
        # check_key already refuses '..' and absolute keys; this guards symlinked folders.
        if not Path(os.path.realpath(path.parent)).is_relative_to(self.root):
            raise StoreError(f"store key {key!r} resolves outside the store root {self.root}")
        return path

    def _info(self, key: str, st: os.stat_result) -> ObjectInfo:
        etag = f"{st.st_ino:x}-{st.st_mtime_ns:x}-{st.st_size:x}"
        modified = datetime.fromtimestamp(st.st_mtime, timezone.utc).isoformat()
        return ObjectInfo(key, st.st_size, etag, modified)

    def move(self, key: str, new_key: str, *, if_absent: bool = False) -> None:
        """Rename the file (no byte is copied) and make its time now, as a copy on S3 would
        (gc ages what it moved to ``trash/`` by the move, not by the blob's old time).

        ``if_absent`` links it first, which fails on an existing target, then removes the old
        name; a file found at a blob key is taken as the blob only if it hashes to its key
        (else it goes to ``quarantine/`` and this one takes its place).
        """
        source, target = self._path(key), self._path(new_key)
        target.parent.mkdir(parents=True, exist_ok=True)
        with self._os_errors(key):
            if if_absent:
                self._link_unless_right(source, target, new_key,
                                        trust=key == QUARANTINE + new_key)
                os.unlink(source)
            else:
                os.replace(source, target)
        self._stamp(new_key, target)
        fsync_folder(source.parent)
        fsync_folder(target.parent)

    def _link_unless_right(self, source: Path, target: Path, new_key: str, *,
                           trust: bool) -> None:
        """Link ``source`` to ``target`` unless an object is there (PreconditionFailedError);
        wrong bytes at a blob key go to quarantine first, unless ``trust`` (the source is
        what quarantine holds: it would be replaced)."""
        for _ in range(3):
            try:
                os.link(source, target)
                return
            except FileExistsError:
                if trust or not new_key.startswith(BLOB_PREFIX) \
                        or _hashes_to_its_key(target, new_key):
                    raise PreconditionFailedError(
                        f"object {new_key!r} already exists in {self.url}") from None
            try:
                self.quarantine(new_key)  # wrong bytes under the blob's key
            except NotFoundError:
                pass  # gone since: link again
        raise StoreError(f"could not move an object to {new_key!r} in {self.url}: the file "
                         "there kept being replaced; retry")

    def _stamp(self, key: str, path: Path) -> None:
        """Make a moved file's time now; a file of another user (a shared store: only its
        owner may set its time) gets a ``touched/`` marker instead, which gc reads too."""
        try:
            os.utime(path)
        except FileNotFoundError:
            pass  # moved on or deleted already
        except PermissionError:
            self.put(TOUCHED + key, b"")

    def touch(self, key: str) -> None:
        """Set the file's modified time to now; where the file belongs to another user (a
        shared store: only the owner may set its time), write a ``touched/`` marker instead."""
        path = self._path(key)
        try:
            with self._os_errors(key):
                os.utime(path)
        except StoreError:
            if not path.is_file():
                raise NotFoundError(f"no object {key!r} in {self.url}") from None
            self.put(TOUCHED + key, b"")

    def clean_partial(self, older_than: datetime, *,
                      dry_run: bool = False) -> list[tuple[str, int]]:
        """Remove temporary files (``.eos-tmp-*``) of writes that never finished."""
        cutoff = older_than.timestamp()
        removed = []
        for dirpath, _, filenames in os.walk(self.root):
            for filename in filenames:
                if not filename.startswith(TEMP_PREFIX):
                    continue
                path = os.path.join(dirpath, filename)
                try:
                    st = os.lstat(path)
                    if st.st_mtime >= cutoff:
                        continue
                    if not dry_run:
                        os.unlink(path)
                except FileNotFoundError:
                    continue  # its writer finished or gave up just now
                removed.append((os.path.relpath(path, self.root), st.st_size))
        return removed

    @contextlib.contextmanager
    def _os_errors(self, key: str, *, writing: bool = False) -> Iterator[None]:
        try:
            yield
        except (IsADirectoryError, NotADirectoryError) as e:
            if writing:
                raise StoreError(
                    f"cannot write {key!r} in {self.url}: a key and a folder of other keys "
                    "cannot share a path on a local store"
                ) from e
            # A folder at the key (it holds other keys) is no object either, as on S3.
            raise NotFoundError(f"no object {key!r} in {self.url}") from None
        except FileNotFoundError:
            raise NotFoundError(f"no object {key!r} in {self.url}") from None
        except OSError as e:
            if isinstance(e, (NotFoundError, StoreError)):
                raise
            raise StoreError(f"cannot access {key!r} in {self.url}: {e.strerror or e}") from None

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        """A store-wide lock for compare-and-swap (rare: only mutable objects use it)."""
        with open(self.root / LOCK_FILE, "a+b") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def _staged(self, target: Path) -> contextlib.AbstractContextManager[Staged]:
        """A temp file beside ``target``, private (0o600) until it is in place."""
        return staged(target, mode=0o600)

    def _link_into_place(self, temp: Staged, key: str) -> None:
        if not temp.link():
            raise PreconditionFailedError(f"object {key!r} already exists in {self.url}")

    # -- primitives ----------------------------------------------------------------------------

    def get(self, key: str) -> bytes:
        path = self._path(key)
        with self._os_errors(key):
            return path.read_bytes()

    def put(
        self, key: str, data: bytes, *, if_absent: bool = False, if_match: str | None = None
    ) -> str:
        target = self._path(key)
        if if_match is not None and not target.is_file():
            raise PreconditionFailedError(
                f"object {key!r} in {self.url} does not exist, so it cannot be swapped"
            )
        with self._os_errors(key, writing=True), self._staged(target) as temp:
            temp.write(data)
            temp.sync()
            if if_absent:
                # The etag from the temp file: the link is the same inode, and the object may
                # already be gone again (deleted by gc) when this returns.
                etag = self._info(key, os.fstat(temp.fd)).etag
                self._link_into_place(temp, key)
                return etag
            if if_match is not None:
                with self._lock():
                    current = self._info(key, target.stat()).etag if target.is_file() else None
                    if current != if_match:
                        raise PreconditionFailedError(
                            f"object {key!r} in {self.url} changed since it was read "
                            "(etag mismatch)"
                        )
                    temp.replace()
            else:
                temp.replace()
            return self._info(key, target.stat()).etag

    def head(self, key: str) -> ObjectInfo:
        path = self._path(key)
        with self._os_errors(key):
            st = path.stat()
            if not path.is_file():
                raise NotFoundError(f"no object {key!r} in {self.url}")
            return self._info(key, st)

    def list(self, prefix: str, *, start_after: str | None = None) -> Iterator[ObjectInfo]:
        folder = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        base = self._path(folder) if folder else self.root
        found: list[ObjectInfo] = []
        for dirpath, _, filenames in os.walk(base):
            rel = os.path.relpath(dirpath, self.root)
            rel_prefix = "" if rel == "." else rel.replace(os.sep, "/") + "/"
            for filename in filenames:
                if _is_internal(filename):
                    continue
                key = rel_prefix + filename
                if not key.startswith(prefix) or (start_after is not None and key <= start_after):
                    continue
                try:
                    st = os.stat(os.path.join(dirpath, filename))
                except FileNotFoundError:
                    continue  # deleted while we listed
                found.append(self._info(key, st))
        found.sort(key=lambda o: o.key)
        yield from found

    def list_dirs(self, prefix: str) -> builtins.list[str]:
        base = self._path(prefix.rstrip("/")) if prefix.strip("/") else self.root
        try:
            entries = list(os.scandir(base))
        except (FileNotFoundError, NotADirectoryError):
            return []
        # Folders emptied by deletes are not listed, as S3 lists only prefixes holding objects.
        return sorted(e.name for e in entries if e.is_dir() and _holds_objects(e.path))

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            path.unlink()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            pass
        except OSError as e:
            raise StoreError(f"cannot delete {key!r} in {self.url}: {e.strerror}") from None

    def iter_chunks(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        path = self._path(key)
        with self._os_errors(key):
            f = open(path, "rb")  # noqa: SIM115 - closed below; opening is what may fail
        with f:
            f.seek(start)
            remaining = None if end is None else max(0, end - start)
            while remaining is None or remaining > 0:
                size = READ_CHUNK if remaining is None else min(READ_CHUNK, remaining)
                chunk = f.read(size)
                if not chunk:
                    break
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk

    def presigned_url(self, key: str, expires_in: int, filename: str | None = None) -> str:
        """A ``file://`` URL of the object: a local store needs no signature (nor expiry), and
        a ``file://`` URL carries no headers, so ``filename`` is not used."""
        path = self._path(key)
        if not path.is_file():
            raise NotFoundError(f"no object {key!r} in {self.url}")
        return path.as_uri()

    def _write_blob_bytes(self, key: str, data: bytes) -> None:
        target = self._path(key)
        with self._os_errors(key), self._staged(target) as temp:
            temp.write(data)
            temp.sync()
            temp.chmod(0o444)
            crash_point("store.blob-temp")
            # An object already there raises PreconditionFailedError: the caller checks it.
            self._link_into_place(temp, key)

    def _upload_blob(self, key: str, path: Path, expected: str,
                     on_bytes: OnBytes | None = None,
                     unchanged: FileState | None = None) -> Outboard | None:
        """Copy in the kernel, then hash the copy itself (from the page cache, on every core)
        while the disk takes it: what is stored is what is checked, and no byte passes through
        Python. A file just hashed while quiet (``unchanged``) and still in that state after
        the copy is not hashed again. A large blob's outboard is hashed from the copy too."""
        target = self._path(key)
        with open(path, "rb") as src, self._staged(target) as temp:
            copied = copy_file(src.fileno(), temp.fd, on_bytes)
            if unchanged is not None and copied == unchanged.size \
                    and unchanged.holds(os.fstat(src.fileno())):
                temp.sync()
                actual = expected  # the bytes it was hashed from (FileState)
            else:
                with ThreadPoolExecutor(1) as pool:
                    synced = pool.submit(temp.sync)
                    actual = hash_file(temp.path)
                    synced.result()
            if actual != expected:
                raise mismatch_error(path, expected, actual)
            outboard = Outboard.of_file(temp.path, expected) if wants_outboard(copied) else None
            temp.chmod(0o444)
            crash_point("store.blob-temp")
            self._link_into_place(temp, key)  # refused: the caller checks what is there
        return outboard
