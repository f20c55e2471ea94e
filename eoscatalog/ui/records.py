"""What the API sends: versions as ``Rec`` dicts, references checked and turned into URIs.

A ref, in the API, is a catalog reference without ``eos://``: ``org/a/b.csv``, ``org/a.csv@3``,
a folder ``org/runs/`` or ``org/runs@2026-06-01T00:00:00Z/``. :func:`uri_of` refuses anything
that could point outside the catalog before the catalog parses it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from eoscatalog.core.errors import InvalidNameError
from eoscatalog.log.records import VersionRecord

__all__ = ["download_url", "path_of", "rec", "ref_of", "uri_of"]


def path_of(record: VersionRecord) -> str:
    """``org/a.csv``: the name with its namespace, as the API's paths write it."""
    return f"{record.namespace}/{record.name}"


def ref_of(record: VersionRecord) -> str:
    """``org/a.csv@3``: the pinned ref of a version."""
    return f"{path_of(record)}@{record.version}"


def rec(record: VersionRecord) -> dict[str, Any]:
    """A version as the API's ``Rec``: every value a JSON string, number, list or object, so
    a hostile name or metadata value stays text wherever the page shows it.

    >>> r = VersionRecord("org", "<b>.csv", 3, "put", "blake3:" + "0" * 64, 1, "t", "ada")
    >>> rec(r)["ref"], rec(r)["path"]
    ('org/<b>.csv@3', 'org/<b>.csv')
    """
    return {
        "namespace": record.namespace, "name": record.name, "path": path_of(record),
        "version": record.version, "kind": record.kind, "hash": record.hash,
        "size": record.size, "created": record.created, "author": record.author,
        "message": record.message, "tags": list(record.tags), "meta": dict(record.meta),
        "source_version": record.source_version, "ref": ref_of(record),
    }


def uri_of(ref: str, *, what: str = "ref") -> str:
    """The ``eos://`` URI of an API ref, refusing what could reach outside the catalog: another
    scheme, an absolute path, a backslash, a ``.`` or ``..`` segment, a control character.

    >>> uri_of("org/a.csv@3")
    'eos://org/a.csv@3'
    """
    if (not ref or ":/" in ref or ref.startswith("/") or "\\" in ref
            or any(s.split("@")[0] in (".", "..") for s in ref.split("/"))
            or any(ord(c) < 32 or ord(c) == 127 for c in ref)):
        raise InvalidNameError(
            f"invalid {what} {ref!r}: give a catalog path such as org/runs/a.csv, "
            "org/runs/a.csv@3 or org/runs/ (no scheme, no leading '/', no '.' or '..' segment)")
    return f"eos://{ref}"


def download_url(record: VersionRecord) -> str:
    """The relative URL of a version's bytes (``api/raw?ref=org/a.csv@3``)."""
    return "api/raw?ref=" + quote(ref_of(record), safe="/@")
