"""The ``eos`` commands that write and read whole catalogs: ``export intake``, ``export yaml``
and ``import``.

cli.py registers them (``COMMANDS``) on the ``eos`` group.
"""

from __future__ import annotations

import click

from eoscatalog.cli.common import echo_json, json_option, open_catalog

__all__ = ["COMMANDS", "export", "import_"]


@click.group()
def export() -> None:
    """Write the catalog out: an Intake catalog, or a YAML catalog of every version.

    Example: eos export intake eos://org/shared/ -o catalogs/shared.yaml
    """


@export.command("intake")
@click.argument("prefix", required=False, default="")
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="The file to write (default: standard output).")
@click.option("--latest", "latest_only", is_flag=True,
              help="Only each name's latest version, no name@N entries.")
@click.option("--tag", help="Only the names with this tag, each as its tagged version.")
@click.option("--description", help="The catalog's description.")
def export_intake(prefix: str, output: str | None, latest_only: bool, tag: str | None,
                  description: str | None) -> None:
    """Write an Intake catalog of the names under PREFIX that intake 0.6, 0.7 and 2 open.

    Entries are NAME (latest now) and NAME@N (each version), pointing at immutable blobs; a
    Zarr store or a Parquet dataset folder is one entry, pinned to its folder version.
    PREFIX may be a folder version (eos://org/data@3/).

    Example: eos export intake eos://org/shared/ -o catalogs/shared.yaml
    """
    with open_catalog() as cat:
        text = cat.to_intake(prefix, output, latest_only=latest_only, tag=tag,
                             description=description)
    if output is None:
        click.echo(text, nl=False)
    else:
        click.echo(f"wrote {output}", err=True)


@export.command("yaml")
@click.argument("prefix", required=False, default="")
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="The file to write (default: standard output).")
def export_yaml(prefix: str, output: str | None) -> None:
    """Write every name and version under PREFIX, with hashes and tags, as git-diffable YAML.

    Example: eos export yaml eos://org/shared/ -o shared-catalog.yaml
    """
    with open_catalog() as cat:
        text = cat.to_yaml(prefix, output)
    if output is None:
        click.echo(text, nl=False)
    else:
        click.echo(f"wrote {output}", err=True)


@click.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("-m", "--message", default="", help="A note kept with the change.")
@json_option
def import_(file: str, message: str, as_json: bool) -> None:
    """Load a YAML catalog (from eos export yaml) into the store that holds its blobs.

    Everything is checked first (the file, every blob, agreement with existing versions);
    then one changeset adds it all, or nothing is written.

    Example: eos import shared-catalog.yaml
    """
    with open_catalog() as cat:
        names = cat.import_yaml(file, message=message)
    if as_json:
        echo_json({"file": file, "names": names})
    elif names:
        click.echo(f"imported {len(names)} names from {file}")
    else:
        click.echo(f"nothing to import: the catalog already holds everything in {file}")


# The commands of this module; cli.py adds them to the group.
COMMANDS: tuple[click.Command, ...] = (export, import_)
