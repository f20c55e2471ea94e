"""What an administrator puts on the organization's bucket: a bucket policy that enforces the
namespace rules server-side, and lifecycle rules that suit the object layout.

Pure builders: they take the store root (``s3://BUCKET/<prefix>/<org>``, as ``Config.store_root``
gives it) and return the JSON documents that ``aws s3api put-bucket-policy`` and
``aws s3api put-bucket-lifecycle-configuration`` take, as dicts. No I/O. ``eos admin policy`` and
``eos admin lifecycle`` (cli_admin.py) print them; docs/admin.md says what they can and cannot
enforce.

The rules (DESIGN.md): a user writes only ``catalog/users/<self>/`` and ``catalog/scratch/<self>/``,
every member writes ``catalog/org/``, only admins write ``catalog/public/``, everybody reads
everything, everybody writes blobs, which are never overwritten or deleted except by admins,
and only admins write ``policies/`` (retention rules), ``trash/`` and ``quarantine/``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from eoscatalog.core.errors import ConfigError, InvalidNameError
from eoscatalog.local.config import _ORG_RE  # the one rule for organization names
from eoscatalog.rules.retention import POLICY_KEY
from eoscatalog.store.keys import BLOB_PREFIX, QUARANTINE, TOUCHED, TRANSACTIONS, TRASH
from eoscatalog.store.outboard import OUTBOARD_PREFIX
from eoscatalog.store.s3.limits import RESUME_DAYS

__all__ = [
    "DEFAULT_USER_VARIABLE",
    "bucket_policy",
    "lifecycle_rules",
    "org_store_root",
    "split_store_root",
]

DEFAULT_USER_VARIABLE = "${aws:username}"
POLICY_VERSION = "2012-10-17"

# Top-level prefixes under the store root (see docs/architecture.md, "Object layout").
BLOBS = BLOB_PREFIX.split("/", 1)[0] + "/"  # "blobs/"
CATALOG = "catalog/"
OUTBOARDS = OUTBOARD_PREFIX.split("/", 1)[0] + "/"  # "outboards/": blobs' chunk hashes
# TOUCHED: markers of recent use, written (unconditionally) when a write reuses a stored blob.
# QUARANTINE: corrupt blobs moved aside by `eos verify` (an admin's job: it deletes the blob).
# The conditional-write probe writes and deletes one object here.
PROBE = "_eos/probe/"
# POLICIES: the store's retention rules, which `gc --prune` obeys (admins set them).
# TRASH: blobs gc has moved aside and deletes once it has read the catalog again.
POLICIES = POLICY_KEY.split("/", 1)[0] + "/"  # "policies/"
# Objects only admins write or delete: whoever rewrites the retention rules decides what the
# admin's next `gc --prune` purges, and whatever sits in trash/ may be moved back into blobs/.
ADMIN_ONLY = (POLICIES, TRASH, QUARANTINE)

# S3's rules today (3-63 of [a-z0-9.-]), loosened to what older us-east-1 buckets may be called.
_BUCKET_RE = re.compile(r"^[A-Za-z0-9._-]{1,255}$")
# Characters that mean something in a policy's Resource (wildcards, variables) or are invisible.
_PREFIX_FORBIDDEN = re.compile(r"[*?$\s\x00-\x1f\x7f]")
_PRINCIPAL_RE = re.compile(
    r"^arn:(?P<partition>aws|aws-cn|aws-us-gov):iam::(?P<account>\d{12}):"
    r"(?P<kind>root|user/[\w+=,.@/-]+|role/[\w+=,.@/-]+|group/[\w+=,.@/-]+)$"
)
_VARIABLE_RE = re.compile(r"^\$\{[A-Za-z0-9-]+:[A-Za-z0-9_+=,.@/:-]+\}$")

_MEMBER_OBJECT_ACTIONS = ["s3:GetObject"]
_ADMIN_OBJECT_ACTIONS = [
    "s3:GetObject",
    "s3:GetObjectVersion",
    "s3:PutObject",
    "s3:AbortMultipartUpload",
    "s3:ListMultipartUploadParts",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
]
_ADMIN_BUCKET_ACTIONS = ["s3:ListBucket", "s3:ListBucketVersions", "s3:ListBucketMultipartUploads"]


def split_store_root(store_root: str) -> tuple[str, str]:
    """``s3://BUCKET/<prefix>/<org>`` -> (bucket, key prefix of the root, no trailing slash).

    >>> split_store_root("s3://lab-bucket/eos/genomics")
    ('lab-bucket', 'eos/genomics')
    >>> split_store_root("file:///data/genomics")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    eoscatalog.core.errors.InvalidNameError: eos admin needs an S3 store (s3://BUCKET[/prefix]), ...
    """
    if not isinstance(store_root, str) or not store_root.startswith("s3://"):
        raise InvalidNameError(
            f"eos admin needs an S3 store (s3://BUCKET[/prefix]), not {store_root!r}: pass "
            "--store s3://BUCKET[/prefix] or configure one with `eos init --store`"
        )
    bucket, _, prefix = store_root[5:].partition("/")
    if not _BUCKET_RE.fullmatch(bucket):
        raise InvalidNameError(
            f"invalid S3 bucket name {bucket!r} in {store_root!r}: a bucket name has only "
            "letters, digits, '.', '-' and '_' (s3://BUCKET[/prefix])"
        )
    prefix = prefix.strip("/")
    if not prefix:
        raise InvalidNameError(
            f"{store_root!r} names no organization folder: the store root is "
            "s3://BUCKET[/prefix]/<org>"
        )
    if "" in prefix.split("/") or _PREFIX_FORBIDDEN.search(prefix):
        raise InvalidNameError(
            f"invalid key prefix {prefix!r} in {store_root!r}: use non-empty '/'-separated "
            "segments without spaces, control characters, '*', '?' or '$' (they would act as "
            "wildcards or variables in the policy)"
        )
    return bucket, prefix


def org_store_root(store: str, org: str) -> str:
    """The organization's root under a store URL, checked: what ``Config.store_root`` makes.

    >>> org_store_root("s3://lab-bucket/eos/", "genomics")
    's3://lab-bucket/eos/genomics'
    """
    if not isinstance(org, str) or not _ORG_RE.fullmatch(org):
        raise InvalidNameError(
            f"invalid organization {org!r}: use 1-63 lower-case letters, digits, '.', '_' or '-'"
        )
    root = f"{str(store).rstrip('/')}/{org}"
    split_store_root(root)
    return root


def _principals(arns: Iterable[str], option: str, *, admins: bool) -> tuple[list[str], str]:
    """Checked, sorted, unique principal ARNs, and their partition."""
    found: dict[str, str] = {}
    for arn in arns:
        match = _PRINCIPAL_RE.fullmatch(arn.strip()) if isinstance(arn, str) else None
        if match is None:
            raise InvalidNameError(
                f"{option} {arn!r} is not an IAM principal ARN: use "
                "arn:aws:iam::<12-digit account>:root, ...:user/<name> or ...:role/<name>"
            )
        kind = match["kind"]
        if kind.startswith("group/"):
            raise InvalidNameError(
                f"{option} {arn!r} is an IAM group, which a bucket policy cannot name as a "
                "principal: list its users' or roles' ARNs, or the account root "
                f"(arn:{match['partition']}:iam::{match['account']}:root) and grant the group "
                "through its identity policy"
            )
        if admins and kind == "root":
            raise InvalidNameError(
                f"{option} {arn!r} is an account root, which would make every principal of the "
                "account an admin: name the admin roles or users"
            )
        found[arn.strip()] = match["partition"]
    if not found:
        raise InvalidNameError(f"give at least one {option} ARN")
    partitions = set(found.values())
    if len(partitions) > 1:
        raise InvalidNameError(f"{option} ARNs mix AWS partitions {sorted(partitions)}")
    return sorted(found), partitions.pop()


def _statement(sid: str, effect: str, principal: Any, actions: list[str],
               resources: list[str], condition: dict[str, Any] | None = None) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Sid": sid,
        "Effect": effect,
        "Principal": principal,
        "Action": actions[0] if len(actions) == 1 else actions,
        "Resource": resources[0] if len(resources) == 1 else resources,
    }
    if condition:
        statement["Condition"] = condition
    return statement


def bucket_policy(
    store_root: str,
    *,
    members: Iterable[str],
    admins: Iterable[str],
    user_variable: str = DEFAULT_USER_VARIABLE,
    create_only: bool = True,
) -> dict[str, Any]:
    """The S3 bucket policy that enforces the namespace rules under ``store_root``.

    ``members`` are the organization's principals (IAM role or user ARNs, or an account root
    for every principal its identity policies allow); ``admins`` the admin roles or users.
    ``user_variable`` is the IAM policy variable whose value is a member's eos user id
    (``${aws:username}``, ``${aws:PrincipalTag/eos-user}``, ``${saml:sub}``...).
    ``create_only`` denies writes of blobs and catalog objects that lack ``If-None-Match``.

    Allow statements grant members what eos needs; Deny statements take away from everyone
    but the admins what no identity policy may grant (deletes, writes to public, overwrites,
    writes to the retention rules under ``policies/``, to ``trash/`` and ``quarantine/``).

    >>> policy = bucket_policy("s3://lab-bucket/eos/genomics",
    ...                        members=["arn:aws:iam::123456789012:root"],
    ...                        admins=["arn:aws:iam::123456789012:role/eos-admin"])
    >>> policy["Version"]
    '2012-10-17'
    >>> [s["Resource"] for s in policy["Statement"] if s["Sid"] == "EosUserWritesOwnNamespace"]
    ['arn:aws:s3:::lab-bucket/eos/genomics/catalog/users/${aws:username}/*']
    """
    bucket, prefix = split_store_root(store_root)
    member_arns, partition = _principals(members, "--members", admins=False)
    admin_arns, admin_partition = _principals(admins, "--admins", admins=True)
    if admin_partition != partition:
        raise InvalidNameError(
            f"--members are in partition {partition!r} but --admins in {admin_partition!r}"
        )
    if not isinstance(user_variable, str) or not _VARIABLE_RE.fullmatch(user_variable):
        raise InvalidNameError(
            f"--user-variable {user_variable!r} is not an IAM policy variable: use one like "
            "${aws:username}, ${aws:PrincipalTag/eos-user} or ${saml:sub}"
        )
    bucket_arn = f"arn:{partition}:s3:::{bucket}"
    root = f"{bucket_arn}/{prefix}/"
    members_ = {"AWS": member_arns}
    admins_ = {"AWS": admin_arns}
    everyone = "*"
    not_admin = {"ArnNotLike": {"aws:PrincipalArn": admin_arns}}

    statements = [
        # Without s3:ListBucket on the bucket, S3 answers a HEAD of a missing object with 403
        # instead of 404, and eos could not tell "not stored yet" from "access denied".
        _statement("EosMembersListTheBucket", "Allow", members_, ["s3:ListBucket"],
                   [bucket_arn]),
        _statement("EosMembersReadEverythingUnderTheRoot", "Allow", members_,
                   _MEMBER_OBJECT_ACTIONS, [f"{root}*"]),
        _statement("EosMembersWriteBlobs", "Allow", members_,
                   ["s3:PutObject", "s3:AbortMultipartUpload"],
                   [f"{root}{BLOBS}*", f"{root}{OUTBOARDS}*"]),
        _statement("EosMembersMarkBlobsUsed", "Allow", members_, ["s3:PutObject"],
                   [f"{root}{TOUCHED}*"]),
        # A transaction written from several processes: workers stage their writes here, the
        # committing process removes them once published (gc removes abandoned ones).
        _statement("EosMembersStageTransactions", "Allow", members_,
                   ["s3:PutObject", "s3:DeleteObject"], [f"{root}{TRANSACTIONS}*"]),
        _statement("EosMembersProbeConditionalWrites", "Allow", members_,
                   ["s3:PutObject", "s3:DeleteObject"], [f"{root}{PROBE}*"]),
        _statement("EosMembersWriteOrgNamespace", "Allow", members_, ["s3:PutObject"],
                   [f"{root}{CATALOG}org/*"]),
        _statement("EosUserWritesOwnNamespace", "Allow", members_, ["s3:PutObject"],
                   [f"{root}{CATALOG}users/{user_variable}/*"]),
        _statement("EosUserWritesOwnScratchNamespace", "Allow", members_, ["s3:PutObject"],
                   [f"{root}{CATALOG}scratch/{user_variable}/*"]),
        _statement("EosAdminsListTheBucket", "Allow", admins_, _ADMIN_BUCKET_ACTIONS,
                   [bucket_arn]),
        _statement("EosAdminsManageEverythingUnderTheRoot", "Allow", admins_,
                   _ADMIN_OBJECT_ACTIONS, [f"{root}*"]),
        _statement("EosDenyDeletesOfBlobsAndCatalogByNonAdmins", "Deny", everyone,
                   ["s3:DeleteObject"],
                   [f"{root}{top}*" for top in (BLOBS, CATALOG, TOUCHED, QUARANTINE, OUTBOARDS)],
                   not_admin),
        _statement("EosDenyVersionDeletesByNonAdmins", "Deny", everyone,
                   ["s3:DeleteObjectVersion"], [f"{root}*"], not_admin),
        _statement("EosDenyPublicNamespaceWritesByNonAdmins", "Deny", everyone,
                   ["s3:PutObject"], [f"{root}{CATALOG}public/*"], not_admin),
        _statement("EosDenyAdminObjectWritesByNonAdmins", "Deny", everyone,
                   ["s3:PutObject", "s3:DeleteObject"], [f"{root}{top}*" for top in ADMIN_ONLY],
                   not_admin),
    ]
    if create_only:
        # PutObject and CompleteMultipartUpload must carry If-None-Match, so an existing blob,
        # changeset or checkpoint is never replaced; CreateMultipartUpload and UploadPart
        # (ObjectCreationOperation false) cannot carry it and are left alone.
        statements.append(_statement(
            "EosDenyOverwritesOfBlobsAndCatalog", "Deny", everyone, ["s3:PutObject"],
            [f"{root}{BLOBS}*", f"{root}{CATALOG}*", f"{root}{OUTBOARDS}*"],
            {"Null": {"s3:if-none-match": "true"},
             "Bool": {"s3:ObjectCreationOperation": "true"}},
        ))
    return {"Version": POLICY_VERSION, "Statement": statements}


def _days(value: int, option: str, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{option} must be a whole number of days >= {minimum}, not {value!r}")
    return value


def lifecycle_rules(
    store_root: str,
    *,
    abort_multipart_days: int = RESUME_DAYS,
    noncurrent_days: int = 30,
    expire_scratch_logs: bool = False,
    scratch_days: int = 30,
) -> dict[str, Any]:
    """The bucket lifecycle configuration for the layout under ``store_root``.

    Always: abort multipart uploads left unfinished for ``abort_multipart_days`` (default a week:
    until then a rerun of the interrupted put resumes one). With
    ``noncurrent_days`` > 0: the bucket's own noncurrent versions (S3 versioning, not eos
    versions) expire after that many days, and delete markers with no versions left go.
    Only with ``expire_scratch_logs``: everything under ``catalog/scratch/`` (changesets and
    checkpoints) expires ``scratch_days`` after it was written, which makes those names vanish.
    Blobs are never expired: the same bytes may be named by other namespaces, and only
    garbage collection knows which blobs nothing references.

    >>> rules = lifecycle_rules("s3://lab-bucket/eos/genomics")["Rules"]
    >>> [r["ID"] for r in rules]
    ['eos-abort-incomplete-multipart-uploads', 'eos-expire-noncurrent-versions']
    >>> rules[0]["Filter"], rules[0]["AbortIncompleteMultipartUpload"]
    ({'Prefix': 'eos/genomics/'}, {'DaysAfterInitiation': 7})
    """
    _, prefix = split_store_root(store_root)
    _days(abort_multipart_days, "--abort-multipart-days", minimum=1)
    _days(noncurrent_days, "--noncurrent-days", minimum=0)
    _days(scratch_days, "--scratch-days", minimum=1)
    root = f"{prefix}/"
    rules: list[dict[str, Any]] = [{
        "ID": "eos-abort-incomplete-multipart-uploads",
        "Filter": {"Prefix": root},
        "Status": "Enabled",
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": abort_multipart_days},
    }]
    if noncurrent_days:
        rules.append({
            "ID": "eos-expire-noncurrent-versions",
            "Filter": {"Prefix": root},
            "Status": "Enabled",
            "NoncurrentVersionExpiration": {"NoncurrentDays": noncurrent_days},
            "Expiration": {"ExpiredObjectDeleteMarker": True},
        })
    if expire_scratch_logs:
        rules.append({
            "ID": "eos-expire-scratch-catalog",
            "Filter": {"Prefix": f"{root}{CATALOG}scratch/"},
            "Status": "Enabled",
            "Expiration": {"Days": scratch_days},
        })
    return {"Rules": rules}
