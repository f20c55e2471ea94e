"""``Catalog.diff`` (``eos diff A B``): how two names, or two folders, differ.

A and B are both names (``x.csv``, ``x.csv@3``, ``x.csv@paper``, ``x.csv@<time>``, a name in a
folder version ``x.zarr@3/.zgroup``) or both folders: text ending with ``/``, a plain folder
(``x.zarr/``: its latest version) or a folder reference (``x.zarr@3/``, ``x.zarr@paper/``,
``x.zarr@<time>/``, a folder inside one ``x.zarr@3/sub/``).

Two folders are compared from their snapshots, one index query each, in one pass
(:func:`~eoscatalog.rules.folder_diff.diff_folders`). Two names give both versions and, when
both are tables (CSV, TSV, Parquet) with different bytes, how their schema and row count differ
(:mod:`eoscatalog.interchange.table_diff`), read through verified ranged reads: a Parquet file's
footer only, a CSV streamed once.

>>> from eoscatalog import Catalog
>>> cat = Catalog.at("memory://", user="ada")
>>> _ = cat.put_bytes(b"a\\n1\\n", "runs/t.csv"); _ = cat.put_bytes(b"x", "runs/n.txt")
>>> _ = cat.put_bytes(b"a,b\\n1,2\\n3,4\\n", "runs/t.csv")
>>> d = cat.diff("runs@2/", "runs/")
>>> [(c.status, c.name) for c in d.changes], d.unchanged
([('changed', 't.csv')], 1)
>>> cat.diff("runs/t.csv@1", "runs/t.csv").table.lines()
['columns added: b (int)', 'rows: 1 -> 2 (+1)']
"""

from __future__ import annotations

import gc
import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import BinaryIO

from eoscatalog.catalog.folders import Folders
from eoscatalog.catalog.ranged import VerifiedRanges
from eoscatalog.catalog.reads import Reader
from eoscatalog.core.errors import InvalidNameError, NotFoundError
from eoscatalog.core.names import split_reference
from eoscatalog.interchange.name_diff import NameDiff
from eoscatalog.interchange.preview.range_file import RangeFile
from eoscatalog.interchange.table_change import TableDiff
from eoscatalog.interchange.table_diff import diff_tables, summarize_table, table_format
from eoscatalog.local.blob_cache import BlobCache
from eoscatalog.log.records import VersionRecord
from eoscatalog.log.snapshot import Snapshot
from eoscatalog.rules.folder_diff import diff_folders
from eoscatalog.rules.folder_difference import FolderDiff

__all__ = ["Diff", "Differ", "is_folder_text"]

Diff = NameDiff | FolderDiff
"""What ``Catalog.diff`` returns: a :class:`NameDiff` for two names, a :class:`FolderDiff` for
two folders."""

BUFFER = 1024 * 1024  # a CSV is read 1 MiB at a time


def is_folder_text(text: str) -> bool:
    """Whether ``eos diff`` reads ``text`` as a folder: it ends with ``/`` (a plain folder, a
    folder reference ``x.zarr@3/``, a folder inside one).

    >>> is_folder_text("eos://org/x.zarr@3/"), is_folder_text("x.zarr@3/.zgroup")
    (True, False)
    """
    return text.endswith("/")


class Differ:
    """Compares names and folders read through ``reader`` and ``folders``; table bytes come
    from the store, or ``cache`` where it holds them."""

    def __init__(self, reader: Reader, folders: Folders, cache: BlobCache | None) -> None:
        self.reader = reader
        self.folders = folders
        self.cache = cache

    def diff(self, a: str, b: str, *, tables: bool = True) -> Diff:
        """How B differs from A: two names, or two folders (never one of each)."""
        a_folder, b_folder = is_folder_text(a), is_folder_text(b)
        if a_folder != b_folder:
            folder, name = (a, b) if a_folder else (b, a)
            raise InvalidNameError(
                f"cannot compare the folder {folder!r} with the name {name!r}: compare like "
                "with like, two names (eos diff x.csv@1 x.csv@2) or two folders, each ending "
                "with '/' (eos diff x.zarr@3/ x.zarr/)"
            )
        if a_folder:
            return self.folders_diff(a, b)
        return self.names_diff(a, b, tables=tables)

    # -- folders ---------------------------------------------------------------------------------

    def folders_diff(self, a: str, b: str) -> FolderDiff:
        """How folder B's names differ from folder A's (names relative to each folder).

        Two versions of one folder compare only the names a changeset between them changed
        (the others hold the same version in both): a diff of a 100,000-name folder reads
        the few thousand it changed, not two snapshots."""
        with _collector_paused():
            a_uri, a_prefix, a_version, a_snap = self.folder_side(a)
            b_uri, b_prefix, b_version, b_snap = self.folder_side(b)
            same = (a_snap.namespace, a_prefix) == (b_snap.namespace, b_prefix)
            changed = (min(a_snap.seq, b_snap.seq), max(a_snap.seq, b_snap.seq)) if same \
                else None
            queries = self.reader.index.folders
            a_records = queries.snapshot(a_snap.namespace, a_prefix, a_snap.seq, changed=changed)
            b_records = queries.snapshot(b_snap.namespace, b_prefix, b_snap.seq, changed=changed)
            found = diff_folders(a_records, a_prefix, b_records, b_prefix, a_uri=a_uri,
                                 b_uri=b_uri, a_version=a_version, b_version=b_version)
            if changed is None:
                return found
            # The names no changeset between them touched: the same version on both sides.
            untouched = queries.count(a_snap.namespace, a_prefix, a_snap.seq) - len(a_records)
            return replace(found, unchanged=found.unchanged + untouched)

    def folder_side(self, text: str) -> tuple[str, str, int, Snapshot]:
        """The pinned URI, prefix, folder version and snapshot of a folder (``x.zarr/`` at its
        latest version, ``x.zarr@3/``, ``x.zarr@3/sub/``)."""
        found = self.folders.reference(text)
        if found is None or not found[1]:
            snap = self.folders.snapshot(text)
            return snap.uri, snap.prefix, snap.version, snap
        ref, rest = found  # a folder inside a folder version: x.zarr@3/sub/
        snap = self.reader.snapshots.resolve(ref)
        return snap.uri + rest, snap.prefix + rest, snap.version, snap

    # -- names -----------------------------------------------------------------------------------

    def names_diff(self, a: str, b: str, *, tables: bool = True) -> NameDiff:
        """Both versions and, for two tables with different bytes (and ``tables``), their
        schema and row count differences."""
        old, new = self.record(a), self.record(b)
        table = self.table_diff(old, new) if tables and old.hash != new.hash else None
        return NameDiff(old, new, table)

    def record(self, text: str) -> VersionRecord:
        """The readable version ``text`` means; a name that is a folder says to add the '/'."""
        ref = self.folders.parser.reference(text)
        try:
            return self.reader.resolve(ref)
        except NotFoundError:
            if ref.kind == "snapshot" or not self.reader.index.folders.seqs(ref.namespace,
                                                                            ref.name + "/"):
                raise
            path, selector = split_reference(text)
            raise NotFoundError(
                f"{ref.location.uri} is a folder, not a name: end it with '/' to compare "
                f"folders, as in eos diff {path}{'@' + selector if selector else ''}/ ..."
            ) from None

    def table_diff(self, old: VersionRecord, new: VersionRecord) -> TableDiff | None:
        """How ``new``'s table differs from ``old``'s; None unless both are tables."""
        if table_format(old.name) is None or table_format(new.name) is None:
            return None
        before = summarize_table(old.name, self.opener(old), old.size or 0)
        after = summarize_table(new.name, self.opener(new), new.size or 0)
        if before is None or after is None:
            return None
        return diff_tables(before, after)

    def opener(self, record: VersionRecord) -> Callable[[], BinaryIO]:
        """Opens a version's bytes as a seekable file of verified ranged reads (cache first)."""
        ranges = VerifiedRanges.of(self.reader.store, record, self.cache)
        return lambda: io.BufferedReader(RangeFile(ranges.read, ranges.size), buffer_size=BUFFER)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector off while a folder diff makes its records (a few objects per
    name, none in a cycle): with 100,000 names its passes over them would double the time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
