"""The console's routes (pages and a small JSON API), its navigation, and what it adds to the app.

``setup(app)`` mounts /static (the console's CSS/JS and Plotly's JavaScript from the installed
``plotly`` package, so nothing comes from a CDN) and installs the middleware (who is calling, CSRF,
security headers).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import plotly
from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.routing import Route

from eduops.core.audit import list_audit, verify_chain
from eduops.core.hookspecs import NavItem
from eduops.core.principal import Principal, require
from eduops.core.values import MAX_INT
from eduops.web import accounts, apidocs, apikeys
from eduops.web.auth import authenticate, authenticate_now
from eduops.web.middleware import ConsoleMiddleware
from eduops.web.views import account, admin, overview, runs

STATIC_DIR = Path(__file__).with_name("static")
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"

NAV = [
    NavItem("/", "Overview", "read", order=0),
    NavItem("/calendar", "Calendar", "read", order=1, group="Operations"),
    NavItem("/runs", "Runs", "read", order=2, group="Operations"),
    NavItem("/admin/users", "Users", "admin", order=90, group="Administration"),
    NavItem("/admin/keys", "API keys", "admin", order=91, group="Administration"),
    NavItem("/admin/audit", "Audit log", "admin", order=92, group="Administration"),
]

pages = APIRouter()
for _module in (account, overview, runs, admin, apidocs):
    pages.include_router(_module.router)

router = APIRouter(prefix="/api/v1", tags=["console"])


@router.get("/me")
def me(who: Principal = Depends(require("read"))) -> dict[str, Any]:
    return {"name": who.name, "kind": who.kind, "role": who.role, "permissions": sorted(who.permissions)}


@router.get("/users")
def users(request: Request, _: Principal = Depends(require("admin"))) -> list[dict[str, Any]]:
    return accounts.list_users(request.app.state.workspace.engine)


@router.get("/keys")
def keys(request: Request, _: Principal = Depends(require("admin"))) -> list[dict[str, Any]]:
    return apikeys.list_keys(request.app.state.workspace.engine)


@router.get("/audit")
def audit_rows(
    request: Request,
    actor: str = "",
    action: str = "",
    target: str = "",
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=MAX_INT),
    _: Principal = Depends(require("admin")),
) -> list[dict[str, Any]]:
    return list_audit(
        request.app.state.workspace.engine,
        actor=actor,
        action=action,
        target=target,
        limit=limit,
        offset=offset,
    )


@router.get("/audit/verify")
def audit_verify(request: Request, _: Principal = Depends(require("admin"))) -> dict[str, Any]:
    checked, problem = verify_chain(request.app.state.workspace.engine)
    return {
        "rows_checked": checked,
        "ok": problem is None,
        "first_bad_row": problem.row_id if problem else None,
        "reason": problem.reason if problem else None,
    }


async def _plotly_js(request: Request) -> FileResponse:
    return FileResponse(PLOTLY_JS, media_type="text/javascript", headers={"cache-control": "public, max-age=86400"})


async def _favicon(request: Request) -> FileResponse:
    """Browsers ask every site for /favicon.ico (reports and JSON answers too): the console's icon, not a 404."""
    return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml",
                        headers={"cache-control": "public, max-age=86400"})


def setup(app: FastAPI) -> None:
    app.state.authenticate = authenticate
    app.state.authenticate_now = authenticate_now
    app.router.routes.insert(0, Route("/static/plotly.min.js", _plotly_js, methods=["GET", "HEAD"]))
    app.router.routes.insert(0, Route("/favicon.ico", _favicon, methods=["GET", "HEAD"]))
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(ConsoleMiddleware)
