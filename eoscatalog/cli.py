"""The ``eos`` command line: parse arguments, call one Catalog method, print the result.

Errors are mapped to one line on stderr and an exit code in one place (:class:`EosGroup`):
0 success, 1 failure, 2 usage error. ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from . import __version__
from .catalog import Catalog
from .config import Config
from .errors import DeletedError, EosError, InvalidNameError, NotFoundError
from .localstate import is_damage, repair, unwritable_message
from .log import changesets_written
from .names import split_reference
from .output import format_size, format_table, versions_table
from .progress import Progress

__all__ = ["cli", "main"]

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class EosGroup(click.Group):
    """Maps library errors to one clean line and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        saved = _saved_args(ctx)
        written = changesets_written()
        try:
            try:
                return super().invoke(ctx)
            except sqlite3.DatabaseError as e:
                if not is_damage(e) or not _set_aside_damaged():
                    raise
            if changesets_written() != written:
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


def _store_in_use() -> str:
    """The store commands use now, said for a failed ``eos init``."""
    try:
        current = Config.load()
    except EosError:
        return "the settings in $EOS_HOME/config.yaml and the EOS_* variables, unchanged"
    if current.is_embedded:
        return f"no store is configured, so eos uses {current.describe_store()}"
    return f"eos still uses {current.describe_store()}"


def _os_message(e: OSError) -> str:
    if e.filename and e.strerror:
        return f"{e.filename}: {e.strerror}"
    return str(e)


@contextmanager
def _catalog() -> Iterator[Catalog]:
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


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True))


def _parse_meta(pairs: Sequence[str]) -> dict[str, str] | None:
    meta: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--meta")
        meta[key] = value
    return meta or None


def _json_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(f)


@click.group(cls=EosGroup, context_settings=CONTEXT)
@click.version_option(__version__, prog_name="eos")
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """eos: a versioned, content-addressed data catalog over S3 or a local folder.

    Names live in namespaces: eos://users/me/..., eos://org/..., eos://public/...,
    eos://scratch/<id>/...; a bare name is in users/me. Pin a version with name@3, name@tag,
    name@blake3:<hex prefix> or name@2026-06-01T00:00:00Z.
    """
    ctx.meta["eos.debug"] = debug


@cli.command()
@click.option("--store", help="s3://BUCKET[/prefix] or file:///path (default: embedded).")
@click.option("--org", help="Organization; its data lives under <store>/<org>/.")
@click.option("--user", help="Your user id (default: your login name).")
@click.option("--endpoint-url", help="S3 endpoint for MinIO, Ceph and other S3-compatible stores.")
@click.option("--region", help="S3 region.")
@click.option("--default-namespace", help="Where bare names live (default users/me).")
def init(
    store: str | None,
    org: str | None,
    user: str | None,
    endpoint_url: str | None,
    region: str | None,
    default_namespace: str | None,
) -> None:
    """Write $EOS_HOME/config.yaml and check that the store can be reached.

    Example: eos init --store s3://lab-bucket/eos --org genomics --user ada
    """
    config = Config.load(
        store=store, org=org, user=user, endpoint_url=endpoint_url, region=region,
        default_namespace=default_namespace,
    )
    # Check the store before saving: a missing bucket or a bad endpoint fails here, clearly,
    # and leaves nothing behind, so the next command uses what it used before, as it says.
    try:
        url = config.check_store()
    except EosError as e:
        e.args = (f"{e}. Nothing was written: {_store_in_use()}",)
        raise
    path = config.save()
    click.echo(f"wrote {path}")
    click.echo(f"user {config.user}, organization {config.org}, store {url}")


@cli.command()
@click.argument("local", type=click.Path(dir_okay=True, path_type=Path))
@click.argument("name")
@click.option("--meta", multiple=True, metavar="KEY=VALUE", help="Metadata (repeatable).")
@click.option("-m", "--message", default="", help="A note kept with the change.")
@_json_option
def put(local: Path, name: str, meta: tuple[str, ...], message: str, as_json: bool) -> None:
    """Upload a local file as a new version of NAME (no new version if nothing changed).

    Example: eos put reads.fq.gz project-1/reads.fq.gz
    """
    size = local.stat().st_size if local.is_file() else 0
    progress = Progress(size, label="put", enabled=None if not as_json else False)
    with _catalog() as cat:
        result = cat.put(local, name, meta=_parse_meta(meta), message=message,
                         on_bytes=progress.advance)
    if progress.done and result.uploaded:
        progress.close()
    if as_json:
        _echo_json({**result.record.to_dict(), "new_version": result.created,
                    "bytes_uploaded": result.uploaded})
        return
    record = result.record
    if not result.created:
        click.echo(f"unchanged: {record.uri} already holds these bytes")
    elif result.uploaded:
        click.echo(f"{record.uri}  {format_size(record.size)} uploaded")
    else:
        click.echo(f"{record.uri}  {format_size(record.size)} already stored, no bytes sent")


@contextmanager
def _one_name(cat: Catalog, ref: str, instead: str) -> Iterator[None]:
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


@cli.command()
@click.argument("ref")
@click.argument("local", required=False)
@_json_option
def get(ref: str, local: str | None, as_json: bool) -> None:
    """Download REF (a name, name@N, name@tag, ...) to LOCAL, verified.

    LOCAL defaults to the name's last path segment in the current folder; an existing
    folder receives the file inside it. --json prints the version got and its "path".

    Example: eos get project-1/reads.fq.gz@2 ./reads.fq.gz
    """
    progress = Progress(None, label="get", enabled=False if as_json else None)
    into = local or "./"
    with _catalog() as cat, _one_name(cat, ref, f"use eos cp -r {{uri}} {into}"):
        record = cat.resolve(ref)  # once: the download is of exactly this version
        progress.total = record.size
        path = cat.get(record.uri, local, on_bytes=progress.advance)
    if progress.done:
        progress.close()
    if as_json:
        _echo_json({**record.to_dict(), "path": str(path)})
        return
    click.echo(str(path))


@cli.command()
@click.argument("name")
@_json_option
def versions(name: str, as_json: bool) -> None:
    """List every version of NAME, delete markers included.

    Example: eos versions project-1/reads.fq.gz
    """
    with _catalog() as cat, _one_name(cat, name, "use eos ls --versions {uri}"):
        records = cat.versions(name)
    if as_json:
        _echo_json([r.to_dict() for r in records])
    else:
        click.echo(versions_table(records))


@cli.command()
@click.argument("ref")
@_json_option
def info(ref: str, as_json: bool) -> None:
    """Show what REF resolves to: version, hash, size, author, tags and blob location.

    Example: eos info project-1/reads.fq.gz@prod --json
    """
    with _catalog() as cat, _one_name(cat, ref, "use eos ls {uri}"):
        data = cat.info(ref)
    if as_json:
        _echo_json(data)
        return
    rows = [
        ["uri", data["uri"]], ["kind", data["kind"]], ["hash", data["hash"] or "-"],
        ["size", f"{format_size(data['size'])} ({data['size']} bytes)"],
        ["created", data["created"]], ["author", data["author"]],
        ["tags", ", ".join(data["tags"]) or "-"], ["versions", str(data["versions"])],
        ["blob", data["blob"] or "-"],
    ]
    if data["message"]:
        rows.append(["message", data["message"]])
    if data["meta"]:
        rows.extend([f"meta.{k}", str(v)] for k, v in sorted(data["meta"].items()))
    if data["source_version"]:
        rows.append(["restores", f"version {data['source_version']}"])
    if data["expires"]:
        rows.append(["expires", data["expires"]])
    click.echo(format_table(["FIELD", "VALUE"], rows))


@cli.command()
@_json_option
def reindex(as_json: bool) -> None:
    """Rebuild the local index from the store (newest checkpoint plus the log's tail).

    Example: eos reindex
    """
    with _catalog() as cat:
        result = cat.reindex()
    if as_json:
        _echo_json(result)
        return
    if not result:
        click.echo("the store has no catalog yet")
    for namespace, seq in sorted(result.items()):
        click.echo(f"{namespace}: {seq} changesets")


@cli.command()
@click.option("--keep", is_flag=True, help="Keep the demo folder and print where it is.")
def demo(keep: bool) -> None:
    """Run the main job end to end on a fresh embedded store in a temporary folder.

    Example: eos demo
    """
    from .demo import run_demo

    run_demo(echo=click.echo, keep=keep)


# The data commands register on `cli` when their module is imported.
from . import cli_admin, cli_catalogs, cli_data, cli_maintenance, cli_versions  # noqa: E402, F401


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point."""
    cli.main(args=list(argv) if argv is not None else sys.argv[1:], prog_name="eos")

