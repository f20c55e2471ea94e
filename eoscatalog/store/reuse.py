"""Settling a blob write against what the store already holds under the blob's key.

A blob found stored is trusted only once checked (read back and hashed, or its size compared:
``Store._reuse_problem``). Wrong bytes under the key (a damaged object, or one planted under the
hash of a file someone will upload) are moved to ``quarantine/`` and the blob is written again.
:class:`BlobReuse` is the loop that does so, made by :class:`~eoscatalog.store.base.Store`
for each write that may find its blob stored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from eoscatalog.core.errors import (
    IntegrityError,
    NotFoundError,
    PreconditionFailedError,
    StoreError,
)
from eoscatalog.store.keys import QUARANTINE, outboard_key

__all__ = ["BlobReuse"]

ATTEMPTS = 4  # checks and writes of one blob before someone writing there is blamed


class Quarantining(Protocol):
    """What :class:`BlobReuse` uses of its store (the Store protocol's public methods)."""

    @property
    def url(self) -> str:
        """The store's URL, for messages."""

    def quarantine(self, key: str) -> str:
        """Move a damaged object to ``quarantine/<key>``."""

    def move(self, key: str, new_key: str, *, if_absent: bool = False) -> None:
        """Move an object to ``new_key``."""

    def delete(self, key: str) -> None:
        """Remove an object."""


class BlobReuse:
    """Whether a write stored a blob, or found it stored and checked it.

    ``problem(key, hash_string, size)`` says what is wrong with the object at a blob key (None:
    it is the blob), or raises NotFoundError when there is none.
    """

    def __init__(self, store: Quarantining,
                 problem: Callable[[str, str, int], str | None]) -> None:
        self.store = store
        self.problem = problem

    def settle(self, key: str, hash_string: str, size: int, write: Callable[[], None]) -> bool:
        """True when ``write`` stored the blob, False when the object at ``key`` is the blob.

        ``write`` is a create-if-absent that raises PreconditionFailedError when an object was
        already there: bytes that appeared between the check and the write (another writer's,
        or planted) are checked as any found object is, never trusted. Wrong bytes are moved to
        ``quarantine/`` and the blob is written again (a create that wins needs no check: the
        bytes there are these; one that loses checks what won, and so on, four times at most).
        """
        problem: str | None = None
        for _ in range(ATTEMPTS):
            try:
                problem = self.problem(key, hash_string, size)
            except NotFoundError:  # absent (or collected since a refused create): store it
                problem = None
            else:
                if problem is None:
                    return False
                self.set_aside(key, hash_string, problem)
            try:
                write()
            except PreconditionFailedError:
                continue  # created by someone else since the check: check what is there
            except BaseException:
                if problem is not None:
                    self.put_back(key)
                raise
            return True
        raise IntegrityError(
            f"blob {hash_string} in {self.store.url} kept holding wrong bytes "
            f"({problem or 'objects kept appearing under its key'}) after it was moved to "
            "quarantine/ and stored again: someone keeps writing there; nothing was recorded. "
            "Ask an admin to look at the store.",
            expected=hash_string, actual=problem or "(objects kept appearing)",
        )

    def set_aside(self, key: str, hash_string: str, problem: str) -> None:
        """Quarantine the wrong object at a blob key, or say why the write cannot go on."""
        try:
            self.store.quarantine(key)
        except NotFoundError:
            pass  # another writer moved it first
        except StoreError as e:
            raise IntegrityError(
                f"blob {hash_string} in {self.store.url} holds wrong bytes ({problem}): stored "
                f"damaged, or planted under the hash of this file. It could not be moved to "
                f"quarantine/ ({e}); nothing was recorded. Ask an admin to put this file (an "
                "admin's put moves the bad object aside), then put it again.",
                expected=hash_string, actual=problem,
            ) from None
        try:  # an outboard stored beside wrong bytes describes them, not the blob
            self.store.delete(outboard_key(hash_string))
        except (NotFoundError, StoreError):
            pass

    def put_back(self, key: str) -> None:
        """Undo :meth:`set_aside` after the write failed (the file changed, say): the object
        may have been right after all (a size compared against a file that changed)."""
        try:
            self.store.move(QUARANTINE + key, key, if_absent=True)
        except (NotFoundError, PreconditionFailedError, StoreError):
            pass
