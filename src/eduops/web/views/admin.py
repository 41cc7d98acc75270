"""Admin pages: users and roles, API keys (shown once), and the audit log with its filters."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from eduops.core import values
from eduops.core.audit import list_audit, verify_chain
from eduops.core.pages import render, timezone_of
from eduops.core.principal import SCOPES, Principal, require
from eduops.core.workspace import ROLES
from eduops.errors import EduopsError
from eduops.web import accounts, apikeys
from eduops.web.views import back, client_ip, ws_of

router = APIRouter()


def _users_page(request: Request, **extra: object) -> Response:
    status = int(extra.pop("status_code", 200))  # type: ignore[call-overload]
    return render(
        request,
        "web/users.html",
        {"users": accounts.list_users(ws_of(request).engine), "roles": ROLES, **extra},
        status_code=status,
    )


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(request: Request, who: Principal = Depends(require("admin"))) -> Response:
    return _users_page(request)


@router.post("/admin/users")
async def user_add(
    request: Request,
    username: str = Form(...),
    role: str = Form(...),
    who: Principal = Depends(require("admin")),
) -> Response:
    try:
        info, password = await run_in_threadpool(
            accounts.add_user,
            ws_of(request).engine,
            username.strip(),
            role,
            actor=who.name,
            source_ip=client_ip(request),
        )
    except EduopsError as exc:
        return _users_page(request, error=exc.message, status_code=exc.http_status)
    return _users_page(request, secret_for=info["username"], secret=password)


@router.post("/admin/users/{username}/role")
def user_role(
    username: str, request: Request, role: str = Form(...), who: Principal = Depends(require("admin"))
) -> Response:
    accounts.set_role(ws_of(request).engine, username, role, actor=who.name, source_ip=client_ip(request))
    return back("/admin/users")


@router.post("/admin/users/{username}/disable")
def user_disable(
    username: str, request: Request, disabled: bool = Form(True), who: Principal = Depends(require("admin"))
) -> Response:
    accounts.set_disabled(ws_of(request).engine, username, disabled, actor=who.name, source_ip=client_ip(request))
    return back("/admin/users")


@router.post("/admin/users/{username}/reset-password")
async def user_reset(username: str, request: Request, who: Principal = Depends(require("admin"))) -> Response:
    password = await run_in_threadpool(
        accounts.reset_password, ws_of(request).engine, username, actor=who.name, source_ip=client_ip(request)
    )
    return _users_page(request, secret_for=username, secret=password)


def _keys_page(request: Request, **extra: object) -> Response:
    return render(
        request,
        "web/keys.html",
        {"keys": apikeys.list_keys(ws_of(request).engine), "scopes": SCOPES, **extra},
    )


@router.get("/admin/keys", response_class=HTMLResponse)
def keys_page(request: Request, who: Principal = Depends(require("admin"))) -> Response:
    return _keys_page(request)


@router.post("/admin/keys")
async def key_create(request: Request, who: Principal = Depends(require("admin"))) -> Response:
    form = await request.form()
    scopes = [str(s) for s in form.getlist("scopes")]
    try:
        info, key = apikeys.create_key(
            ws_of(request).engine,
            str(form.get("name", "")),
            scopes,
            actor=who.name,
            source_ip=client_ip(request),
        )
    except EduopsError as exc:
        return _keys_page(request, error=exc.message)
    return _keys_page(request, secret_for=info["key_id"], secret=key)


@router.post("/admin/keys/{key_id}/revoke")
def key_revoke(key_id: str, request: Request, who: Principal = Depends(require("admin"))) -> Response:
    apikeys.revoke_key(ws_of(request).engine, key_id, actor=who.name, source_ip=client_ip(request))
    return back("/admin/keys")


@router.get("/admin/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    actor: str = "",
    action: str = "",
    target: str = "",
    since: str = "",
    until: str = "",
    verify: bool = False,
    who: Principal = Depends(require("admin")),
) -> Response:
    tz = timezone_of(request)

    def day(value: str, name: str, plus: int = 0) -> datetime | None:
        parsed = values.parse_day(value, name)
        return None if parsed is None else values.day_start(parsed, tz, plus)

    ws = ws_of(request)
    rows = list_audit(
        ws.engine,
        actor=actor.strip(),
        action=action.strip(),
        target=target.strip(),
        since=day(since, "since"),
        until=day(until, "until", 1),
        limit=200,
    )
    chain = verify_chain(ws.engine) if verify else None
    return render(
        request,
        "web/audit.html",
        {
            "rows": rows,
            "filters": {"actor": actor, "action": action, "target": target, "since": since, "until": until},
            "chain": chain,
        },
    )
