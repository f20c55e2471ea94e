"""One pinned input of a lock file: a name in a namespace, at one version with known bytes.

:class:`LockedInput` is what a :class:`~eoscatalog.lock.lock_file.LockFile` holds, one per
(namespace, name), and what :class:`~eoscatalog.lock.active.record_inputs` collects; it is made
from a resolved version (a VersionRecord, or anything :class:`Pinnable`). Its fields are checked
when it is made, so every pin that exists is a valid one.

>>> LockedInput("org", "shared/samples.csv", 3, "blake3:" + "ab" * 32, 1234).uri
'eos://org/shared/samples.csv@3'
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any, Protocol

from eoscatalog.core.errors import InvalidNameError
from eoscatalog.core.hashing import parse_hash
from eoscatalog.core.names import MAX_VERSION, validate_name, validate_namespace

__all__ = ["LockedInput", "Pinnable"]

_ENTRY_KEYS = ("uri", "namespace", "name", "version", "hash", "size")
_REQUIRED_KEYS = ("namespace", "name", "version", "hash")


class Pinnable(Protocol):
    """What :meth:`LockFile.pin` needs from a record: a VersionRecord has all of it."""

    @property
    def namespace(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def hash(self) -> str | None: ...
    @property
    def size(self) -> int | None: ...


@dataclass(frozen=True)
class LockedInput:
    """One pinned input: a name in a namespace, at one version with known bytes.

    Fields are checked when the object is made (the name is NFC-normalized, the hash made
    lower-case); a bad one raises :class:`~eoscatalog.core.errors.InvalidNameError`.

    >>> pin = LockedInput("org", "a/b.csv", 3, "BLAKE3:" + "AB" * 32, 10)
    >>> pin.uri, pin.hash[:12]
    ('eos://org/a/b.csv@3', 'blake3:ababa')
    >>> LockedInput("users/me", "x", 1, "blake3:" + "0" * 64)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    eoscatalog.core.errors.InvalidNameError: a lock file pins real namespaces: ... not 'users/me'
    """

    namespace: str
    name: str
    version: int
    hash: str
    size: int | None = None

    def __post_init__(self) -> None:
        namespace = self.namespace
        if not isinstance(namespace, str):
            raise InvalidNameError(f"namespace must be a string, got {namespace!r}")
        if namespace.split("/")[-1:] == ["me"]:
            raise InvalidNameError(
                "a lock file pins real namespaces: write the user's id (users/<id>), "
                f"not {namespace!r}"
            )
        if validate_namespace(namespace) != namespace:
            raise InvalidNameError(
                f"invalid namespace {namespace!r}: write it as "
                f"{validate_namespace(namespace)!r}"
            )
        if isinstance(self.name, str):
            try:
                self.name.encode("utf-8")
            except UnicodeEncodeError:
                raise InvalidNameError(
                    f"invalid name {self.name!r}: it is not valid Unicode (a lone surrogate)"
                ) from None
        object.__setattr__(self, "name", validate_name(self.name))
        version = self.version
        if isinstance(version, bool) or not isinstance(version, int):
            raise InvalidNameError(f"version must be a whole number from 1, got {version!r}")
        if not 1 <= version <= MAX_VERSION:
            raise InvalidNameError(f"version must be from 1 to {MAX_VERSION}, got {version}")
        object.__setattr__(self, "hash", parse_hash(self.hash))
        size = self.size
        if size is not None and (isinstance(size, bool) or not isinstance(size, int)):
            raise InvalidNameError(f"size must be a whole number of bytes, got {size!r}")
        if size is not None and size < 0:
            raise InvalidNameError(f"size must be zero or more bytes, got {size}")

    @property
    def key(self) -> tuple[str, str]:
        """``(namespace, name)``: what a lock holds one pin for."""
        return (self.namespace, self.name)

    @property
    def uri(self) -> str:
        """The pinned URI, ``eos://<namespace>/<name>@<version>``."""
        return f"eos://{self.namespace}/{self.name}@{self.version}"

    def to_dict(self) -> dict[str, Any]:
        """The entry as written in a lock file (``size`` left out when unknown).

        >>> LockedInput("org", "x", 1, "blake3:" + "0" * 64).to_dict()["uri"]
        'eos://org/x@1'
        """
        data: dict[str, Any] = {
            "uri": self.uri,
            "namespace": self.namespace,
            "name": self.name,
            "version": self.version,
            "hash": self.hash,
        }
        if self.size is not None:
            data["size"] = self.size
        return data

    @classmethod
    def from_dict(cls, data: Any) -> LockedInput:
        """Read an entry as :meth:`to_dict` writes it; raises InvalidNameError naming the fault.

        >>> d = LockedInput("org", "x", 1, "blake3:" + "0" * 64, 5).to_dict()
        >>> LockedInput.from_dict(d) == LockedInput("org", "x", 1, "blake3:" + "0" * 64, 5)
        True
        """
        if not isinstance(data, dict):
            raise InvalidNameError(
                f"an input must be a mapping of {', '.join(_REQUIRED_KEYS)}, got {data!r}"
            )
        unknown = [k for k in data if k not in _ENTRY_KEYS]
        if unknown:
            raise InvalidNameError(
                f"unknown key(s) {', '.join(map(repr, unknown))}; an input has "
                f"{', '.join(_ENTRY_KEYS)}"
            )
        missing = [k for k in _REQUIRED_KEYS if k not in data]
        if missing:
            raise InvalidNameError(f"missing key(s) {', '.join(missing)}")
        pin = cls(data["namespace"], data["name"], data["version"], data["hash"],
                  data.get("size"))
        uri = data.get("uri")
        if uri is not None and (
            not isinstance(uri, str) or unicodedata.normalize("NFC", uri) != pin.uri
        ):
            raise InvalidNameError(
                f"uri {uri!r} disagrees with namespace, name and version, which make "
                f"{pin.uri!r}: fix the entry or delete its uri line"
            )
        return pin

    @classmethod
    def from_record(cls, record: Pinnable) -> LockedInput:
        """Pin a resolved version (a VersionRecord, or anything with the same five fields).

        Delete markers and purged versions hold no bytes and cannot be pinned.
        """
        if isinstance(record, LockedInput):
            return record
        where = f"eos://{record.namespace}/{record.name}@{record.version}"
        if record.hash is None:
            raise InvalidNameError(f"cannot pin {where}: it is a delete marker and has no bytes")
        if getattr(record, "purged", False):
            raise InvalidNameError(f"cannot pin {where}: it was purged and has no bytes left")
        return cls(record.namespace, record.name, record.version, record.hash, record.size)
