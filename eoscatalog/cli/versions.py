"""The ``eos`` commands that add versions to a name or act on existing ones: rm, undelete,
rollback, tag, untag.

cli.py registers them (``COMMANDS``) on the ``eos`` group, and like every
command they parse arguments, call the Catalog, and print; with ``--json``, the versions they
made or acted on, in the shape of :meth:`VersionRecord.to_dict`.
"""

from __future__ import annotations

import click

from eoscatalog.catalog.catalog import Catalog
from eoscatalog.cli.common import echo_json, is_folder_arg, json_option, one_name, open_catalog
from eoscatalog.core.errors import NotFoundError
from eoscatalog.log.records import VersionRecord

__all__ = ["COMMANDS", "rm", "rollback", "tag", "undelete", "untag"]


@click.command()
@click.argument("ref")
@click.option("-r", "-R", "--recursive", is_flag=True, help="Delete every name under a folder.")
@click.option("--purge", is_flag=True, help="Remove REF (name, or name@N) for good instead.")
@click.option("--yes", is_flag=True, help="Confirm --purge, or -r of a whole namespace.")
@click.option("-m", "--message", default="", help="A note kept with the change.")
@click.option("--dry-run", "--dryrun", "dry_run", is_flag=True,
              help="Print what would be deleted or purged; change nothing.")
@json_option
def rm(ref: str, recursive: bool, purge: bool, yes: bool, message: str, dry_run: bool,
       as_json: bool) -> None:
    """Delete NAME by adding a delete marker; older versions stay readable.

    With -r, every name under a folder, in one change. With --purge --yes, make REF (every
    version of a name, or one name@N) unreadable for good, e.g. for data uploaded by mistake.
    --json prints the delete marker made (a list of them with -r; with --purge, the list of
    versions purged).

    Example: eos rm project-1/old.csv
    """
    if as_json and dry_run:
        raise click.UsageError("--json prints the versions a change made; --dry-run makes "
                               "none: drop one of them")
    with open_catalog() as cat:
        if dry_run:
            _rm_dry_run(cat, ref, recursive=recursive, purge=purge)
            return
        if recursive:
            if purge:
                raise click.UsageError("--purge takes one name (or name@N), not -r")
            names = cat.rm_prefix(ref, message=message, whole_namespace=yes)
            if as_json:
                folder = cat.folder(ref)
                echo_json([_last_marker(cat, f"eos://{folder.namespace}/{name}").to_dict()
                           for name in names])
                return
            for name in names:
                click.echo(f"deleted: {name}")
            click.echo(f"{len(names)} names deleted; `eos undelete -r {ref}` restores them")
            return
        if purge:
            if not yes:
                raise click.UsageError("--purge cannot be undone: add --yes to confirm")
            with one_name(cat, ref, "--purge takes one name at a time (eos ls -r {uri})"):
                purged = cat.purge(ref, message=message)
            if as_json:
                loc = cat.reference(ref).location
                echo_json([r.to_dict() for r in cat.versions(loc) if r.version in purged])
                return
            click.echo(f"purged versions {', '.join(map(str, purged)) or 'none (already)'}")
            return
        with one_name(cat, ref, "use eos rm -r {uri}"):
            record = cat.rm(ref, message=message)
    if as_json:
        echo_json(record.to_dict())
        return
    click.echo(f"deleted: {record.uri} is a delete marker; `eos undelete {ref}` restores it")


def _last_marker(cat: Catalog, name: str) -> VersionRecord:
    """The newest delete marker of ``name``: the one ``rm -r`` just made."""
    return [r for r in cat.versions(name) if r.is_delete_marker][-1]


def _rm_dry_run(cat: Catalog, ref: str, *, recursive: bool, purge: bool) -> None:
    """What ``eos rm`` would do, checked as the real run checks it; nothing is written."""
    if recursive:
        if purge:
            raise click.UsageError("--purge takes one name (or name@N), not -r")
        folder = cat.folder(ref)
        cat.check_writable(folder.namespace)
        names = [r.uri for r in cat.ls(folder, recursive=True).files]
        if not names:
            raise NotFoundError(f"nothing to delete under {folder.uri}")
        for uri in names:
            click.echo(f"(dry run) delete: {uri}")
        click.echo(f"(dry run) {len(names)} names would be deleted")
        return
    reference = cat.reference(ref)
    cat.check_writable(reference.namespace)
    if purge:
        chosen = ([cat.resolve(ref)] if reference.is_pinned
                  else [v for v in cat.versions(reference.location) if not v.purged])
        versions = ", ".join(str(v.version) for v in chosen) or "none (already)"
        click.echo(f"(dry run) purge: {reference.location.uri} versions {versions}")
        return
    record = cat.resolve(reference.location.uri)
    click.echo(f"(dry run) delete: {record.uri} would get a delete marker")


@click.command()
@click.argument("name")
@click.option("-r", "-R", "--recursive", is_flag=True,
              help="Restore every deleted name under a folder, in one change.")
@click.option("-m", "--message", default="", help="A note kept with the change.")
@json_option
def undelete(name: str, recursive: bool, message: str, as_json: bool) -> None:
    """Restore a deleted NAME as a new version carrying its last readable bytes; with -r,
    every deleted name under the folder NAME (what `eos rm -r` deleted), in one change.

    Example: eos undelete project-1/old.csv; eos undelete -r project-1/run-3/
    """
    with open_catalog() as cat:
        if recursive:
            records = cat.undelete_prefix(name, message=message)
            if as_json:
                echo_json([r.to_dict() for r in records])
                return
            for r in records:
                click.echo(f"restored: {r.uri} holds version {r.source_version}'s bytes")
            click.echo(f"{len(records)} names restored")
            return
        record = cat.undelete(name, message=message)
    if as_json:
        echo_json(record.to_dict())
        return
    click.echo(f"restored: {record.uri} holds version {record.source_version}'s bytes")


@click.command()
@click.argument("name")
@click.option("--to", "to", required=True,
              help="Version number, tag or blake3: hash prefix; for a folder, a folder version, "
                   "folder tag or time.")
@click.option("-m", "--message", default="", help="A note kept with the change.")
@json_option
def rollback(name: str, to: str, message: str, as_json: bool) -> None:
    """Add a new version of NAME carrying the bytes of an older one; for a FOLDER/ (a trailing
    '/'), make it hold what its version --to held, in one change: names changed since get
    their old bytes back, names added since are deleted, names deleted since come back.

    --json prints the version that holds them, with "new_version" false when the latest
    already did (for a folder: the list of versions made).

    Example: eos rollback project-1/table.csv --to 3; eos rollback eos://org/x.zarr/ --to 3
    """
    with open_catalog() as cat:
        if is_folder_arg(cat, name):
            made = cat.folders.rollback(name, to, message=message)
            if as_json:
                echo_json([r.to_dict() for r in made])
                return
            for r in made:
                what = "deleted" if r.is_delete_marker else f"holds version {r.source_version}"
                click.echo(f"{r.uri} {what}")
            folder = cat.folder(name).uri
            click.echo(f"{folder} now holds what {folder[:-1]}@{to.strip('@/')}/ held "
                       f"({len(made)} names changed)" if made
                       else f"unchanged: {folder} already holds what version {to} held")
            return
        before = max((r.version for r in cat.versions(name)), default=0)
        record = cat.rollback(name, to, message=message)
    created = record.version > before
    if as_json:
        echo_json({**record.to_dict(), "new_version": created})
        return
    if created:
        click.echo(f"{record.uri} now holds version {record.source_version}'s bytes")
    else:
        click.echo(f"unchanged: {record.uri} already holds those bytes")


@click.command()
@click.argument("ref")
@click.argument("tag")
@click.option("--force", is_flag=True, help="Move the tag if it is on another version.")
@json_option
def tag(ref: str, tag: str, force: bool, as_json: bool) -> None:
    """Put TAG on the version REF means (read it back as name@TAG); on a folder version
    (FOLDER@N/, or FOLDER/ for its latest), a folder tag (read it back as FOLDER@TAG/).

    Example: eos tag project-1/table.csv@3 paper-2026; eos tag eos://org/x.zarr@3/ paper-2026
    """
    with open_catalog() as cat:
        if is_folder_arg(cat, ref):
            snap = cat.folders.tag(ref, tag, force=force)
            if as_json:
                echo_json({"uri": snap.uri, "namespace": snap.namespace, "prefix": snap.prefix,
                           "version": snap.version, "seq": snap.seq, "tag": tag})
                return
            click.echo(f"{snap.uri} tagged {tag} (read it as {snap.uri.rsplit('@', 1)[0]}@{tag}/)")
            return
        record = cat.tag(ref, tag, force=force)
    if as_json:
        echo_json(record.to_dict())
        return
    click.echo(f"{record.uri} tagged {tag}")


@click.command()
@click.argument("name")
@click.argument("tag")
@json_option
def untag(name: str, tag: str, as_json: bool) -> None:
    """Remove TAG from NAME (from a FOLDER/, its folder tag).

    --json prints the version the tag was on, as it is now (for a folder: its folder version).

    Example: eos untag project-1/table.csv paper-2026; eos untag eos://org/x.zarr/ paper-2026
    """
    with open_catalog() as cat:
        if is_folder_arg(cat, name):
            snap = cat.folders.snapshot(f"{cat.folder(name).uri[:-1]}@{tag}/") if as_json else None
            cat.folders.untag(name, tag)
            if snap is not None:
                echo_json({"uri": snap.uri, "namespace": snap.namespace, "prefix": snap.prefix,
                           "version": snap.version, "seq": snap.seq, "tag": tag})
                return
            click.echo(f"removed folder tag {tag} from {cat.folder(name).uri}")
            return
        was = [r.version for r in cat.versions(name) if tag in r.tags] if as_json else []
        cat.untag(name, tag)  # refuses a tag the name does not have, whatever `was` says
        if as_json:
            echo_json(next((r.to_dict() for r in cat.versions(name) if r.version in was),
                           None))
            return
    click.echo(f"removed tag {tag} from {name}")


# The commands of this module; cli.py adds them to the group.
COMMANDS: tuple[click.Command, ...] = (rm, undelete, rollback, tag, untag)
