"""How a request proves who it is: the session cookie (people) or an API key (machines).

API keys travel as ``Authorization: Bearer eduk_<id>_<secret>`` or as HTTP Basic (for xAPI clients):
the key id as user name and the secret as password, or the whole key as user name and/or password.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import Request

from eduops.core import local_access, principal
from eduops.core.principal import Principal
from eduops.db import session_scope, utcnow
from eduops.web import apikeys, sessions
from eduops.web.middleware import SESSION_COOKIE

__all__ = ["SESSION_COOKIE", "authenticate", "authenticate_now", "client_ip", "clock"]


def clock(request: Request) -> datetime:
    """The app's clock (tests put a fake one on ``app.state.clock``)."""
    now: Callable[[], datetime] = getattr(request.app.state, "clock", utcnow)
    return now()


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


def _key_principal(info: dict[str, Any]) -> Principal:
    return Principal(
        name=f"apikey:{info['key_id']}",
        kind="apikey",
        scopes=frozenset(info["scopes"]),
        extra={"key_name": info["name"]},
    )


def _from_api_key(request: Request, header: str) -> Principal | None:
    parts = principal.key_from_header(header)
    if parts is None:
        return None
    info = apikeys.verify(request.app.state.workspace.engine, parts[0], parts[1], clock(request))
    return None if info is None else _key_principal(info)


def _from_session(request: Request, token: str) -> Principal | None:
    with session_scope(request.app.state.workspace.engine) as session:
        found = sessions.lookup(session, token, clock(request))
        if found is None:
            return None
        row, user = found
        return Principal(
            name=user.username,
            kind="user",
            role=user.role,
            user_id=user.id,
            session_id=str(row.id),
            extra={
                "timezone": user.timezone,
                "language": user.language,
                "csrf_token": row.csrf_token,
                "totp": bool(user.totp_secret),
                "display_name": user.display_name,
            },
        )


def _local_principal(request: Request) -> Principal:
    """A CLI process on this machine holding the server's local token, named after the OS user it says ran it."""
    return Principal(name=local_access.local_actor(request.headers.get(local_access.USER_HEADER)), kind="local",
                     role="admin")


def authenticate(request: Request) -> Principal | None:
    """The caller, or None; an Authorization header wins over the cookie."""
    header = request.headers.get("authorization")
    if header:
        if local_access.token_matches(header, getattr(request.app.state, "local_token", None)):
            return _local_principal(request)
        return _from_api_key(request, header)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        return _from_session(request, token)
    return None


def authenticate_now(request: Request) -> tuple[bool, Principal | None]:
    """``(True, authenticate's answer)`` when that answer needs no database read (no credentials, the
    server's local token, an API key verified moments ago), else ``(False, None)``: the console middleware
    then runs ``authenticate`` off the event loop. Ingestion and xAPI State clients send the same key
    hundreds of times a second."""
    header = request.headers.get("authorization")
    if header:
        if local_access.token_matches(header, getattr(request.app.state, "local_token", None)):
            return True, _local_principal(request)
        parts = principal.key_from_header(header)
        if parts is None:
            return True, None
        info = apikeys.verified_recently(request.app.state.workspace.engine, parts[0], parts[1], clock(request))
        return (False, None) if info is None else (True, _key_principal(info))
    return (False, None) if request.cookies.get(SESSION_COOKIE) else (True, None)
