"""The console's own pages, one module per part of the console."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import RedirectResponse

from eduops.core.crypto import Keyring
from eduops.core.workspace import Workspace, keyring
from eduops.web.auth import client_ip, clock


def ws_of(request: Request) -> Workspace:
    return request.app.state.workspace  # type: ignore[no-any-return]


def ring_of(request: Request) -> Keyring:
    return keyring(ws_of(request).settings)


MAX_NEXT_CHARS = 2048  # a longer Location header is refused by proxies (nginx's buffers: a 502)


def safe_next(target: str | None, default: str = "/") -> str:
    """Only a path on this console (never another host), and not an absurdly long one, may be a redirect target."""
    if not target or len(target) > MAX_NEXT_CHARS:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def back(to: str, **query: Any) -> RedirectResponse:
    if query:
        from urllib.parse import urlencode

        to = f"{to}?{urlencode(query)}"
    return RedirectResponse(to, status_code=303)


__all__ = ["back", "client_ip", "clock", "ring_of", "safe_next", "ws_of"]
