"""The ``eos`` commands that move and show data: ls, cp, sync, cat, url, du, log, lock, cache.

cli.py registers them (``COMMANDS``) on the ``eos`` group, and like every command they parse
arguments, call the Catalog, and print.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, NoReturn

import click

from eoscatalog.catalog.catalog import Catalog
from eoscatalog.cli.common import echo_json, is_folder_arg, json_option, one_name, open_catalog
from eoscatalog.cli.output import display_name, format_size, format_table, short_time
from eoscatalog.cli.progress import Progress
from eoscatalog.core.errors import NotFoundError, StoreError
from eoscatalog.core.names import Location, is_uri
from eoscatalog.core.units import format_time, parse_duration
from eoscatalog.lock.active import use_lock
from eoscatalog.lock.lock_file import LockFile
from eoscatalog.rules.listing import Listing
from eoscatalog.transfer.cp import run_cp, run_mv
from eoscatalog.transfer.sync import SyncReport, run_sync

__all__ = ["COMMANDS", "cat", "cp", "du", "lock", "log", "ls", "mv", "sync", "url"]


@click.command()
@click.argument("uri", required=False, default="")
@click.option("-r", "--recursive", is_flag=True, help="List every name below, not folders.")
@click.option("--versions", "all_versions", is_flag=True,
              help="Every version of each name, delete markers included.")
@click.option("--deleted", is_flag=True, help="Include names whose latest version is deleted.")
@json_option
def ls(uri: str, recursive: bool, all_versions: bool, deleted: bool, as_json: bool) -> None:
    """List names under URI (default: your namespace) as folders and files.

    Each name shows its latest version's time, size, version number and author; a name with
    blank ends or invisible characters is quoted, as ls does. A prefix with nothing under it
    is an error (exit 1), so a mistyped one is noticed; an empty namespace is not.

    Example: eos ls eos://org/shared/ -r
    """
    with open_catalog() as cat:
        listing = cat.ls(uri, recursive=recursive, versions=all_versions, deleted=deleted)
        if listing.prefix and not (listing.folders or listing.files):
            _nothing_under(cat, listing)
    if as_json:
        echo_json({
            "namespace": listing.namespace,
            "prefix": listing.prefix,
            "folders": list(listing.folders),
            "files": [r.to_dict() for r in listing.files],
        })
        return
    base = listing.prefix.rsplit("/", 1)[0] + "/" if "/" in listing.prefix else ""
    rows = [["", "", "PRE", "", display_name(folder[len(base):])] for folder in listing.folders]
    for r in listing.files:
        version = f"@{r.version}" + (" (deleted)" if r.is_delete_marker else "") + (
            " (purged)" if r.purged else "")
        rows.append([short_time(r.created), format_size(r.size), version, r.author,
                     display_name(r.name[len(base):])])
    if rows:
        click.echo(format_table(["MODIFIED", "SIZE", "VERSION", "AUTHOR", "NAME"], rows))


def _nothing_under(cat: Catalog, listing: Listing) -> NoReturn:
    """Refuse an empty listing of a prefix (as ``aws s3 ls`` exits 1): likely a typo."""
    where = f"eos://{listing.namespace}/{listing.prefix}"
    deleted = cat.ls(where, recursive=True, deleted=True).files
    hint = ("only deleted names: add --deleted to see them" if deleted
            else f"`eos ls eos://{listing.namespace}/` shows what there is")
    raise NotFoundError(f"nothing under {where}: {hint}")


def _dry_run_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--dry-run", "--dryrun", "dry_run", is_flag=True,
                        help="Print what would happen; change nothing.")(f)


def _filter_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("--include", multiple=True, metavar="GLOB",
                     help="Keep what an --exclude leaves out if it matches GLOB (repeatable).")(f)
    return click.option("--exclude", multiple=True, metavar="GLOB",
                        help="Leave out paths or file names matching GLOB (repeatable).")(f)


@click.command()
@click.argument("source")
@click.argument("dest")
@click.option("-r", "-R", "--recursive", is_flag=True,
              help="Copy a folder or prefix and all below.")
@_dry_run_option
@_filter_options
@click.option("--quiet", is_flag=True, help="Print nothing but errors.")
@json_option
def cp(source: str, dest: str, recursive: bool, dry_run: bool, exclude: tuple[str, ...],
       include: tuple[str, ...], quiet: bool, as_json: bool) -> None:
    """Copy SOURCE to DEST: local to eos://, eos:// to local, eos:// to eos://, or import
    from s3:// or https://.

    Copies within the catalog move no bytes (a new version with the same hash). With -r,
    --exclude and --include filter what is copied, as in eos sync.

    Example: eos cp results.csv eos://users/me/project-1/
    """
    if (exclude or include) and not recursive:
        raise click.UsageError("--exclude and --include filter what -r copies: add -r")
    progress = Progress(None, label="cp", enabled=None if not (quiet or as_json) else False)
    with open_catalog() as cat:
        transfers = run_cp(cat, source, dest, recursive=recursive, dry_run=dry_run,
                           exclude=exclude, include=include, on_bytes=progress.advance)
    if progress.done:
        progress.close()
    if as_json:
        echo_json([t.to_dict() for t in transfers])
        return
    if not quiet:
        for transfer in transfers:
            click.echo(("(dry run) " if dry_run else "") + transfer.line())


@click.command()
@click.argument("source")
@click.argument("dest")
@click.option("-r", "-R", "--recursive", is_flag=True,
              help="Move every name under a folder or prefix.")
@_dry_run_option
@json_option
def mv(source: str, dest: str, recursive: bool, dry_run: bool, as_json: bool) -> None:
    """Move names within the catalog: a copy (no byte moves) and a delete marker on SOURCE,
    in one changeset when both are in one namespace.

    Example: eos mv eos://users/me/draft.csv eos://users/me/final/
    """
    with open_catalog() as cat:
        moves = run_mv(cat, source, dest, recursive=recursive, dry_run=dry_run)
    if as_json:
        echo_json([t.to_dict() for t in moves])
        return
    for move in moves:
        click.echo(("(dry run) " if dry_run else "") + move.line())


@click.command()
@click.argument("source")
@click.argument("dest")
@click.option("--delete", is_flag=True, help="Also remove what SOURCE does not have.")
@_dry_run_option
@_filter_options
@click.option("-m", "--message", default="", help="A note kept with the change.")
@click.option("--quiet", is_flag=True, help="Print nothing but errors.")
@json_option
def sync(source: str, dest: str, delete: bool, dry_run: bool, exclude: tuple[str, ...],
         include: tuple[str, ...], message: str, quiet: bool, as_json: bool) -> None:
    """Make DEST hold what SOURCE holds: a folder and an eos:// prefix either way, or two
    eos:// prefixes.

    Files are compared by hash (an unchanged file costs a stat, thanks to the hash cache);
    an upload, or a sync between prefixes (which moves no byte), publishes every change as one
    changeset, all or nothing. --delete from a source holding nothing is refused.

    Example: eos sync ./project-1/ eos://users/me/project-1/ --delete
    """
    if message and is_uri(source) and not is_uri(dest):
        raise click.UsageError(
            "-m/--message is kept with the changes an upload publishes; a download to a "
            "folder publishes none: drop -m"
        )
    progress = Progress(0, label="sync", enabled=None if not (quiet or as_json) else False)

    def planned(plan: SyncReport) -> None:
        progress.total = plan.transferred
        progress.files = sum(a.kind in ("upload", "download") for a in plan.actions)

    with open_catalog() as cat:
        report = run_sync(cat, source, dest, delete=delete, dry_run=dry_run, exclude=exclude,
                          include=include, message=message, on_plan=planned,
                          on_bytes=progress.advance, on_file=progress.file_done)
    if progress.done:
        progress.close()
    if as_json:
        echo_json({
            "direction": report.direction, "source": report.source, "dest": report.dest,
            "local": None if report.local is None else str(report.local),
            "remote": report.remote, "dry_run": report.dry_run, "hashed": report.hashed,
            "actions": [{"kind": a.kind, "path": a.relative, "size": a.size,
                         "reason": a.reason} for a in report.actions],
        })
        return
    if quiet:
        return
    prefix = "(dry run) " if dry_run else ""
    for line in report.lines():
        click.echo(prefix + line)
    if not report.actions:
        click.echo("nothing to do: already in sync")


@click.command()
@click.argument("uri", required=False, default="")
@json_option
def du(uri: str, as_json: bool) -> None:
    """Show the space names under URI take: latest versions, all versions, and the bytes
    stored once each (what deduplication saved).

    Example: eos du eos://org/
    """
    with open_catalog() as cat:
        found = cat.folders.reference(uri)
        u = cat.du(uri)
        if found is None:
            loc = cat.prefix(uri)
            where = f"eos://{loc.namespace}/{loc.name}"
        else:  # a folder version: eos://org/x.zarr@3/
            loc = Location(found[0].namespace, found[0].prefix + found[1])
            where = found[0].uri + found[1]
    data = {"namespace": loc.namespace, "prefix": loc.name, "names": u.names,
            "versions": u.versions, "logical_bytes": u.logical,
            "all_versions_bytes": u.all_versions, "stored_bytes": u.stored,
            "saved_bytes": u.saved}
    if as_json:
        echo_json(data)
        return
    click.echo(format_table(["", where], [
        ["names", str(u.names)], ["versions", str(u.versions)],
        ["latest versions", format_size(u.logical)],
        ["all versions", format_size(u.all_versions)],
        ["stored (each blob once)", format_size(u.stored)],
        ["saved by deduplication", format_size(u.saved)],
    ]))


@click.command()
@click.argument("uri", required=False, default="")
@click.option("-n", "--limit", default=20, show_default=True, type=click.IntRange(min=1),
              help="How many changes to show.")
@json_option
def log(uri: str, limit: int, as_json: bool) -> None:
    """Show recent changes to names under URI, newest first: who did what, when.

    Example: eos log eos://org/shared/ -n 50
    """
    with open_catalog() as cat:
        events = cat.log(uri, limit)
        # Under a folder, which folder version each change made (eos://org/x.zarr@3/).
        folder = cat.folder(uri) if uri and is_folder_arg(cat, uri) else None
        numbers = ({v.seq: v.version for v in cat.folders.versions(folder)}
                   if folder is not None and events else {})
    if as_json:
        echo_json([{**e.to_dict(), **({"folder_version": numbers.get(e.seq)} if numbers else {})}
                   for e in events])
        return
    rows = [[short_time(e.created), e.author, e.what, e.target, e.message] for e in events]
    headers = ["WHEN", "WHO", "WHAT", "VERSION", "MESSAGE"]
    if folder is not None and numbers:
        base = folder.name[:-1]
        headers.insert(3, "FOLDER")
        for row, e in zip(rows, events, strict=True):
            row.insert(3, f"{base}@{numbers[e.seq]}/" if e.seq in numbers else "")
    if rows:
        click.echo(format_table(headers, rows))


@click.command()
@click.argument("ref")
def cat(ref: str) -> None:
    """Write the bytes REF means to standard output, verified first.

    Example: eos cat eos://org/shared/samples.csv@3 | head
    """
    with open_catalog() as catalog:
        record = catalog.resolve(ref)
        # The cache entry, open and marked in use (no prune removes it while it streams),
        # hashed just now; fetched (and verified) first when the cache lacks it.
        f = catalog.open_cached(record)
        if f is None:
            record, _ = catalog.cached(record.uri)
            f = catalog.open_cached(record)
        if f is None:
            raise StoreError(f"the cache lost {record.uri} while it was fetched (another "
                             "process pruned it): run eos cat again")
        with f:
            while chunk := f.read(1024 * 1024):
                sys.stdout.buffer.write(chunk)
    sys.stdout.flush()


@click.command()
@click.argument("ref")
@click.option("--expires", "--expires-in", "expires", default="48h", show_default=True,
              help="How long the link works: 30m, 48h, 7d, or seconds (3600); at most 7 days.")
@json_option
def url(ref: str, expires: str, as_json: bool) -> None:
    """Print a link that lets anyone holding it download REF until it expires.

    On S3 a presigned GET link to the one blob, saved by browsers, wget and curl -OJ under
    the name's last segment; on a local store a file:// URL. --json prints the version the
    link serves with its "url" and "url_expires" (UTC).

    Example: eos url project-1/report.pdf --expires 7d
    """
    with open_catalog() as catalog, one_name(catalog, ref, "links are to one file (eos ls {uri})"):
        if not as_json:
            click.echo(catalog.url(ref, expires=expires))
            return
        record = catalog.resolve(ref)
        ends = datetime.now(timezone.utc) + timedelta(seconds=parse_duration(expires))
        link = catalog.url(record.uri, expires=expires)  # exactly the version reported
    echo_json({**record.to_dict(), "url": link, "url_expires": format_time(ends)})


def _folder_or_raise(cat: Catalog, ref: str, missing: NotFoundError) -> Any:
    """The folder pin of ``ref`` written without its trailing '/' (``eos://org/runs``,
    ``runs@3``) when no name is called that; ``missing`` (the name's error) when no folder is."""
    try:
        return cat.folders.pin(ref + "/")
    except NotFoundError:
        raise missing from None


@click.command()
@click.argument("refs", nargs=-1, required=True)
@click.option("-o", "--output", default="eos.lock", show_default=True,
              type=click.Path(dir_okay=False, path_type=Path), help="The lock file to write.")
@click.option("--add", is_flag=True,
              help="Keep the file's existing pins (always done now; kept for scripts).")
@click.option("--update", is_flag=True,
              help="Move pins the file already holds to the versions REFS resolve to now.")
@json_option
def lock(refs: tuple[str, ...], output: Path, add: bool, update: bool, as_json: bool) -> None:
    """Pin REFS to their exact versions and hashes in a lock file for reproducible reruns.

    Run an analysis with EOS_LOCK=eos.lock (or eoscatalog.use_lock("eos.lock")) and every
    File resolves through the pins; a name missing from the lock is an error. An existing lock
    file keeps its pins and gains new names; a pin it holds moves to another version only with
    --update (otherwise an error names it). Prints each pin: added, updated, unchanged, kept.
    A REF ending with '/' (eos://org/x.zarr/, x.zarr@3/, x.zarr@paper/) pins a folder version:
    one entry that pins every name under the folder (so does a REF without the '/' that is
    no name but a folder).

    Example: eos lock project-1/reads.fq.gz eos://org/ref/genome.fa@paper-2026 -o eos.lock
    """
    lock_file = LockFile.load(output) if output.exists() else LockFile()
    fresh = LockFile()
    with open_catalog() as cat, use_lock(None):  # pin what the store holds now, not an old lock
        for ref in refs:  # a trailing '/' is a folder (x.zarr/, x.zarr@3/): one folder entry
            if ref.endswith("/"):
                fresh.pin_folder(cat.folders.pin(ref))
                continue
            try:
                fresh.pin(cat.resolve(ref))  # two different pins for one name: ConflictError
            except NotFoundError as missing:  # no such name: a folder (x.zarr, x.zarr@3)?
                fresh.pin_folder(_folder_or_raise(cat, ref, missing))
    changes = lock_file.merge(fresh, update=update)
    lock_file.save(output)
    if as_json:
        echo_json([change.to_dict() for change in changes])
        return
    for change in changes:
        was = f" (was @{change.previous.version})" if change.previous is not None else ""
        click.echo(f"{change.status:<9}  {change.pin.uri}  {change.checksum}{was}")
    counts = ", ".join(f"{sum(c.status == s for c in changes)} {s}"
                       for s in ("added", "updated", "unchanged", "kept"))
    click.echo(f"wrote {output} ({len(lock_file)} inputs: {counts})")


# The commands of this module; cli.py adds them to the group.
COMMANDS: tuple[click.Command, ...] = (ls, cp, mv, sync, du, log, cat, url, lock)
