"""The app as a thin path's tests build it: with or without the thin ASGI path, a caller holding given scopes,
and a record of every request FastAPI's own route saw (so a test knows which path answered)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request

from eduops.core import principal as security
from eduops.core.workspace import Workspace
from eduops.web.app import create_app


def app_as(ws: Workspace, scopes: tuple[str, ...], thin_path: type | None, routed: list[str],
           route_dependency: Callable[[Request], Any]) -> FastAPI:
    """The app with a caller holding ``scopes`` (none: no caller); the ``thin_path`` middleware removed when
    given; ``route_dependency`` (a dependency every route of the resource runs) also appends to ``routed``."""
    app = create_app(ws)
    if thin_path is not None:
        app.user_middleware = [m for m in app.user_middleware if m.cls is not thin_path]
    caller = security.Principal(name="lms-key", kind="apikey", scopes=frozenset(scopes)) if scopes else None
    app.dependency_overrides[security.current_principal] = lambda: caller

    def seen(request: Request) -> None:
        routed.append(request.url.path)
        route_dependency(request)

    app.dependency_overrides[route_dependency] = seen
    return app
