"""Who is asking and what they may do: roles, API-key scopes and the ``require`` dependency.

Every route declares its permission with ``Depends(require("ops"))``; the route × role test walks
them all. How a request is authenticated (session cookie, API key) lives in ``eduops.web.auth``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import Depends, Request

from eduops.errors import PermissionDenied, Unauthenticated

PERMISSIONS = ("read", "ops", "content", "support", "admin", "ingest:rtc", "ingest:xapi", "ingest:feedback")
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": frozenset({"read", "ops", "content", "support", "admin"}),
    "ops": frozenset({"read", "ops"}),
    "content": frozenset({"read", "content"}),
    "support": frozenset({"read", "support"}),
    "viewer": frozenset({"read"}),
}
SCOPES = ("ingest:rtc", "ingest:xapi", "ingest:feedback", "read", "admin")
SCOPE_PERMISSIONS: dict[str, frozenset[str]] = {
    "ingest:rtc": frozenset({"ingest:rtc"}),
    "ingest:xapi": frozenset({"ingest:xapi"}),
    "ingest:feedback": frozenset({"ingest:feedback"}),
    "read": frozenset({"read"}),
    "admin": frozenset(PERMISSIONS),
}


@dataclass
class Principal:
    name: str
    kind: str  # "user" | "apikey"
    role: str = ""
    scopes: frozenset[str] = frozenset()
    user_id: int | None = None
    session_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def permissions(self) -> frozenset[str]:
        if self.kind == "user":
            return ROLE_PERMISSIONS.get(self.role, frozenset())
        perms: set[str] = set()
        for scope in self.scopes:
            perms |= SCOPE_PERMISSIONS.get(scope, frozenset())
        return frozenset(perms)

    def can(self, permission: str) -> bool:
        return permission in self.permissions


def current_principal(request: Request) -> Principal | None:
    """The authenticated caller, or None. ``eduops.web.auth`` decides how."""
    cached: Principal | None | bool = getattr(request.state, "principal", False)
    if cached is not False:
        return cached if isinstance(cached, Principal) else None
    try:
        from eduops.web import auth
    except ImportError:  # console not installed yet: nobody is authenticated
        principal = None
    else:
        principal = auth.authenticate(request)
    request.state.principal = principal
    return principal


def require(permission: str) -> Callable[..., Principal]:
    """A dependency that lets the request through only when its caller holds ``permission``."""
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")

    def dependency(principal: Principal | None = Depends(current_principal)) -> Principal:
        if principal is None:
            raise Unauthenticated("log in or send an API key (Authorization: Bearer <key>)")
        if not principal.can(permission):
            raise PermissionDenied(f"this needs the {permission!r} permission, which {principal.name} lacks")
        return principal

    dependency.permission = permission  # type: ignore[attr-defined]
    return dependency


def public() -> None:
    """Marks a route as deliberately open to everyone (login page, health check); the route test knows it."""


public.permission = None  # type: ignore[attr-defined]
