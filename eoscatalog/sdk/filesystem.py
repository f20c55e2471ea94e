"""``eos://`` for fsspec: pandas, xarray, dask and intake read and write catalog names directly.

Registered through the ``fsspec.specs`` entry point, so after ``pip install eoscatalog``::

    pd.read_csv("eos://org/shared/samples.csv@3")       # a pinned version
    pd.read_csv("eos://org/shared/samples.csv@paper")   # a tag; latest without '@'
    df.to_parquet("eos://users/me/out.parquet")         # a new version when the file closes

Paths are references (``<namespace>/<name>[@selector]``); folders are name prefixes. Reads come
from the verified cache when the blob is there, otherwise as ranged reads of the immutable blob
(a 1 KiB read of a 100 MB blob moves about one block, not the blob). Every range is verified
before it is returned (Catalog.open_ranges: a small blob whole, a large one chunk by chunk
against its outboard); a mismatch or a blob shorter than the catalog says raises IntegrityError.
Writes go to a temporary file and become one new version on ``close``; a ``with`` block that
raises publishes nothing.
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from fsspec.spec import AbstractFileSystem, make_instance

from eoscatalog.catalog.catalog import Catalog
from eoscatalog.core.errors import EosError, NameExistsError, NotFoundError
from eoscatalog.core.folder_refs import is_folder_reference
from eoscatalog.core.names import Location, split_reference
from eoscatalog.core.units import parse_time
from eoscatalog.log.records import VersionRecord
from eoscatalog.sdk.blob_file import BlobFile
from eoscatalog.sdk.file import default_catalog, opened_default_catalog
from eoscatalog.sdk.fs_options import catalog_settings
from eoscatalog.sdk.fs_transaction import EosFsTransaction
from eoscatalog.sdk.new_version_file import NewVersionFile

__all__ = ["EosFileSystem"]


class EosFileSystem(AbstractFileSystem):  # type: ignore[misc]  # fsspec is untyped
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
    transaction_type = EosFsTransaction

    def __init__(self, catalog: Catalog | None = None, **options: Any) -> None:
        settings = catalog_settings(options)  # an unknown option is refused before anything
        super().__init__(catalog=catalog, **options)
        self._catalog = catalog or (Catalog.open(**settings) if settings else None)
        self._copying = threading.local()  # pairs a copy or mv collects from cp_file
        self._joins: str | None = options.get("transaction")

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled inside an open transaction (for dask workers), the copy writes into it."""
        options = dict(self.storage_options)
        if options.get("catalog") is not None:
            raise TypeError(
                "an eos:// filesystem made with catalog=... cannot go to another process (a "
                "Catalog holds open databases): make it with storage options (store=..., "
                "user=...) or from the EOS_* environment, as dask workers need")
        # Only a catalog already open can have a transaction open: pickling opens none.
        catalog = self._catalog or opened_default_catalog()
        txn = catalog.open_transaction() if catalog is not None else None
        if txn is not None:
            options["transaction"] = txn.announce()
        return make_instance, (type(self), self.storage_args, options)

    def start_transaction(self) -> Any:
        """Begin a transaction without ``with`` (``end_transaction`` publishes it)."""
        transaction = super().start_transaction()
        transaction.start()
        return transaction

    def _writing(self) -> AbstractContextManager[Any]:
        """The transaction this filesystem was pickled in, joined for one write (if any)."""
        if self._joins is None:
            return nullcontext()
        return self.catalog.transaction(join=self._joins)

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
        return text.rstrip("/")

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
        """Folders and names directly under ``path`` (a namespace, prefix or name, or a folder
        version: ``org/x.zarr@3`` lists its names as ``org/x.zarr@3/...``, read as they were)."""
        stripped = self._strip_protocol(path)
        entries = self._namespaces(stripped)
        if entries is None:
            if "@" in stripped and not is_folder_reference(stripped):
                try:  # name@selector, or else a folder version (x.zarr@3)
                    return self._detail([self._file_info(self._record(stripped))], detail)
                except FileNotFoundError:
                    if self.catalog.folders.reference("eos://" + stripped) is None:
                        raise
            entries = self._listed(stripped)
            if not entries:
                entries = [self.info(stripped)]  # a name, or FileNotFoundError
        return self._detail(entries, detail)

    @staticmethod
    def _detail(entries: list[dict[str, Any]], detail: bool) -> list[Any]:
        return entries if detail else [e["name"] for e in entries]

    def _listed(self, stripped: str) -> list[dict[str, Any]]:
        """The entries directly under a folder, or under a folder version (whose paths keep
        its selector, so that reading them reads the version)."""
        found = self.catalog.folders.reference("eos://" + stripped)
        if found is None:
            listing = self.catalog.ls(self._folder(stripped))
            ns = listing.namespace
            entries = [{"name": f"{ns}/{f}".rstrip("/"), "size": 0, "type": "directory"}
                       for f in listing.folders]
            return entries + [self._file_info(r) for r in listing.files]
        ref = found[0]
        listing = self.catalog.ls("eos://" + stripped.rstrip("/") + "/")
        at = len("eos://")
        entries = [{"name": ref.uri_of(f)[at:].rstrip("/"), "size": 0, "type": "directory"}
                   for f in listing.folders]
        return entries + [{**self._file_info(r), "name": ref.uri_of(r.name)[at:]}
                          for r in listing.files]

    def _namespaces(self, stripped: str) -> list[dict[str, Any]] | None:
        """The root lists namespace kinds, ``users`` and ``scratch`` their owners."""
        if stripped not in ("", "users", "scratch"):
            return None
        found = self.catalog.namespaces()
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
            found = self._record(stripped)
            info = self._file_info(found)
            # A name in a folder version keeps its selector, so that reading it reads that.
            return {**info, "name": stripped} if is_folder_reference(stripped) else info
        except FileNotFoundError:
            if "@" in stripped and self.catalog.folders.reference("eos://" + stripped) is None:
                raise
            try:
                if self._listed(stripped):
                    return {"name": stripped, "size": 0, "type": "directory"}
            except EosError:
                pass
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
        return self.catalog.open_ranges(record).read(start, end)

    def _open(self, path: str, mode: str = "rb", block_size: Any = None,
              autocommit: bool = True, cache_options: Any = None, **kwargs: Any) -> Any:
        if "r" in mode:
            record = self._record(path)
            if record.hash is None:
                raise RuntimeError(
                    f"internal error: {record.uri} has no hash (a delete marker where bytes were "
                    "expected); please report it"
                )
            cached = self.catalog.open_cached(record)  # hashed again: entries can be edited
            if cached is not None:
                return cached
            return BlobFile(self, path, record, self.catalog.open_ranges(record).read,
                            block_size=block_size or "default", cache_options=cache_options)
        if mode not in ("wb", "xb"):
            raise ValueError(f"eos:// files open as 'rb' or 'wb' ('xb': a new name only), "
                             f"not {mode!r}")
        stripped = self._write_target(path, create=mode == "xb")
        # "xb" is checked again as the version is committed (Catalog.put_if_absent), so a name
        # created by someone else while this file was open is not overwritten. In a transaction
        # a file is staged as it closes (fsspec would defer it), so the block reads it.
        staged = autocommit or self.catalog.open_transaction() is not None
        return NewVersionFile(self, stripped, mode=mode, block_size=block_size or "default",
                              autocommit=staged)

    def _exists_as_name(self, stripped: str) -> bool:
        try:
            self._record(stripped)
        except FileNotFoundError:
            return False
        return True

    def _write_target(self, path: str, *, create: bool) -> str:
        """The name a write to ``path`` makes a version of (no ``@`` selector); with
        ``create``, NameExistsError if it exists already."""
        stripped = str(self._strip_protocol(path))
        _, selector = split_reference(stripped)
        if selector is not None:
            raise ValueError(f"{path}: a write makes a new version; drop the '@{selector}' part")
        if create and self._exists_as_name(stripped):
            raise NameExistsError(f"eos://{stripped} exists: 'xb' creates only new names; "
                                  "open it 'wb' to add a version")
        return stripped

    def pipe_file(self, path: str, value: bytes, mode: str = "overwrite", **kwargs: Any) -> None:
        """Write ``value`` as a new version; ``mode="create"`` only if the name does not exist
        (FileExistsError otherwise, checked when the version is committed). The bytes go to
        the store from memory (zarr writes every chunk this way)."""
        stripped = self._write_target(path, create=mode == "create")
        with self._writing():
            if mode == "create":
                self.catalog.put_if_absent(bytes(value), "eos://" + stripped)
            else:
                self.catalog.put_bytes(bytes(value), "eos://" + stripped)
        self.invalidate_cache(stripped)

    # -- changing -----------------------------------------------------------------------------

    def rm_file(self, path: str) -> None:
        """Delete a name (a delete marker: earlier versions stay readable);
        FileNotFoundError if it has no readable version."""
        try:
            with self._writing():
                self.catalog.rm("eos://" + self._strip_protocol(path))
        except NotFoundError as e:
            raise FileNotFoundError(str(e)) from None
        self.invalidate_cache()

    def cp_file(self, path1: str, path2: str, **kwargs: Any) -> None:
        """Make ``path2`` a new version holding the bytes ``path1`` means (any reference, such
        as ``name@3``): a catalog copy, no byte moves. A folder has nothing to copy: folders
        exist while names are under them."""
        source = self._copy_source(path1)
        if source is None:
            return
        pair = (source, "eos://" + self._strip_protocol(path2))
        collected = getattr(self._copying, "pairs", None)
        if collected is not None:
            collected.append(pair)  # copy() and mv() commit them together
        else:
            with self._writing():
                self.catalog.copy(*pair)
            self.invalidate_cache()

    def _copy_source(self, path: str) -> str | None:
        """The pinned URI a copy of ``path`` takes its bytes from; None for a folder."""
        try:
            return self._record(path).uri
        except FileNotFoundError:
            if self.info(path)["type"] == "directory":  # or FileNotFoundError
                return None
            raise

    def copy(self, path1: Any, path2: Any, recursive: bool = False,
             maxdepth: int | None = None, on_error: str | None = None, **kwargs: Any) -> None:
        """Copy names (``recursive``: folders) as fsspec does, but as ONE changeset per
        destination namespace, in which no byte moves (``Catalog.copy_many``)."""
        pairs = self._collect_copies(path1, path2, recursive=recursive, maxdepth=maxdepth,
                                     on_error=on_error, **kwargs)
        if pairs:
            with self._writing():
                self.catalog.copy_many(pairs)
        self.invalidate_cache()

    def mv(self, path1: Any, path2: Any, recursive: bool = False,
           maxdepth: int | None = None, **kwargs: Any) -> None:
        """Move names: copies and delete markers for the sources, in ONE changeset when source
        and destination share a namespace (else the copies are committed first, so nothing is
        lost if the move stops half-way). Earlier versions of the sources stay readable."""
        if path1 == path2:
            return
        for p in path1 if isinstance(path1, list) else [path1]:
            if "@" in self._strip_protocol(p):
                raise ValueError(f"{p}: mv moves names, not versions; copy a version with cp")
        pairs = self._collect_copies(path1, path2, recursive=recursive, maxdepth=maxdepth,
                                     on_error="raise", **kwargs)
        if not pairs and not recursive and isinstance(path1, str) and self.isdir(path1):
            raise IsADirectoryError(f"{path1} is a folder: pass recursive=True to move it")
        sources = list(dict.fromkeys(src.rsplit("@", 1)[0] for src, _ in pairs))
        moved = [(src, dest) for src, dest in pairs if src.rsplit("@", 1)[0] != dest]
        if moved:
            with self._writing():
                self.catalog.copy_many(moved, deletes=[s for s in sources
                                                       if s not in {d for _, d in moved}])
        self.invalidate_cache()

    def _collect_copies(self, path1: Any, path2: Any, **kwargs: Any) -> list[tuple[str, str]]:
        """The (pinned source, destination) pairs fsspec's copy would make, one cp_file each."""
        self._copying.pairs = []
        try:
            super().copy(path1, path2, **kwargs)
            return list(self._copying.pairs)
        finally:
            self._copying.pairs = None

    def rm(self, path: Any, recursive: bool = False, maxdepth: int | None = None) -> None:
        """Delete names; ``recursive`` deletes every name under a folder in one change."""
        for p in path if isinstance(path, list) else [path]:
            if self.info(p)["type"] == "directory":
                if not recursive:
                    raise IsADirectoryError(f"{p} is a folder: pass recursive=True")
                with self._writing():
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
