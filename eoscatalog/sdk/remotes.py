"""Remote types of a File: what a ``remote=`` string means, as Gencove Explorer users know it.

>>> parse_remote("e://users/me/example.txt")
EFile(path='e://users/me/example.txt')
>>> parse_remote("project-1/reads.fq.gz")
NamedFile(name='project-1/reads.fq.gz')
>>> parse_remote("s3://lab-bucket/raw/reads.fq.gz")
S3File(path='s3://lab-bucket/raw/reads.fq.gz')
"""

from __future__ import annotations

from dataclasses import dataclass

from eoscatalog.core.errors import InvalidNameError
from eoscatalog.core.folder_refs import parse_name_reference
from eoscatalog.core.names import is_uri, split_reference
from eoscatalog.transfer.external import split_s3_url

__all__ = ["EFile", "NamedFile", "Remote", "S3File", "URLFile", "parse_remote"]


@dataclass(frozen=True)
class NamedFile:
    """A bare catalog name (optionally ``@pinned``), in the default namespace."""

    name: str


@dataclass(frozen=True)
class EFile:
    """A catalog URI: ``eos://...`` or ``e://...`` (optionally ``@pinned``)."""

    path: str


@dataclass(frozen=True)
class S3File:
    """A plain S3 object outside the catalog: ``s3://bucket/key``."""

    path: str


@dataclass(frozen=True)
class URLFile:
    """A file on the web: ``https://...`` (or ``http://...``)."""

    url: str


Remote = NamedFile | EFile | S3File | URLFile
CATALOG_REMOTES = (NamedFile, EFile)


def parse_remote(value: str | Remote) -> Remote:
    """Map a ``remote=`` value to its type; catalog names and URIs are validated now (no I/O).

    Unknown schemes are refused with the list of known ones.
    """
    if isinstance(value, (NamedFile, EFile, S3File, URLFile)):
        remote = value
    elif not isinstance(value, str):
        raise TypeError(
            f"remote= takes a string or a NamedFile, EFile, S3File or URLFile, not "
            f"{type(value).__name__}"
        )
    elif is_uri(value):
        remote = EFile(path=value)
    elif value.startswith("s3://"):
        remote = S3File(path=value)
    elif value.startswith(("https://", "http://")):
        remote = URLFile(url=value)
    elif "://" in value:
        scheme = value.split("://", 1)[0]
        raise InvalidNameError(
            f"unknown scheme {scheme + '://'!r} in remote {value!r}: use a catalog name, "
            "eos:// (or e://), s3:// or https://"
        )
    else:
        remote = NamedFile(name=value)
    _validate(remote)
    return remote


def _validate(remote: Remote) -> None:
    if isinstance(remote, NamedFile):
        parse_name_reference(remote.name, user="me-check")
    elif isinstance(remote, EFile):
        if not is_uri(remote.path):
            raise InvalidNameError(f"EFile paths are eos:// or e:// URIs, not {remote.path!r}")
        parse_name_reference(remote.path, user="me-check")
    elif isinstance(remote, S3File):
        split_s3_url(remote.path)
    elif not remote.url.startswith(("https://", "http://")):
        raise InvalidNameError(f"URLFile takes an http(s):// URL, not {remote.url!r}")


def selector_of(remote: Remote) -> str | None:
    """The ``@...`` part of a catalog remote, if it pins a version."""
    if isinstance(remote, NamedFile):
        return split_reference(remote.name)[1]
    if isinstance(remote, EFile):
        return split_reference(remote.path)[1]
    return None
