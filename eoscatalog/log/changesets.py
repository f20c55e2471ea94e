"""The catalog log: per-namespace, append-only changesets and checkpoints in the store.

Layout under the store root::

    catalog/<namespace>/log/<seq, 12 digits>.json          one immutable changeset
    catalog/<namespace>/checkpoints/<seq, 12 digits>.sqlite   the namespace's state at seq

A changeset takes the next sequence number with a create-if-absent write, so two writers can
never both own seq N. :meth:`Log.append` raises PreconditionFailedError to the loser, who replays
the winner's changeset and tries N+1.
"""

from __future__ import annotations

import copy
import json
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from eoscatalog.core.errors import ConflictError, PreconditionFailedError, StoreError
from eoscatalog.core.names import NAMESPACE_KINDS
from eoscatalog.store import Store

__all__ = [
    "FOLDER_OPS",
    "FORMAT",
    "OTHER_OPS",
    "VERSION_OPS",
    "Changeset",
    "Entry",
    "Log",
    "changeset_key",
    "changesets_written",
    "checkpoint_key",
    "list_namespaces",
    "no_conditional_writes_error",
    "store_time",
]

FORMAT = 1
SEQ_WIDTH = 12
# Entry operations that add a version to their name; the others act on existing versions.
VERSION_OPS = ("put", "delete", "rollback", "undelete", "copy")
OTHER_OPS = ("tag", "untag", "purge", "expire", "folder-tag", "folder-untag")
# Ops on a folder (``name`` is a prefix ending with ``/``, or "" for the namespace's root).
FOLDER_OPS = ("folder-tag", "folder-untag")


def changeset_key(namespace: str, seq: int) -> str:
    """The key of a namespace's changeset ``seq``.

    >>> changeset_key("org", 7)
    'catalog/org/log/000000000007.json'
    """
    return f"catalog/{namespace}/log/{seq:0{SEQ_WIDTH}d}.json"


def checkpoint_key(namespace: str, seq: int) -> str:
    """The key of a namespace's checkpoint at ``seq``.

    >>> checkpoint_key("users/ada", 100)
    'catalog/users/ada/checkpoints/000000000100.sqlite'
    """
    return f"catalog/{namespace}/checkpoints/{seq:0{SEQ_WIDTH}d}.sqlite"


def store_time(modified: str | None) -> str | None:
    """The store's write time of an object (``ObjectInfo.modified``) in the log's time form,
    cut to whole seconds: S3 reports whole seconds, in a listing and a HEAD alike, so every
    client derives the same time from either.

    >>> store_time("2026-06-01T12:30:07.123456+02:00")
    '2026-06-01T10:30:07.000000Z'
    >>> store_time(None) is None
    True
    """
    if not modified:
        return None
    moment = datetime.fromisoformat(modified.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    moment = moment.astimezone(timezone.utc).replace(microsecond=0)
    return (f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:"
            f"{moment.minute:02d}:{moment.second:02d}.000000Z")


def _seq_of(key: str) -> int | None:
    stem = key.rsplit("/", 1)[-1].split(".", 1)[0]
    return int(stem) if stem.isdigit() and len(stem) == SEQ_WIDTH else None


@dataclass(frozen=True)
class Entry:
    """One change in a changeset.

    Version-making ops (``put``, ``delete``, ``rollback``, ``undelete``, ``copy``) carry the new
    ``version`` of ``name``; ``source_version`` is the version a rollback or undelete restores.
    ``tag``/``untag`` carry ``tag`` and (for tag) the ``version`` tagged; ``folder-tag`` and
    ``folder-untag`` do the same for the folder ``name`` (a prefix ending with ``/``) and one
    of its folder versions; ``purge`` carries the
    purged ``versions``; ``expire`` sets a scratch version's new ``expires``. Imported versions
    (``eos import``) keep their original ``created`` time, ``author`` and ``message``; other
    entries take their changeset's.
    """

    op: str
    name: str
    version: int | None = None
    hash: str | None = None
    size: int | None = None
    source_version: int | None = None
    source: str | None = None
    tag: str | None = None
    versions: tuple[int, ...] = ()
    expires: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    created: str | None = None
    author: str | None = None
    message: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The entry as JSON-ready data, without empty fields."""
        # Field by field: dataclasses.asdict deep-copies every value, which made writing a
        # changeset of 10,000 entries take seconds.
        data = {f: getattr(self, f) for f in self.__dataclass_fields__}
        data["versions"] = list(self.versions)
        data["meta"] = copy.deepcopy(self.meta) if self.meta else None
        return {k: v for k, v in data.items() if v not in (None, [], {})}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Entry:
        if data.get("op") not in VERSION_OPS + OTHER_OPS:
            raise ValueError(f"unknown entry op {data.get('op')!r}")
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["versions"] = tuple(known.get("versions", ()))
        return cls(**known)


@dataclass(frozen=True)
class Changeset:
    """One immutable object of the log: who changed what, when, as one atomic unit."""

    namespace: str
    seq: int
    created: str
    author: str
    entries: tuple[Entry, ...]
    message: str = ""
    writer: str = field(default_factory=lambda: uuid.uuid4().hex)

    def to_json(self) -> bytes:
        """The changeset as compact UTF-8 JSON, the form stored in the log."""
        data = {
            "format": FORMAT,
            "namespace": self.namespace,
            "seq": self.seq,
            "created": self.created,
            "author": self.author,
            "message": self.message,
            "writer": self.writer,
            "entries": [e.to_dict() for e in self.entries],
        }
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    @classmethod
    def from_json(cls, raw: bytes, *, key: str = "") -> Changeset:
        try:
            data = json.loads(raw)
            if data.get("format") != FORMAT:
                raise ValueError(f"format {data.get('format')!r}; this client reads {FORMAT}")
            return cls(
                namespace=data["namespace"],
                seq=int(data["seq"]),
                created=data["created"],
                author=data["author"],
                message=data.get("message", ""),
                writer=data.get("writer", ""),
                entries=tuple(Entry.from_dict(e) for e in data["entries"]),
            )
        except (ValueError, KeyError, TypeError) as e:
            raise StoreError(
                f"changeset {key} is unreadable ({e}); upgrade eoscatalog if it was written by "
                "a newer version, otherwise the log is damaged"
            ) from None


# How many changesets this process has written: a command that failed after one landed has made
# its change, and must not be run again (the CLI's retry after a local repair asks).
_WRITTEN = [0]
_WRITTEN_LOCK = threading.Lock()


def changesets_written() -> int:
    """How many changesets this process has written so far.

    >>> changesets_written() >= 0
    True
    """
    return _WRITTEN[0]


def _count_written() -> None:
    with _WRITTEN_LOCK:
        _WRITTEN[0] += 1


class Log:
    """The changesets and checkpoints of one namespace.

    >>> from eoscatalog.store import MemoryStore
    >>> log = Log(MemoryStore(), "org")
    >>> log.append(Changeset("org", 1, "2026-01-01T00:00:00.000000Z", "ada", ()))
    >>> log.seqs_after(0)
    [1]
    """

    def __init__(self, store: Store, namespace: str) -> None:
        self.store = store
        self.namespace = namespace

    def seqs_after(self, seq: int) -> list[int]:
        """Sequence numbers of changesets after ``seq``: one LIST request for a small tail."""
        return [s for s, _ in self.changesets_after(seq)]

    def changesets_after(self, seq: int) -> list[tuple[int, str | None]]:
        """Each changeset after ``seq`` with the time the store wrote it (:func:`store_time`):
        the same one LIST request as :meth:`seqs_after`."""
        prefix = f"catalog/{self.namespace}/log/"
        start = changeset_key(self.namespace, seq) if seq > 0 else None
        found = ((_seq_of(o.key), o.modified) for o in self.store.list(prefix, start_after=start))
        return [(s, store_time(m)) for s, m in found if s is not None and s > seq]

    def committed(self, seq: int) -> str | None:
        """The time the store wrote changeset ``seq`` (:func:`store_time`): one HEAD request."""
        return store_time(self.store.head(changeset_key(self.namespace, seq)).modified)

    def read(self, seq: int) -> Changeset:
        """Read changeset ``seq``; StoreError if it is damaged or claims another place."""
        key = changeset_key(self.namespace, seq)
        changeset = Changeset.from_json(self.store.get(key), key=key)
        if changeset.seq != seq or changeset.namespace != self.namespace:
            raise StoreError(f"changeset {key} claims to be {changeset.namespace}#{changeset.seq}")
        return changeset

    def append(self, changeset: Changeset, *, single_writer: bool = False) -> None:
        """Write ``changeset`` at its seq if nobody has; PreconditionFailedError if taken.

        A store that ignores conditional writes cannot tell two writers of the same seq apart,
        so one could silently overwrite the other's changeset. Such stores are refused
        (StoreError) unless ``single_writer`` says only one client ever writes at a time; then
        a taken seq is still detected by a check before the write and a read-back after it.
        """
        key = changeset_key(self.namespace, changeset.seq)
        raw = changeset.to_json()
        if self.store.supports_conditional_writes:
            self.store.put(key, raw, if_absent=True)
            _count_written()
            return
        if not single_writer:
            raise no_conditional_writes_error(self.store.url)
        if self.store.exists(key):
            raise PreconditionFailedError(f"changeset {key} already exists")
        self.store.put(key, raw)
        if self.store.get(key) != raw:
            raise ConflictError(
                f"another client wrote {key} at the same moment, although single_writer is "
                "set for this store; your change was not recorded. Have one writer at a time, "
                "or use a store that honours conditional writes."
            )
        _count_written()

    def checkpoint_seqs(self) -> list[int]:
        """The seqs that have a checkpoint, ascending."""
        prefix = f"catalog/{self.namespace}/checkpoints/"
        return sorted(s for o in self.store.list(prefix) if (s := _seq_of(o.key)) is not None)


def no_conditional_writes_error(url: str) -> StoreError:
    """The refusal to write to a store that ignores If-None-Match (see :meth:`Log.append`)."""
    return StoreError(
        f"{url} ignores conditional writes (If-None-Match), so two clients writing at once could "
        "overwrite each other's changes; eoscatalog refuses to write to it. Use a store that "
        "honours them (AWS S3, recent MinIO or Ceph), or, if only one client ever writes to "
        "this store at a time, set `single_writer: true` in $EOS_HOME/config.yaml "
        "(or EOS_SINGLE_WRITER=1)"
    )


def list_namespaces(store: Store) -> list[str]:
    """Every namespace that has a log in the store, e.g. ``['org', 'users/ada']``."""
    found: list[str] = []
    for kind in store.list_dirs("catalog/"):
        if kind in ("org", "public"):
            found.append(kind)
        elif kind in NAMESPACE_KINDS:
            found.extend(f"{kind}/{owner}" for owner in store.list_dirs(f"catalog/{kind}/"))
    return found

