"""Resolving references against the index: which version a reference means, or why none.

Pure lookups over an :class:`~eoscatalog.log.index.Index`; bringing the index up to date first is
the catalog's job. Every failure names what was asked, what exists and what to do.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from eoscatalog.core.errors import (
    AmbiguousReferenceError,
    DeletedError,
    InvalidNameError,
    NotFoundError,
)
from eoscatalog.core.names import Reference
from eoscatalog.core.units import format_time
from eoscatalog.log.index import Index
from eoscatalog.log.records import VersionRecord

__all__ = [
    "SETTLE_SECONDS",
    "check_settled",
    "lookup",
    "require_readable",
    "resolve_in_index",
    "restorable_before",
]

# A changeset still being written when a client reads the log, or a store time cut to the
# whole second, could still land at or before a time this recent: answering such a time waits
# until it is this far in the past (by this client's clock) and reads the log again.
SETTLE_SECONDS = 5.0


def check_settled(ref: Reference, now: datetime) -> float:
    """Seconds to wait before a time reference's answer is settled (0 if it is); a time still
    to come is refused: commits could land before it, so its answer could change.
    """
    if ref.kind != "time" or not isinstance(ref.value, datetime):
        return 0.0
    if ref.value > now:
        raise InvalidNameError(
            f"{ref.uri} names a time still to come (this client's clock says "
            f"{format_time(now)}): changes committed before it would change its answer. "
            "Name a time already past, or drop the '@...' part for the latest version"
        )
    return max(0.0, (ref.value + timedelta(seconds=SETTLE_SECONDS) - now).total_seconds())


def lookup(index: Index, ref: Reference) -> VersionRecord | None:
    """The version ``ref`` selects in the index, or None; raises only for ambiguous hashes."""
    ns, name = ref.namespace, ref.name
    if ref.kind == "latest":
        return index.latest(ns, name)
    if ref.kind == "version":
        if not isinstance(ref.value, int):
            raise InvalidNameError(
                f"{ref.uri}: a version reference needs a number, not {ref.value!r}"
            )
        return index.version(ns, name, ref.value)
    if ref.kind == "tag":
        if not isinstance(ref.value, str):
            raise InvalidNameError(
                f"{ref.uri}: a {ref.kind} reference needs text, not {ref.value!r}"
            )
        return index.tagged(ns, name, ref.value)
    if ref.kind == "hash":
        if not isinstance(ref.value, str):
            raise InvalidNameError(
                f"{ref.uri}: a {ref.kind} reference needs text, not {ref.value!r}"
            )
        matches = [r for r in index.by_hash_prefix(ns, name, ref.value) if not r.purged]
        distinct = sorted({r.hash for r in matches if r.hash})
        if len(distinct) > 1:
            listing = ", ".join(
                f"@{r.version} {r.hash[:20]}" for r in matches if r.hash
            )
            raise AmbiguousReferenceError(
                f"{ref.uri} matches {len(distinct)} different contents ({listing}): "
                "give more hex digits"
            )
        # Several versions may carry the same bytes (a rollback): any of them is the same data,
        # the newest is reported.
        return matches[-1] if matches else None
    if ref.kind != "time" or not isinstance(ref.value, datetime):
        raise InvalidNameError(
            f"{ref.uri}: unknown reference kind {ref.kind!r} (value {ref.value!r})"
        )
    return index.at_time(ns, name, format_time(ref.value))


def require_readable(
    index: Index, ref: Reference, record: VersionRecord | None, now: datetime
) -> VersionRecord:
    """Return ``record`` if it holds readable bytes, else raise the error that explains why."""
    ns, name = ref.namespace, ref.name
    where = f"eos://{ns}/{name}"
    if record is None:
        history = index.versions(ns, name)
        if not history:
            raise NotFoundError(
                f"no name {name!r} in {ns}: check the spelling and the namespace (a bare name "
                "is in users/me; shared data is under eos://org/)"
            )
        if ref.kind == "latest":
            raise NotFoundError(
                f"every version of {where} was purged; it has no readable version left"
            )
        if ref.kind == "version":
            raise NotFoundError(
                f"{where} has no version {ref.value}: its versions are 1..{history[-1].version} "
                f"(see `eos versions {where}`)"
            )
        if ref.kind == "tag":
            tags = sorted({t for r in history for t in r.tags})
            known = ", ".join(tags) if tags else "none"
            raise NotFoundError(f"{where} has no tag {ref.value!r} (its tags: {known})")
        if ref.kind == "hash":
            raise NotFoundError(
                f"no version of {where} has a hash starting with {ref.value} "
                f"(see `eos versions {where}`)"
            )
        first = index.first_time(ns, name) or history[0].created
        recorded = "" if first == history[0].created else (
            f" (it says {history[0].created}; time references count from when the store "
            "recorded it)"
        )
        raise NotFoundError(
            f"{where} did not exist at {ref.selector[1:]}: its first version was made at "
            f"{first}{recorded}"
        )
    if record.purged:
        raise NotFoundError(
            f"{record.uri} was purged: its bytes were removed on purpose and cannot be read"
        )
    if record.is_delete_marker:
        restorable = restorable_before(index, record)
        hint = (
            f"`eos undelete {where}` restores version {restorable.version}, or read it "
            f"pinned as {where}@{restorable.version}"
            if restorable
            else "no earlier version is left to restore"
        )
        when = "is" if ref.kind == "latest" else f"was, at {ref.uri},"
        raise DeletedError(
            f"{where} {when} deleted (version {record.version}, a delete marker made "
            f"{record.created} by {record.author}): {hint}",
            deleted_at=record.created,
            deleted_by=record.author,
        )
    if record.expires and record.expires <= format_time(now):
        raise NotFoundError(
            f"{record.uri} expired at {record.expires} (scratch names are temporary); promote "
            "scratch files you want to keep to a permanent name before their TTL runs out"
        )
    return record


def resolve_in_index(index: Index, ref: Reference, now: datetime) -> VersionRecord:
    """``check_settled``, ``lookup`` then ``require_readable``."""
    check_settled(ref, now)
    return require_readable(index, ref, lookup(index, ref), now)


def restorable_before(index: Index, marker: VersionRecord,
                      now: str | None = None) -> VersionRecord | None:
    """The newest readable version before a delete marker: what undelete brings back.

    With ``now``, scratch versions that expired by then do not count.
    """
    for record in reversed(index.versions(marker.namespace, marker.name)):
        expired = now is not None and record.expires is not None and record.expires <= now
        if record.version < marker.version and record.hash and not record.purged \
                and not expired:
            return record
    return None

