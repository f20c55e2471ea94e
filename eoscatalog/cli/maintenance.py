"""The ``eos`` commands that keep a store healthy: ``verify`` and ``gc``.

cli.py registers them (``COMMANDS``) on the ``eos`` group.
"""

from __future__ import annotations

import click

from eoscatalog.cli.common import echo_json, json_option, open_catalog
from eoscatalog.cli.output import format_size

__all__ = ["COMMANDS", "gc", "verify"]


@click.command()
@click.argument("prefix", required=False, default="")
@click.option("--all", "all_namespaces", is_flag=True,
              help="Check every namespace in the store, not one prefix.")
@click.option("--repair-from", type=click.Path(exists=True),
              help="A folder (or file) holding good copies: missing or corrupt blobs whose "
                   "bytes are there are stored again.")
@click.option("--no-quarantine", is_flag=True,
              help="Leave corrupt blobs where they are (default: move them to quarantine/).")
@json_option
def verify(prefix: str, all_namespaces: bool, repair_from: str | None, no_quarantine: bool,
           as_json: bool) -> None:
    """Check that every readable version's blob under PREFIX is there and hashes to its key.

    Reports exactly the missing and corrupt blobs (exit 1 if any is left unrepaired).

    Example: eos verify eos://org/ --repair-from ./backup/
    """
    with open_catalog() as cat:
        report = cat.verify(prefix, all_namespaces=all_namespaces, repair_from=repair_from,
                            quarantine=not no_quarantine)
    if as_json:
        echo_json({
            "versions": report.versions, "blobs": report.blobs, "bytes": report.bytes,
            "ok": report.ok,
            "problems": [{"hash": p.hash, "problem": p.problem, "actual": p.actual,
                          "uris": list(p.uris), "quarantined": p.quarantined,
                          "repaired": p.repaired} for p in report.problems],
        })
    else:
        for p in report.problems:
            state = "repaired" if p.repaired else (
                f"moved to {p.quarantined}" if p.quarantined else "not repaired")
            detail = f" (its bytes hash to {p.actual})" if p.actual else ""
            click.echo(f"{p.problem}: {p.hash}{detail}, {state}; used by "
                       + ", ".join(p.uris[:3]) + (" ..." if len(p.uris) > 3 else ""))
        click.echo(f"checked {report.versions} versions, {report.blobs} blobs "
                   f"({format_size(report.bytes)}): {len(report.missing)} missing, "
                   f"{len(report.corrupt)} corrupt")
    if not report.ok:
        raise SystemExit(1)


@click.command()
@click.option("--grace", default="24h", show_default=True,
              help="Spare blobs written or reused more recently than this.")
@click.option("--dry-run", is_flag=True, help="Report what would go; delete nothing.")
@click.option("--prune", is_flag=True,
              help="First purge old versions the retention rules do not keep.")
@json_option
def gc(grace: str, dry_run: bool, prune: bool, as_json: bool) -> None:
    """Delete blobs that no live version or tag references and that are older than the grace
    period; clean up what interrupted uploads left. Needs admin rights (EOS_ADMIN=1).

    Example: eos gc --dry-run
    """
    with open_catalog() as cat:
        report = cat.gc(grace=grace, dry_run=dry_run, prune=prune)
    reasons = sorted(report.deleted)
    if as_json:
        echo_json({
            "dry_run": report.dry_run, "grace_seconds": report.grace_seconds,
            "live": report.live, "kept_young": report.kept_young,
            "kept_rechecked": report.kept_rechecked, "pruned": report.pruned,
            "deleted": {r: {"count": len(report.deleted[r]), "bytes": report.bytes(r)}
                        for r in reasons},
            "lost": report.lost,
        })
        return
    verb = "would delete" if dry_run else "deleted"
    for uri, versions in sorted(report.pruned.items()):
        click.echo(f"{'would purge' if dry_run else 'purged'} {uri} versions "
                   + ",".join(map(str, versions)))
    for reason in reasons:
        click.echo(f"{verb} {len(report.deleted[reason])} {reason} "
                   f"({format_size(report.bytes(reason))})")
    click.echo(f"{verb} {format_size(report.bytes())} in all; kept {report.live} live blobs, "
               f"{report.kept_young} younger than the grace period, {report.kept_rechecked} "
               "used again while gc ran")
    for key in report.lost:
        click.echo(f"eos: warning: {key} is named by a live version but was gone from trash/ "
                   "before gc could put it back: put the file again to restore it", err=True)


# The commands of this module; cli.py adds them to the group.
COMMANDS: tuple[click.Command, ...] = (verify, gc)
