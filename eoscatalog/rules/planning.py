"""Deciding what a write means: pure functions from the index's state to changeset entries.

The catalog calls these again on every commit attempt, on top of the freshest state, so a
writer that lost a race recomputes its version numbers (and may find nothing left to do).
Nothing here does I/O beyond reading the index.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from eoscatalog.core.errors import ConflictError, DeletedError, InvalidMetadataError, NotFoundError
from eoscatalog.core.names import Reference
from eoscatalog.log.changesets import Entry
from eoscatalog.log.index import Index
from eoscatalog.rules.resolution import check_settled, lookup, require_readable, restorable_before

__all__ = [
    "MAX_META_BYTES",
    "PutItem",
    "normalize_meta",
    "plan_deletes",
    "plan_purge",
    "plan_put",
    "plan_rm",
    "plan_rollback",
    "plan_tag",
    "plan_undelete",
    "plan_undelete_folder",
    "plan_untag",
]


# Metadata travels in the changeset every client downloads: a version's metadata is capped at
# 64 KiB of JSON (as stored: compact, UTF-8), so one put cannot make the log heavy for everyone.
MAX_META_BYTES = 64 * 1024


@dataclass(frozen=True)
class PutItem:
    """A name to point at stored bytes (already uploaded), with its metadata."""

    name: str
    hash: str
    size: int
    meta: dict[str, Any] = field(default_factory=dict)
    source: str | None = None


def plan_put(
    index: Index, namespace: str, items: Sequence[PutItem], *, expires: str | None = None
) -> list[Entry]:
    """New versions for the items whose content or metadata differ from their latest version.

    A name whose latest version is a delete marker gets a new version even with equal bytes.
    """
    entries = []
    names = [item.name for item in items]
    latest_of = index.records_of(namespace, dict.fromkeys(names))
    next_of = index.next_versions(namespace, names)  # a name given twice: the first wins
    for item in items:
        latest = latest_of.get(item.name)
        unchanged = (
            latest is not None
            and not latest.is_delete_marker
            and latest.hash == item.hash
            and latest.meta == item.meta
        )
        if unchanged and latest is not None:  # (unchanged implies it; this says so to mypy)
            if expires is not None and latest.expires != expires:
                # A scratch name put again unchanged: renew its expiry, make no version.
                entries.append(
                    Entry(op="expire", name=item.name, version=latest.version, expires=expires)
                )
            continue
        entries.append(Entry(
            op="copy" if item.source else "put",
            name=item.name,
            version=next_of[item.name],
            hash=item.hash,
            size=item.size,
            source=item.source,
            meta=dict(item.meta),
            expires=expires,
        ))
    return entries


def normalize_meta(meta: dict[str, Any] | None) -> dict[str, Any]:
    """Metadata as it will read back from the log (JSON), or InvalidMetadataError.

    Metadata larger than :data:`MAX_META_BYTES` as stored is refused too.

    >>> normalize_meta({"shape": (3, 4)})
    {'shape': [3, 4]}
    """
    if meta is None:
        return {}
    if not isinstance(meta, dict):
        raise InvalidMetadataError(f"metadata must be a dict, not {type(meta).__name__}")
    try:
        # a dict dumps to a JSON object, which loads back as a dict
        normalized: dict[str, Any] = json.loads(json.dumps(meta, sort_keys=True, allow_nan=False))
    except (TypeError, ValueError) as e:
        raise InvalidMetadataError(
            f"metadata must be JSON (strings, numbers, booleans, lists, dicts): {e}"
        ) from None
    size = len(json.dumps(normalized, ensure_ascii=False, separators=(",", ":")).encode())
    if size > MAX_META_BYTES:
        raise InvalidMetadataError(
            f"metadata is {size:,} bytes of JSON, over the limit of {MAX_META_BYTES:,} bytes "
            "(64 KiB) per version: every client downloads it with the log. Store large "
            "values as a file of their own and put its name in the metadata"
        )
    return normalized


def plan_deletes(index: Index, namespace: str, names: Sequence[str]) -> list[Entry]:
    """Delete markers for those names whose latest version is readable (others are skipped:
    a sync that deletes what is already gone has nothing to do)."""
    entries = []
    for name in names:
        latest = index.latest(namespace, name)
        if latest is not None and not latest.is_delete_marker:
            version = index.next_version(namespace, name)
            entries.append(Entry(op="delete", name=name, version=version))
    return entries


def plan_rm(index: Index, namespace: str, name: str) -> list[Entry]:
    """A delete marker on top of a live latest version."""
    latest = index.latest(namespace, name)
    if latest is None:
        raise NotFoundError(f"no name {name!r} in {namespace}: nothing to delete")
    if latest.is_delete_marker:
        raise DeletedError(
            f"eos://{namespace}/{name} is already deleted (version {latest.version}, "
            f"{latest.created} by {latest.author})",
            deleted_at=latest.created,
            deleted_by=latest.author,
        )
    # Not latest.version + 1: purged versions keep their numbers and latest skips them.
    return [Entry(op="delete", name=name, version=index.next_version(namespace, name))]


def plan_undelete(
    index: Index, namespace: str, name: str, *, expires: str | None = None,
    now: str | None = None,
) -> list[Entry]:
    """A new version that brings back the newest readable version before the delete marker
    (at ``now``: expired scratch versions are not readable, and gc may have taken their
    bytes)."""
    latest = index.latest(namespace, name)
    if latest is None:
        raise NotFoundError(f"no name {name!r} in {namespace}: nothing to undelete")
    if not latest.is_delete_marker:
        raise ConflictError(
            f"eos://{namespace}/{name} is not deleted: its latest version {latest.version} is "
            "readable, so there is nothing to undelete"
        )
    target = restorable_before(index, latest, now)
    if target is None:
        raise NotFoundError(
            f"eos://{namespace}/{name} has no earlier readable version to restore (purged or "
            "expired)"
        )
    return [Entry(
        op="undelete", name=name, version=index.next_version(namespace, name),
        hash=target.hash, size=target.size, source_version=target.version,
        meta=dict(target.meta), expires=expires,
    )]


def plan_undelete_folder(
    index: Index, namespace: str, folder: str, *, expires: str | None = None,
    now: str | None = None,
) -> list[Entry]:
    """A new version for every name under ``folder`` whose latest version is a delete marker,
    bringing back its newest readable version before it (names with none left, purged or
    expired, are skipped). NotFoundError when no name under it can be brought back."""
    restored = []
    for latest in index.latest_under(namespace, folder):
        target = restorable_before(index, latest, now) if latest.is_delete_marker else None
        if target is not None:
            restored.append(target)
    numbers = index.next_versions(namespace, [t.name for t in restored])
    entries = [Entry(op="undelete", name=t.name, version=numbers[t.name], hash=t.hash,
                     size=t.size, source_version=t.version, meta=dict(t.meta), expires=expires)
               for t in restored]
    if not entries:
        raise NotFoundError(f"nothing to undelete under eos://{namespace}/{folder}: no name "
                            "there is deleted with an earlier readable version (see `eos ls "
                            "--deleted`)")
    return entries


def plan_rollback(
    index: Index, target_ref: Reference, now: datetime, *, expires: str | None = None
) -> list[Entry]:
    """A new version carrying the bytes of the version ``target_ref`` selects.

    Nothing is written when the latest version already holds those bytes and metadata.
    """
    ns, name = target_ref.namespace, target_ref.name
    check_settled(target_ref, now)
    target = require_readable(index, target_ref, lookup(index, target_ref), now)
    latest = index.latest(ns, name)
    if (
        latest is not None
        and not latest.is_delete_marker
        and latest.hash == target.hash
        and latest.meta == target.meta
    ):
        return []
    return [Entry(
        op="rollback", name=name, version=index.next_version(ns, name), hash=target.hash,
        size=target.size, source_version=target.version, meta=dict(target.meta),
        expires=expires,
    )]


def plan_tag(
    index: Index, ref: Reference, tag: str, *, force: bool, now: datetime
) -> list[Entry]:
    """Point ``tag`` at the version ``ref`` selects; moving an existing tag needs ``force``."""
    check_settled(ref, now)
    target = require_readable(index, ref, lookup(index, ref), now)
    current = index.tagged(ref.namespace, ref.name, tag)
    if current is not None and current.version == target.version:
        return []
    if current is not None and not force:
        raise ConflictError(
            f"tag {tag!r} is already on {current.uri}; pass force=True (`eos tag --force`) "
            f"to move it to version {target.version}"
        )
    return [Entry(op="tag", name=ref.name, tag=tag, version=target.version)]


def plan_untag(index: Index, namespace: str, name: str, tag: str) -> list[Entry]:
    """Remove ``tag`` from a name; NotFoundError if the name has no such tag."""
    if index.tagged(namespace, name, tag) is None:
        raise NotFoundError(f"eos://{namespace}/{name} has no tag {tag!r}")
    return [Entry(op="untag", name=name, tag=tag)]


def plan_purge(index: Index, namespace: str, name: str, version: int | None) -> list[Entry]:
    """Mark one version (or, with ``version=None``, every version) of a name purged."""
    history = index.versions(namespace, name)
    if not history:
        raise NotFoundError(f"no name {name!r} in {namespace}: nothing to purge")
    if version is not None:
        chosen = [r for r in history if r.version == version]
        if not chosen:
            raise NotFoundError(
                f"eos://{namespace}/{name} has no version {version}: its versions are "
                f"1..{history[-1].version}"
            )
    else:
        chosen = history
    targets = tuple(r.version for r in chosen if not r.purged)
    if not targets:
        return []
    return [Entry(op="purge", name=name, versions=targets)]
