"""The folder a recursive copy, sync or download reads: a prefix, or a folder version.

``eos cp -r eos://org/x.zarr@3/ ./x.zarr`` reads folder version 3: its names at their
versions there. Names are written relative to the folder either way, so the copy of a folder
version has the layout the folder had.
"""

from __future__ import annotations

from eoscatalog.catalog.catalog import Catalog
from eoscatalog.core.names import Location

__all__ = ["source_folder"]


def source_folder(catalog: Catalog, text: str) -> tuple[Location, str | Location]:
    """The folder ``text`` names (a Location ending with ``/``, to make names relative to) and
    what to list for its names: the folder itself, or the folder version's URI.

    >>> cat = Catalog.at("memory://", user="ada")
    >>> source_folder(cat, "eos://org/x.zarr@3")
    (Location(namespace='org', name='x.zarr/'), 'eos://org/x.zarr@3/')
    >>> source_folder(cat, "eos://org/x.zarr")[0]
    Location(namespace='org', name='x.zarr/')
    """
    found = catalog.folders.reference(text)
    if found is None:
        folder = catalog.folder(text)
        return folder, folder
    ref, rest = found
    if rest and not rest.endswith("/"):
        rest += "/"
    return Location(ref.namespace, ref.prefix + rest), ref.uri + rest
