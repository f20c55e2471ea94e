"""Plain-text rendering for people: sizes, times and tables (``--json`` is for scripts)."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from eoscatalog.log.folder_version import FolderVersion
from eoscatalog.log.records import VersionRecord

__all__ = ["display_name", "folder_versions_table", "format_size", "format_table", "short_hash",
           "short_time", "versions_table"]


def format_size(size: int | None) -> str:
    """Human-readable bytes, binary units.

    >>> format_size(1536), format_size(0), format_size(None)
    ('1.5 KiB', '0 B', '-')
    """
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def display_name(name: str) -> str:
    r"""``name`` as ``ls`` shows it: quoted when its ends are blank or it holds a character
    that prints as blank or as nothing (a zero-width space, a no-break space), so names that
    differ only there can be told apart.

    Blank ends get shell quotes; invisible characters get ``$'...'`` with ``\uXXXX`` escapes,
    as GNU ls and bash write them. A name that itself starts with ``'`` or ``$'`` is quoted
    too, so no plain name looks like a quoted one.

    >>> print(display_name("a b.csv"), display_name(" a.csv "), display_name("it's"), sep="|")
    a b.csv|' a.csv '|it's
    >>> print(display_name("a\u200bb"), display_name("'x'"), sep="|")
    $'a\u200bb'|''\''x'\'''
    """
    if any(_invisible(c) for c in name):
        escaped = "".join(f"\\u{ord(c):04x}" if _invisible(c) else "\\" + c if c in "'\\" else c
                          for c in name)
        return f"$'{escaped}'"
    if name != name.strip() or name.startswith(("'", "$'")):
        return "'" + name.replace("'", "'\\''") + "'"
    return name


def _invisible(c: str) -> bool:
    """A character other than the plain space that shows as blank or not at all."""
    return c != " " and unicodedata.category(c)[0] in "CZ"


def short_hash(hash_string: str | None, digits: int = 12) -> str:
    """The algorithm and the first ``digits`` hex digits of a hash.

    >>> short_hash("blake3:" + "ab" * 32)
    'blake3:abababababab'
    """
    return hash_string[: len("blake3:") + digits] if hash_string else "-"


def short_time(created: str) -> str:
    """A log time to the second, for tables.

    >>> short_time("2026-06-01T12:30:05.123456Z")
    '2026-06-01 12:30:05Z'
    """
    return created[:19].replace("T", " ") + "Z"


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns separated by two spaces.

    >>> print(format_table(["A", "BB"], [["x", "y"]]))
    A  BB
    x  y
    """
    widths = [max(len(str(c)) for c in column) for column in zip(headers, *rows, strict=False)]
    lines = [headers, *rows]
    return "\n".join(
        "  ".join(str(cell).ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def folder_versions_table(versions: Sequence[FolderVersion]) -> str:
    """The ``eos versions PREFIX/`` table: one row per folder version."""
    rows = [[str(v.version), short_time(v.at or v.created), v.author, f"+{v.added}",
             f"~{v.changed}", f"-{v.removed}", format_size(v.bytes_added), ",".join(v.tags),
             v.message] for v in versions]
    return format_table(["VERSION", "CREATED", "AUTHOR", "ADDED", "CHANGED", "REMOVED",
                         "BYTES", "TAGS", "MESSAGE"], rows)


def versions_table(records: Sequence[VersionRecord]) -> str:
    """The ``eos versions`` table."""
    rows = []
    for r in records:
        kind = r.kind + (f" of {r.source_version}" if r.source_version else "")
        if r.purged:
            kind += " (purged)"
        rows.append([
            str(r.version), kind, format_size(r.size), short_time(r.created), r.author,
            short_hash(r.hash), ",".join(r.tags),
        ])
    return format_table(["VERSION", "KIND", "SIZE", "CREATED", "AUTHOR", "HASH", "TAGS"], rows)
