"""Retention policies: which old versions ``eos gc --prune`` may purge, per prefix.

A policy is a list of rules, each for a prefix (``eos://org/raw/``): keep the last N versions
with bytes, keep tagged versions, keep versions newer than D days. A version survives if any
of its rule's keeps says so; the latest version of a name is always kept. The name's most
specific rule (the longest prefix) applies. Policies live in the store at
``policies/retention.json``, changed by admins with compare-and-swap.

Pure: the catalog reads the file and the versions, and writes the purges.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from eoscatalog.core.errors import ConfigError
from eoscatalog.core.units import format_time
from eoscatalog.log.records import VersionRecord

__all__ = ["POLICY_KEY", "RetentionRule", "dump_rules", "load_rules", "rule_for",
           "versions_to_prune"]

POLICY_KEY = "policies/retention.json"


@dataclass(frozen=True)
class RetentionRule:
    """Keep, under ``namespace``/``prefix``: the last ``keep_last`` versions with bytes, tagged
    versions when ``keep_tagged``, versions newer than ``keep_days`` days (None: no such keep)."""

    namespace: str
    prefix: str
    keep_last: int | None = None
    keep_tagged: bool = True
    keep_days: float | None = None

    @property
    def uri(self) -> str:
        """The prefix as a URI."""
        return f"eos://{self.namespace}/{self.prefix}"

    def describe(self) -> str:
        """The keeps in words, e.g. ``last 3, tagged, 30 days``.

        >>> RetentionRule("org", "raw/", keep_last=3, keep_days=30).describe()
        'last 3, tagged, 30 days'
        """
        keeps = [f"last {self.keep_last}"] if self.keep_last else []
        keeps += ["tagged"] if self.keep_tagged else []
        keeps += [f"{self.keep_days:g} days"] if self.keep_days is not None else []
        return ", ".join(keeps) or "only the latest"


def load_rules(raw: bytes | None) -> list[RetentionRule]:
    """The rules in a policy file (none when there is no file).

    >>> load_rules(dump_rules([RetentionRule("org", "raw/", keep_last=2)]))[0].keep_last
    2
    """
    if raw is None:
        return []
    try:
        data = json.loads(raw)
        if data.get("format") != 1:
            raise ValueError(f"format {data.get('format')!r}")
        return [RetentionRule(**rule) for rule in data["rules"]]
    except (ValueError, KeyError, TypeError) as e:
        raise ConfigError(
            f"the store's {POLICY_KEY} is unreadable ({e}): fix it or set the rules again "
            "with `eos admin retention set`"
        ) from None


def dump_rules(rules: Sequence[RetentionRule]) -> bytes:
    """The policy file's bytes, rules sorted by namespace and prefix."""
    ordered = sorted(rules, key=lambda r: (r.namespace, r.prefix))
    data: dict[str, Any] = {"format": 1, "rules": [asdict(r) for r in ordered]}
    return json.dumps(data, indent=2, sort_keys=True).encode() + b"\n"


def rule_for(rules: Sequence[RetentionRule], namespace: str,
             name: str) -> RetentionRule | None:
    """The most specific rule for a name (the longest matching prefix), if any."""
    matching = [r for r in rules if r.namespace == namespace and name.startswith(r.prefix)]
    return max(matching, key=lambda r: len(r.prefix)) if matching else None


def versions_to_prune(history: Sequence[VersionRecord], rule: RetentionRule,
                      now: datetime, also_tagged: Collection[int] = ()) -> list[int]:
    """The versions of one name (oldest first) that no keep of ``rule`` keeps;
    ``also_tagged``: versions a folder tag pins, kept as tagged ones are.

    Only versions with bytes that are not purged yet can be pruned, and never the latest one.

    >>> from eoscatalog.log.records import VersionRecord as V
    >>> h = "blake3:" + "0" * 64
    >>> history = [V("org", "a", n, "put", h, 1, f"2026-01-0{n}T00:00:00.000000Z", "ada")
    ...            for n in (1, 2, 3, 4)]
    >>> versions_to_prune(history, RetentionRule("org", "", keep_last=2),
    ...                   datetime.fromisoformat("2026-02-01T00:00:00+00:00"))
    [1, 2]
    """
    candidates = [r for r in history if r.hash and not r.purged]
    if not candidates:
        return []
    latest = max(r.version for r in history if not r.purged)
    kept = {latest}
    if rule.keep_last:
        kept |= {r.version for r in candidates[-rule.keep_last:]}
    if rule.keep_tagged:
        kept |= {r.version for r in candidates if r.tags or r.version in also_tagged}
    if rule.keep_days is not None:
        since = format_time(now - timedelta(days=rule.keep_days))
        kept |= {r.version for r in candidates if r.created >= since}
    return [r.version for r in candidates if r.version not in kept]
