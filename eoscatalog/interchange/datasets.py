"""Folders that are one dataset: Zarr stores and Parquet datasets, found in a list of names.

An export (``eos export intake``) writes ONE entry for such a folder instead of one per file:
a Zarr store of 600 chunks is one xarray dataset, not 600 byte blobs. The rules, over the names
listed (the full names, folders being name prefixes):

- **Zarr store**: a folder ``F/`` with ``F/.zgroup``, ``F/.zarray`` (Zarr format 2) or
  ``F/zarr.json`` (format 3) among the names. The outermost such folder is the store: the
  groups and arrays nested inside it are part of it.
- **Parquet dataset**: a folder ``F/`` whose data files all end with ``.parquet``, ``.pq`` or
  ``.parq`` and sit either directly in ``F/`` or in hive partition folders below it
  (``F/year=2026/site=a/part-0.parquet``), with at least two data files or at least one
  partition folder. Files and folders whose name starts with ``.`` or ``_`` (``_SUCCESS``,
  ``_metadata``, ``_common_metadata``, ``.part-0.parquet.crc``, ``_temporary/``) and ``.crc``
  files are ignored when deciding but belong to the dataset. A folder holding anything else
  (a CSV, a plain subfolder such as ``F/x/a.parquet``) is not one dataset; its subfolders may
  be. The outermost qualifying folder is the dataset.

Only folders inside the listing's prefix are candidates (all their names are then known), and
never the namespace root. Pure: no catalog, no I/O.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["Dataset", "find_datasets"]

ZARR_MARKERS = frozenset({".zgroup", ".zarray", "zarr.json"})
PARQUET_SUFFIXES = (".parquet", ".pq", ".parq")
_PARTITION = re.compile(r"^[^=/]+=[^/]*$")


@dataclass(frozen=True)
class Dataset:
    """A folder that is one dataset: ``folder`` ends with ``/``; ``kind`` is ``zarr`` or
    ``parquet``; ``names`` are every name in it (ignored ones included), sorted;
    ``consolidated``: a Zarr store with consolidated metadata (``.zmetadata``) at its root."""

    folder: str
    kind: str
    names: tuple[str, ...]
    consolidated: bool = False

    @property
    def name(self) -> str:
        """The folder without its trailing ``/``: the entry's name (``runs/r.zarr``)."""
        return self.folder[:-1]


def _ancestors(name: str, prefix: str) -> list[str]:
    """The folders holding ``name`` that are candidates: inside ``prefix``, never the root."""
    parts = name.split("/")[:-1]
    folders = ["/".join(parts[: i + 1]) + "/" for i in range(len(parts))]
    return [f for f in folders if f.startswith(prefix)]


def _ignored(parts: list[str]) -> bool:
    return any(p.startswith((".", "_")) for p in parts) or parts[-1].lower().endswith(".crc")


def find_datasets(names: Iterable[str], prefix: str = "") -> list[Dataset]:
    """The Zarr stores and Parquet datasets among ``names`` (all the names under ``prefix``),
    outermost first by folder; see the module's rules.

    >>> found = find_datasets(["a/x.zarr/.zgroup", "a/x.zarr/t/.zarray", "a/x.zarr/t/0.0",
    ...                        "a/p/k=1/part.parquet", "a/p/_SUCCESS", "a/notes.txt"])
    >>> [(d.folder, d.kind, len(d.names)) for d in found]
    [('a/p/', 'parquet', 2), ('a/x.zarr/', 'zarr', 3)]
    >>> find_datasets(["t/one.parquet", "t/table.csv"])
    []
    """
    every = sorted(set(names))
    zarr = sorted({n.rsplit("/", 1)[0] + "/" for n in every
                   if "/" in n and n.rsplit("/", 1)[1] in ZARR_MARKERS
                   and n.startswith(prefix)})
    stores: list[str] = []
    for folder in zarr:  # sorted: a store comes before the folders inside it
        if not any(folder.startswith(s) for s in stores):
            stores.append(folder)
    # Parquet: per candidate folder, whether every name fits, how many data files, partitions.
    spoiled: set[str] = set()
    files: dict[str, int] = {}
    partitioned: set[str] = set()
    for name in every:
        for folder in _ancestors(name, prefix):
            parts = name[len(folder):].split("/")
            if _ignored(parts):
                continue
            if not parts[-1].lower().endswith(PARQUET_SUFFIXES) or not all(
                    _PARTITION.match(p) for p in parts[:-1]):
                spoiled.add(folder)
                continue
            files[folder] = files.get(folder, 0) + 1
            if len(parts) > 1:
                partitioned.add(folder)
    tables: list[str] = []
    for folder in sorted(files):
        if folder in spoiled or (files[folder] < 2 and folder not in partitioned):
            continue
        if not any(folder.startswith(t) for t in tables):
            tables.append(folder)

    def under(folder: str) -> tuple[str, ...]:  # the names are sorted: one slice
        return tuple(every[bisect_left(every, folder):bisect_left(every, folder[:-1] + "0")])

    found = [Dataset(s, "zarr", under(s), f"{s}.zmetadata" in under(s)) for s in stores]
    found += [Dataset(t, "parquet", under(t))
              for t in tables if not any(t.startswith(s) for s in stores)]
    return sorted(found, key=lambda d: d.folder)
