"""The ``eos`` command line: parse arguments, call one Catalog method, print the result.

This module builds the group and adds the commands of every command module to it; the command
modules import only what is below them (cli_common.py: the group class, the catalog a command
opens, JSON output), never this module or each other. Errors are mapped to one line on stderr
and an exit code in one place (:class:`~eoscatalog.cli.common.EosGroup`): 0 success,
1 failure, 2 usage error. ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from eoscatalog.cli import admin as cli_admin
from eoscatalog.cli import catalogs as cli_catalogs
from eoscatalog.cli import core as cli_core
from eoscatalog.cli import data as cli_data
from eoscatalog.cli import diffs as cli_diffs
from eoscatalog.cli import maintenance as cli_maintenance
from eoscatalog.cli import ui as cli_ui
from eoscatalog.cli import versions as cli_versions
from eoscatalog.cli.common import EosGroup
from eoscatalog.core.version import __version__

__all__ = ["COMMAND_MODULES", "cli", "main"]

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

# Every module whose COMMANDS are ``eos``'s commands (help lists them by name, whatever the order).
COMMAND_MODULES = (cli_core, cli_data, cli_versions, cli_maintenance, cli_catalogs, cli_admin,
                   cli_diffs, cli_ui)


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


def _add_commands(group: click.Group) -> None:
    for module in COMMAND_MODULES:
        for command in module.COMMANDS:
            if command.name in group.commands:  # two modules naming one command: one is lost
                raise RuntimeError(f"internal error: two eos commands named {command.name!r}")
            group.add_command(command)


_add_commands(cli)


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point."""
    cli.main(args=list(argv) if argv is not None else sys.argv[1:], prog_name="eos")
