"""Search over the index: the latest versions whose name, tags or metadata contain a text.

Three queries per namespace, each bounded by the prefix's range and the limit: names
(``LIKE``), tags (any tag of a name that is not deleted, giving the tagged version), and
metadata keys and values (SQLite's ``json_tree``, nested objects and lists included). The text is
matched anywhere, case-insensitively for ASCII (``LIKE``), with ``%`` and ``_`` as themselves.
A name found several ways is reported once, by its name first, then a tag, then its metadata.
"""

from __future__ import annotations

import json
from typing import Any

from eoscatalog.core.names import Location
from eoscatalog.core.sqlite import lock_of, sqlite_utils
from eoscatalog.log.records import RECORD_COLUMNS, SearchHit, VersionRecord

__all__ = ["like_pattern", "search_index", "search_namespace"]

_TOP = "\U0010ffff"  # above every name starting with a prefix, in SQLite's text order
_COLUMNS = ", ".join(f"v.{c}" for c in RECORD_COLUMNS)
# The latest version of each name under the prefix, when it holds bytes (not a delete marker).
_FROM = ("FROM names n JOIN versions v ON v.namespace = n.namespace AND v.name = n.name "
         "AND v.version = n.latest")
_WHERE = "WHERE n.namespace = ? AND n.name >= ? AND n.name < ? AND v.hash IS NOT NULL"


def like_pattern(text: str) -> str:
    """A ``LIKE ... ESCAPE '\\'`` pattern matching ``text`` anywhere, wildcards escaped.

    >>> like_pattern("50%_a")
    '%50\\\\%\\\\_a%'
    """
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _atom_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def search_namespace(db: sqlite_utils.Database, namespace: str, prefix: str, text: str,
                     limit: int) -> list[SearchHit]:
    """The names under ``prefix`` in ``namespace`` matching ``text``, by name, at most ``limit``.

    >>> from eoscatalog.log.index import Index
    >>> search_namespace(Index(":memory:").db, "org", "", "x", 10)
    []
    """
    pattern = like_pattern(text)
    bounds = [namespace, prefix, prefix + _TOP]
    found: dict[str, SearchHit] = {}
    with lock_of(db):
        conn = db.conn
        for row in conn.execute(
                f"SELECT {_COLUMNS} {_FROM} {_WHERE} AND n.name LIKE ? ESCAPE '\\' ORDER BY n.name "
                "LIMIT ?", [*bounds, pattern, limit]):
            record = VersionRecord.from_values(row)
            found[record.name] = SearchHit(record, "name", record.name)
        for *values, tag in conn.execute(
                f"SELECT {_COLUMNS}, t.tag FROM tags t JOIN names n ON n.namespace = t.namespace "
                "AND n.name = t.name JOIN versions l ON l.namespace = n.namespace "
                "AND l.name = n.name AND l.version = n.latest JOIN versions v "
                "ON v.namespace = t.namespace AND v.name = t.name AND v.version = t.version "
                "WHERE t.namespace = ? AND t.name >= ? AND t.name < ? AND l.hash IS NOT NULL "
                "AND v.purged = 0 AND t.tag LIKE ? ESCAPE '\\' ORDER BY t.name, t.tag LIMIT ?",
                [*bounds, pattern, limit]):
            record = VersionRecord.from_values(values)
            found.setdefault(record.name, SearchHit(record, "tag", tag))
        for *values, key, atom in conn.execute(
                f"SELECT {_COLUMNS}, j.fullkey, j.atom {_FROM}, json_tree(v.meta) j {_WHERE} "
                "AND v.meta IS NOT NULL AND v.meta != '' AND ((typeof(j.key) = 'text' AND "
                "j.key LIKE ? ESCAPE '\\') OR (j.atom IS NOT NULL AND "
                "CAST(j.atom AS TEXT) LIKE ? ESCAPE '\\')) ORDER BY n.name, j.id LIMIT ?",
                [*bounds, pattern, pattern, limit]):
            record = VersionRecord.from_values(values)
            detail = key.removeprefix("$.") if atom is None else \
                f"{key.removeprefix('$.')}: {_atom_text(atom)}"
            found.setdefault(record.name, SearchHit(record, "meta", detail))
    return [found[name] for name in sorted(found)][:limit]


def search_index(db: sqlite_utils.Database, places: list[Location], text: str,
                 limit: int) -> list[SearchHit]:
    """:func:`search_namespace` over several prefixes (``Location``: namespace and prefix), in
    their order, at most ``limit`` in all."""
    hits: list[SearchHit] = []
    for place in places:
        if len(hits) >= limit:
            break
        hits += search_namespace(db, place.namespace, place.name, text, limit - len(hits))
    return hits
