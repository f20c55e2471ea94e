"""Folder references: a folder (any prefix ending at a ``/``) at one of its versions.

A folder has versions 1..N, one per changeset that changed a name under it. A *folder
reference* is the folder's path, ``@``, a selector, and ``/``; what follows that ``/`` is a path
inside the folder as it was::

    eos://org/x.zarr@3/                       folder version 3 of eos://org/x.zarr/
    eos://org/x.zarr@2026-06-01T00:00:00Z/    the folder as it was at that instant
    eos://org/x.zarr@paper-2026/              a folder tag
    eos://org/x.zarr@3/.zgroup                the name x.zarr/.zgroup as it was in version 3

The ``/`` after the selector is what makes it a folder: ``x.csv@3`` is version 3 of the *name*
``x.csv``. Commands that take a folder (``eos ls``, ``cp -r``, ``du``, ``versions PREFIX/``...)
also read ``x.zarr@3`` without the ``/`` as the folder (:func:`parse_folder_reference` with
``as_folder``).

>>> ref, rest = parse_folder_reference("eos://org/x.zarr@3/a/b", user="ada")
>>> (ref.namespace, ref.prefix, ref.kind, ref.value, rest)
('org', 'x.zarr/', 'version', 3, 'a/b')
>>> ref.uri
'eos://org/x.zarr@3/'
"""

from __future__ import annotations

from eoscatalog.core.errors import InvalidNameError
from eoscatalog.core.folder_reference import FolderReference
from eoscatalog.core.names import Reference, parse_location, parse_reference, validate_name

__all__ = [
    "FolderReference", "is_folder_reference", "parse_folder_reference", "parse_name_reference",
]


def is_folder_reference(text: str) -> bool:
    """True when ``text`` has an ``@`` selector followed by ``/``: a path in a folder version.

    >>> is_folder_reference("eos://org/x.zarr@3/.zgroup"), is_folder_reference("x.csv@3")
    (True, False)
    """
    return "@" in text and "/" in text.split("@", 1)[1]


def parse_folder_reference(
    text: str, *, user: str | None = None, default_namespace: str = "users/me",
    as_folder: bool = False,
) -> tuple[FolderReference, str] | None:
    """Split ``<folder>@<selector>/<rest>`` into the folder reference and ``rest`` (a path
    inside the folder, possibly ``""``); None when ``text`` is no folder reference.

    With ``as_folder`` a selector without the ``/`` after it (``x.zarr@3``) names the folder
    too: for commands that take a folder.

    >>> parse_folder_reference("runs@2026-06-01/", user="ada")[0].uri
    'eos://users/ada/runs@2026-06-01T00:00:00.000000Z/'
    >>> parse_folder_reference("x.csv@3", user="ada") is None
    True
    >>> parse_folder_reference("x.zarr@3", user="ada", as_folder=True)[0].prefix
    'x.zarr/'
    """
    if "@" not in text:
        return None
    path, after = text.split("@", 1)
    selector, slash, rest = after.partition("/")
    if not slash and not as_folder:
        return None
    if "@" in rest:
        raise InvalidNameError(
            f"invalid reference {text!r}: it has more than one '@' (one folder or name version "
            "per reference)"
        )
    loc = parse_location(path, user=user, default_namespace=default_namespace,
                         allow_prefix=True)
    if path.endswith("/") and loc.name:
        raise InvalidNameError(
            f"invalid folder reference {text!r}: write the selector right after the folder's "
            "name, as in eos://org/x.zarr@3/ (version 3 of the folder eos://org/x.zarr/)"
        )
    folder = loc.name + "/" if loc.name else ""
    if rest:
        validate_name(folder + rest.rstrip("/"))
    if not selector:
        raise InvalidNameError(
            f"invalid reference {text!r}: nothing after '@'; give a folder version number, a "
            "folder tag or an ISO time"
        )
    # The selector grammar is a name's (numbers, tags, times), minus hashes.
    parsed = parse_reference(f"eos://org/x@{selector}")
    if parsed.kind == "hash":
        raise InvalidNameError(
            f"invalid folder reference {text!r}: a folder has no hash of its own; give a folder "
            "version number, a folder tag or an ISO time (a name's hash works on the name)"
        )
    if parsed.kind == "latest" or parsed.value is None or isinstance(parsed.value,
                                                                      FolderReference):
        raise InvalidNameError(
            f"invalid folder reference {text!r}: '@latest' is the folder itself; drop the "
            "'@latest' part"
        )
    return FolderReference(loc.namespace, folder, parsed.kind, parsed.value), rest


def parse_name_reference(
    text: str, *, user: str | None = None, default_namespace: str = "users/me",
) -> Reference:
    """:func:`~eoscatalog.core.names.parse_reference`, and a name in a folder version
    (``x.zarr@3/.zgroup``) as a ``snapshot`` reference.

    >>> ref = parse_name_reference("eos://org/x.zarr@3/a/0", user="ada")
    >>> (ref.name, ref.kind, ref.uri)
    ('x.zarr/a/0', 'snapshot', 'eos://org/x.zarr@3/a/0')
    """
    folder = parse_folder_reference(text, user=user, default_namespace=default_namespace)
    if folder is None:
        return parse_reference(text, user=user, default_namespace=default_namespace)
    ref, rest = folder
    if not rest or rest.endswith("/"):
        raise InvalidNameError(
            f"{text!r} is a folder, but this operation reads a name: add the name after the "
            f"'/' ({ref.uri}<name>), or list the folder with `eos ls {text}`"
        )
    return Reference(ref.namespace, ref.prefix + rest, "snapshot", ref)
