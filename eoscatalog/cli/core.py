"""The ``eos`` commands that set up and put, get and show one name: init, put, get, versions,
info, reindex, demo.

cli.py registers them (``COMMANDS``) on the ``eos`` group; like every command they parse
arguments, call the Catalog, and print.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click

from eoscatalog.cli.common import echo_json, is_folder_arg, json_option, one_name, open_catalog
from eoscatalog.cli.output import (
    folder_versions_table,
    format_size,
    format_table,
    versions_table,
)
from eoscatalog.cli.progress import Progress
from eoscatalog.core.errors import EosError
from eoscatalog.local.config import Config

__all__ = ["COMMANDS", "demo", "get", "info", "init", "put", "reindex", "versions"]


def _store_in_use() -> str:
    """The store commands use now, said for a failed ``eos init``."""
    try:
        current = Config.load()
    except EosError:
        return "the settings in $EOS_HOME/config.yaml and the EOS_* variables, unchanged"
    if current.is_embedded:
        return f"no store is configured, so eos uses {current.describe_store()}"
    return f"eos still uses {current.describe_store()}"


def _parse_meta(pairs: Sequence[str]) -> dict[str, str] | None:
    meta: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--meta")
        meta[key] = value
    return meta or None


@click.command()
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


@click.command()
@click.argument("local", type=click.Path(dir_okay=True, path_type=Path))
@click.argument("name")
@click.option("--meta", multiple=True, metavar="KEY=VALUE", help="Metadata (repeatable).")
@click.option("-m", "--message", default="", help="A note kept with the change.")
@json_option
def put(local: Path, name: str, meta: tuple[str, ...], message: str, as_json: bool) -> None:
    """Upload a local file as a new version of NAME (no new version if nothing changed).

    Example: eos put reads.fq.gz project-1/reads.fq.gz
    """
    size = local.stat().st_size if local.is_file() else 0
    progress = Progress(size, label="put", enabled=None if not as_json else False)
    with open_catalog() as cat:
        result = cat.put(local, name, meta=_parse_meta(meta), message=message,
                         on_bytes=progress.advance)
    if progress.done and result.uploaded:
        progress.close()
    if as_json:
        echo_json({**result.record.to_dict(), "new_version": result.created,
                   "bytes_uploaded": result.uploaded})
        return
    record = result.record
    if not result.created:
        click.echo(f"unchanged: {record.uri} already holds these bytes")
    elif result.uploaded:
        click.echo(f"{record.uri}  {format_size(record.size)} uploaded")
    else:
        click.echo(f"{record.uri}  {format_size(record.size)} already stored, no bytes sent")


@click.command()
@click.argument("ref")
@click.argument("local", required=False)
@json_option
def get(ref: str, local: str | None, as_json: bool) -> None:
    """Download REF (a name, name@N, name@tag, ...) to LOCAL, verified.

    LOCAL defaults to the name's last path segment in the current folder; an existing
    folder receives the file inside it. --json prints the version got and its "path".

    Example: eos get project-1/reads.fq.gz@2 ./reads.fq.gz
    """
    progress = Progress(None, label="get", enabled=False if as_json else None)
    into = local or "./"
    with open_catalog() as cat, one_name(cat, ref, f"use eos cp -r {{uri}} {into}"):
        record = cat.resolve(ref)  # once: the download is of exactly this version
        progress.total = record.size
        path = cat.get(record.uri, local, on_bytes=progress.advance)
    if progress.done:
        progress.close()
    if as_json:
        echo_json({**record.to_dict(), "path": str(path)})
        return
    click.echo(str(path))


@click.command()
@click.argument("name")
@json_option
def versions(name: str, as_json: bool) -> None:
    """List every version of NAME, delete markers included; of a FOLDER/ (a trailing '/'),
    every folder version: one per change to a name under it, with the names added, changed
    and removed and the bytes added.

    Example: eos versions project-1/reads.fq.gz; eos versions eos://org/x.zarr/
    """
    with open_catalog() as cat:
        if is_folder_arg(cat, name):
            found = cat.folders.versions(name)
            if as_json:
                echo_json([v.to_dict() for v in found])
            else:
                click.echo(folder_versions_table(found))
            return
        with one_name(cat, name, "add a '/' for the folder's versions: eos versions {uri}"):
            records = cat.versions(name)
    if as_json:
        echo_json([r.to_dict() for r in records])
    else:
        click.echo(versions_table(records))


@click.command()
@click.argument("ref")
@json_option
def info(ref: str, as_json: bool) -> None:
    """Show what REF resolves to: version, hash, size, author, tags and blob location.

    Example: eos info project-1/reads.fq.gz@prod --json
    """
    with open_catalog() as cat, one_name(cat, ref, "use eos ls {uri}"):
        data = cat.info(ref)
    if as_json:
        echo_json(data)
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


@click.command()
@json_option
def reindex(as_json: bool) -> None:
    """Rebuild the local index from the store (newest checkpoint plus the log's tail).

    Example: eos reindex
    """
    with open_catalog() as cat:
        result = cat.reindex()
    if as_json:
        echo_json(result)
        return
    if not result:
        click.echo("the store has no catalog yet")
    for namespace, seq in sorted(result.items()):
        click.echo(f"{namespace}: {seq} changesets")


@click.command()
@click.option("--keep", is_flag=True, help="Keep the demo folder and print where it is.")
def demo(keep: bool) -> None:
    """Run the main job end to end on a fresh embedded store in a temporary folder.

    Example: eos demo
    """
    from eoscatalog.cli.demo import run_demo

    run_demo(echo=click.echo, keep=keep)


# The commands of this module, in the order they were written; cli.py adds them to the group.
COMMANDS: tuple[click.Command, ...] = (init, put, get, versions, info, reindex, demo)
