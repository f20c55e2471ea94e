"""Catalogs out and in: Intake catalogs and YAML catalogs, for ``Catalog.to_intake``,
``Catalog.to_yaml`` and ``Catalog.import_yaml``.

The file formats are built by pure modules (:mod:`~eoscatalog.interchange.intake_catalog`,
:mod:`~eoscatalog.interchange.yaml_catalog`); this
module picks the versions, checks the blobs and publishes imports.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from eoscatalog.catalog.commit import Committer
from eoscatalog.catalog.folders import Folders, snapshot_digest
from eoscatalog.core.errors import InvalidCatalogFileError, NotFoundError
from eoscatalog.core.folder_reference import FolderReference
from eoscatalog.core.fsio import atomic_write
from eoscatalog.core.names import Location
from eoscatalog.interchange.datasets import Dataset, find_datasets
from eoscatalog.interchange.intake_catalog import intake_catalog
from eoscatalog.interchange.yaml_catalog import (
    dump_document,
    dump_yaml,
    parse_document,
    plan_import,
)
from eoscatalog.log.index import Index
from eoscatalog.log.records import VersionRecord
from eoscatalog.store import Store, blob_key

__all__ = ["import_yaml", "to_intake", "to_yaml", "write_text_atomically"]


def write_text_atomically(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to ``path`` (``~`` expanded) through a temporary file beside it: never a
    half-written file. Private (0o600), as exports have always been written.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "c.yaml"
    >>> write_text_atomically(p, "a: 1\\n").read_text()
    'a: 1\\n'
    """
    target = Path(path).expanduser()
    atomic_write(target, text, mode=0o600)
    return target


def to_intake(store: Store, folders: Folders, prefix: str | Location,
              path: str | os.PathLike[str] | None = None, *, latest_only: bool = False,
              tag: str | None = None, description: str | None = None) -> str:
    """An Intake catalog of the live names under ``prefix`` (or of a folder version's names,
    ``eos://org/data@3/``), as YAML text (also written to ``path`` when given): intake 0.6,
    0.7 and 2 open it alike.

    Each live name has an entry ``name`` (its latest version now) and, unless
    ``latest_only``, one per readable version (``name@N``; of a folder version, those up to
    it); with ``tag``, only the names with that tag, each as the tagged version. Every entry
    points at the blob's immutable URL, so it means the same bytes after new versions and
    rollbacks. Blobs of a local store inside the folder of ``path`` are written relative to
    the file (``CATALOG_DIR``), so both can move together.

    A Zarr store or a Parquet dataset folder (rules in
    :mod:`~eoscatalog.interchange.datasets`) is ONE entry named after the folder, read
    through its own folder version at the time exported (``eos://org/x.zarr@3``; with ``tag``,
    the folder version with that folder tag, if any); the names in it get no entries.

    >>> from eoscatalog import Catalog
    >>> import tempfile
    >>> cat = Catalog.open(store=f"file://{tempfile.mkdtemp()}", user="ada", create=True)
    >>> _ = cat.put_bytes(b"a,b\\n1,2\\n", "t.csv")
    >>> "t.csv@1" in cat.to_intake()
    True
    """
    index = folders.index
    found = folders.reference(prefix)
    seq: int | None = None
    if found is None:
        loc = folders.parser.prefix(prefix)
        files, source = list(folders.ls(loc, recursive=True).files), loc.uri
    else:
        snap = folders.reader.snapshots.resolve(found[0])
        loc, seq = Location(snap.namespace, snap.prefix + found[1]), snap.seq
        files, source = folders.records(snap, loc.name), snap.pinned.uri_of(loc.name)
    datasets = find_datasets([r.name for r in files], loc.name)
    inside = {n for d in datasets for n in d.names}
    chosen: list[tuple[str, VersionRecord]] = []
    for record in files:
        if record.name in inside:
            continue
        if tag is not None:
            tagged = index.tagged(loc.namespace, record.name, tag)
            if tagged is not None and tagged.hash and not tagged.purged:
                chosen.append((record.name, tagged))
            continue
        chosen.append((record.name, record))
        if not latest_only:
            chosen.extend(
                (f"{v.name}@{v.version}", v)
                for v in index.versions(loc.namespace, record.name)
                if v.hash and not v.purged and (seq is None or v.seq <= seq)
            )
    pinned = [p for p in (_pin(store, index, loc.namespace, d, files, seq, tag)
                          for d in datasets) if p is not None]
    if not chosen and not pinned:
        what = f"names tagged {tag!r}" if tag else "names"
        raise NotFoundError(
            f"no {what} under {source} to export: check the prefix with `eos ls {source}`"
        )
    catalog = intake_catalog(
        chosen, lambda h: store.reader_location(blob_key(h)),
        description=description or f"eoscatalog export of {source}",
        metadata={"eoscatalog": {
            # A local store's path differs per machine; an S3 store's URL does not.
            **({} if store.url.startswith("file:") else {"store": store.url}),
            "namespace": loc.namespace, "prefix": loc.name, "tag": tag,
            "latest_only": latest_only,
            **({"folder_version": source} if found else {}),
        }},
        catalog_dir=str(Path(path).expanduser().resolve().parent) if path else None,
        datasets=pinned,
    )
    text = dump_yaml(catalog)
    if path is not None:
        write_text_atomically(path, text)
    return text


def _pin(store: Store, index: Index, namespace: str, dataset: Dataset,
         files: list[VersionRecord], seq: int | None,
         tag: str | None) -> tuple[Dataset, str, dict[str, Any]] | None:
    """A dataset folder pinned to ITS OWN folder version (they are numbered per folder): the
    one current at ``seq`` (None: now), or the one its folder tag ``tag`` names (None if it
    has none). Returns ``(dataset, url, metadata)`` for the writer."""
    tags = index.folders.tags(namespace, dataset.folder)
    if tag is not None:
        if tag not in tags:
            return None
        version, at = tags[tag]
        records = index.folders.snapshot(namespace, dataset.folder, at)
        dataset = Dataset(dataset.folder, dataset.kind, tuple(r.name for r in records),
                          f"{dataset.folder}.zmetadata" in {r.name for r in records})
    else:
        seqs = index.folders.seqs(namespace, dataset.folder, until=seq)
        version, at = len(seqs), seqs[-1]
        names = set(dataset.names)
        records = [r for r in files if r.name in names]
    ref = FolderReference(namespace, dataset.folder, "version", version)
    meta: dict[str, Any] = {
        "eos_uri": ref.uri, "namespace": namespace, "name": dataset.folder,
        "version": version, "seq": at, "digest": snapshot_digest(records),
        "size": sum(r.size or 0 for r in records), "names": len(records),
        "created": index.folders.changeset_time(namespace, at),
        "tags": sorted(t for t, (v, _) in tags.items() if v == version),
        **({} if store.url.startswith("file:") else {"store": store.url}),
    }
    return dataset, ref.uri.rstrip("/"), meta


def to_yaml(index: Index, loc: Location, path: str | os.PathLike[str] | None = None) -> str:
    """Every name and version under ``loc`` (deleted and purged ones too) as a YAML catalog,
    also written to ``path`` when given; :func:`import_yaml` loads it back.

    >>> from eoscatalog import Catalog, MemoryStore
    >>> cat = Catalog(MemoryStore(), ":memory:", user="ada")
    >>> _ = cat.put_bytes(b"x", "a.txt")
    >>> print(cat.to_yaml().splitlines()[:2])
    ['format: 1', 'namespace: users/ada']
    """
    records = index.versions_under(loc.namespace, loc.name)
    if not records:
        raise NotFoundError(
            f"no names under {loc.uri} to export: check the prefix with `eos ls {loc.uri}`"
        )
    tags: dict[tuple[str, int], list[str]] = {}
    for record in records:
        for t in index.versions(loc.namespace, record.name)[record.version - 1].tags:
            tags.setdefault((record.name, record.version), []).append(t)
    with_tags = [
        VersionRecord(**{**r.__dict__, "tags": tuple(tags.get((r.name, r.version), ()))})
        for r in records
    ]
    text = dump_document(loc.namespace, loc.name, with_tags)
    if path is not None:
        write_text_atomically(path, text)
    return text


def import_yaml(committer: Committer, path: str | os.PathLike[str], *,
                message: str = "") -> list[str]:
    """Load a YAML catalog (``to_yaml``, ``eos export yaml``); return the names it added to.

    Everything is checked before anything is written: the file's form, that every
    readable version's blob is in the store with the right size, and that versions and
    tags the namespace already has agree with the file. The import is then ONE changeset:
    all of it or none. Versions keep their numbers, times and authors.
    """
    source = Path(path).expanduser()
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as e:
        raise NotFoundError(f"cannot read {source}: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        raise InvalidCatalogFileError(
            f"{source} is not a YAML catalog: it is not UTF-8 text (byte {e.start}); import "
            "takes the file `eos export yaml` writes"
        ) from None
    document = parse_document(text, source=str(source))
    _check_blobs(committer.store, document.namespace, [
        v for h in document.names for v in h.versions if v.hash and not v.purged
    ])
    changeset = committer.commit(
        document.namespace, lambda: plan_import(committer.index, document),
        message or f"import {source.name}",
    )
    return sorted({e.name for e in changeset.entries}) if changeset else []


def _check_blobs(store: Store, namespace: str, versions: list[VersionRecord]) -> None:
    missing, wrong = [], []
    seen: dict[str, int] = {}
    for v in versions:
        if v.hash is None:
            raise RuntimeError(
                f"internal error: {v.uri} has no hash (a delete marker where bytes were "
                "expected); please report it"
            )
        if v.hash in seen:
            if seen[v.hash] >= 0 and seen[v.hash] != v.size:
                wrong.append(f"{v.name}@{v.version} ({v.size} bytes, the blob has "
                             f"{seen[v.hash]})")
            continue
        try:
            seen[v.hash] = store.head(blob_key(v.hash)).size
            # Mark it used now, so gc spares it until the import's changeset names it.
            store.touch(blob_key(v.hash))
        except NotFoundError:
            seen[v.hash] = -1
            missing.append(f"{v.name}@{v.version} ({v.hash})")
            continue
        if seen[v.hash] != v.size:
            wrong.append(f"{v.name}@{v.version} ({v.size} bytes, the blob has "
                         f"{seen[v.hash]})")
    if missing or wrong:
        problems = [f"{len(missing)} missing: " + ", ".join(missing[:5])] if missing else []
        problems += [f"{len(wrong)} of the wrong size: " + ", ".join(wrong[:5])] if wrong \
            else []
        raise NotFoundError(
            f"cannot import into eos://{namespace}/: the store {store.url} lacks the "
            f"bytes of some versions ({'; '.join(problems)}). Copy the blobs into the "
            "store first (or import into the store they live in); nothing was written"
        )
