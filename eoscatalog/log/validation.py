"""Checking a changeset read from the log before it is applied: every field of every entry.

A changeset is written by any member's client, or by hand: one that is malformed or crafted
(a name with ``..``, a bad hash, a version that skips, a field of the wrong type) must not stop
a namespace for everyone. :func:`parse_changeset` turns the stored bytes into a
:class:`~eoscatalog.log.changesets.Changeset`
or raises :class:`InvalidChangesetError` saying what is wrong;
replay then skips that changeset (its seq stays used), the same way on every client, since the
checks depend only on the bytes and on the state the log before it gives.

Blobs are not looked for here (a HEAD per entry would make replay cost a request per version):
``eos verify`` reports versions whose blob is missing.
"""

from __future__ import annotations

import json
import re
from typing import Any

from eoscatalog.core.errors import InvalidChangesetError, InvalidNameError
from eoscatalog.core.hashing import parse_hash
from eoscatalog.core.names import validate_name, validate_tag
from eoscatalog.log.changesets import (
    FOLDER_OPS,
    FORMAT,
    OTHER_OPS,
    VERSION_OPS,
    Changeset,
    Entry,
)

__all__ = ["parse_changeset"]

_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")
_WITH_BYTES = ("put", "copy", "rollback", "undelete")


class _Fault(Exception):
    pass


def _text(value: Any, what: str, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise _Fault(f"{what} must be text, not {type(value).__name__}")
    return value


def _time(value: Any, what: str, *, optional: bool = False) -> str | None:
    text = _text(value, what, optional=optional)
    if text is not None and not _TIME.fullmatch(text):
        raise _Fault(f"{what} {text!r} is not a time of the form 2026-06-01T00:00:00.000000Z")
    return text


def _number(value: Any, what: str, *, minimum: int, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _Fault(f"{what} must be a whole number of at least {minimum}, not {value!r}")
    return value


def _entry(data: Any, where: str) -> Entry:
    if not isinstance(data, dict):
        raise _Fault(f"{where} must be an object, not {type(data).__name__}")
    op = data.get("op")
    if op not in VERSION_OPS + OTHER_OPS:
        raise _Fault(f"{where} has the unknown op {op!r}")
    name = _text(data.get("name"), f"{where} name")
    # A folder op names a folder: a name followed by '/', or "" (the namespace's root).
    folder_op = op in FOLDER_OPS
    if folder_op and not (name == "" or (name or "").endswith("/")):
        raise _Fault(f"{where} ({op}) names {name!r}, which is not a folder (ending with '/')")
    checked = (name or "")[:-1] if folder_op else name
    try:
        if not (folder_op and checked == "") and validate_name(checked or "") != checked:
            raise InvalidNameError(f"{name!r} is not in its normal form")
    except InvalidNameError as e:
        raise _Fault(f"{where} names an invalid name: {e}") from None
    needs_version = op in VERSION_OPS or op in ("tag", "expire", "folder-tag")
    version = _number(data.get("version"), f"{where} version", minimum=1,
                      optional=not needs_version)
    hash_ = _text(data.get("hash"), f"{where} hash", optional=True)
    size = _number(data.get("size"), f"{where} size", minimum=0, optional=True)
    if op in _WITH_BYTES:
        try:
            if hash_ is None or parse_hash(hash_) != hash_:
                raise ValueError(f"{hash_!r} is not blake3:<64 lowercase hex>")
        except ValueError as e:
            raise _Fault(f"{where} has a bad hash: {e}") from None
        if size is None:
            raise _Fault(f"{where} has no size")
    elif hash_ is not None or size is not None:
        raise _Fault(f"{where} ({op}) carries a hash or size")
    source_version = _number(data.get("source_version"), f"{where} source_version", minimum=1,
                             optional=True)
    if op in ("rollback", "undelete") and (source_version is None or version is None
                                           or source_version >= version):
        raise _Fault(f"{where} restores version {source_version!r}, which is not an older one")
    tag = _text(data.get("tag"), f"{where} tag", optional=op not in ("tag", "untag", *FOLDER_OPS))
    if tag is not None:
        try:
            validate_tag(tag)
        except InvalidNameError as e:
            raise _Fault(f"{where} has a bad tag: {e}") from None
    versions = data.get("versions", [])
    if not isinstance(versions, list) or (op == "purge" and not versions):
        raise _Fault(f"{where} versions must be a list" + (" of versions" if op == "purge"
                                                            else ""))
    for v in versions:
        _number(v, f"{where} versions", minimum=1)
    meta = data.get("meta", {})
    if not isinstance(meta, dict):
        raise _Fault(f"{where} meta must be an object, not {type(meta).__name__}")
    return Entry(
        op=op, name=name or "", version=version, hash=hash_, size=size,
        source_version=source_version,
        source=_text(data.get("source"), f"{where} source", optional=True), tag=tag,
        versions=tuple(versions),
        expires=_time(data.get("expires"), f"{where} expires", optional=op != "expire"),
        meta=meta, created=_time(data.get("created"), f"{where} created", optional=True),
        author=_text(data.get("author"), f"{where} author", optional=True),
        message=_text(data.get("message"), f"{where} message", optional=True),
    )


def parse_changeset(raw: bytes, *, namespace: str, seq: int, key: str) -> Changeset:
    """The changeset stored at ``key`` (``namespace``'s ``seq``), every field checked.

    Raises InvalidChangesetError naming the key and the first fault. A changeset of a newer
    format is not a fault: it raises Changeset.from_json's StoreError (upgrade eoscatalog).
    """
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise InvalidChangesetError(f"changeset {key} is not JSON ({e})") from None
    if isinstance(data, dict) and isinstance(data.get("format"), int) \
            and not isinstance(data.get("format"), bool) and data["format"] > FORMAT:
        return Changeset.from_json(raw, key=key)  # raises: written by a newer eoscatalog
    try:
        if not isinstance(data, dict):
            raise _Fault(f"it is a JSON {type(data).__name__}, not an object")
        if data.get("format") != FORMAT:
            raise _Fault(f"its format is {data.get('format')!r}, not {FORMAT}")
        if data.get("namespace") != namespace or data.get("seq") != seq \
                or isinstance(data.get("seq"), bool):
            raise _Fault(f"it claims to be {data.get('namespace')!r} #{data.get('seq')!r}")
        entries = data.get("entries")
        if not isinstance(entries, list):
            raise _Fault("its entries are not a list")
        return Changeset(
            namespace=namespace, seq=seq,
            created=_time(data.get("created"), "created") or "",
            author=_text(data.get("author"), "author") or "",
            message=_text(data.get("message", ""), "message") or "",
            writer=_text(data.get("writer", ""), "writer") or "",
            entries=tuple(_entry(e, f"entry {i}") for i, e in enumerate(entries)),
        )
    except _Fault as e:
        raise InvalidChangesetError(f"changeset {key} is invalid: {e}") from None
