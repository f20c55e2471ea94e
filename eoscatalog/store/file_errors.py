"""The errors for a file that changed while a store was storing it (every backend raises them).

A blob is stored under the hash its file had when it was hashed; a write that sees other bytes,
or a file no longer in the state it was hashed in, stores nothing and says so with these.
"""

from __future__ import annotations

from pathlib import Path

from eoscatalog.core.errors import IntegrityError

__all__ = ["changed_error", "mismatch_error"]


def changed_error(path: Path, expected: str) -> IntegrityError:
    """The error for a file that changed after it was hashed (seen by its state)."""
    return IntegrityError(
        f"{path} changed while it was being stored (its size, times or identity are not "
        f"those it had when it hashed to {expected}); nothing was stored. Retry once the "
        "file is complete.",
        expected=expected,
        actual="(not hashed again: the file changed)",
    )


def mismatch_error(path: Path, expected: str, actual: str) -> IntegrityError:
    """The error for a file whose bytes, read to be stored, hashed to ``actual``."""
    return IntegrityError(
        f"{path} changed while it was being stored: it hashed to {expected} before and "
        f"{actual} during the upload; nothing was stored. Retry once the file is complete.",
        expected=expected,
        actual=actual,
    )
