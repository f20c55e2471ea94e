"""``Link``: what ``File.url`` gives, a link that is a ``str`` and can be called for another.

Gencove's guide reads ``f.url`` as a property (the 48-hour link); eoscatalog's callers wrote
``f.url(expires="1h")``. A ``Link`` is both: the link itself, and callable with ``expires=``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

from eoscatalog.core.errors import EosWarning

__all__ = ["DEFAULT_EXPIRY", "Link"]

DEFAULT_EXPIRY = "48h"


class Link(str):
    """A link (a ``str``) that makes another when called: ``f.url`` and ``f.url(expires=...)``.

    >>> link = Link("https://example.org/x", lambda expires: Link(f"x?{expires}", None))
    >>> link.startswith("https://"), link(expires="1h")
    (True, 'x?1h')
    """

    _make: Callable[[str | float], Link] | None
    _pending: list[str]

    def __new__(cls, url: str, make: Callable[[str | float], Link] | None,
                pending: list[str] | None = None) -> Link:
        self = super().__new__(cls, url)
        self._make = make
        self._pending = list(pending or [])
        return self

    def __call__(self, expires: str | float = DEFAULT_EXPIRY) -> Link:
        """A link to the same version that expires after ``expires`` (``30m``, ``48h``, ``7d``,
        or seconds; at most 7 days)."""
        self._pending.clear()  # this link is not the one used: its warning does not apply
        return self._make(expires) if self._make is not None else self

    def _warn(self) -> None:
        # Deferred from the property to first display: `f.url(expires="30m")` reads the
        # property first, and must not warn about a 48-hour link nobody asked for.
        while self._pending:
            warnings.warn(self._pending.pop(0), EosWarning, stacklevel=3)

    def __str__(self) -> str:
        self._warn()
        return str.__str__(self)

    def __format__(self, spec: str) -> str:
        self._warn()
        return str.__format__(str.__str__(self), spec)

    def __repr__(self) -> str:
        self._warn()
        return str.__repr__(self)

    def __reduce__(self) -> tuple[type[str], tuple[str]]:
        return (str, (str.__str__(self),))  # pickles as the plain link
