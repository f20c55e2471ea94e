"""The ``eos diff`` command: how two names, or two folders, differ.

cli/main.py registers it (``COMMANDS``) on the ``eos`` group; like every command it parses its
arguments, calls the Catalog (``Catalog.diff``), and prints: lines for people, or with
``--json`` the result's ``to_dict()``.
"""

from __future__ import annotations

import click

from eoscatalog.cli.common import echo_json, json_option, open_catalog
from eoscatalog.cli.output import display_name, format_size, short_hash
from eoscatalog.interchange.name_diff import NameDiff
from eoscatalog.log.records import VersionRecord
from eoscatalog.rules.folder_difference import FolderDiff
from eoscatalog.rules.name_change import NameChange

__all__ = ["COMMANDS", "diff", "folder_lines", "name_lines"]


@click.command()
@click.argument("a")
@click.argument("b")
@click.option("--tables/--no-tables", default=True,
              help="Compare the schema and rows of two CSV, TSV or Parquet versions (default).")
@json_option
def diff(a: str, b: str, tables: bool, as_json: bool) -> None:
    """Show how B differs from A: two names, or two folders.

    Two names (any references: x.csv@1, x.csv@paper, x.csv@<time>, x.zarr@3/.zgroup): both
    versions, whether the bytes are the same, and for two CSV, TSV or Parquet versions the
    columns added, removed and retyped and the row counts. Two folders, each ending with '/'
    (x.zarr/ is its latest version; x.zarr@3/, x.zarr@paper/, x.zarr@<time>/ folder versions):
    the names added (+), removed (-) and changed (~), names compared below each folder, then a
    summary. The exit code is 0 whether or not they differ.

    Example: eos diff eos://org/x.zarr@3/ eos://org/x.zarr/
    """
    with open_catalog() as cat:
        result = cat.diff(a, b, tables=tables)
    if as_json:
        echo_json(result.to_dict())
        return
    lines = folder_lines(result) if isinstance(result, FolderDiff) else name_lines(result)
    for line in lines:
        click.echo(line)


def folder_lines(d: FolderDiff) -> list[str]:
    """``--- A``, ``+++ B``, a line per name added (``+``), removed (``-``) or changed (``~``),
    columns aligned, and the summary line."""
    rows = [_change_row(c) for c in d.changes]
    widths = [max((len(row[k]) for row in rows), default=0) for k in range(3)]
    out = [f"--- {d.a}", f"+++ {d.b}"]
    out += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)).rstrip()
            for row in rows]
    counts = d.counts()
    out.append(f"{counts['added']} added, {counts['removed']} removed, {counts['changed']} "
               f"changed, {counts['unchanged']} unchanged (+{format_size(d.bytes_added)}, "
               f"-{format_size(d.bytes_removed)})")
    return out


def _change_row(c: NameChange) -> list[str]:
    name = display_name(c.name)
    if c.a is None and c.b is not None:
        return [f"+ {name}", format_size(c.b.size), short_hash(c.b.hash)]
    if c.b is None and c.a is not None:
        return [f"- {name}", format_size(c.a.size), short_hash(c.a.hash)]
    if c.a is None or c.b is None:
        raise AssertionError(f"internal error: {c.name!r} is in neither folder")
    if c.metadata_only:
        return [f"~ {name}", format_size(c.b.size), f"{short_hash(c.b.hash)} (metadata only)"]
    return [f"~ {name}", f"{format_size(c.a.size)} -> {format_size(c.b.size)}",
            f"{short_hash(c.a.hash)} -> {short_hash(c.b.hash)}"]


def name_lines(d: NameDiff) -> list[str]:
    """``--- A`` and ``+++ B`` (URI, size, hash), same or different bytes, the metadata, and
    the table's differences indented."""
    out = [_version_line("---", d.a), _version_line("+++", d.b)]
    if d.same_bytes:
        out.append("same bytes")
    else:
        delta = d.size_delta
        sign = "+" if delta >= 0 else "-"
        out.append(f"different bytes ({sign}{format_size(abs(delta))})")
    if d.metadata_changed:
        out.append(f"metadata changed: {d.a.meta} -> {d.b.meta}")
    if d.table is not None:
        out.append("table:")
        out += [f"  {line}" for line in d.table.lines()]
    return out


def _version_line(mark: str, r: VersionRecord) -> str:
    return f"{mark} {r.uri}  {format_size(r.size)}  {r.hash or '-'}"


COMMANDS: tuple[click.Command, ...] = (diff,)
