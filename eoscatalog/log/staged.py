"""Writes a transaction has staged and not yet published, and the objects that carry them
from other processes (dask workers) to the one that commits.

Layout under the store root::

    transactions/<id>/open.json                     the transaction takes writes from elsewhere
    transactions/<id>/<participant>-<n, 8 digits>.json   writes staged by one participant

A participant writes its object (create-if-absent) after the blobs it names are stored; the
committing process removes ``open.json`` first, then lists the folder, so a participant that
still finds ``open.json`` after writing knows its writes are listed. Every member may list and
write under ``transactions/``, so each object carries an HMAC of its bytes under the
transaction's key, which travels only with the token processes join by (never in the store):
an object anyone else planted fails the commit instead of being published under the writer's
name. Nothing under
``transactions/`` is ever read as the catalog: until the committing process publishes one
changeset, none of these writes exist for anyone else. gc removes what an abandoned
transaction left once it is older than the grace period.

>>> w = StagedWrite("x.zarr/zarr.json", "put", "blake3:" + "0" * 64, 2,
...                 at="2026-01-01T00:00:00.000000Z")
>>> token = new_token()
>>> decode_staged(encode_staged("org", token, [w]), token) == ("org", [w])
True
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from dataclasses import asdict, dataclass, field
from typing import Any

from eoscatalog.core.errors import InvalidChangesetError, InvalidNameError
from eoscatalog.core.hashing import parse_hash
from eoscatalog.core.names import validate_name, validate_namespace
from eoscatalog.core.units import parse_time
from eoscatalog.store.keys import TRANSACTIONS

__all__ = [
    "StagedWrite",
    "check_transaction_id",
    "decode_staged",
    "encode_staged",
    "new_token",
    "open_key",
    "split_token",
    "staging_key",
    "staging_prefix",
]

FORMAT = 1
STAGED_OPS = ("put", "copy", "delete")
_ID_RE = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class StagedWrite:
    """One write staged in a transaction: a new version of ``name`` (``put``; ``copy`` with
    the pinned ``source`` it copies) or a delete marker (``delete``); ``create_only`` writes
    are refused at commit if the name then holds a readable version; ``at`` is when it was
    staged (of two writes to one name, the later one wins)."""

    name: str
    op: str
    hash: str | None = None
    size: int | None = None
    at: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    source: str | None = None
    create_only: bool = False


def check_transaction_id(text: str) -> str:
    """``text`` if it is a transaction id (32 lower-case hex digits), else InvalidNameError.

    >>> check_transaction_id("0" * 32) == "0" * 32
    True
    """
    if not isinstance(text, str) or not _ID_RE.match(text):
        raise InvalidNameError(f"invalid transaction id {text!r}: expected 32 hex digits, as "
                               "Catalog.transaction() makes them")
    return text


def new_token() -> str:
    """A new transaction's token: ``<id>.<key>``, its id (32 hex digits, in the store's keys)
    and the key its staged objects are signed with (64 hex digits, never stored)."""
    return f"{secrets.token_hex(16)}.{secrets.token_hex(32)}"


def split_token(token: str) -> tuple[str, str]:
    """The id and key of a transaction's token; InvalidNameError if it is not one.

    >>> split_token("0" * 32 + "." + "f" * 64)[0] == "0" * 32
    True
    """
    ident, _, key = token.partition(".") if isinstance(token, str) else ("", "", "")
    if not re.fullmatch(r"[0-9a-f]{64}", key):
        raise InvalidNameError("invalid transaction token: expected <id>.<key> as "
                               "Transaction.announce() gives it")
    return check_transaction_id(ident), key


def _mac(key: str, body: bytes) -> str:
    return hmac.new(bytes.fromhex(key), body, hashlib.sha256).hexdigest()


def staging_prefix(transaction_id: str) -> str:
    """The folder of a transaction's objects: ``transactions/<id>/``."""
    return f"{TRANSACTIONS}{check_transaction_id(transaction_id)}/"


def open_key(transaction_id: str) -> str:
    """The marker saying the transaction still takes writes from other processes."""
    return staging_prefix(transaction_id) + "open.json"


def staging_key(transaction_id: str, participant: str, n: int) -> str:
    """The key of a participant's ``n``-th object of staged writes.

    >>> staging_key("0" * 32, "f" * 32, 3)[-46:]
    'ffffffffffffffffffffffffffffffff-00000003.json'
    """
    return f"{staging_prefix(transaction_id)}{check_transaction_id(participant)}-{n:08d}.json"


def encode_staged(namespace: str, token: str, writes: list[StagedWrite]) -> bytes:
    """The JSON object a participant stores for ``writes`` to ``namespace``, signed with the
    key of the transaction's ``token``."""
    transaction_id, key = split_token(token)
    body = json.dumps({"format": FORMAT, "transaction": transaction_id, "namespace": namespace,
                       "writes": [asdict(w) for w in writes]}, sort_keys=True)
    return json.dumps({"body": body, "mac": _mac(key, body.encode())}).encode()


def decode_staged(raw: bytes, token: str) -> tuple[str, list[StagedWrite]]:
    """The namespace and writes of a staged object of the transaction of ``token``, its
    signature and every field checked; InvalidChangesetError naming the fault (such an object
    fails the commit: nothing is published)."""
    transaction_id, key = split_token(token)
    try:
        outer = json.loads(raw)
        if not isinstance(outer, dict) or not isinstance(outer.get("body"), str):
            raise ValueError("not a signed object")
        if not hmac.compare_digest(str(outer.get("mac")), _mac(key, outer["body"].encode())):
            raise ValueError("it is not signed with this transaction's key: written by a "
                             "process that was not given the transaction's token")
        data = json.loads(outer["body"])
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError("not a format 1 object")
        if data.get("transaction") != transaction_id:
            raise ValueError(f"it belongs to transaction {data.get('transaction')!r}")
        namespace = data.get("namespace")
        if not isinstance(namespace, str) or validate_namespace(namespace) != namespace:
            raise ValueError(f"its namespace {namespace!r} is not one")
        writes = data.get("writes")
        if not isinstance(writes, list):
            raise ValueError("its writes are not a list")
        return namespace, [_write(w) for w in writes]
    except (ValueError, TypeError, KeyError, AttributeError, InvalidNameError) as e:
        raise InvalidChangesetError(
            f"a staged write of transaction {transaction_id} is damaged ({e}): nothing was "
            "published; run the transaction again") from None


def _write(data: Any) -> StagedWrite:
    if not isinstance(data, dict) or data.get("op") not in STAGED_OPS:
        raise ValueError(f"a write is not one of {', '.join(STAGED_OPS)}")
    write = StagedWrite(**data)
    validate_name(write.name)
    parse_time(write.at)
    if write.op == "delete":
        if write.hash is not None or write.source is not None:
            raise ValueError(f"the delete of {write.name!r} names bytes")
        return write
    if write.hash is None or parse_hash(write.hash) != write.hash:
        raise ValueError(f"the write of {write.name!r} has no valid hash")
    if not isinstance(write.size, int) or isinstance(write.size, bool) or write.size < 0:
        raise ValueError(f"the write of {write.name!r} has no valid size")
    if not isinstance(write.meta, dict) or not isinstance(write.create_only, bool):
        raise ValueError(f"the write of {write.name!r} has bad metadata or flags")
    if (write.op == "copy") != isinstance(write.source, str):
        raise ValueError(f"the write of {write.name!r} has a source only a copy may have")
    return write
