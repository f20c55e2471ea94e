"""The one exception tree of eoscatalog.

Every error the library raises on purpose is an :class:`EosError`. Subclasses also inherit the
built-in exception they mean, so ``except KeyError`` and ``except ValueError`` keep working::

    EosError
    ├── NotFoundError(KeyError)          a name, version, tag, blob or object is not there
    │   └── DeletedError                 the name's latest version is a delete marker
    ├── InvalidNameError(ValueError)     a name, URI, reference or tag breaks a rule
    ├── InvalidMetadataError(ValueError)  metadata that cannot be stored as JSON
    ├── AmbiguousReferenceError(ValueError)  a hash prefix matches several contents
    ├── InvalidCatalogFileError(ValueError)  a YAML catalog file is malformed
    ├── IntegrityError                   bytes do not hash to what they should
    ├── PermissionDeniedError(PermissionError)  a write outside the user's namespaces
    ├── ConflictError                    a concurrent writer won, or the state forbids the change
    │   ├── PreconditionFailedError      a create-if-absent or compare-and-swap write lost
    │   └── NameExistsError(FileExistsError)  a create-only write found the name holding a version
    ├── StoreError(OSError)              the store cannot be reached, or refused a request
    │   └── InvalidChangesetError        a changeset in the log breaks the rules: replay skips it
    └── ConfigError                      the configuration is missing or malformed

Warnings are :class:`EosWarning` (a UserWarning). Messages say what happened and what to do next.
"""

from __future__ import annotations

from functools import partial
from typing import Any

__all__ = [
    "AmbiguousReferenceError",
    "ConfigError",
    "ConflictError",
    "DeletedError",
    "EosError",
    "EosWarning",
    "IntegrityError",
    "InvalidCatalogFileError",
    "InvalidChangesetError",
    "InvalidMetadataError",
    "InvalidNameError",
    "NameExistsError",
    "NotFoundError",
    "PermissionDeniedError",
    "PreconditionFailedError",
    "StoreError",
]


class EosError(Exception):
    """Base class of every error eoscatalog raises on purpose."""

    def __str__(self) -> str:
        # KeyError quotes its argument; our messages are sentences, so show them as they are.
        return str(self.args[0]) if self.args else self.__class__.__name__


class NotFoundError(EosError, KeyError):
    """A name, version, tag, blob or store object does not exist.

    >>> try:
    ...     raise NotFoundError("no name 'x' in users/ada")
    ... except KeyError as e:
    ...     print(e)
    no name 'x' in users/ada
    """


class DeletedError(NotFoundError):
    """The name exists but its latest version is a delete marker.

    Carries when and by whom it was deleted, so the message can say how to undelete it.
    """

    def __init__(self, message: str, *, deleted_at: str = "", deleted_by: str = "") -> None:
        super().__init__(message)
        self.deleted_at = deleted_at
        self.deleted_by = deleted_by


class InvalidNameError(EosError, ValueError):
    """A name, URI, reference, tag or hash string breaks a rule; the message names the rule."""


class InvalidMetadataError(EosError, ValueError):
    """Metadata that cannot be kept in the log: not a dict of JSON values with string keys."""


class AmbiguousReferenceError(EosError, ValueError):
    """A hash prefix matches versions with different contents; a longer prefix is needed."""


class InvalidCatalogFileError(EosError, ValueError):
    """A YAML catalog file (``eos import``) is malformed; the message names the file and entry."""


class IntegrityError(EosError):
    """Bytes do not hash to the hash they were stored or requested under.

    >>> e = IntegrityError("blob is corrupt", expected="blake3:aa", actual="blake3:bb")
    >>> (e.expected, e.actual)
    ('blake3:aa', 'blake3:bb')
    """

    def __init__(self, message: str, *, expected: str, actual: str) -> None:
        super().__init__(message)
        self.expected = expected
        self.actual = actual

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # Keyword-only arguments are not in args: rebuild with them, e.g. across processes.
        return (partial(type(self), expected=self.expected, actual=self.actual), self.args)


class PermissionDeniedError(EosError, PermissionError):
    """The current user may not write to that namespace."""


class ConflictError(EosError):
    """The change cannot be made in the current state, or a concurrent writer got there first."""


class PreconditionFailedError(ConflictError):
    """A create-if-absent or compare-and-swap write found a different object at the key."""


class StoreError(EosError, OSError):
    """The store does not exist, cannot be reached, or refused a request."""


class EosWarning(UserWarning):
    """Something works now but may not as expected later (e.g. a link outliving its signer)."""


class ConfigError(EosError):
    """The configuration file or environment is missing a setting or holds a bad one."""


class NameExistsError(ConflictError, FileExistsError):
    """A create-only write (``Catalog.put_if_absent``, fsspec's ``open(path, "xb")``) found the
    name already holding a readable version."""


class InvalidChangesetError(StoreError):
    """A changeset in the log breaks the rules (malformed, crafted, or inconsistent with the
    log before it): replay skips it, the same way on every client (``eos admin changesets``)."""
