"""One pinned folder of a lock file: a folder at one of its versions, with a digest of its bytes.

A :class:`LockedFolder` pins every name under a prefix at once: while its lock is active, a name
under ``prefix`` (that no name pin of the lock names) resolves to its version in folder version
``version``, which was made by changeset ``seq``. ``digest`` (:func:`snapshot_digest`) and
``names`` say what that snapshot held when it was locked; a rerun checks them, so a store whose
log no longer gives that folder version those bytes is found out, never read silently.

>>> pin = LockedFolder("org", "x.zarr/", 3, 12, "blake3:" + "ab" * 32, 40)
>>> pin.uri, pin.covers("x.zarr/.zgroup"), pin.covers("x.zarr")
('eos://org/x.zarr@3/', True, False)
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import blake3

from eoscatalog.core.errors import InvalidNameError
from eoscatalog.core.hashing import parse_hash
from eoscatalog.core.names import validate_name, validate_namespace

__all__ = ["LockedFolder", "snapshot_digest"]

_ENTRY_KEYS = ("uri", "namespace", "prefix", "version", "seq", "digest", "names")
_REQUIRED_KEYS = ("namespace", "prefix", "version", "digest", "names")


class Hashed(Protocol):
    """What :func:`snapshot_digest` reads of a version: a VersionRecord has it."""

    @property
    def name(self) -> str: ...
    @property
    def hash(self) -> str | None: ...


def snapshot_digest(records: Iterable[Hashed]) -> str:
    """The digest a folder lock checks: BLAKE3 over the sorted ``name\\0hash\\n`` lines of the
    snapshot's readable names, as ``blake3:<hex>`` (the same on every client).

    >>> snapshot_digest([])[:23]
    'blake3:af1349b9f5f9a1a6'
    """
    lines = sorted(f"{r.name}\0{r.hash}\n" for r in records if r.hash)
    return "blake3:" + blake3.blake3("".join(lines).encode("utf-8")).hexdigest()


def _whole(value: Any, what: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise InvalidNameError(f"{what} must be a whole number from {low}, got {value!r}")
    return value


@dataclass(frozen=True)
class LockedFolder:
    """Folder version ``version`` of ``prefix`` (ends with ``/``; ``""`` is the namespace's
    root) in ``namespace``, made by changeset ``seq`` (None: not checked), whose ``names``
    readable names have the :func:`snapshot_digest` ``digest``.

    Fields are checked when the object is made; a bad one raises InvalidNameError.

    >>> LockedFolder("org", "x.zarr", 1, None, "blake3:" + "0" * 64, 0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    eoscatalog.core.errors.InvalidNameError: a folder pin's prefix ends with '/': ...
    """

    namespace: str
    prefix: str
    version: int
    seq: int | None
    digest: str
    names: int

    def __post_init__(self) -> None:
        namespace = self.namespace
        if not isinstance(namespace, str) or namespace.split("/")[-1:] == ["me"]:
            raise InvalidNameError(
                "a lock file pins real namespaces: write the user's id (users/<id>), "
                f"not {namespace!r}"
            )
        if validate_namespace(namespace) != namespace:
            raise InvalidNameError(f"invalid namespace {namespace!r}")
        prefix = self.prefix
        if not isinstance(prefix, str) or (prefix and not prefix.endswith("/")):
            raise InvalidNameError(
                f"a folder pin's prefix ends with '/': {prefix!r} (write {prefix}/)"
            )
        if prefix:
            object.__setattr__(self, "prefix", validate_name(prefix[:-1]) + "/")
        _whole(self.version, "a folder version", 1)
        if self.seq is not None:
            _whole(self.seq, "seq", 1)
        _whole(self.names, "names", 0)
        object.__setattr__(self, "digest", parse_hash(self.digest))

    @property
    def key(self) -> tuple[str, str]:
        """``(namespace, prefix)``: what a lock holds one folder pin for."""
        return (self.namespace, self.prefix)

    @property
    def uri(self) -> str:
        """The pinned folder reference, ``eos://<namespace>/<folder>@<version>/``."""
        return f"eos://{self.namespace}/{self.prefix[:-1]}@{self.version}/"

    def covers(self, name: str) -> bool:
        """True for a name (or prefix) under the folder."""
        return name.startswith(self.prefix)

    def uri_of(self, name: str) -> str:
        """The URI of ``name`` (under the folder) in the pinned folder version.

        >>> LockedFolder("org", "x.zarr/", 3, None, "blake3:" + "0" * 64, 1).uri_of("x.zarr/a")
        'eos://org/x.zarr@3/a'
        """
        return self.uri + name[len(self.prefix):]

    def to_dict(self) -> dict[str, Any]:
        """The entry as written in a lock file (``seq`` left out when unknown).

        >>> LockedFolder("org", "x/", 2, 5, "blake3:" + "0" * 64, 3).to_dict()["uri"]
        'eos://org/x@2/'
        """
        data: dict[str, Any] = {"uri": self.uri, "namespace": self.namespace,
                                "prefix": self.prefix, "version": self.version}
        if self.seq is not None:
            data["seq"] = self.seq
        data.update(digest=self.digest, names=self.names)
        return data

    @classmethod
    def from_dict(cls, data: Any) -> LockedFolder:
        """Read an entry as :meth:`to_dict` writes it; raises InvalidNameError naming the fault.

        >>> pin = LockedFolder("org", "x/", 2, 5, "blake3:" + "0" * 64, 3)
        >>> LockedFolder.from_dict(pin.to_dict()) == pin
        True
        """
        if not isinstance(data, dict):
            raise InvalidNameError(
                f"a folder must be a mapping of {', '.join(_REQUIRED_KEYS)}, got {data!r}"
            )
        unknown = [k for k in data if k not in _ENTRY_KEYS]
        if unknown:
            raise InvalidNameError(
                f"unknown key(s) {', '.join(map(repr, unknown))}; a folder has "
                f"{', '.join(_ENTRY_KEYS)}"
            )
        missing = [k for k in _REQUIRED_KEYS if k not in data]
        if missing:
            raise InvalidNameError(f"missing key(s) {', '.join(missing)}")
        pin = cls(data["namespace"], data["prefix"], data["version"], data.get("seq"),
                  data["digest"], data["names"])
        uri = data.get("uri")
        if uri is not None and (
            not isinstance(uri, str) or unicodedata.normalize("NFC", uri) != pin.uri
        ):
            raise InvalidNameError(
                f"uri {uri!r} disagrees with namespace, prefix and version, which make "
                f"{pin.uri!r}: fix the entry or delete its uri line"
            )
        return pin
