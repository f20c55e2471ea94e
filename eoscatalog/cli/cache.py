"""``eos cache``: look at and trim the shared download cache."""

from __future__ import annotations

import click

from eoscatalog.cli.common import echo_json, json_option, open_catalog
from eoscatalog.cli.output import format_size
from eoscatalog.core.units import parse_size

__all__ = ["COMMANDS", "cache"]


@click.group()
def cache() -> None:
    """Look at and trim the shared download cache (EOS_CACHE, default $EOS_HOME/cache).

    Example: eos cache info
    """


@cache.command("info")
@json_option
def cache_info(as_json: bool) -> None:
    """Show where the cache is, how many blobs it holds and their size.

    Example: eos cache info --json
    """
    with open_catalog() as cat:
        info = cat.download_cache().info()
    data = {"root": str(info.root), "entries": info.entries, "size": info.size,
            "max_size": info.max_size, "max_size_auto": info.auto}
    if as_json:
        echo_json(data)
        return
    cap = format_size(info.max_size) if info.max_size is not None else "none"
    how = ", the default: EOS_CACHE_MAX_SIZE sets another" if info.auto else ""
    click.echo(f"{info.root}: {info.entries} blobs, {format_size(info.size)} (cap: {cap}{how})")


@cache.command("prune")
@click.option("--max-size", required=True, help="Keep at most this much, e.g. 20GiB or 500MB.")
@json_option
def cache_prune(max_size: str, as_json: bool) -> None:
    """Remove the least recently used blobs until the cache holds at most --max-size.

    Files you downloaded stay where they are; a later download fetches a blob again.

    Example: eos cache prune --max-size 20GiB
    """
    size = parse_size(max_size)
    with open_catalog() as cat:
        result = cat.download_cache().prune(size)
    if as_json:
        echo_json({"removed": list(result.removed), "freed": result.freed,
                   "size": result.size})
        return
    click.echo(f"removed {len(result.removed)} blobs, freed {format_size(result.freed)}; "
               f"the cache holds {format_size(result.size)}")


# The commands of this module; cli.py adds them to the group.
COMMANDS: tuple[click.Command, ...] = (cache,)
