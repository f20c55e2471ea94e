"""Who may write where: DESIGN.md's namespace rules, as one pure function.

A user writes ``users/<self>`` and ``scratch/<self>``; everybody in the organization writes
``org``; only admins write ``public``. Everybody reads everything.
"""

from __future__ import annotations

from eoscatalog.core.errors import PermissionDeniedError

__all__ = ["check_write"]


def check_write(namespace: str, *, user: str, admin: bool = False) -> None:
    """Raise PermissionDeniedError unless ``user`` may write ``namespace``.

    >>> check_write("org", user="ada")
    >>> check_write("users/bob", user="ada")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    eoscatalog.core.errors.PermissionDeniedError: user 'ada' cannot write to users/bob: ...
    """
    kind, _, owner = namespace.partition("/")
    # Exact shapes only: "org/sub" or "users/ada/x" are no namespaces, whoever built them.
    if namespace == "org" or (namespace == "public" and admin):
        return
    if kind in ("users", "scratch") and owner == user and "/" not in owner:
        return
    allowed = f"users/{user} (users/me), scratch/{user} and org"
    if kind == "public":
        raise PermissionDeniedError(
            f"only admins write to public/; user {user!r} writes to {allowed}"
        )
    raise PermissionDeniedError(
        f"user {user!r} cannot write to {namespace}: you write to {allowed}; "
        "share data with everyone through eos://org/"
    )
