"""The text of lock files: reading it, strict YAML parsing (a key given twice is refused) and
the checks of its shape and format (:mod:`eoscatalog.lock.lock_file` reads the entries).

>>> parse_yaml("format: 1\\ninputs: []\\n", "<string>")
{'format': 1, 'inputs': []}
>>> parse_yaml("a: 1\\na: 2\\n", "x.lock")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
eoscatalog.core.errors.ConfigError: lock file x.lock is not valid YAML (line 2, ...appears twice)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from eoscatalog.core.errors import ConfigError

__all__ = ["FOLDERS_FORMAT", "FORMAT", "lock_lists", "parse_yaml", "read_lock_text"]

FORMAT = 1
FOLDERS_FORMAT = 2  # a lock that pins folders: earlier eoscatalogs refuse it (upgrade)
_TOP_KEYS = ("format", "inputs", "folders")


class StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (PyYAML keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        """The mapping, or ConstructorError naming a key that appears twice."""
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:
                continue  # an unhashable key: the base class reports it
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping", node.start_mark,
                    f"the key {key!r} appears twice", key_node.start_mark,
                )
        return super().construct_mapping(node, deep=deep)


def read_lock_text(where: Path) -> str:
    """The text of the lock file at ``where``; ConfigError says why it cannot be read."""
    try:
        raw = where.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"lock file {where} does not exist: write it with `eos lock REF... -o {where}`"
        ) from None
    except IsADirectoryError:
        raise ConfigError(f"lock file {where} is a directory, not a file") from None
    except OSError as e:
        raise ConfigError(f"cannot read lock file {where}: {e.strerror or e}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(
            f"lock file {where} is not UTF-8 text (byte {e.start}); is it a lock file?"
        ) from None
    return text


def parse_yaml(text: str, where: str) -> Any:
    """The data of a lock file's text; ConfigError names ``where`` and the fault."""
    try:
        return yaml.load(text, Loader=StrictLoader)  # a SafeLoader subclass
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e)
        raise ConfigError(f"lock file {where} is not valid YAML ({at}{problem})") from None


def lock_lists(text: str, where: str) -> tuple[list[Any], list[Any]]:
    """The ``inputs`` and ``folders`` lists of a lock file's text, its shape and format
    checked; ConfigError names ``where`` and the fault.

    >>> lock_lists("format: 1\\ninputs: []\\n", "<string>")
    ([], [])
    """
    data = parse_yaml(text, where)
    if data is None:
        raise ConfigError(
            f"lock file {where} is empty: it needs 'format: {FORMAT}' and an 'inputs' list "
            "(write one with `eos lock REF... -o FILE`)"
        )
    if not isinstance(data, dict):
        raise ConfigError(
            f"lock file {where} must be a mapping with 'format' and 'inputs', "
            f"not a {type(data).__name__}"
        )
    unknown = [k for k in data if k not in _TOP_KEYS]
    if unknown:
        raise ConfigError(
            f"lock file {where} has unknown key(s) {', '.join(map(repr, unknown))}; "
            "it holds only 'format', 'inputs' and 'folders'"
        )
    if "format" not in data:
        raise ConfigError(f"lock file {where} has no 'format' (this version reads {FORMAT})")
    version = data["format"]
    if version not in (FORMAT, FOLDERS_FORMAT) or isinstance(version, bool):
        newer = isinstance(version, int) and not isinstance(version, bool) and version > 2
        hint = "; it was written by a newer eoscatalog: upgrade" if newer else ""
        raise ConfigError(
            f"lock file {where} has format {version!r}; this eoscatalog reads formats "
            f"{FORMAT} and {FOLDERS_FORMAT}{hint}"
        )
    folders = data.get("folders", [])
    if not isinstance(folders, list) or (folders and version != FOLDERS_FORMAT):
        raise ConfigError(f"lock file {where}: 'folders' must be a list, in format "
                          f"{FOLDERS_FORMAT} (got format {version}, {folders!r})")
    entries = data.get("inputs")
    if not isinstance(entries, list):
        raise ConfigError(
            f"lock file {where} has no 'inputs' list (got {entries!r}); write "
            "'inputs: []' for a lock that pins nothing"
        )
    return entries, folders
