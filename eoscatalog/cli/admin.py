"""The ``eos admin`` commands: print the S3 bucket policy and the lifecycle rules that suit the
organization's store root (admin.py builds them; nothing is sent to S3).

cli.py registers them (``COMMANDS``) on the ``eos`` group.
"""

from __future__ import annotations

import json
from typing import IO, Any

import click

from eoscatalog.cli.common import echo_json, json_option, open_catalog
from eoscatalog.core.errors import ConfigError, InvalidNameError
from eoscatalog.local.config import Config
from eoscatalog.rules.policies import (
    DEFAULT_USER_VARIABLE,
    bucket_policy,
    lifecycle_rules,
    org_store_root,
)
from eoscatalog.rules.retention import RetentionRule

__all__ = ["COMMANDS", "admin", "changesets", "lifecycle", "policy", "retention"]


class AdminUsageError(click.UsageError):
    """A bad option value: one line on stderr, exit code 2."""

    def show(self, file: IO[Any] | None = None) -> None:
        """Print ``eos: error: <message>`` (no usage block)."""
        click.echo(f"eos: error: {self.format_message()}", err=True, file=file)


def _store_root(store: str | None, org: str | None) -> str:
    """The org's root from the options, the configuration filling in what they leave out."""
    if store is None or org is None:
        config = Config.load()  # a broken configuration is an error (exit 1), not usage
        store = config.store_url if store is None else store
        org = config.org if org is None else org
    try:
        return org_store_root(store, org)
    except InvalidNameError as e:
        raise AdminUsageError(str(e)) from None


def _store_options(f: Any) -> Any:
    f = click.option("--org", help="Organization (default: the configured one).")(f)
    return click.option("--store", metavar="s3://BUCKET[/prefix]",
                        help="The S3 store (default: the configured one).")(f)


def _print(document: dict[str, Any]) -> None:
    click.echo(json.dumps(document, indent=2))


@click.group()
def admin() -> None:
    """Print what an administrator puts on the bucket: a bucket policy and lifecycle rules.

    Nothing is sent to S3: apply the JSON with the aws CLI (docs/admin.md).

    Example: eos admin policy --members arn:aws:iam::123456789012:root --admins
    arn:aws:iam::123456789012:role/eos-admin > policy.json
    """


@admin.command()
@_store_options
@click.option("--members", multiple=True, metavar="ARN", required=True,
              help="A principal of the organization: IAM role or user ARN, or an account root "
                   "(repeatable).")
@click.option("--admins", multiple=True, metavar="ARN", required=True,
              help="An admin role or user ARN (repeatable).")
@click.option("--user-variable", default=DEFAULT_USER_VARIABLE, show_default=True,
              help="The IAM policy variable whose value is a member's eos user id.")
@click.option("--create-only/--no-create-only", default=True, show_default=True,
              help="Deny writes of blobs and catalog objects without If-None-Match (AWS S3; "
                   "turn off for services that reject the condition keys).")
def policy(store: str | None, org: str | None, members: tuple[str, ...],
           admins: tuple[str, ...], user_variable: str, create_only: bool) -> None:
    """Print the S3 bucket policy that enforces the namespace rules server-side.

    Members read everything under the store root, write blobs, eos://org/ and their own
    users/<id>/ and scratch/<id>/; only admins write eos://public/ and delete anything.

    Example: eos admin policy --store s3://lab-bucket/eos --org genomics --members
    arn:aws:iam::123456789012:root --admins arn:aws:iam::123456789012:role/eos-admin
    """
    root = _store_root(store, org)
    try:
        document = bucket_policy(root, members=members, admins=admins,
                                 user_variable=user_variable, create_only=create_only)
    except InvalidNameError as e:
        raise AdminUsageError(str(e)) from None
    _print(document)


@admin.command()
@_store_options
@click.option("--abort-multipart-days", type=int, default=7, show_default=True,
              help="Abort multipart uploads left unfinished for this many days (until then "
                   "a rerun of the put resumes them).")
@click.option("--noncurrent-days", type=int, default=30, show_default=True,
              help="Expire the bucket's noncurrent object versions after this many days "
                   "(0: no such rule).")
@click.option("--expire-scratch-logs", is_flag=True,
              help="Also expire scratch catalogs (changesets and checkpoints under "
                   "catalog/scratch/): their names vanish. Off by default.")
@click.option("--scratch-days", type=int,
              help="With --expire-scratch-logs: days after which they expire (default 30).")
def lifecycle(store: str | None, org: str | None, abort_multipart_days: int,
              noncurrent_days: int, expire_scratch_logs: bool, scratch_days: int | None) -> None:
    """Print the bucket lifecycle configuration that suits the store's layout.

    Blobs are never expired by lifecycle: the same bytes serve every namespace, and only
    garbage collection knows which ones nothing references.

    Example: eos admin lifecycle --store s3://lab-bucket/eos --org genomics > lifecycle.json
    """
    if scratch_days is not None and not expire_scratch_logs:
        raise AdminUsageError("--scratch-days only applies with --expire-scratch-logs")
    root = _store_root(store, org)
    try:
        document = lifecycle_rules(
            root, abort_multipart_days=abort_multipart_days, noncurrent_days=noncurrent_days,
            expire_scratch_logs=expire_scratch_logs,
            scratch_days=30 if scratch_days is None else scratch_days,
        )
    except (InvalidNameError, ConfigError) as e:
        raise AdminUsageError(str(e)) from None
    _print(document)


@admin.group()
def retention() -> None:
    """Retention rules: which old versions `eos gc --prune` may purge, per prefix.

    Example: eos admin retention set eos://org/raw/ --keep-last 5 --keep-days 90
    """


@retention.command("set")
@click.argument("prefix")
@click.option("--keep-last", type=click.IntRange(min=1),
              help="Keep the last N versions with bytes of each name.")
@click.option("--keep-tagged/--no-keep-tagged", default=True, show_default=True,
              help="Keep versions that have a tag.")
@click.option("--keep-days", type=click.FloatRange(min=0),
              help="Keep versions made in the last D days.")
def retention_set(prefix: str, keep_last: int | None, keep_tagged: bool,
                  keep_days: float | None) -> None:
    """Set the retention rule of PREFIX (needs EOS_ADMIN=1); the latest version always stays.

    Example: eos admin retention set eos://org/raw/ --keep-last 5 --keep-days 90
    """
    with open_catalog() as cat:
        rules = cat.set_retention(prefix, keep_last=keep_last, keep_tagged=keep_tagged,
                                  keep_days=keep_days)
    _print_rules(rules)


@retention.command("list")
@json_option
def retention_list(as_json: bool) -> None:
    """List the store's retention rules.

    Example: eos admin retention list
    """
    with open_catalog() as cat:
        rules = cat.retention_rules()
    if as_json:
        echo_json([{"prefix": r.uri, "keep_last": r.keep_last, "keep_tagged": r.keep_tagged,
                    "keep_days": r.keep_days} for r in rules])
    else:
        _print_rules(rules)


@retention.command("rm")
@click.argument("prefix")
def retention_rm(prefix: str) -> None:
    """Remove the retention rule of PREFIX (needs EOS_ADMIN=1).

    Example: eos admin retention rm eos://org/raw/
    """
    with open_catalog() as cat:
        _print_rules(cat.set_retention(prefix, remove=True))


def _print_rules(rules: list[RetentionRule]) -> None:
    if not rules:
        click.echo("no retention rules: eos gc --prune purges nothing")
    for rule in rules:
        click.echo(f"{rule.uri}: keep {rule.describe()}")


@admin.command()
@click.argument("namespaces", nargs=-1, metavar="[NAMESPACE]...")
@click.option("--bad", is_flag=True,
              help="List the changesets replay skipped (malformed, crafted or inconsistent).")
@click.option("--show", type=click.IntRange(min=1), metavar="SEQ",
              help="Print changeset SEQ of the one NAMESPACE given, as stored.")
@json_option
def changesets(namespaces: tuple[str, ...], bad: bool, show: int | None, as_json: bool) -> None:
    """Changesets of the log that replay skipped, and their stored text.

    A changeset that breaks the rules (bad JSON, a name with '..', a bad hash, a version that
    skips...) is skipped by every client, with a warning naming its key: its seq stays used
    and none of its changes happened. `--bad` lists them (every namespace by default);
    `--show SEQ NAMESPACE` prints one. Redo what it meant with new writes (docs/admin.md).

    Example: eos admin changesets --bad; eos admin changesets org --show 7
    """
    if show is not None:
        if len(namespaces) != 1 or bad:
            raise AdminUsageError("--show SEQ takes exactly one NAMESPACE and no --bad")
        with open_catalog() as cat:
            click.echo(cat.stored_changeset(namespaces[0], show).decode("utf-8", "replace"))
        return
    if not bad:
        raise AdminUsageError("give --bad to list skipped changesets, or --show SEQ NAMESPACE")
    with open_catalog() as cat:
        found = cat.bad_changesets(namespaces or None)
    if as_json:
        echo_json([{"key": key, "reason": reason} for key, reason in found])
        return
    for key, reason in found:
        click.echo(f"{key}\t{reason}")
    if not found:
        click.echo("no skipped changesets", err=True)


# The commands of this module; cli.py adds them to the group.
COMMANDS: tuple[click.Command, ...] = (admin,)
