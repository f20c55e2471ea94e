"""YAML catalogs: every name and version under a prefix, readable and git-diffable.

``eos export yaml`` writes one; ``eos import`` loads one into a store that holds its blobs. The
file is the catalog's contents, not its log: names sorted, versions ascending, each with its
hash, size, kind, time, author and metadata, and each name's tags. Re-importing it into an
empty catalog over the same blobs reproduces the same versions (numbers, hashes, kinds, times,
authors, metadata and tags).

Pure functions: the catalog reads the records, checks blobs and publishes the entries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import yaml

from eoscatalog.core.errors import (
    ConflictError,
    InvalidCatalogFileError,
    InvalidMetadataError,
    InvalidNameError,
)
from eoscatalog.core.hashing import parse_hash
from eoscatalog.core.names import validate_name, validate_namespace, validate_tag
from eoscatalog.core.units import format_time, parse_time
from eoscatalog.log.changesets import VERSION_OPS, Entry
from eoscatalog.log.index import Index
from eoscatalog.log.records import VersionRecord
from eoscatalog.rules.planning import normalize_meta

__all__ = [
    "FORMAT",
    "Document",
    "NameHistory",
    "dump_document",
    "dump_yaml",
    "parse_document",
    "plan_import",
]

FORMAT = 1
_FIELDS = ("version", "kind", "hash", "size", "created", "author", "message", "source_version",
           "source", "expires", "purged", "meta")


class _PlainDumper(yaml.SafeDumper):
    """A SafeDumper that writes repeated values out again instead of as ``&id``/``*id``."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


# Line breaks YAML would turn into spaces inside a plain or single-quoted scalar.
_BREAKS = ("\x85", "\u2028", "\u2029")


def _represent_text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    if any(ch in text for ch in _BREAKS):
        return dumper.represent_scalar("tag:yaml.org,2002:str", text, style='"')  # escaped
    return dumper.represent_str(text)


_PlainDumper.add_representer(str, _represent_text)


def dump_yaml(data: Any) -> str:
    """YAML text for people and git: block style, keys in the order built, no anchors.

    >>> print(dump_yaml({"version": 2, "a": [], "b": []}), end="")
    version: 2
    a: []
    b: []
    """
    return yaml.dump(data, Dumper=_PlainDumper, sort_keys=False, default_flow_style=False,
                     width=100, allow_unicode=True)


@dataclass(frozen=True)
class NameHistory:
    """One name in a YAML catalog: every version, oldest first, and its tags."""

    name: str
    versions: tuple[VersionRecord, ...]
    tags: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Document:
    """A parsed YAML catalog: one namespace's names under a prefix."""

    namespace: str
    prefix: str
    names: tuple[NameHistory, ...]


def _version_data(record: VersionRecord) -> dict[str, Any]:
    data: dict[str, Any] = {
        "version": record.version, "kind": record.kind, "hash": record.hash,
        "size": record.size, "created": record.created, "author": record.author,
        "message": record.message, "source_version": record.source_version,
        "source": record.source, "expires": record.expires, "purged": record.purged,
        "meta": dict(record.meta),
    }
    # Empty fields are left out so the file stays short; their absence means the default.
    # (Not `v in (None, "", {}, False)`: 0 == False, and an empty file has size 0.)
    return {k: v for k, v in data.items()
            if v is not None and v is not False and v != "" and v != {}}


def dump_document(namespace: str, prefix: str, records: Sequence[VersionRecord]) -> str:
    """The YAML text for every version in ``records`` (sorted by name, then version).

    >>> r = VersionRecord("org", "a.csv", 1, "put", "blake3:" + "0" * 64, 3,
    ...                   "2026-01-01T00:00:00.000000Z", "ada", tags=("v1",))
    >>> print(dump_document("org", "", [r]), end="")  # doctest: +ELLIPSIS
    format: 1
    namespace: org
    prefix: ''
    names:
      a.csv:
        versions:
        - version: 1
          kind: put
          hash: blake3:000...
          size: 3
          created: '2026-01-01T00:00:00.000000Z'
          author: ada
        tags:
          v1: 1
    """
    names: dict[str, dict[str, Any]] = {}
    for record in sorted(records, key=lambda r: (r.name, r.version)):
        entry = names.setdefault(record.name, {"versions": []})
        entry["versions"].append(_version_data(record))
        for tag in record.tags:
            entry.setdefault("tags", {})[tag] = record.version
    for entry in names.values():
        if "tags" in entry:
            entry["tags"] = dict(sorted(entry["tags"].items()))
    document = {"format": FORMAT, "namespace": namespace, "prefix": prefix, "names": names}
    return dump_yaml(document)


class _Checker:
    """Raises InvalidCatalogFileError naming the file and the entry at fault."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, problem: str) -> InvalidCatalogFileError:
        return InvalidCatalogFileError(
            f"{self.source}: {where}: {problem}; fix the file (`eos export yaml` writes valid "
            "ones)"
        )

    def mapping(self, value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, f"expected a mapping, found {type(value).__name__}")
        return value

    def integer(self, value: Any, where: str, *, minimum: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.fail(where, f"expected a whole number of at least {minimum}, found "
                                   f"{value!r}")
        return value

    def text(self, value: Any, where: str) -> str:
        if isinstance(value, datetime):  # an unquoted time, read by YAML as a timestamp
            return format_time(value)
        if not isinstance(value, str):
            raise self.fail(where, f"expected text, found {value!r}")
        return value


def parse_document(text: str, *, source: str = "catalog file") -> Document:
    """Parse and check a YAML catalog; InvalidCatalogFileError names what is wrong and where.

    >>> doc = parse_document(dump_document("org", "", []))
    >>> doc.namespace, doc.names
    ('org', ())
    """
    check = _Checker(source)
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise check.fail("YAML", str(e).replace("\n", " ")) from None
    top = check.mapping(raw, "the document")
    if top.get("format") != FORMAT:
        raise check.fail("format", f"this client reads format {FORMAT}, found "
                                   f"{top.get('format')!r}")
    try:
        namespace = validate_namespace(check.text(top.get("namespace"), "namespace"))
    except InvalidNameError as e:
        raise check.fail("namespace", str(e)) from None
    prefix = check.text(top.get("prefix", ""), "prefix")
    histories = []
    for name, body in check.mapping(top.get("names") or {}, "names").items():
        history = _parse_name(check, namespace, name, check.mapping(body, str(name)))
        if not history.name.startswith(prefix):
            raise check.fail(history.name, f"the name is not under the file's prefix {prefix!r}")
        histories.append(history)
    return Document(namespace, prefix, tuple(histories))


def _parse_name(check: _Checker, namespace: str, name: Any, body: dict[str, Any]) -> NameHistory:
    try:
        name = validate_name(check.text(name, "a name"))
    except InvalidNameError as e:
        raise check.fail(f"name {name!r}", str(e)) from None
    raw_versions = body.get("versions")
    if not isinstance(raw_versions, list) or not raw_versions:
        raise check.fail(name, "expected a non-empty list of versions")
    versions: list[VersionRecord] = []
    for i, raw in enumerate(raw_versions, start=1):
        where = f"{name}@{i}"
        data = check.mapping(raw, where)
        unknown = set(data) - set(_FIELDS)
        if unknown:
            raise check.fail(where, f"unknown fields {sorted(unknown)}")
        if check.integer(data.get("version"), f"{where} version", minimum=1) != i:
            raise check.fail(where, f"versions must be numbered 1, 2, 3... in order; found "
                                    f"{data.get('version')!r} in place {i}")
        kind = data.get("kind")
        if kind not in VERSION_OPS:
            raise check.fail(where, f"kind {kind!r} is not one of {', '.join(VERSION_OPS)}")
        try:
            hash_ = None if kind == "delete" else parse_hash(check.text(data.get("hash"),
                                                                        f"{where} hash"))
            created = format_time(parse_time(check.text(data.get("created"), f"{where} created")))
            expires = data.get("expires")
            expires = format_time(parse_time(check.text(expires, f"{where} expires"))) \
                if expires is not None else None
            meta = normalize_meta(data.get("meta") or {})
        except InvalidCatalogFileError:
            raise
        except InvalidMetadataError as e:
            raise InvalidMetadataError(f"{check.source}: {where}: {e}") from None
        except (InvalidNameError, ValueError) as e:
            raise check.fail(where, str(e)) from None
        if kind == "delete" and data.get("hash") is not None:
            raise check.fail(where, "a delete marker has no hash")
        source_version = data.get("source_version")
        if kind in ("rollback", "undelete"):
            source_version = check.integer(source_version, f"{where} source_version", minimum=1)
            if source_version >= i:
                raise check.fail(where, f"{kind} of version {source_version}, which is not older")
            if versions[source_version - 1].hash is None:
                raise check.fail(where, f"{kind} of version {source_version}, a delete marker")
        versions.append(VersionRecord(
            namespace, name, i, kind, hash_,
            None if kind == "delete" else check.integer(data.get("size"), f"{where} size",
                                                        minimum=0),
            created, check.text(data.get("author"), f"{where} author"),
            message=check.text(data.get("message", ""), f"{where} message"),
            source_version=source_version,
            source=data.get("source") if isinstance(data.get("source"), str) else None,
            expires=expires, purged=bool(data.get("purged", False)), meta=meta,
        ))
    tags: dict[str, int] = {}
    for tag, number in check.mapping(body.get("tags") or {}, f"{name} tags").items():
        try:
            tag = validate_tag(tag)
        except InvalidNameError as e:
            raise check.fail(f"{name} tags", str(e)) from None
        number = check.integer(number, f"{name} tag {tag}", minimum=1)
        if number > len(versions) or versions[number - 1].hash is None \
                or versions[number - 1].purged:
            raise check.fail(f"{name} tag {tag}", f"version {number} is not a readable version")
        tags[tag] = number
    return NameHistory(name, tuple(versions), tags)


def plan_import(index: Index, document: Document) -> list[Entry]:
    """The entries that make the index hold the document's versions and tags.

    Versions the namespace already has must be the same (number, kind, hash, size); the rest
    continue each name's history with their own numbers, times and authors. A tag that points
    elsewhere already is a conflict. Raises ConflictError naming the first disagreement.
    """
    ns = document.namespace
    entries: list[Entry] = []
    purges: list[Entry] = []
    for history in document.names:
        existing = index.versions(ns, history.name)
        for have, want in zip(existing, history.versions, strict=False):
            if (have.kind, have.hash, have.size) != (want.kind, want.hash, want.size):
                raise ConflictError(
                    f"{have.uri} is a {have.kind} of {have.hash} in this catalog but a "
                    f"{want.kind} of {want.hash} in the file: import into another namespace "
                    "or prefix, or purge the name first"
                )
        floor = existing[-1].created if existing else ""
        for want in history.versions[len(existing):]:
            # Times of one name never go backwards (``@<time>`` relies on it).
            floor = max(floor, want.created)
            entries.append(Entry(
                op=want.kind, name=history.name, version=want.version, hash=want.hash,
                size=want.size, source_version=want.source_version, source=want.source,
                expires=want.expires, meta=dict(want.meta), created=floor, author=want.author,
                message=want.message,
            ))
        purged = tuple(v.version for v in history.versions[len(existing):] if v.purged)
        if purged:
            purges.append(Entry(op="purge", name=history.name, versions=purged))
        have_tags = {t: r.version for r in existing for t in r.tags}
        for tag, number in sorted(history.tags.items()):
            if have_tags.get(tag) == number:
                continue
            if tag in have_tags:
                raise ConflictError(
                    f"eos://{ns}/{history.name}@{tag} is version {have_tags[tag]} in this "
                    f"catalog but {number} in the file: untag it first, or drop the tag from "
                    "the file"
                )
            entries.append(Entry(op="tag", name=history.name, tag=tag, version=number))
    return entries + purges
