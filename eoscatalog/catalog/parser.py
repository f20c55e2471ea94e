"""What callers write, parsed for one catalog: names, references, prefixes and folders, with the
catalog's user (``users/me``) and default namespace (a bare name).

:class:`Parser` is owned by :class:`~eoscatalog.catalog.catalog.Catalog` (whose ``reference``,
``location``, ``folder`` and ``prefix`` delegate here) and used by its writes. A
:class:`Location` or :class:`Reference` a caller built is checked as a parsed one would be.
"""

from __future__ import annotations

from typing import Protocol

from eoscatalog.core.errors import InvalidNameError
from eoscatalog.core.folder_reference import FolderReference
from eoscatalog.core.folder_refs import parse_folder_reference, parse_name_reference
from eoscatalog.core.names import (
    Location,
    Reference,
    parse_location,
    validate_name,
    validate_namespace,
)

__all__ = ["Parser"]


class Identity(Protocol):
    """Whose names these are: read from the owner at every call."""

    @property
    def user(self) -> str: ...
    @property
    def default_namespace(self) -> str: ...


class Parser:
    """Parses names for the user and default namespace ``owner`` has.

    >>> from types import SimpleNamespace
    >>> Parser(SimpleNamespace(user="ada", default_namespace="users/me")).location("t.csv")
    Location(namespace='users/ada', name='t.csv')
    """

    def __init__(self, owner: Identity) -> None:
        self.owner = owner

    def reference(self, ref: str | Reference) -> Reference:
        """Parse a reference (a name with an optional ``@`` selector)."""
        user = self.owner.user
        if isinstance(ref, Reference):  # built by callers: check it as a parsed one would be
            return Reference(validate_namespace(ref.namespace, user=user),
                             validate_name(ref.name), ref.kind, ref.value)
        # A name in a folder version (x.zarr@3/.zgroup) is a "snapshot" reference.
        return parse_name_reference(ref, user=user,
                                    default_namespace=self.owner.default_namespace)

    def location(self, name: str | Location) -> Location:
        """Parse a name or URI (no ``@`` selector allowed)."""
        user = self.owner.user
        if isinstance(name, Location):
            # Built by callers: check both parts, as parsing would.
            return Location(validate_namespace(name.namespace, user=user),
                            validate_name(name.name))
        if "@" in name:
            raise InvalidNameError(
                f"{name!r} has an '@' selector, but this operation takes a name: drop the "
                "'@...' part"
            )
        return parse_location(name, user=user, default_namespace=self.owner.default_namespace)

    def folder(self, uri: str | Location) -> Location:
        """A URI or prefix as a folder: ``eos://org/p`` -> ``("org", "p/")``; the root is ``""``.

        >>> from types import SimpleNamespace
        >>> Parser(SimpleNamespace(user="ada", default_namespace="users/me")).folder("eos://org/p")
        Location(namespace='org', name='p/')
        """
        loc = uri if isinstance(uri, Location) else parse_location(
            uri, user=self.owner.user, default_namespace=self.owner.default_namespace,
            allow_prefix=True,
        )
        name = loc.name if not loc.name or loc.name.endswith("/") else loc.name + "/"
        return Location(loc.namespace, name)

    def prefix(self, uri: str | Location) -> Location:
        """Parse a prefix: a bare one or an ``eos://`` URI ending anywhere, matched as text.

        >>> from types import SimpleNamespace
        >>> owner = SimpleNamespace(user="ada", default_namespace="users/me")
        >>> Parser(owner).prefix("eos://org/tables/t")
        Location(namespace='org', name='tables/t')
        """
        if isinstance(uri, Location):
            return Location(validate_namespace(uri.namespace, user=self.owner.user), uri.name)
        return parse_location(uri, user=self.owner.user,
                              default_namespace=self.owner.default_namespace, allow_prefix=True)

    def folder_reference(self, text: str | Location | FolderReference, *,
                         as_folder: bool = False) -> tuple[FolderReference, str] | None:
        """A folder reference and the path after it (``x.zarr@3/a`` -> the folder at version 3,
        ``"a"``), or None when ``text`` has none; with ``as_folder``, ``x.zarr@3`` is the
        folder too (for commands that take a folder).

        >>> from types import SimpleNamespace
        >>> p = Parser(SimpleNamespace(user="ada", default_namespace="users/me"))
        >>> p.folder_reference("eos://org/x.zarr@3/")[0].uri
        'eos://org/x.zarr@3/'
        """
        if isinstance(text, FolderReference):
            return FolderReference(validate_namespace(text.namespace, user=self.owner.user),
                                   text.prefix, text.kind, text.value), ""
        if isinstance(text, Location):
            return None
        return parse_folder_reference(text, user=self.owner.user,
                                      default_namespace=self.owner.default_namespace,
                                      as_folder=as_folder)

    def namespace(self, namespace: str) -> str:
        """Check a namespace as this user writes it (``users/me`` is the user's own)."""
        return validate_namespace(namespace, user=self.owner.user)
