"""What every ``eos`` command module shares: the group class that maps errors to one line and
an exit code (0 success, 1 failure, 2 usage error; ``--debug`` shows the traceback instead), the
catalog a command opens, JSON output, and the check that a reference names one name.

It sits below the command modules (cli_core.py, cli_data.py, cli_versions.py,
cli_maintenance.py, cli_catalogs.py, cli_admin.py), which import it and nothing of each other;
cli.py builds the group from them.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from eoscatalog.catalog.catalog import Catalog
from eoscatalog.core.errors import DeletedError, EosError, InvalidNameError, NotFoundError
from eoscatalog.core.folder_refs import is_folder_reference
from eoscatalog.core.names import split_reference
from eoscatalog.local.config import Config
from eoscatalog.local.home import is_damage, repair, unwritable_message

__all__ = ["EosGroup", "echo_json", "is_folder_arg", "json_option", "one_name", "open_catalog"]


class EosGroup(click.Group):
    """Maps library errors to one clean line and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        saved = _saved_args(ctx)
        written = Catalog.changesets_written()
        try:
            try:
                return super().invoke(ctx)
            except sqlite3.DatabaseError as e:
                if not is_damage(e) or not _set_aside_damaged():
                    raise
            if Catalog.changesets_written() != written:
                # The change is in the store already: running the command again would refuse
                # it as done (rm: "already deleted") or report another outcome.
                click.echo("eos: the change was made; the local index is rebuilt from the "
                           "store by the next command", err=True)
                return None
            # A damaged index or hash cache was set aside: once more, on fresh ones (the index
            # replays the store; a put or sync already done is found unchanged).
            _restore_args(ctx, saved)
            return super().invoke(ctx)
        except BrokenPipeError:
            # The reader went away (`eos versions x | head`): stop quietly.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            ctx.exit(1)
        except (EosError, OSError, sqlite3.Error) as e:
            if ctx.meta.get("eos.debug"):
                raise
            message = _local_state_message(e)
            if message is None:
                if not isinstance(e, (EosError, OSError)):
                    raise
                message = str(e) if isinstance(e, EosError) else _os_message(e)
            click.echo(f"eos: error: {message}", err=True)
            ctx.exit(1)


def _saved_args(ctx: click.Context) -> list[str]:
    # click 8.2 renamed protected_args to _protected_args; Group.invoke empties both.
    protected = getattr(ctx, "_protected_args", None)
    if protected is None:
        protected = ctx.protected_args
    return [*protected, *ctx.args]


def _restore_args(ctx: click.Context, args: list[str]) -> None:
    if hasattr(ctx, "_protected_args"):
        ctx._protected_args, ctx.args = args[:1], args[1:]
    else:
        ctx.protected_args, ctx.args = args[:1], args[1:]  # type: ignore[misc]


def _local_paths() -> tuple[Path, list[Path]] | None:
    """EOS_HOME and the local databases in it, or None when the settings do not load."""
    try:
        config = Config.load()
    except (EosError, OSError):
        return None
    return config.home, [config.index_path, config.hashcache_path]


def _set_aside_damaged() -> bool:
    """Set aside the damaged local databases, saying so on stderr; False if none was."""
    local = _local_paths()
    moved = repair(local[1]) if local is not None else []
    for path, aside, problem in moved:
        click.echo(f"eos: warning: {path} was damaged ({problem}); moved it to {aside} and "
                   "rebuilding it (it is a cache: nothing is lost)", err=True)
    return bool(moved)


def _local_state_message(e: BaseException) -> str | None:
    """One line for a local database that is damaged or cannot be written, naming the file
    or folder and the fix; None for other errors."""
    local = _local_paths()
    if local is None:
        return None
    home, paths = local
    if is_damage(e):
        return (f"a local database in {home} is damaged ({e}); run `eos reindex`, or delete "
                f"{paths[0]} and {paths[1]} (caches: nothing is lost)")
    return unwritable_message(e, home)


def _os_message(e: OSError) -> str:
    if e.filename and e.strerror:
        return f"{e.filename}: {e.strerror}"
    return str(e)


@contextmanager
def open_catalog() -> Iterator[Catalog]:
    """The configured catalog, for one command; says so on stderr when it creates the embedded
    store."""
    config = Config.load()
    embedded = config.embedded_root
    fresh = embedded is not None and not embedded.is_dir()
    with Catalog.open(config) as cat:
        if fresh:  # said once, when made: nobody should think their names went to S3
            click.echo(
                f"eos: created the embedded store in {embedded}: what you write stays on this "
                "machine; to use S3, run eos init --store s3://BUCKET[/PREFIX] --org ORG (or "
                "set EOS_STORE)", err=True,
            )
        yield cat


def echo_json(data: Any) -> None:
    """Print ``data`` as indented JSON with sorted keys (every ``--json``)."""
    click.echo(json.dumps(data, indent=2, sort_keys=True))


def json_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """The ``--json`` flag (``as_json``) of a command."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(f)


def is_folder_arg(cat: Catalog, text: str) -> bool:
    """True when a command argument names a folder: a trailing ``/``, a namespace's root, or a
    folder reference (``x.zarr@3/``); ``x.zarr`` and ``x.csv@3`` are names."""
    if is_folder_reference(text) or text.endswith("/"):
        return True
    return "@" not in text and not cat.prefix(text).name


@contextmanager
def one_name(cat: Catalog, ref: str, instead: str) -> Iterator[None]:
    """Refuse a REF that names a folder, saying which command takes one: a trailing ``/`` or a
    namespace's root at once, and a name that does not exist but has names under it when the
    command fails. ``instead`` is the advice, with ``{uri}`` for the folder's URI.
    """
    name, selector = split_reference(ref)
    if name.endswith("/") or not cat.prefix(name).name:
        folder = cat.folder(name)
        raise InvalidNameError(f"{folder.uri} is a folder: {instead.format(uri=folder.uri)}")
    try:
        yield
    except DeletedError:
        raise
    except NotFoundError:
        folder = cat.folder(name)
        if selector is None and cat.ls(folder, recursive=True).files:
            raise NotFoundError(
                f"{cat.location(name).uri} is a folder, not a name: "
                f"{instead.format(uri=folder.uri)}"
            ) from None
        raise

