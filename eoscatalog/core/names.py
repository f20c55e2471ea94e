"""Names, namespaces, URIs and references: parsing and validation, pure functions only.

A *name* is a ``/``-separated path inside a *namespace*; a *reference* is a name plus an optional
selector after ``@``::

    project-1/reads.fq.gz                         bare name, in the default namespace
    eos://users/me/project-1/reads.fq.gz           the current user's namespace (e:// works too)
    eos://org/shared/table.csv@3                   version 3
    eos://org/shared/table.csv@prod                a tag
    eos://org/shared/table.csv@blake3:1f2e3d4c     a hash prefix of at least 8 hex digits
    eos://org/shared/table.csv@2026-06-01T00:00:00Z   the version current at that instant

>>> ref = parse_reference("eos://org/a/b.csv@3", user="ada")
>>> (ref.namespace, ref.name, ref.kind, ref.value)
('org', 'a/b.csv', 'version', 3)
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from eoscatalog.core.errors import InvalidNameError
from eoscatalog.core.folder_reference import FolderReference
from eoscatalog.core.units import format_time, parse_time

__all__ = [
    "MAX_NAME_BYTES",
    "Location",
    "Reference",
    "is_uri",
    "kind_of",
    "parse_location",
    "parse_reference",
    "split_reference",
    "validate_name",
    "validate_namespace",
    "validate_tag",
    "validate_user",
]

MAX_NAME_BYTES = 1024
SCHEMES = ("eos://", "e://")
FORBIDDEN_CHARACTERS = "@#?*"
NAMESPACE_KINDS = ("users", "org", "public", "scratch")
MIN_HASH_PREFIX = 8
MAX_VERSION = 2**63 - 1  # SQLite's largest integer

_USER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_TAG_RE = re.compile(r"^[A-Za-z][A-Za-z0-9._-]{0,127}$")
_HASH_REF_RE = re.compile(r"^blake3:[0-9a-f]*$")


@dataclass(frozen=True)
class Location:
    """A namespace and a name (or a prefix, possibly empty) inside it.

    >>> Location("org", "a/b.csv").uri
    'eos://org/a/b.csv'
    """

    namespace: str
    name: str

    @property
    def uri(self) -> str:
        return f"eos://{self.namespace}/{self.name}"


@dataclass(frozen=True)
class Reference:
    """A name plus what to pick among its versions.

    ``kind`` is one of ``latest``, ``version`` (value: int), ``tag`` (value: str), ``hash``
    (value: the ``blake3:<hex prefix>`` string), ``time`` (value: an aware UTC datetime) or
    ``snapshot`` (value: a :class:`FolderReference`: the name as it was in that folder version,
    written ``eos://org/x.zarr@3/.zgroup``).
    """

    namespace: str
    name: str
    kind: str = "latest"
    value: int | str | datetime | FolderReference | None = None

    @property
    def location(self) -> Location:
        return Location(self.namespace, self.name)

    @property
    def uri(self) -> str:
        if isinstance(self.value, FolderReference):
            return self.value.uri_of(self.name)
        return self.location.uri + self.selector

    @property
    def selector(self) -> str:
        """The ``@...`` part as written back in a URI ('' for latest)."""
        if self.kind == "latest":
            return ""
        if isinstance(self.value, FolderReference):
            return self.value.selector + "/"
        if self.kind == "time":
            if not isinstance(self.value, datetime):
                raise InvalidNameError(f"a time reference needs a datetime, not {self.value!r}")
            return "@" + format_time(self.value)
        return f"@{self.value}"

    @property
    def is_pinned(self) -> bool:
        """True when the reference names an immutable version (number, hash or time)."""
        if isinstance(self.value, FolderReference):
            return self.value.is_pinned
        return self.kind in ("version", "hash", "time")


def validate_name(name: str) -> str:
    """Return ``name`` NFC-normalized, or raise :class:`InvalidNameError` naming the broken rule.

    >>> validate_name("project-1/reads.fq.gz")
    'project-1/reads.fq.gz'
    >>> validate_name("a/../b")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    eoscatalog.core.errors.InvalidNameError: invalid name 'a/../b': a path segment is '..'; ...
    """
    if not isinstance(name, str):
        raise InvalidNameError(f"invalid name {name!r}: a name must be a string")
    if not name:
        raise InvalidNameError("invalid name '': a name may not be empty")
    name = unicodedata.normalize("NFC", name)
    for ch in name:
        if "\ud800" <= ch <= "\udfff":  # what Python makes of bytes that are not UTF-8
            raise InvalidNameError(
                f"invalid name {name!r}: it is not valid UTF-8 (lone surrogate "
                f"U+{ord(ch):04X}); check the encoding of the name you typed"
            )
    size = len(name.encode("utf-8"))
    if size > MAX_NAME_BYTES:
        raise InvalidNameError(
            f"invalid name {name[:40]!r}...: it is {size} bytes of UTF-8, "
            f"the limit is {MAX_NAME_BYTES}; use a shorter name"
        )
    if name.startswith("/"):
        raise InvalidNameError(f"invalid name {name!r}: a name may not start with '/'")
    if "\\" in name:
        raise InvalidNameError(
            f"invalid name {name!r}: backslashes are not allowed; separate folders with '/'"
        )
    for ch in name:
        if unicodedata.category(ch) == "Cc":
            raise InvalidNameError(
                f"invalid name {name!r}: control character U+{ord(ch):04X} is not allowed"
            )
        if ch in FORBIDDEN_CHARACTERS:
            hint = " ('@' starts a version or tag selector)" if ch == "@" else ""
            raise InvalidNameError(
                f"invalid name {name!r}: the character {ch!r} is not allowed in names{hint}"
            )
    for segment in name.split("/"):
        if segment == "":
            raise InvalidNameError(
                f"invalid name {name!r}: it has an empty path segment ('//' or a trailing '/')"
            )
        if segment in (".", ".."):
            raise InvalidNameError(
                f"invalid name {name!r}: a path segment is {segment!r}; "
                "names may not contain '.' or '..' segments"
            )
    return name


def validate_user(user: str) -> str:
    """Check a user id: letters, digits, ``.``, ``_``, ``-``; at most 64; not ``me``.

    >>> validate_user("ada.lovelace")
    'ada.lovelace'
    """
    if not isinstance(user, str) or not _USER_RE.fullmatch(user):
        raise InvalidNameError(
            f"invalid user id {user!r}: use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    if user == "me":
        raise InvalidNameError("invalid user id 'me': 'me' is the alias of the current user")
    return user


def validate_tag(tag: str) -> str:
    """Check a tag: a letter, then up to 127 letters, digits, ``.``, ``_``, ``-``; not ``latest``.

    >>> validate_tag("paper-2026")
    'paper-2026'
    """
    if not isinstance(tag, str) or not _TAG_RE.fullmatch(tag):
        raise InvalidNameError(
            f"invalid tag {tag!r}: a tag starts with a letter and has at most 128 letters, "
            "digits, '.', '_' or '-' (so it cannot be mistaken for a version, hash or time)"
        )
    if tag == "latest":
        raise InvalidNameError("invalid tag 'latest': it always means the newest version")
    return tag


def validate_namespace(namespace: str, *, user: str | None = None) -> str:
    """Check a namespace and expand ``users/me`` and ``scratch/me`` to the current user.

    >>> validate_namespace("users/me", user="ada")
    'users/ada'
    >>> validate_namespace("org")
    'org'
    """
    parts = namespace.strip("/").split("/")
    kind = parts[0]
    if kind in ("org", "public") and len(parts) == 1:
        return kind
    if kind in ("users", "scratch") and len(parts) == 2:
        owner = parts[1]
        if owner == "me":
            if user is None:
                raise InvalidNameError(
                    f"namespace {namespace!r} needs the current user: set EOS_USER or run eos init"
                )
            owner = user
        return f"{kind}/{validate_user(owner)}"
    raise InvalidNameError(
        f"invalid namespace {namespace!r}: use users/<id>, users/me, org, public "
        "or scratch/<id>"
    )


def is_uri(text: str) -> bool:
    """True for ``eos://`` and ``e://`` URIs (the scheme is case-insensitive).

    >>> is_uri("EOS://org/x"), is_uri("s3://b/x")
    (True, False)
    """
    return text[:6].lower().startswith(SCHEMES)


def kind_of(place: str) -> str:
    """``eos``, ``s3``, ``url`` or ``local``; an unknown scheme is an error.

    >>> kind_of("e://org/x"), kind_of("s3://b/k"), kind_of("./data/x.csv")
    ('eos', 's3', 'local')
    """
    if is_uri(place):
        return "eos"
    if place.startswith("s3://"):
        return "s3"
    if place.startswith(("https://", "http://")):
        return "url"
    if "://" in place:
        scheme = place.split("://", 1)[0] + "://"
        raise InvalidNameError(
            f"unknown scheme {scheme!r} in {place!r}: use local paths, eos:// (or e://), s3:// "
            "or https:// URLs"
        )
    return "local"


def parse_location(
    text: str,
    *,
    user: str | None = None,
    default_namespace: str = "users/me",
    allow_prefix: bool = False,
) -> Location:
    """Split a URI or bare name into a namespace and a name.

    With ``allow_prefix`` the name may be empty or end with ``/`` (a folder, for listings).

    >>> parse_location("e://users/me/x.txt", user="ada")
    Location(namespace='users/ada', name='x.txt')
    >>> parse_location("x.txt", user="ada")
    Location(namespace='users/ada', name='x.txt')
    """
    if "://" in text and not is_uri(text):
        scheme = text.split("://", 1)[0]
        raise InvalidNameError(
            f"unknown scheme {scheme + '://'!r} in {text!r}: catalog names are bare names or "
            "eos:// URIs"
        )
    if is_uri(text):
        path = text.split("://", 1)[1]
        parts = path.split("/")
        width = 1 if parts[0] in ("org", "public") else 2
        if parts[0] not in NAMESPACE_KINDS or len(parts) < width:
            raise InvalidNameError(
                f"invalid URI {text!r}: it must start with eos://users/<id>/, eos://users/me/, "
                "eos://org/, eos://public/ or eos://scratch/<id>/"
            )
        namespace = validate_namespace("/".join(parts[:width]), user=user)
        name = "/".join(parts[width:])
    else:
        namespace = validate_namespace(default_namespace, user=user)
        name = text
    if allow_prefix:
        # A folder: a valid name with one trailing '/', or nothing (the namespace's root).
        stripped = name[:-1] if name.endswith("/") else name
        if not stripped:
            return Location(namespace, "")
        return Location(namespace, validate_name(stripped) + name[len(stripped):])
    return Location(namespace, validate_name(name))


def split_reference(text: str) -> tuple[str, str | None]:
    """Split ``name@selector`` at the first ``@`` (names cannot contain ``@``).

    >>> split_reference("a/b.csv@3")
    ('a/b.csv', '3')
    >>> split_reference("a/b.csv")
    ('a/b.csv', None)
    """
    if "@" not in text:
        return text, None
    name, selector = text.split("@", 1)
    return name, selector


def parse_reference(
    text: str, *, user: str | None = None, default_namespace: str = "users/me"
) -> Reference:
    """Parse a reference in any form DESIGN.md lists.

    >>> parse_reference("x@blake3:00112233", user="ada").kind
    'hash'
    >>> parse_reference("x@2026-06-01", user="ada").value
    datetime.datetime(2026, 6, 1, 0, 0, tzinfo=datetime.timezone.utc)
    """
    path, selector = split_reference(text)
    loc = parse_location(path, user=user, default_namespace=default_namespace)
    if selector is None or selector == "latest":
        return Reference(loc.namespace, loc.name)
    if selector == "":
        raise InvalidNameError(
            f"invalid reference {text!r}: nothing after '@'; give a version number, tag, "
            "blake3:<hex prefix> or an ISO time"
        )
    if selector.isascii() and selector.isdigit():
        version = int(selector)
        if version < 1:
            raise InvalidNameError(f"invalid reference {text!r}: versions start at 1")
        if version > MAX_VERSION:
            raise InvalidNameError(f"invalid reference {text!r}: no version is that large")
        return Reference(loc.namespace, loc.name, "version", version)
    if selector.lower().startswith("blake3:"):
        selector = selector.lower()
        if not _HASH_REF_RE.fullmatch(selector) or len(selector) - 7 > 64:
            raise InvalidNameError(
                f"invalid reference {text!r}: after 'blake3:' give 8 to 64 hex digits"
            )
        if len(selector) - 7 < MIN_HASH_PREFIX:
            raise InvalidNameError(
                f"invalid reference {text!r}: a hash prefix needs at least {MIN_HASH_PREFIX} "
                "hex digits"
            )
        return Reference(loc.namespace, loc.name, "hash", selector)
    if selector[:1].isascii() and selector[:1].isdigit():
        return Reference(loc.namespace, loc.name, "time", parse_time(selector))
    return Reference(loc.namespace, loc.name, "tag", validate_tag(selector))
