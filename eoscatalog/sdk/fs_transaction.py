"""``with fs.transaction:`` on ``eos://``: fsspec's transaction as a catalog transaction.

Every write in the block (through this filesystem, and through any catalog of the process on the
same store) is staged and published at the block's end as ONE changeset, or not at all if the
block raises. Files are staged as they close, so the block reads what it wrote (zarr reads the
metadata it has just written).
"""

from __future__ import annotations

from typing import Any

from fsspec.transaction import Transaction as FsspecTransaction

from eoscatalog.catalog.catalog import Transaction

__all__ = ["EosFsTransaction"]


class _BlockFailed(Exception):
    """What ends a catalog transaction whose fsspec block did not commit."""


class EosFsTransaction(FsspecTransaction):  # type: ignore[misc]  # fsspec is untyped
    """fsspec's ``Transaction`` over the catalog's (:meth:`Catalog.transaction`)."""

    def __init__(self, fs: Any, **kwargs: Any) -> None:
        super().__init__(fs, **kwargs)
        self.block: Transaction | None = None

    def start(self) -> None:
        """Open (or join) the catalog's transaction on the filesystem's store."""
        super().start()
        block = self.fs.catalog.transaction()
        self.block = block.__enter__()

    def complete(self, commit: bool = True) -> None:
        """Finish the files fsspec deferred, then publish the block (``commit``) or drop it."""
        block, self.block = self.block, None
        try:
            super().complete(commit=commit)
        except BaseException as e:
            if block is not None:
                block.__exit__(type(e), e, e.__traceback__)
            raise
        if block is not None:
            if commit:
                block.__exit__(None, None, None)
            else:
                block.__exit__(_BlockFailed, None, None)
