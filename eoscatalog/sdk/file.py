"""File: one object for an analysis's data, lazy, cached, verified and reproducible.

``File(remote=..., local=...)`` does no I/O when it is made. ``download()`` resolves the remote
(through the active lock file, if any), fetches the bytes into the shared, verified cache and
puts them at ``local``; ``upload()`` records ``local`` as a new version of the remote.

>>> f = File(remote="project-1/table.csv")
>>> f.remote
NamedFile(name='project-1/table.csv')
>>> File("project-1/table.csv")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
TypeError: File() takes keyword arguments only: pass remote=... and/or local=..., ...
"""

from __future__ import annotations

import html
import os
import shlex
import subprocess
import threading
import uuid
from datetime import date, datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Any

from eoscatalog.catalog.catalog import Catalog, Transaction
from eoscatalog.core.errors import InvalidNameError, StoreError
from eoscatalog.core.names import Reference, split_reference
from eoscatalog.core.units import format_time, parse_time
from eoscatalog.local.config import Config
from eoscatalog.log.records import VersionRecord
from eoscatalog.sdk.links import DEFAULT_EXPIRY, Link
from eoscatalog.sdk.remotes import (
    CATALOG_REMOTES,
    EFile,
    NamedFile,
    Remote,
    S3File,
    URLFile,
    parse_remote,
)
from eoscatalog.sdk.temp_paths import ensure_temp_folder, new_temp_folder
from eoscatalog.transfer.external import download_s3, download_url, upload_s3

__all__ = ["File", "default_catalog", "opened_default_catalog", "set_default_catalog",
           "transaction"]

TEMP_FOLDER = "tmp"
_default: Catalog | None = None
_default_lock = threading.Lock()


def default_catalog() -> Catalog:
    """The catalog Files use unless given one: ``Catalog.open()``, made on first use."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Catalog.open()
        return _default


def opened_default_catalog() -> Catalog | None:
    """The default catalog if this process has opened it already; nothing is opened."""
    return _default


def set_default_catalog(catalog: Catalog | None) -> None:
    """Make Files without ``catalog=`` use this one (None: open from the environment again)."""
    global _default
    with _default_lock:
        _default = catalog


def transaction(message: str = "", *, namespace: str | None = None) -> Transaction:
    """``with eoscatalog.transaction("regrid v2"):``: every write the block makes to the
    default catalog's store (``File.upload``, ``eos://`` writes from pandas, xarray, zarr and
    dask, ``Catalog.put``), from any thread, publishes at its end as ONE changeset, or not at
    all if it raises (:meth:`Catalog.transaction` on :func:`default_catalog`)."""
    return default_catalog().transaction(message, namespace=namespace)


class File:
    """A file with a remote location, a local one, or both; nothing moves until asked.

    ``remote``: a bare catalog name (NamedFile), ``eos://`` or ``e://`` (EFile), ``s3://``
    (S3File), ``https://`` (URLFile), or one of those objects; omitted, a unique temporary name
    under ``scratch/<you>/`` that expires after the scratch TTL. ``local``: where the bytes are
    (or go); omitted, a unique temporary path whose folder exists once ``local`` is read
    (see :mod:`eoscatalog.sdk.temp_paths`). ``as_of``: resolve the version current at that time or
    date. ``catalog``: the catalog to use (default: :func:`default_catalog`). ``name`` and
    ``path_local`` are the older Gencove SDK's spellings of ``remote`` and ``local``.
    """

    def __init__(
        self,
        *args: object,
        remote: str | Remote | None = None,
        local: str | os.PathLike[str] | None = None,
        as_of: str | date | datetime | None = None,
        catalog: Catalog | None = None,
        name: str | Remote | None = None,
        path_local: str | os.PathLike[str] | None = None,
    ) -> None:
        if args:
            raise TypeError(
                "File() takes keyword arguments only: pass remote=... and/or local=..., "
                "e.g. File(remote='project-1/table.csv')"
            )
        remote = _one_of("remote", remote, "name", name)
        local = _one_of("local", local, "path_local", path_local)
        self._catalog = catalog
        self.temporary = remote is None
        local_name = _safe_segment(Path(local).name) if local is not None else ""
        if remote is None:
            unique = uuid.uuid4().hex
            remote = EFile(path=f"eos://scratch/me/{TEMP_FOLDER}/{unique}/{local_name or 'file'}")
        self.remote: Remote = parse_remote(remote)
        self.as_of = _parse_as_of(as_of)
        if self.as_of is not None and not self.in_catalog:
            raise InvalidNameError(
                f"as_of= picks a catalog version; {self._remote_text()} is outside the catalog"
            )
        if self.as_of is not None and self._selector() is not None:
            raise InvalidNameError(
                f"{self._remote_text()} already pins a version; drop as_of= or the '@...' part"
            )
        # A temporary local path's folder is made when the path is first read, not here:
        # making a File does no I/O.
        self._temp_local = local is None
        if local is None:
            local = new_temp_folder() / (self._basename() or "file")
        self._local = Path(local).expanduser()
        self._record: VersionRecord | None = None

    @property
    def local(self) -> Path:
        """Where the bytes are (or go). A temporary path can be written as given: its folder
        (private, under the per-user temp folder) exists once this is read."""
        if self._temp_local:
            ensure_temp_folder(self._local.parent)
        return self._local

    @local.setter
    def local(self, value: str | os.PathLike[str]) -> None:
        self._local = Path(value).expanduser()
        self._temp_local = False

    # -- what it is ------------------------------------------------------------------------------

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            self._catalog = default_catalog()
        return self._catalog

    @property
    def in_catalog(self) -> bool:
        """True for catalog remotes (names and eos:// URIs), False for s3:// and https://."""
        return isinstance(self.remote, CATALOG_REMOTES)

    def _remote_text(self) -> str:
        r = self.remote
        return r.name if isinstance(r, NamedFile) else r.url if isinstance(r, URLFile) else r.path

    def _selector(self) -> str | None:
        return split_reference(self._remote_text())[1] if self.in_catalog else None

    def _basename(self) -> str:
        text = split_reference(self._remote_text())[0] if self.in_catalog else self._remote_text()
        return PurePosixPath(text.split("?", 1)[0]).name

    def reference(self) -> Reference:
        """The catalog reference this File reads (with ``as_of`` applied)."""
        self._require_catalog("resolve")
        text = self._remote_text()
        if self.as_of is not None:
            text += "@" + format_time(self.as_of)
        return self.catalog.reference(text)

    def resolve(self) -> VersionRecord:
        """The version this File means now (through the active lock, if any)."""
        self._record = self.catalog.resolve(self.reference())
        return self._record

    def _known(self) -> VersionRecord:
        # What was downloaded or uploaded last, so the properties describe the bytes at
        # `local`; resolve() looks again.
        return self._record if self._record is not None else self.resolve()

    @property
    def version(self) -> int:
        """The version downloaded or uploaded last (else the one the remote resolves to)."""
        return self._known().version

    @property
    def hash(self) -> str:
        """The ``blake3:<hex>`` hash of that version's bytes."""
        record = self._known()
        if record.hash is None:
            raise RuntimeError(
                f"internal error: {record.uri} has no hash (a delete marker where bytes were "
                "expected); please report it"
            )
        return record.hash

    @property
    def size(self) -> int:
        """The size in bytes of that version."""
        record = self._known()
        if record.size is None:
            raise RuntimeError(
                f"internal error: {record.uri} has no size (a delete marker where bytes were "
                "expected); please report it"
            )
        return record.size

    def versions(self) -> list[VersionRecord]:
        """Every version of the remote name, oldest first."""
        ref = self.reference()
        return self.catalog.versions(ref.location)

    @property
    def shareable_uri(self) -> str:
        """The remote as others in the organization can use it (``users/me`` made explicit)."""
        if not self.in_catalog:
            return self._remote_text()
        ref = self.reference()
        return ref.uri

    @property
    def path_e_shareable(self) -> str:
        """Gencove's name for :attr:`shareable_uri`."""
        return self.shareable_uri

    # -- moving bytes ----------------------------------------------------------------------------

    def download(self, path: str | os.PathLike[str] | None = None) -> Path:
        """Fetch the remote's bytes (verified) to ``path`` or ``local``; return that path.

        Catalog files go through the shared cache: a second download of the same bytes, under
        any name, reads no byte from the store.
        """
        target = Path(path).expanduser() if path is not None else self.local
        if target.is_dir():
            target = target / (self._basename() or "file")
        if isinstance(self.remote, S3File):
            return download_s3(self.remote.path, target, **self._s3_options())
        if isinstance(self.remote, URLFile):
            return download_url(self.remote.url, target)
        self._record = self.catalog.fetch_to(self.reference(), target, via_cache=True)
        return target

    def as_local(self) -> Path:
        """The older Gencove SDK's spelling of :meth:`download`: fetch to ``local``, return it."""
        return self.download()

    def upload(self) -> VersionRecord | None:
        """Record ``local`` as a new version of the remote; return that version.

        No new version is made when the bytes equal the latest version's (the latest is
        returned). An ``s3://`` remote gets a plain upload (no catalog version: None).
        """
        if not self.local.is_file():
            what = "is a folder" if self.local.is_dir() else "does not exist"
            raise FileNotFoundError(f"cannot upload {self.local}: it {what}")
        if isinstance(self.remote, URLFile):
            raise StoreError(f"cannot upload to {self.remote.url}: https:// remotes are "
                             "read-only; use a catalog name or an s3:// remote")
        if isinstance(self.remote, S3File):
            upload_s3(self.local, self.remote.path, **self._s3_options())
            return None
        if self._selector() is not None or self.as_of is not None:
            raise InvalidNameError(
                f"cannot upload to {self._remote_text()}: it pins a version; upload to the name"
            )
        self._record = self.catalog.put(self.local, self.reference().location).record
        return self._record

    def promote(self, name: str) -> VersionRecord:
        """Give a temporary (scratch) remote a permanent name; no bytes move again.

        Returns the new name's version; ``remote`` becomes the new name.
        """
        self._require_catalog("promote")
        record = self.catalog.copy(self.reference(), name)
        self.remote = parse_remote(name)
        self.temporary = False
        self._record = record
        return record

    @property
    def url(self) -> Link:
        """A link anyone can GET for 48 hours: a str, as Gencove's ``f.url`` is.

        Call it for another expiry (at most 7 days): ``f.url(expires="1h")``. On S3 the
        warning that the signing credentials end before the 48 hours is given when the link
        is printed or formatted (a link asked for with ``expires=`` warns at once).
        """
        if isinstance(self.remote, URLFile):
            return Link(self.remote.url, None)  # a web file's link is its URL, whatever expiry
        self._require_catalog("make a link to")
        # One resolution: the call form signs the very version the property resolved.
        pinned = self.catalog.resolve(self.reference()).uri
        pending: list[str] = []
        link = self.catalog.url(pinned, expires=DEFAULT_EXPIRY, on_warning=pending.append)

        def make(expires: str | float) -> Link:
            return Link(self.catalog.url(pinned, expires=expires), None)

        return Link(link, make, pending)

    def execute(self, *args: str, capture_output: bool = False) -> subprocess.CompletedProcess[str]:
        """Run the file as a script: its ``#!`` interpreter, else ``/bin/sh``.

        Downloads it first if ``local`` does not exist yet. Returns the CompletedProcess (the
        exit code is not checked, as with ``subprocess.run``).
        """
        if not self.local.is_file():
            self.download()
        with open(self.local, "rb") as f:
            first = f.readline(1024)
        if first.startswith(b"#!"):
            command = [*shlex.split(first[2:].decode("utf-8", "replace").strip()), str(self.local)]
        else:
            command = ["/bin/sh", str(self.local)]
        return subprocess.run(
            [*command, *map(str, args)], capture_output=capture_output, text=True, check=False
        )

    # -- helpers ---------------------------------------------------------------------------------

    def _s3_options(self) -> dict[str, Any]:
        """Endpoint and region for plain s3:// remotes: the catalog's, else the configured."""
        options = self._catalog.s3_options() if self._catalog is not None else None
        if options is not None:
            return options
        config = Config.load()
        return {"endpoint_url": config.endpoint_url, "region": config.region}

    def _require_catalog(self, action: str) -> None:
        if not self.in_catalog:
            raise InvalidNameError(
                f"cannot {action} {self._remote_text()}: it is outside the catalog; import it "
                "first (File(local=...).upload() to a catalog name)"
            )

    def __repr__(self) -> str:
        return f"File(remote={self.remote!r}, local={self._local!r})"

    def _repr_html_(self) -> str:
        rows = [("remote", repr(self.remote)), ("local", str(self._local))]
        if self._record is not None:  # only what is already known: a repr does no I/O
            r = self._record
            rows += [("version", r.uri), ("hash", r.hash or "-"), ("size", str(r.size))]
        cells = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
            f"<td><code>{html.escape(v)}</code></td></tr>"
            for k, v in rows
        )
        return f"<table><caption>eoscatalog File</caption>{cells}</table>"


def _one_of(new: str, new_value: Any, old: str, old_value: Any) -> Any:
    """The value of a keyword given under its current or its older Gencove name, not both."""
    if old_value is None:
        return new_value
    if new_value is not None:
        raise TypeError(f"File() got both {new}= and {old}= (its older spelling): pass one")
    return old_value


def _safe_segment(name: str) -> str:
    """A local file name made fit for a catalog name segment (``@ # ? *`` and controls go).

    >>> _safe_segment("plot@2x.png")
    'plot_2x.png'
    """
    cleaned = "".join("_" if ch in "@#?*\\" or ord(ch) < 32 or ord(ch) == 127 else ch
                      for ch in name)
    return "" if cleaned in ("", ".", "..") else cleaned


def _parse_as_of(value: str | date | datetime | None) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        # A naive datetime is local time, as datetime.now() gives it (strings without a zone
        # are UTC, as in references).
        return value.astimezone(timezone.utc)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    return parse_time(value)
