"""`eos admin policy` and `eos admin lifecycle`: the JSON is what S3 accepts, every namespace rule
has its statement, and a small evaluator of the policy checks who may do what.

moto stores bucket policies but does not enforce them for the tests' credentials, so the
policy's intent is checked by :func:`decide` below, a deliberately small model of AWS's policy
evaluation (explicit deny wins; otherwise an allow from the bucket policy or, when the test says
so, from an identity policy).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from fnmatch import fnmatchcase
from itertools import product
from pathlib import Path
from typing import Any

import pytest
from conftest import make_bucket

from eoscatalog.core.errors import ConfigError, InvalidNameError
from eoscatalog.rules import policies as admin
from eoscatalog.rules.policies import (
    bucket_policy,
    lifecycle_rules,
    org_store_root,
    split_store_root,
)

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = "123456789012"
ADMIN = f"arn:aws:iam::{ACCOUNT}:role/eos-admin"
ADA = f"arn:aws:iam::{ACCOUNT}:user/ada"
BOB = f"arn:aws:iam::{ACCOUNT}:user/bob"
ANALYST = f"arn:aws:iam::{ACCOUNT}:role/analyst"  # a member with no aws:username
ACCOUNT_ROOT = f"arn:aws:iam::{ACCOUNT}:root"
STORE_ROOT = "s3://lab-bucket/eos/genomics"
OBJECTS = "arn:aws:s3:::lab-bucket/eos/genomics/"


# -- a small policy evaluator -------------------------------------------------------------------

@dataclass(frozen=True)
class Request:
    """One S3 request as the policy sees it."""

    principal: str
    action: str
    key: str = ""  # under the store root; "" with a bucket action
    username: str | None = None
    tags: tuple[tuple[str, str], ...] = ()
    if_none_match: bool = True
    creation: bool = True  # s3:ObjectCreationOperation: PutObject, CompleteMultipartUpload

    def context(self) -> dict[str, str]:
        ctx = {"aws:PrincipalArn": self.principal}
        if self.username is not None:
            ctx["aws:username"] = self.username
        ctx.update({f"aws:PrincipalTag/{k}": v for k, v in self.tags})
        if self.action == "s3:PutObject":
            ctx["s3:ObjectCreationOperation"] = "true" if self.creation else "false"
            if self.if_none_match and self.creation:
                ctx["s3:if-none-match"] = "*"
        return ctx

    def resource(self) -> str:
        return OBJECTS + self.key if self.key else "arn:aws:s3:::lab-bucket"


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _substituted(pattern: str, ctx: dict[str, str]) -> str | None:
    """``${key}`` replaced by its value; None when the key is absent (no match, as in AWS)."""
    while "${" in pattern:
        start = pattern.index("${")
        end = pattern.index("}", start)
        value = ctx.get(pattern[start + 2:end])
        if value is None:
            return None
        pattern = pattern[:start] + value + pattern[end + 1:]
    return pattern


def _principal(principal: Any, arn: str) -> str | None:
    """"direct" if the statement names the principal, "account" if only its account root."""
    if principal == "*":
        return "direct"
    for named in _listed(principal["AWS"]):
        if named == arn:
            return "direct"
        if named.endswith(":root") and named.split(":")[4] == arn.split(":")[4]:
            return "account"
    return None


def _condition(condition: dict[str, Any], ctx: dict[str, str]) -> bool:
    for operator, block in condition.items():
        for key, values in block.items():
            values = _listed(values)
            if operator == "ArnNotLike":
                held = key not in ctx or not any(fnmatchcase(ctx[key], v) for v in values)
            elif operator == "StringLike":
                held = key in ctx and any(fnmatchcase(ctx[key], v) for v in values)
            elif operator == "Null":
                held = (key not in ctx) == (values[0] == "true")
            elif operator == "Bool":
                held = key in ctx and ctx[key] == values[0]
            else:
                raise AssertionError(f"the evaluator does not model {operator}")
            if not held:
                return False
    return True


def decide(policy: dict[str, Any], request: Request, *, identity_allows: bool = False) -> bool:
    """Whether AWS would allow ``request``: an explicit deny wins; then an allow, from the
    bucket policy (naming the principal) or from the principal's identity policy."""
    ctx = request.context()
    allowed = identity_allows
    for statement in policy["Statement"]:
        if request.action not in _listed(statement["Action"]):
            continue
        who = _principal(statement["Principal"], request.principal)
        if who is None:
            continue
        patterns = [_substituted(r, ctx) for r in _listed(statement["Resource"])]
        if not any(p is not None and fnmatchcase(request.resource(), p) for p in patterns):
            continue
        if not _condition(statement.get("Condition", {}), ctx):
            continue
        if statement["Effect"] == "Deny":
            return False
        # An account root delegates to the account: its identity policies decide.
        allowed = allowed or who == "direct"
    return allowed


# -- the policy ---------------------------------------------------------------------------------

def _policy(**kwargs: Any) -> dict[str, Any]:
    options = {"members": [ADA, BOB, ANALYST], "admins": [ADMIN], **kwargs}
    return bucket_policy(STORE_ROOT, **options)


def _by_sid(policy: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in policy["Statement"]}


def test_the_policy_is_valid_json_with_a_statement_per_rule() -> None:
    policy = _policy()
    assert json.loads(json.dumps(policy)) == policy
    assert policy["Version"] == "2012-10-17"
    sids = [s["Sid"] for s in policy["Statement"]]
    assert len(sids) == len(set(sids)) and all(sid.isalnum() for sid in sids)
    by_sid = _by_sid(policy)
    assert by_sid["EosUserWritesOwnNamespace"]["Resource"] == (
        "arn:aws:s3:::lab-bucket/eos/genomics/catalog/users/${aws:username}/*")
    assert by_sid["EosUserWritesOwnScratchNamespace"]["Resource"] == (
        "arn:aws:s3:::lab-bucket/eos/genomics/catalog/scratch/${aws:username}/*")
    assert by_sid["EosMembersWriteOrgNamespace"]["Resource"] == OBJECTS + "catalog/org/*"
    assert by_sid["EosMembersReadEverythingUnderTheRoot"]["Resource"] == OBJECTS + "*"
    assert by_sid["EosMembersWriteBlobs"]["Resource"] == [OBJECTS + "blobs/*",
                                                          OBJECTS + "outboards/*"]
    public = by_sid["EosDenyPublicNamespaceWritesByNonAdmins"]
    assert (public["Effect"], public["Resource"]) == ("Deny", OBJECTS + "catalog/public/*")
    assert public["Condition"] == {"ArnNotLike": {"aws:PrincipalArn": [ADMIN]}}
    deletes = by_sid["EosDenyDeletesOfBlobsAndCatalogByNonAdmins"]
    assert deletes["Effect"] == "Deny" and OBJECTS + "blobs/*" in deletes["Resource"]
    assert by_sid["EosDenyVersionDeletesByNonAdmins"]["Resource"] == OBJECTS + "*"
    assert by_sid["EosDenyOverwritesOfBlobsAndCatalog"]["Condition"] == {
        "Null": {"s3:if-none-match": "true"}, "Bool": {"s3:ObjectCreationOperation": "true"}}
    for statement in policy["Statement"]:
        for resource in _listed(statement["Resource"]):
            assert resource == "arn:aws:s3:::lab-bucket" or resource.startswith(OBJECTS)


def test_options_change_the_variable_the_partition_and_create_only() -> None:
    policy = bucket_policy(
        "s3://gov-bucket/acme", members=["arn:aws-us-gov:iam::123456789012:root"],
        admins=["arn:aws-us-gov:iam::123456789012:user/boss"],
        user_variable="${aws:PrincipalTag/eos-user}", create_only=False,
    )
    by_sid = _by_sid(policy)
    assert by_sid["EosUserWritesOwnNamespace"]["Resource"] == (
        "arn:aws-us-gov:s3:::gov-bucket/acme/catalog/users/${aws:PrincipalTag/eos-user}/*")
    assert "EosDenyOverwritesOfBlobsAndCatalog" not in by_sid
    # Duplicates collapse, order does not matter: the output is deterministic.
    assert _policy(members=[BOB, ADA, ANALYST, ADA]) == _policy()


def test_the_policy_prefix_matches_the_store_layout() -> None:
    from eoscatalog.log.changesets import changeset_key, checkpoint_key
    from eoscatalog.store import keys as base

    assert base.blob_key("blake3:" + "ab" * 32).startswith(admin.BLOBS)
    assert changeset_key("org", 1).startswith(admin.CATALOG + "org/")
    assert checkpoint_key("users/ada", 100).startswith(admin.CATALOG + "users/ada/")
    deletes = _by_sid(_policy())["EosDenyDeletesOfBlobsAndCatalogByNonAdmins"]["Resource"]
    tops = (admin.BLOBS, admin.CATALOG, base.TOUCHED, base.QUARANTINE, admin.OUTBOARDS)
    assert sorted(deletes) == sorted(OBJECTS + top + "*" for top in tops)


NAMESPACES = ["users/ada", "org", "public", "scratch/ada"]
ACTORS = {
    "owner": (ADA, "ada"),
    "other user": (BOB, "bob"), "org member": (ANALYST, None), "admin": (ADMIN, None),
}
MAY_PUT = {
    ("owner", "users/ada"), ("owner", "org"), ("owner", "scratch/ada"),
    ("other user", "org"), ("org member", "org"),
    ("admin", "users/ada"), ("admin", "org"), ("admin", "public"), ("admin", "scratch/ada"),
}


@pytest.mark.parametrize(("actor", "namespace", "action"),
                         list(product(ACTORS, NAMESPACES, ["put", "delete"])))
def test_who_may_write_and_delete_where(actor: str, namespace: str, action: str) -> None:
    """The bucket policy alone (members named directly, no identity grants on the bucket)."""
    arn, username = ACTORS[actor]
    key = f"catalog/{namespace}/log/000000000001.json"
    request = Request(arn, "s3:PutObject" if action == "put" else "s3:DeleteObject", key,
                      username=username)
    expected = (actor, namespace) in MAY_PUT if action == "put" else actor == "admin"
    assert decide(_policy(), request) is expected
    # Reading is everyone's, and checkpoints follow the same rule as the log.
    assert decide(_policy(), Request(arn, "s3:GetObject", key, username=username))
    checkpoint = Request(arn, request.action, f"catalog/{namespace}/checkpoints/1.sqlite",
                         username=username)
    assert decide(_policy(), checkpoint) is expected


def test_what_the_denies_enforce_even_over_broad_identity_grants() -> None:
    """Members through the account root, whose IAM policies allow s3:* on the bucket (a PI
    bucket): the denies still hold; users/<other> is then enforced by the client only."""
    policy = _policy(members=[ACCOUNT_ROOT])
    for arn, name in [(ADA, "ada"), (BOB, "bob"), (ANALYST, None)]:
        def may(action: str, key: str, arn: str = arn, name: str | None = name,
                **kw: Any) -> bool:
            return decide(policy, Request(arn, action, key, username=name, **kw),
                          identity_allows=True)

        assert not may("s3:PutObject", "catalog/public/log/000000000001.json")
        assert not may("s3:DeleteObject", "catalog/org/log/000000000001.json")
        assert not may("s3:DeleteObject", "blobs/blake3/ab/" + "ab" * 32)
        assert not may("s3:DeleteObjectVersion", "catalog/users/ada/log/000000000001.json")
        assert not may("s3:PutObject", "catalog/org/log/000000000001.json", if_none_match=False)
        assert not may("s3:PutObject", "blobs/blake3/ab/" + "ab" * 32, if_none_match=False)
        assert may("s3:PutObject", "catalog/users/ada/log/000000000002.json")  # client-side
    # Without identity grants, an account-root member gets nothing from the bucket policy.
    assert not decide(policy, Request(ADA, "s3:GetObject", "catalog/org/log/1.json"))


def test_blobs_are_create_only_for_everyone_and_multipart_still_works() -> None:
    policy = _policy()
    blob = "blobs/blake3/ab/" + "ab" * 32
    for arn, name in [(ADA, "ada"), (ANALYST, None), (ADMIN, None)]:
        assert decide(policy, Request(arn, "s3:PutObject", blob, username=name))
        # CreateMultipartUpload and UploadPart cannot carry If-None-Match.
        assert decide(policy, Request(arn, "s3:PutObject", blob, username=name,
                                      if_none_match=False, creation=False))
        # PutObject or CompleteMultipartUpload without it would overwrite: denied, admins too.
        assert not decide(policy, Request(arn, "s3:PutObject", blob, username=name,
                                          if_none_match=False))
        assert decide(policy, Request(arn, "s3:AbortMultipartUpload", blob, username=name))
    assert not decide(policy, Request(ADA, "s3:DeleteObject", blob, username="ada"))
    assert decide(policy, Request(ADMIN, "s3:DeleteObject", blob))


def test_what_every_member_client_needs_besides_the_catalog() -> None:
    policy = _policy()
    assert decide(policy, Request(ANALYST, "s3:ListBucket"))  # HEAD of a missing key -> 404
    probe = "_eos/probe/0123abcd"
    assert decide(policy, Request(ANALYST, "s3:PutObject", probe))
    assert decide(policy, Request(ANALYST, "s3:DeleteObject", probe))
    marker = "touched/blobs/blake3/ab/" + "ab" * 32
    assert decide(policy, Request(ANALYST, "s3:PutObject", marker, if_none_match=False))
    assert not decide(policy, Request(ANALYST, "s3:DeleteObject", marker))
    assert not decide(policy, Request("arn:aws:iam::999999999999:user/eve", "s3:GetObject",
                                      "catalog/org/log/1.json"))


def test_a_tag_variable_identifies_role_sessions() -> None:
    policy = _policy(user_variable="${aws:PrincipalTag/eos-user}")
    key = "catalog/users/ada/log/000000000001.json"
    tagged = Request(ANALYST, "s3:PutObject", key, tags=(("eos-user", "ada"),))
    assert decide(policy, tagged)
    assert not decide(policy, Request(ANALYST, "s3:PutObject", key, tags=(("eos-user", "bob"),)))
    assert not decide(policy, Request(ANALYST, "s3:PutObject", key))  # untagged: no grant


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"members": ["arn:aws:iam::123:root"]}, "is not an IAM principal ARN"),
    ({"members": ["ada"]}, "is not an IAM principal ARN"),
    ({"members": [f"arn:aws:iam::{ACCOUNT}:group/lab"]}, "IAM group"),
    ({"members": []}, "give at least one --members"),
    ({"admins": [ACCOUNT_ROOT]}, "account root"),
    ({"admins": ["arn:aws-cn:iam::123456789012:role/x"]}, "partition"),
    ({"user_variable": "aws:username"}, "not an IAM policy variable"),
    ({"user_variable": "${aws:username}/*"}, "not an IAM policy variable"),
])
def test_bad_policy_inputs_are_refused_clearly(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidNameError, match=message):
        _policy(**kwargs)


@pytest.mark.parametrize(("root", "message"), [
    ("file:///data/genomics", "needs an S3 store"),
    ("s3:///genomics", "invalid S3 bucket name"),
    ("s3://Bad Bucket/x", "invalid S3 bucket name"),
    ("s3://bucket", "names no organization"),
    ("s3://bucket/a//genomics", "invalid key prefix"),
    ("s3://bucket/a*/genomics", "invalid key prefix"),
    ("s3://bucket/${x}/genomics", "invalid key prefix"),
])
def test_bad_store_roots_are_refused_clearly(root: str, message: str) -> None:
    with pytest.raises(InvalidNameError, match=message):
        split_store_root(root)


def test_org_store_root_matches_config() -> None:
    from eoscatalog.local.config import Config

    config = Config(home=Path("/tmp/h"), user="ada", org="genomics", store="s3://b/eos/")
    assert org_store_root("s3://b/eos/", "genomics") == config.store_root
    with pytest.raises(InvalidNameError, match="invalid organization"):
        org_store_root("s3://b/eos", "Genomics")


# -- lifecycle ----------------------------------------------------------------------------------

def test_lifecycle_defaults_and_options() -> None:
    rules = lifecycle_rules(STORE_ROOT)["Rules"]
    assert [r["ID"] for r in rules] == ["eos-abort-incomplete-multipart-uploads",
                                        "eos-expire-noncurrent-versions"]
    assert rules[0]["Filter"] == {"Prefix": "eos/genomics/"}
    assert rules[0]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}
    assert rules[1]["NoncurrentVersionExpiration"] == {"NoncurrentDays": 30}
    rules = lifecycle_rules(STORE_ROOT, abort_multipart_days=3, noncurrent_days=0,
                            expire_scratch_logs=True, scratch_days=90)["Rules"]
    assert [r["ID"] for r in rules] == ["eos-abort-incomplete-multipart-uploads",
                                        "eos-expire-scratch-catalog"]
    assert rules[0]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 3}
    assert rules[1]["Filter"] == {"Prefix": "eos/genomics/catalog/scratch/"}
    assert rules[1]["Expiration"] == {"Days": 90}


@pytest.mark.parametrize("scratch", [False, True])
@pytest.mark.parametrize("noncurrent", [0, 7])
def test_lifecycle_never_expires_current_blobs(scratch: bool, noncurrent: int) -> None:
    blob = "eos/genomics/blobs/blake3/ab/" + "ab" * 32
    for rule in lifecycle_rules(STORE_ROOT, noncurrent_days=noncurrent,
                                expire_scratch_logs=scratch)["Rules"]:
        if "Days" in rule.get("Expiration", {}):
            assert not blob.startswith(rule["Filter"]["Prefix"])


@pytest.mark.parametrize("kwargs", [
    {"abort_multipart_days": 0}, {"noncurrent_days": -1}, {"scratch_days": 0},
    {"abort_multipart_days": True}, {"noncurrent_days": 1.5},
])
def test_bad_lifecycle_days_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="whole number of days"):
        lifecycle_rules(STORE_ROOT, **kwargs)


# -- S3 accepts both documents ------------------------------------------------------------------

def test_s3_accepts_the_policy_and_the_lifecycle(s3_client: Any) -> None:
    bucket = make_bucket(s3_client)
    for members, variable in [([ADA, BOB, ANALYST], "${aws:username}"),
                              ([ACCOUNT_ROOT], "${aws:PrincipalTag/eos-user}")]:
        policy = bucket_policy(f"s3://{bucket}/eos/genomics", members=members, admins=[ADMIN],
                               user_variable=variable)
        s3_client.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
        stored = json.loads(s3_client.get_bucket_policy(Bucket=bucket)["Policy"])
        assert stored == policy
    for options in [{}, {"expire_scratch_logs": True, "noncurrent_days": 0}]:
        config = lifecycle_rules(f"s3://{bucket}/eos/genomics", **options)
        s3_client.put_bucket_lifecycle_configuration(Bucket=bucket,
                                                     LifecycleConfiguration=config)
        got = s3_client.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
        assert [r["ID"] for r in got] == [r["ID"] for r in config["Rules"]]


# -- the command line ---------------------------------------------------------------------------

def _eos(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "eoscatalog", *args],
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        capture_output=True, text=True, timeout=120,
    )


def test_cli_policy_prints_the_policy() -> None:
    proc = _eos("admin", "policy", "--store", "s3://b/p", "--org", "acme", "--members",
                ACCOUNT_ROOT, "--admins", ADMIN)
    assert proc.returncode == 0, proc.stderr
    policy = json.loads(proc.stdout)
    assert policy == bucket_policy("s3://b/p/acme", members=[ACCOUNT_ROOT], admins=[ADMIN])
    assert proc.stdout.startswith('{\n  "Version": "2012-10-17",')


def test_cli_takes_the_store_from_the_configuration() -> None:
    env = {"EOS_STORE": "s3://lab-bucket/eos", "EOS_ORG": "genomics"}
    proc = _eos("admin", "policy", "--members", ADA, "--admins", ADMIN,
                "--user-variable", "${aws:PrincipalTag/eos-user}", "--no-create-only", env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == bucket_policy(
        STORE_ROOT, members=[ADA], admins=[ADMIN], user_variable="${aws:PrincipalTag/eos-user}",
        create_only=False)
    proc = _eos("admin", "lifecycle", "--org", "other", "--abort-multipart-days", "2",
                "--noncurrent-days", "0", "--expire-scratch-logs", "--scratch-days", "60",
                env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == lifecycle_rules(
        "s3://lab-bucket/eos/other", abort_multipart_days=2, noncurrent_days=0,
        expire_scratch_logs=True, scratch_days=60)


@pytest.mark.parametrize(("args", "message"), [
    (["policy", "--store", "s3://b/p", "--members", "nobody", "--admins", ADMIN],
     "is not an IAM principal ARN"),
    (["policy", "--store", "s3://b/p", "--members", ADA, "--admins", ACCOUNT_ROOT],
     "account root"),
    (["policy", "--store", "s3://b/p", "--members", ADA, "--admins", ADMIN,
      "--user-variable", "aws:username"], "not an IAM policy variable"),
    (["policy", "--store", "file:///tmp/x", "--members", ADA, "--admins", ADMIN],
     "needs an S3 store"),
    (["policy", "--store", "s3://b/p", "--org", "Bad Org", "--members", ADA, "--admins", ADMIN],
     "invalid organization"),
    (["lifecycle", "--store", "s3://b/p", "--scratch-days", "3"], "only applies with"),
    (["lifecycle", "--store", "s3://b/p", "--abort-multipart-days", "0"], "whole number"),
    (["lifecycle"], "needs an S3 store"),  # the embedded store is configured
])
def test_cli_usage_errors_are_one_line_and_exit_2(args: list[str], message: str) -> None:
    proc = _eos("admin", *args, env={"EOS_ORG": "acme"} if "--org" not in args else None)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert proc.stdout == ""
    assert proc.stderr.startswith("eos: error: ") and proc.stderr.count("\n") == 1
    assert message in proc.stderr


def test_cli_a_broken_configuration_is_an_error_not_usage(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("colour: blue\n")  # an unknown setting
    proc = _eos("admin", "lifecycle", env={"EOS_HOME": str(tmp_path)})
    assert proc.returncode == 1
    assert proc.stderr.startswith("eos: error: ") and len(proc.stderr.splitlines()) == 1


def test_only_admins_write_the_retention_rules_trash_and_quarantine() -> None:
    """policies/retention.json decides what the admin's `gc --prune` purges: a member with
    bucket-wide PutObject (identity grants, account-root members) must not rewrite it, nor
    write or delete what gc and verify move aside."""
    from eoscatalog.rules.retention import POLICY_KEY

    assert POLICY_KEY == "policies/retention.json"
    blob = "blake3/ab/" + "ab" * 32
    keys = [POLICY_KEY, "policies/other.json", f"trash/blobs/{blob}",
            f"quarantine/blobs/{blob}"]
    for members in ([ACCOUNT_ROOT], [ADA, BOB, ANALYST]):
        policy = _policy(members=members)
        for key in keys:
            for arn, name in [(ADA, "ada"), (BOB, "bob"), (ANALYST, None)]:
                for action in ("s3:PutObject", "s3:DeleteObject"):
                    request = Request(arn, action, key, username=name)
                    assert not decide(policy, request, identity_allows=True), (action, key)
                assert decide(policy, Request(arn, "s3:GetObject", key, username=name),
                              identity_allows=True)
            for action in ("s3:PutObject", "s3:DeleteObject"):
                assert decide(policy, Request(ADMIN, action, key)), (action, key)
