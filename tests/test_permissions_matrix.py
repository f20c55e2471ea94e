"""The permission matrix: {owner, other user, org member, admin} x {users/<id>, org, public,
scratch/<id>} x {get, put, rm, rollback, purge, url}, every cell on a MemoryStore and a
LocalStore.

DESIGN.md: a user writes only ``users/<self>`` and ``scratch/<self>``, everybody writes
``org``, only admins write ``public``, everybody reads everything. DESIGN.md says nothing about
who may purge; the code (``Writer.purge`` -> ``check_write``) treats it as a write of the
namespace, and these tables assert that. A refused write raises PermissionDeniedError and the
store is left exactly as it was (same keys, same etags: no blob, no changeset).

The owner of ``users/1`` and ``scratch/1`` is user ``1``; the other user is ``10``, whose
namespaces ``users/10`` and ``scratch/10`` start with the owner's (prefix confusion).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from eoscatalog import Catalog
from eoscatalog.core.errors import (
    EosError,
    InvalidNameError,
    NotFoundError,
    PermissionDeniedError,
    StoreError,
)
from eoscatalog.core.names import Location
from eoscatalog.rules.permissions import check_write
from eoscatalog.store import LocalStore, MemoryStore, Store

ACTORS: dict[str, dict[str, Any]] = {
    "owner": {"user": "1"},
    "other": {"user": "10"},
    "member": {"user": "carol"},
    "admin": {"user": "root", "admin": True},
}
NAMESPACES = ["users/1", "org", "public", "scratch/1"]
OPS = ["get", "put", "rm", "rollback", "purge", "url"]
READS = {"get", "url"}
# Who may put, rm, rollback and purge in each namespace (DESIGN.md; purge as the code does).
WRITERS: dict[str, set[str]] = {
    "users/1": {"owner"},
    "scratch/1": {"owner"},
    "org": {"owner", "other", "member", "admin"},
    "public": {"admin"},
}
SEEDERS = {"users/1": "owner", "scratch/1": "owner", "org": "member", "public": "admin"}
CELLS = [(a, ns, op) for a in ACTORS for ns in NAMESPACES for op in OPS]


def snapshot(store: Store) -> dict[str, str]:
    """Every object's key and etag: changes when anything is written or deleted."""
    return {o.key: o.etag for o in store.list("")}


@dataclass
class World:
    """One store seeded with a name per cell (two versions each), and a catalog per user.

    MemoryStore and LocalStore only: on the S3 test server the 300 or so catalog operations
    cost about 15 s, and the client decides before it asks any store (what S3 itself refuses
    is the bucket policy of docs/admin.md).
    """

    kind: str
    store: Store
    catalogs: dict[str, Catalog]
    downloads: Path

    def catalog(self, user: str, admin: bool = False) -> Catalog:
        key = f"{user}{'+admin' if admin else ''}"
        if key not in self.catalogs:
            self.catalogs[key] = Catalog(self.store, ":memory:", user=user, admin=admin)
        return self.catalogs[key]

    def actor(self, name: str) -> Catalog:
        return self.catalog(**ACTORS[name])


def cell_uri(namespace: str, actor: str, op: str) -> str:
    return f"eos://{namespace}/cells/{actor}-{op}.txt"


@pytest.fixture(scope="module", params=["memory", "local"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp(f"matrix-{request.param}")
    store: Store
    if request.param == "memory":
        store = MemoryStore()
    else:
        store = LocalStore(tmp / "store" / "acme", create=True)
    w = World(request.param, store, {}, tmp / "downloads")
    for namespace in NAMESPACES:
        seeder = w.actor(SEEDERS[namespace])
        names = [cell_uri(namespace, a, op) for a in ACTORS for op in OPS]
        for data in (b"one", b"two"):
            seeder.put_many([(data, name) for name in names])
    yield w
    for cat in w.catalogs.values():
        cat.index.close()
        cat.hash_cache.close()
    store.close()


def run(op: str, cat: Catalog, uri: str, dest: Path) -> Any:
    if op == "get":
        return cat.get(uri, dest).read_bytes()
    if op == "put":
        return cat.put_bytes(f"three: {cat.user} in {uri}".encode(), uri).record.version
    if op == "rm":
        return cat.rm(uri).version
    if op == "rollback":
        return cat.rollback(uri, to=1).version
    if op == "purge":
        return cat.purge(f"{uri}@1")
    assert op == "url"
    return cat.url(uri)


@pytest.mark.parametrize(("actor", "namespace", "op"), CELLS,
                         ids=[f"{a}-{ns.replace('/', '_')}-{op}" for a, ns, op in CELLS])
def test_permission_matrix_cell(world: World, actor: str, namespace: str, op: str) -> None:
    cat = world.actor(actor)
    uri = cell_uri(namespace, actor, op)
    before = snapshot(world.store)
    dest = world.downloads / f"{actor}-{namespace.replace('/', '_')}-{op}.txt"
    if op in READS:
        if op == "url" and world.kind == "memory":  # readable, but a memory store has no links
            with pytest.raises(StoreError, match="cannot make links"):
                run(op, cat, uri, dest)
        else:
            result = run(op, cat, uri, dest)
            if op == "get":
                assert result == b"two"
            else:
                assert isinstance(result, str)
                assert result.startswith("file://")
        assert snapshot(world.store) == before, "a read wrote to the store"
        return
    if actor in WRITERS[namespace]:
        result = run(op, cat, uri, dest)
        assert result == ([1] if op == "purge" else 3)
        after = snapshot(world.store)
        added = sorted(set(after) - set(before))
        changesets = [k for k in added if k.startswith(f"catalog/{namespace}/log/")]
        assert len(changesets) == 1, added
        assert set(added) - set(changesets) <= {k for k in added if k.startswith("blobs/")}
        return
    with pytest.raises(PermissionDeniedError) as denied:
        run(op, cat, uri, dest)
    message = str(denied.value)
    user = ACTORS[actor]["user"]
    assert f"users/{user}" in message and f"scratch/{user}" in message and "org" in message
    if namespace == "public":
        assert "only admins" in message
    assert snapshot(world.store) == before, "a refused write changed the store"


# -- prefix confusion and traversal -----------------------------------------------------------

# Every write that takes a name (str or Location); purge and tag take references (str here).
WRITE_OPS: list[tuple[str, bool, Callable[[Catalog, Any], Any]]] = [
    ("put", True, lambda c, t: c.put_bytes(b"edge", t)),
    ("put_many", True,
     lambda c, t: c.put_many([(b"fine", "eos://org/edge/fine.txt"), (b"edge", t)])),
    ("rm", True, lambda c, t: c.rm(t)),
    ("rollback", True, lambda c, t: c.rollback(t, to=1)),
    ("purge", False, lambda c, t: c.purge(t)),
    ("tag", False, lambda c, t: c.tag(t, "edge")),
]
# (user, target, expected): denied = PermissionDeniedError, invalid = InvalidNameError.
EDGES: list[tuple[str, str | Location, str]] = [
    ("1", "eos://users/10/edge.txt", "denied"),
    ("10", "eos://users/1/edge.txt", "denied"),
    ("1", "eos://scratch/10/edge.txt", "denied"),
    ("10", "eos://scratch/1/edge.txt", "denied"),
    ("1", "eos://users/1/../2/edge.txt", "invalid"),
    ("2", "eos://users/1/../2/edge.txt", "invalid"),
    ("1", "eos://users/2/../1/edge.txt", "invalid"),
    ("1", "eos://users/1/../../org/edge.txt", "invalid"),
    ("1", "eos://org/../users/2/edge.txt", "invalid"),
    ("1", "eos://public/../org/edge.txt", "invalid"),
    ("1", "eos://users//1/edge.txt", "invalid"),
    ("1", "eos://users/./1/edge.txt", "invalid"),
    ("1", "eos://users/1/./edge.txt", "invalid"),
    ("1", "eos://users/1\\..\\2/edge.txt", "invalid"),
    ("1", "eos://users/1/..\\2/edge.txt", "invalid"),
    ("1", "eos://users/1%2F..%2F2/edge.txt", "invalid"),
    ("1", "eos://Users/1/edge.txt", "invalid"),
    ("2", "eos://users/1/..%2F2/edge.txt", "denied"),  # a name in users/1, percent not decoded
    ("1", Location("users/1/../2", "edge.txt"), "invalid"),  # built by a caller: checked
    ("2", Location("users/1/../2", "edge.txt"), "invalid"),
    ("1", Location("users/10", "edge.txt"), "denied"),
    ("10", Location("users/1", "edge.txt"), "denied"),
    ("1", Location("users/1", "../2/edge.txt"), "invalid"),
]
GAPS: list[tuple[str, str | Location, str]] = [
    ("1", Location("org/../users/2", "edge.txt"), "invalid"),
    ("1", Location("org/sub", "edge.txt"), "invalid"),
]
EDGE_IDS = [f"{u}-{t if isinstance(t, str) else 'Location(' + t.namespace + ')'}"
            for u, t, _ in EDGES]


def check_edge(world: World, user: str, target: str | Location, expected: str) -> None:
    cat = world.catalog(user)
    error = PermissionDeniedError if expected == "denied" else InvalidNameError
    for op, takes_location, call in WRITE_OPS:
        if isinstance(target, Location) and not takes_location:
            continue
        before = snapshot(world.store)
        with pytest.raises(error):
            call(cat, target)
        assert snapshot(world.store) == before, f"{op} of {target!r} as {user} wrote"


@pytest.mark.parametrize(("user", "target", "expected"), EDGES, ids=EDGE_IDS)
def test_prefixes_and_traversal_never_reach_another_namespace(
    world: World, user: str, target: str | Location, expected: str
) -> None:
    check_edge(world, user, target, expected)


@pytest.mark.parametrize(("user", "target", "expected"), GAPS,
                         ids=["org-dotdot-users-2", "org-sub"])
def test_a_location_with_an_invalid_namespace_is_refused_before_any_write(
    world: World, user: str, target: Location, expected: str
) -> None:
    check_edge(world, user, target, expected)


@pytest.mark.parametrize(("user", "uri", "namespace"), [
    ("1", "eos://users/1/..%2F2/edge.txt", "users/1"),
    ("10", "eos://users/me/edge.txt", "users/10"),
    ("1", "eos://scratch/me/edge.txt", "scratch/1"),
    ("1", "e://users/1/edge.txt", "users/1"),
])
def test_own_namespaces_by_any_spelling_are_writable(
    world: World, user: str, uri: str, namespace: str
) -> None:
    before = snapshot(world.store)
    record = world.catalog(user).put_bytes(f"{uri} as {user}".encode(), uri).record
    assert record.namespace == namespace
    added = set(snapshot(world.store)) - set(before)
    assert any(k.startswith(f"catalog/{namespace}/log/") for k in added)
    assert all(k.startswith((f"catalog/{namespace}/", "blobs/")) for k in added)


def test_reads_of_a_namespace_need_no_write_permission(world: World) -> None:
    """Listings, versions and info work for everybody, everywhere, and write nothing."""
    before = snapshot(world.store)
    for actor in ACTORS:
        cat = world.actor(actor)
        for namespace in NAMESPACES:
            uri = cell_uri(namespace, "member", "get")
            assert len(cat.versions(uri)) >= 2
            assert cat.info(uri)["namespace"] == namespace
            assert cat.ls(f"eos://{namespace}/cells/").files
    assert snapshot(world.store) == before


# -- the pure rule -----------------------------------------------------------------------------

RULES: list[tuple[str, str, bool, bool]] = [
    # namespace, user, admin, allowed
    ("users/1", "1", False, True),
    ("users/1", "10", False, False),
    ("users/10", "1", False, False),
    ("users/1", "1x", False, False),
    ("users/1x", "1", False, False),
    ("users/1/../2", "1", False, False),
    ("users/1/../2", "2", False, False),
    ("users/2/../1", "1", False, False),
    ("users/1/", "1", False, False),
    ("users/", "1", False, False),
    ("users", "1", False, False),
    ("scratch/1", "1", False, True),
    ("scratch/10", "1", False, False),
    ("scratch/1/../10", "10", False, False),
    ("users/2", "1", True, False),  # admins write public, not other users' namespaces
    ("scratch/2", "1", True, False),
    ("public", "1", False, False),
    ("public", "1", True, True),
    ("org", "1", False, True),
    ("org", "1", True, True),
    ("orgs", "1", False, False),
    ("Org", "1", False, False),
    ("", "1", False, False),
]


@pytest.mark.parametrize(("namespace", "user", "admin", "allowed"), RULES)
def test_check_write(namespace: str, user: str, admin: bool, allowed: bool) -> None:
    if allowed:
        check_write(namespace, user=user, admin=admin)
        return
    with pytest.raises(PermissionDeniedError) as denied:
        check_write(namespace, user=user, admin=admin)
    assert isinstance(denied.value, EosError) and isinstance(denied.value, PermissionError)


def test_purge_of_a_missing_version_is_not_found_only_after_permission(world: World) -> None:
    """Permission is checked before the index is asked, so a refused purge says so."""
    with pytest.raises(PermissionDeniedError):
        world.actor("other").purge("eos://users/1/no-such-name.txt")
    with pytest.raises(NotFoundError):
        world.actor("owner").purge("eos://users/1/no-such-name.txt")
