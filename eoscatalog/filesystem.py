"""``eos://`` for fsspec: pandas, xarray, dask and intake read and write catalog names directly.

Registered through the ``fsspec.specs`` entry point, so after ``pip install eoscatalog``::

    pd.read_csv("eos://org/shared/samples.csv@3")       # a pinned version
    pd.read_csv("eos://org/shared/samples.csv@paper")   # a tag; latest without '@'
    df.to_parquet("eos://users/me/out.parquet")         # a new version when the file closes

Paths are references (``<namespace>/<name>[@selector]``); folders are name prefixes. Reads come
from the verified cache when the blob is there, otherwise as ranged reads of the immutable blob
(a 1 KiB read of a 100 MB blob moves about one block, not the blob); reads that run from the
first byte to the last are checked against the hash, and a mismatch raises IntegrityError.
Writes go to a temporary file and become one new version on ``close``; a ``with`` block that
raises publishes nothing.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

from fsspec.spec import AbstractBufferedFile, AbstractFileSystem

from .catalog import Catalog
from .errors import EosError, IntegrityError, NotFoundError
from .file import default_catalog
from .hashing import StreamHasher
from .log import list_namespaces
from .names import Location, split_reference
from .records import VersionRecord
from .store import blob_key
from .units import parse_time

__all__ = ["EosFileSystem"]


class EosFileSystem(AbstractFileSystem):
    """fsspec's view of a catalog: namespaces and name prefixes as folders, names as files.

    ``catalog``: the catalog to use (default: the one ``File`` uses, from the environment);
    other storage options (``store``, ``user``, ...) open a catalog with those settings.

    >>> import tempfile, fsspec
    >>> from eoscatalog import Catalog
    >>> cat = Catalog.open(store=f"file://{tempfile.mkdtemp()}", user="ada", create=True)
    >>> fs = EosFileSystem(catalog=cat)
    >>> with fs.open("eos://users/ada/notes/a.txt", "wb") as f:
    ...     _ = f.write(b"hello")
    >>> fs.cat("eos://users/ada/notes/a.txt@1"), fs.ls("users/ada/notes", detail=False)
    (b'hello', ['users/ada/notes/a.txt'])
    """

    protocol = ("eos",)  # not "e": fsspec takes one-letter schemes for drive letters
    root_marker = ""

    def __init__(self, catalog: Catalog | None = None, **options: Any) -> None:
        super().__init__(catalog=catalog, **options)
        settings = {k: v for k, v in options.items() if k not in ("skip_instance_cache",
                                                                  "use_listings_cache",
                                                                  "listings_expiry_time",
                                                                  "max_paths")}
        self._catalog = catalog or (Catalog.open(**settings) if settings else None)

    @property
    def catalog(self) -> Catalog:
        """The catalog given, or else the process's default (which ``set_default_catalog``
        may change between calls: fsspec reuses filesystem instances)."""
        return self._catalog or default_catalog()

    @classmethod
    def _strip_protocol(cls, path: Any) -> Any:
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]
        text = str(path)
        for scheme in ("eos://", "e://"):
            if text.startswith(scheme):
                text = text[len(scheme):]
        return text.rstrip("/") if "@" not in text else text

    # -- resolving ------------------------------------------------------------------------------

    def _record(self, path: str) -> VersionRecord:
        try:
            return self.catalog.resolve("eos://" + self._strip_protocol(path))
        except NotFoundError as e:
            raise FileNotFoundError(str(e)) from None
        except EosError as e:
            raise FileNotFoundError(f"{path}: {e}") from None

    def _folder(self, path: str) -> Location:
        return self.catalog.folder("eos://" + self._strip_protocol(path) + "/")

    @staticmethod
    def _file_info(record: VersionRecord) -> dict[str, Any]:
        return {
            "name": f"{record.namespace}/{record.name}", "size": record.size, "type": "file",
            "version": record.version, "hash": record.hash, "created": record.created,
            "author": record.author, "uri": record.uri,
        }

    # -- listing ------------------------------------------------------------------------------

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
        """Folders and names directly under ``path`` (a namespace, prefix or name)."""
        stripped = self._strip_protocol(path)
        entries = self._namespaces(stripped)
        if entries is None:
            if "@" in stripped:
                entries = [self._file_info(self._record(stripped))]
            else:
                listing = self.catalog.ls(self._folder(stripped))
                ns = listing.namespace
                entries = [{"name": f"{ns}/{f}".rstrip("/"), "size": 0, "type": "directory"}
                           for f in listing.folders]
                entries += [self._file_info(r) for r in listing.files]
                if not entries:
                    entries = [self.info(stripped)]  # a name, or FileNotFoundError
        return entries if detail else [e["name"] for e in entries]

    def _namespaces(self, stripped: str) -> list[dict[str, Any]] | None:
        """The root lists namespace kinds, ``users`` and ``scratch`` their owners."""
        if stripped not in ("", "users", "scratch"):
            return None
        found = list_namespaces(self.catalog.store)
        if stripped:
            names = sorted({n for n in found if n.startswith(stripped + "/")})
        else:
            names = sorted({n.split("/")[0] for n in found})
        return [{"name": n, "size": 0, "type": "directory"} for n in names]

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        """A name's version (size, hash, version, author...) or a folder."""
        stripped = self._strip_protocol(path)
        kind = stripped.split("/")[0]
        if stripped in ("", "users", "scratch", "org", "public") or (
                stripped.count("/") == 1 and kind in ("users", "scratch")):
            return {"name": stripped, "size": 0, "type": "directory"}
        try:
            return self._file_info(self._record(stripped))
        except FileNotFoundError:
            if "@" in stripped:
                raise
            listing = self.catalog.ls(self._folder(stripped))
            if listing.files or listing.folders:
                return {"name": stripped, "size": 0, "type": "directory"}
            raise

    def ukey(self, path: str) -> str:
        """The content hash: two paths with the same bytes have the same key."""
        return str(self._record(path).hash)

    def created(self, path: str) -> Any:
        """When the version was made (a ``datetime``)."""
        return parse_time(self._record(path).created)

    modified = created

    # -- reading ------------------------------------------------------------------------------

    def cat_file(self, path: str, start: int | None = None, end: int | None = None,
                 **kwargs: Any) -> bytes:
        """The bytes of a version (verified when whole), or a range of them."""
        record = self._record(path)
        if start is None and end is None:
            return self.catalog.read_bytes(record.uri)
        size = record.size or 0
        start = max(0, size + start if start is not None and start < 0 else start or 0)
        end = size if end is None else max(0, size + end if end < 0 else min(end, size))
        if start >= end:
            return b""
        if record.hash is None:
            raise RuntimeError(
                f"internal error: {record.uri} has no hash (a delete marker where bytes were "
                "expected); please report it"
            )
        return b"".join(self.catalog.store.iter_chunks(blob_key(record.hash), start, end))

    def _open(self, path: str, mode: str = "rb", block_size: Any = None,
              autocommit: bool = True, cache_options: Any = None, **kwargs: Any) -> Any:
        if "r" in mode:
            record = self._record(path)
            cache = self.catalog.cache
            if record.hash is None:
                raise RuntimeError(
                    f"internal error: {record.uri} has no hash (a delete marker where bytes were "
                    "expected); please report it"
                )
            cached = cache.lookup(record.hash) if cache is not None else None
            if cached is not None and cache is not None and cache.check_entry(cached,
                                                                               record.hash):
                return open(cached, "rb")  # checked again just now: entries can be edited
            return BlobFile(self, path, record, block_size=block_size or "default",
                            cache_options=cache_options)
        if mode not in ("wb", "xb"):
            raise ValueError(f"eos:// files open as 'rb' or 'wb', not {mode!r}")
        stripped = self._strip_protocol(path)
        _, selector = split_reference(stripped)
        if selector is not None:
            raise ValueError(f"{path}: a write makes a new version; drop the '@{selector}' part")
        return NewVersionFile(self, stripped, mode="wb", block_size=block_size or "default",
                              autocommit=autocommit)

    # -- changing -----------------------------------------------------------------------------

    def rm_file(self, path: str) -> None:
        """Delete a name (a delete marker: earlier versions stay readable)."""
        self.catalog.rm("eos://" + self._strip_protocol(path))

    def rm(self, path: Any, recursive: bool = False, maxdepth: int | None = None) -> None:
        """Delete names; ``recursive`` deletes every name under a folder in one change."""
        for p in path if isinstance(path, list) else [path]:
            if self.info(p)["type"] == "directory":
                if not recursive:
                    raise IsADirectoryError(f"{p} is a folder: pass recursive=True")
                self.catalog.rm_prefix(self._folder(p))
            else:
                self.rm_file(p)
        self.invalidate_cache()

    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        """Folders exist while names are under them: nothing to create."""

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        """Folders exist while names are under them: nothing to create."""

    def rmdir(self, path: str) -> None:
        """Empty folders do not exist: nothing to remove."""


class BlobFile(AbstractBufferedFile):  # type: ignore[misc]
    """A version's bytes read in ranges from its blob; verified when read from start to end."""

    def __init__(self, fs: EosFileSystem, path: str, record: VersionRecord, **kwargs: Any):
        if record.hash is None:
            raise RuntimeError(
                f"internal error: {record.uri} has no hash (a delete marker where bytes were "
                "expected); please report it"
            )
        self.record = record
        self.key = blob_key(record.hash)
        self._hasher: StreamHasher | None = StreamHasher()
        self._hashed = 0
        super().__init__(fs, path, mode="rb", size=record.size or 0, **kwargs)

    def _fetch_range(self, start: int, end: int) -> bytes:
        end = min(end, self.size)
        if start >= end:
            return b""
        data = b"".join(self.fs.catalog.store.iter_chunks(self.key, start, end))
        if self._hasher is not None:
            if start == self._hashed:
                self._hasher.update(data)
                self._hashed = end
                actual = self._hasher.hash
                if end == self.size and actual != self.record.hash:
                    raise IntegrityError(
                        f"{self.record.uri}: the blob's bytes hash to {actual}, not "
                        f"{self.record.hash}; run `eos verify` and re-put the good bytes",
                        expected=str(self.record.hash), actual=actual,
                    )
            elif start > self._hashed:
                self._hasher = None  # random access: the whole-read check no longer applies
        return data


class NewVersionFile(AbstractBufferedFile):  # type: ignore[misc]
    """Bytes written to a temporary file, put as a new version on close (not on error)."""

    def _initiate_upload(self) -> None:
        fd, self._temp = tempfile.mkstemp(prefix="eos-fsspec-", suffix=".part")
        self._sink = os.fdopen(fd, "wb")

    def _upload_chunk(self, final: bool = False) -> bool:
        if not hasattr(self, "_sink"):
            self._initiate_upload()
        self._sink.write(self.buffer.getvalue())
        if final:
            self._sink.close()
            if self.autocommit:
                self.commit()
        return True

    def commit(self) -> None:
        """Publish the written bytes as the name's new version (once; the temp file goes)."""
        try:
            self.fs.catalog.put(self._temp, "eos://" + self.path)
        finally:
            os.unlink(self._temp)

    def discard(self) -> None:
        """Drop the written bytes: no version."""
        if hasattr(self, "_sink"):
            self._sink.close()
            os.unlink(self._temp)

    def __exit__(self, kind: Any, value: Any, traceback: Any) -> None:
        if kind is None:
            self.close()
            return
        self.discard()
        self.closed = True
