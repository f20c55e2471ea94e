"""Deciding what a folder write means: tag, untag and roll back a folder, as changeset entries.

Pure functions over the index, like :mod:`eoscatalog.rules.planning`: the catalog calls them
again on every commit attempt, on the freshest state. A folder rollback is ONE changeset: names
changed since the target version get their old bytes back (``rollback`` entries), names added
since get delete markers, names deleted since come back.
"""

from __future__ import annotations

from eoscatalog.core.errors import ConflictError, NotFoundError
from eoscatalog.log.changesets import Entry
from eoscatalog.log.index import Index
from eoscatalog.log.records import VersionRecord
from eoscatalog.log.snapshot import Snapshot

__all__ = ["plan_folder_rollback", "plan_folder_tag", "plan_folder_untag"]

_SHOWN = 5  # names listed in an error, at most


def _uri(namespace: str, prefix: str) -> str:
    return f"eos://{namespace}/{prefix}"


def plan_folder_tag(index: Index, snap: Snapshot, tag: str, *, force: bool) -> list[Entry]:
    """Point the folder tag ``tag`` at the snapshot's folder version; moving it needs
    ``force``; nothing to write when it is there already."""
    current = index.folders.tags(snap.namespace, snap.prefix).get(tag)
    if current is not None and current[0] == snap.version:
        return []
    if current is not None and not force:
        folder = _uri(snap.namespace, snap.prefix)
        raise ConflictError(
            f"the folder tag {tag!r} is already on {folder[:-1]}@{current[0]}/; pass force=True "
            f"(`eos tag --force`) to move it to version {snap.version}"
        )
    return [Entry(op="folder-tag", name=snap.prefix, tag=tag, version=snap.version)]


def plan_folder_untag(index: Index, namespace: str, prefix: str, tag: str) -> list[Entry]:
    """Remove a folder tag; NotFoundError if the folder has no such tag."""
    tags = index.folders.tags(namespace, prefix)
    if tag not in tags:
        known = ", ".join(tags) or "none"
        raise NotFoundError(
            f"the folder {_uri(namespace, prefix)} has no tag {tag!r} (its folder tags: {known})"
        )
    return [Entry(op="folder-untag", name=prefix, tag=tag)]


def _unreadable(records: list[VersionRecord], now: str) -> list[VersionRecord]:
    return [r for r in records if r.purged or (r.expires is not None and r.expires <= now)]


def plan_folder_rollback(index: Index, snap: Snapshot, *, expires: str | None,
                         now: str) -> list[Entry]:
    """The entries that make the folder's latest state equal the snapshot's.

    A name whose version in the snapshot was purged or has expired cannot get its bytes back:
    the rollback is refused (ConflictError naming them) rather than done in part.
    """
    ns = snap.namespace
    target = index.folders.snapshot(ns, snap.prefix, snap.seq)
    lost = _unreadable(target, now)
    if lost:
        shown = ", ".join(r.uri for r in lost[:_SHOWN]) + (" ..." if len(lost) > _SHOWN else "")
        raise ConflictError(
            f"cannot roll {_uri(ns, snap.prefix)} back to {snap.uri}: {len(lost)} of its "
            f"versions were purged or have expired, and their bytes are gone ({shown}); roll "
            "back to another version, or restore those names one by one"
        )
    wanted = {r.name: r for r in target}
    current = {r.name: r for r in index.latest_under(ns, snap.prefix)}
    restore = [
        r for name, r in wanted.items()
        if (cur := current.get(name)) is None or cur.is_delete_marker
        or cur.hash != r.hash or cur.meta != r.meta
    ]
    remove = [name for name, cur in current.items()
              if name not in wanted and not cur.is_delete_marker]
    numbers = index.next_versions(ns, [r.name for r in restore] + remove)
    entries = [Entry(op="rollback", name=r.name, version=numbers[r.name], hash=r.hash,
                     size=r.size, source_version=r.version, meta=dict(r.meta), expires=expires)
               for r in restore]
    entries += [Entry(op="delete", name=name, version=numbers[name]) for name in remove]
    return sorted(entries, key=lambda e: e.name)
