"""Intake catalogs from versions: one YAML file that intake 0.6, 0.7 and 2 all open.

The file is a "dual" catalog. Intake 0.x reads its v1 part (``sources:``, one entry per source
with a ``driver`` and ``args``) and ignores the rest; intake 2 sees ``version: 2`` and reads the
v2 part (``data``, ``entries``, ``aliases``, ``user_parameters``, ``metadata``). Both parts
point at the same immutable blob URLs, so an entry means the same bytes forever.

Choices, each forced by one of the readers:

- intake 2 lists only ``aliases``, so every entry has one (its own name);
- the top-level metadata never has a ``version`` key (intake 2 would take it for the format);
- blob keys have no extension, so the reader and the ``compression`` come from the *name*;
- intake 0.7's csv driver takes pandas options in ``csv_kwargs``, intake 2's reader flat;
- no credentials are written: readers take them from the environment, as boto3 does.

A Zarr store or a Parquet dataset (:mod:`~eoscatalog.interchange.datasets`) is ONE entry, read
through its pinned folder version, ``eos://org/x.zarr@3``: xarray's zarr engine (intake 2's
``XArrayDatasetReader``, intake-xarray's ``zarr`` driver) or pandas' ``read_parquet`` (intake 2's
``PandasParquet``, intake-parquet's ``parquet`` driver). Reading those needs eoscatalog (its
``eos://`` filesystem) configured for the store, as ``xr.open_zarr("eos://...")`` does.

Pure: the catalog hands in the records and where each blob can be read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from eoscatalog.interchange.datasets import Dataset
from eoscatalog.log.records import VersionRecord

__all__ = ["Reader", "intake_catalog", "reader_for"]

COMPRESSIONS = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zst": "zstd", ".zip": "zip"}
V2 = "intake.readers"


@dataclass(frozen=True)
class Reader:
    """How both intake generations read one kind of file.

    ``driver`` and ``args`` are intake 0.x's (``args`` besides ``urlpath``); ``datatype``,
    ``reader`` and ``kwargs`` intake 2's (``kwargs`` besides the data). ``open_compression``
    is the codec intake 2's file readers get through fsspec's storage options (its text and
    bytes readers take no compression argument of their own).
    """

    kind: str
    driver: str
    args: dict[str, Any]
    datatype: str
    reader: str
    kwargs: dict[str, Any]
    output: str
    open_compression: str | None = None


def reader_for(name: str) -> Reader:
    """The reader a name's extension calls for (compression included); bytes if unknown.

    >>> r = reader_for("runs/samples.tsv.gz")
    >>> r.kind, r.driver, r.kwargs
    ('csv', 'csv', {'sep': '\\t', 'compression': 'gzip'})
    >>> reader_for("model.bin").kind
    'bytes'
    """
    base = name.rsplit("/", 1)[-1].lower()
    compression = None
    for suffix, codec in COMPRESSIONS.items():
        if base.endswith(suffix) and base != suffix:
            base, compression = base[: -len(suffix)], codec
            break
    ext = base.rsplit(".", 1)[-1] if "." in base else ""
    if ext in ("csv", "tsv") and compression != "zip":
        options: dict[str, Any] = {"sep": "\t"} if ext == "tsv" else {}
        if compression:
            options["compression"] = compression
        return Reader("csv", "csv", {"csv_kwargs": dict(options)}, f"{V2}.datatypes:CSV",
                      f"{V2}.readers:PandasCSV", options, "pandas:DataFrame")
    if ext in ("parquet", "pq") and not compression:
        return Reader("parquet", "parquet", {}, f"{V2}.datatypes:Parquet",
                      f"{V2}.readers:PandasParquet", {}, "pandas:DataFrame")
    if ext in ("json", "jsonl", "ndjson", "geojson") and compression != "zip":
        lines = ext in ("jsonl", "ndjson")
        args = {"compression": compression} if compression else {}
        return Reader("json", "jsonl" if lines else "json", args, f"{V2}.datatypes:JSONFile",
                      f"{V2}.readers:FileTextReader", {}, "builtins:str", compression)
    if ext in ("txt", "text", "md", "log", "dat") and compression != "zip":
        args = {"compression": compression} if compression else {}
        return Reader("text", "textfiles", args, f"{V2}.datatypes:Text",
                      f"{V2}.readers:FileTextReader", {}, "builtins:str", compression)
    return Reader("bytes", "textfiles", {"text_mode": False, "decoder": "builtins.bytes"},
                  f"{V2}.datatypes:FileData", f"{V2}.readers:FileByteReader", {},
                  "builtins:bytes")


def _metadata(record: VersionRecord, reader: Reader) -> dict[str, Any]:
    return {
        "eos_uri": record.uri, "namespace": record.namespace, "name": record.name,
        "version": record.version, "hash": record.hash, "size": record.size,
        "created": record.created, "author": record.author, "tags": list(record.tags),
        "kind": reader.kind,
    }


def intake_catalog(
    entries: Sequence[tuple[str, VersionRecord]],
    location: Callable[[str], tuple[str, dict[str, Any] | None]],
    *,
    description: str,
    metadata: dict[str, Any],
    catalog_dir: str | None = None,
    datasets: Sequence[tuple[Dataset, str, dict[str, Any]]] = (),
) -> dict[str, Any]:
    """The dual v1/v2 catalog for ``(entry name, version)`` pairs, as YAML-ready data.

    ``location(hash)`` says where a blob can be read: a URL or path, and fsspec storage
    options (no credentials). Paths under ``catalog_dir`` (the folder the file is written to)
    are written relative to it (``{{ CATALOG_DIR }}/...`` for intake 0.x, ``{CATALOG_DIR}/...``
    for intake 2), so the catalog and a store beside it can move together, e.g. in a git
    repository. Entries keep the order given.

    ``datasets`` are ``(dataset, url, metadata)``: one entry each, named after the folder
    (``runs/r.zarr``), after the files' entries; ``url`` is its pinned folder version.
    """
    if "version" in metadata:
        raise ValueError("the top-level metadata cannot have a 'version' key (intake 2 reads "
                         "it as the file's format)")
    sources: dict[str, Any] = {}
    data: dict[str, Any] = {}
    v2_entries: dict[str, Any] = {}
    for entry, record in entries:
        if record.hash is None:
            raise RuntimeError(
                f"internal error: {record.uri} has no hash (a delete marker where bytes were "
                "expected); please report it"
            )
        url, options = location(record.hash)
        url_v1 = url_v2 = url
        if catalog_dir and url.startswith(catalog_dir.rstrip("/") + "/"):
            rest = url[len(catalog_dir.rstrip("/")) + 1:]
            url_v1, url_v2 = "{{ CATALOG_DIR }}/" + rest, "{CATALOG_DIR}/" + rest
        reader = reader_for(record.name)
        meta = _metadata(record, reader)
        sources[entry] = {
            "description": f"{record.uri} ({record.hash})",
            "driver": reader.driver,
            "args": {"urlpath": url_v1, **reader.args,
                     **({"storage_options": options} if options else {})},
            "metadata": meta,
        }
        token = f"{reader.kind}-{record.hash.split(':', 1)[1][:16]}"
        if reader.open_compression:
            token += f"-{reader.open_compression}"
        options_v2 = ({**(options or {}), "compression": reader.open_compression}
                      if reader.open_compression else options)
        data[token] = {
            "datatype": reader.datatype,
            "kwargs": {"url": url_v2, "storage_options": options_v2},
            "metadata": {}, "user_parameters": {},
        }
        v2_entries[entry] = {
            "reader": reader.reader,
            "kwargs": {"args": [f"{{data({token})}}"], **reader.kwargs},
            "output_instance": reader.output,
            "metadata": {**meta, "description": sources[entry]["description"]},
            "user_parameters": {},
        }
    for dataset, url, meta in datasets:
        _dataset_entry(dataset, url, meta, sources, data, v2_entries)
    return {
        "metadata": {"description": description, **metadata},
        "sources": sources,
        "version": 2,
        "aliases": {entry: entry for entry in v2_entries},
        "data": data,
        "entries": v2_entries,
        "user_parameters": {},
    }


def _dataset_entry(dataset: Dataset, url: str, meta: dict[str, Any], sources: dict[str, Any],
                   data: dict[str, Any], v2_entries: dict[str, Any]) -> None:
    """Add the v1 source, v2 data and v2 entry of one dataset folder."""
    description = f"{url} ({dataset.kind}, {len(dataset.names)} names)"
    token = f"{dataset.kind}-{hashlib.sha256(url.encode()).hexdigest()[:16]}"
    meta = {**meta, "kind": dataset.kind}
    if dataset.kind == "zarr":
        options: dict[str, Any] = {"consolidated": dataset.consolidated}
        sources[dataset.name] = {"description": description, "driver": "zarr",
                                 "args": {"urlpath": url, **options}, "metadata": meta}
        data[token] = {"datatype": f"{V2}.datatypes:Zarr",
                       "kwargs": {"url": url, "storage_options": None},
                       "metadata": {}, "user_parameters": {}}
        reader, kwargs, output = f"{V2}.readers:XArrayDatasetReader", {
            "engine": "zarr", **options}, "xarray:Dataset"
    else:
        sources[dataset.name] = {"description": description, "driver": "parquet",
                                 "args": {"urlpath": url}, "metadata": meta}
        data[token] = {"datatype": f"{V2}.datatypes:Parquet",
                       "kwargs": {"url": url, "storage_options": None},
                       "metadata": {}, "user_parameters": {}}
        reader, kwargs, output = f"{V2}.readers:PandasParquet", {}, "pandas:DataFrame"
    v2_entries[dataset.name] = {
        "reader": reader, "kwargs": {"args": [f"{{data({token})}}"], **kwargs},
        "output_instance": output, "metadata": {**meta, "description": description},
        "user_parameters": {},
    }
