"""Who is asking and what they may do: roles, API-key scopes and the ``require`` dependency.

Every route declares its permission with ``Depends(require("ops"))``; the route × role test walks
them all. How a request is authenticated (session cookie, API key) is the web app's business: it
puts its ``authenticate(request)`` on ``app.state``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import Depends, Request

from eduops.core.i18n import msg
from eduops.errors import PermissionDenied, Unauthenticated

API_KEY_PREFIX = "eduk"  # keys look like eduk_<id>_<secret>
PERMISSIONS = ("read", "ops", "content", "support", "admin", "ingest:rtc", "ingest:xapi", "ingest:feedback",
               "ingest:alerts", "xapi:state", "local")
# "local": only the running server's local credential (eduops.core.local_access) holds it: CLI commands on the
# same workspace reach the stores the server holds open. No role or API-key scope grants it.
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": frozenset({"read", "ops", "content", "support", "admin"}),
    "ops": frozenset({"read", "ops"}),
    "content": frozenset({"read", "content"}),
    "support": frozenset({"read", "support"}),
    "viewer": frozenset({"read"}),
}
SCOPES = ("ingest:rtc", "ingest:xapi", "ingest:feedback", "ingest:alerts", "read", "admin", "xapi:state")
SCOPE_PERMISSIONS: dict[str, frozenset[str]] = {
    "ingest:rtc": frozenset({"ingest:rtc"}),
    "ingest:xapi": frozenset({"ingest:xapi", "xapi:state"}),  # statements, profiles and state documents
    "xapi:state": frozenset({"xapi:state"}),  # learning content that only saves its xAPI state
    "ingest:feedback": frozenset({"ingest:feedback"}),
    "ingest:alerts": frozenset({"ingest:alerts"}),
    "read": frozenset({"read"}),
    "admin": frozenset(p for p in PERMISSIONS if p != "local"),
}


@dataclass
class Principal:
    name: str
    kind: str  # "user" | "apikey" | "local" (a CLI command on the server's own workspace)
    role: str = ""
    scopes: frozenset[str] = frozenset()
    user_id: int | None = None
    session_id: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def permissions(self) -> frozenset[str]:
        if self.kind == "user":
            return ROLE_PERMISSIONS.get(self.role, frozenset())
        if self.kind == "local":
            return frozenset(PERMISSIONS)
        perms: set[str] = set()
        for scope in self.scopes:
            perms |= SCOPE_PERMISSIONS.get(scope, frozenset())
        return frozenset(perms)

    def can(self, permission: str) -> bool:
        return permission in self.permissions


def current_principal(request: Request) -> Principal | None:
    """The authenticated caller, or None when the app knows no way to authenticate."""
    cached: Principal | None | bool = getattr(request.state, "principal", False)
    if cached is not False:
        return cached if isinstance(cached, Principal) else None
    authenticate: Callable[[Request], Principal | None] | None = getattr(request.app.state, "authenticate", None)
    principal = authenticate(request) if authenticate else None
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
            raise PermissionDenied(msg("this needs the {permission!r} permission, which {name} lacks",
                                       permission=permission, name=principal.name))
        return principal

    dependency.permission = permission  # type: ignore[attr-defined]
    return dependency


def require_user(permission: str = "read") -> Callable[..., Principal]:
    """``require`` for what only a person logged in to the console may do (their account, logging out):
    an API key, whatever its scopes, is refused."""
    allowed = require(permission)

    def dependency(principal: Principal | None = Depends(current_principal)) -> Principal:
        checked = allowed(principal)
        if checked.kind != "user":
            raise PermissionDenied(msg("{name} is an API key; this is for a person logged in to the console",
                                       name=checked.name))
        return checked

    dependency.permission = permission  # type: ignore[attr-defined]
    dependency.user_only = True  # type: ignore[attr-defined]
    return dependency


def public() -> None:
    """Marks a route as deliberately open to everyone (login page, health check); the route test knows it."""


public.permission = None  # type: ignore[attr-defined]


def split_key(key: str) -> tuple[str, str] | None:
    """(key id, secret) of a whole key, or None when it is not shaped like one."""
    parts = key.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def key_from_header(header: str) -> tuple[str, str] | None:
    """(key id, secret) from a Bearer or Basic Authorization header, or None."""
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer":
        return split_key(value)
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    for candidate in (user, password):
        whole = split_key(candidate)
        if whole:
            return whole
    key_id = user.removeprefix(f"{API_KEY_PREFIX}_")
    return (key_id, password) if key_id and password else None
