"""Logging in and out, the language switch, and a user's own page: sessions and the TOTP factor."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from eduops.config import check_timezone
from eduops.core.audit import record_audit
from eduops.core.i18n import LANGUAGES, gettext
from eduops.core.models import User
from eduops.core.pages import language_of, render
from eduops.core.params import Id
from eduops.core.principal import Principal, current_principal, public, require_user
from eduops.db import session_scope
from eduops.errors import UsageError
from eduops.web import accounts, login, sessions, totp
from eduops.web.auth import SESSION_COOKIE
from eduops.web.middleware import cookie_header, is_https
from eduops.web.views import back, client_ip, clock, ring_of, safe_next, ws_of

router = APIRouter()
LANG_COOKIE = "eduops_lang"


@router.get("/login", response_class=HTMLResponse, dependencies=[Depends(public)])
def login_page(request: Request, next: str = "/") -> Response:
    return render(request, "web/login.html", {"next": safe_next(next)})


@router.post("/login", dependencies=[Depends(public)])
async def login_submit(
    request: Request,
    username: str = Form(""),
    password: str = Form(""),
    code: str = Form(""),
    next: str = Form("/"),
) -> Response:
    ws = ws_of(request)
    result = await run_in_threadpool(
        login.login,
        ws.engine,
        ring_of(request),
        username,
        password,
        code,
        now=clock(request),
        source_ip=client_ip(request),
        user_agent=request.headers.get("user-agent", ""),
        old_token=request.cookies.get(SESSION_COOKIE),
    )
    lang = language_of(request)
    if result.throttled:
        message = gettext("Too many attempts. Try again in {seconds} seconds.", lang).format(
            seconds=result.retry_after_s
        )
        response = render(
            request,
            "web/login.html",
            {"next": safe_next(next), "error": message, "username": username},
            status_code=429,
        )
        response.headers["Retry-After"] = str(result.retry_after_s)
        return response
    if not result.ok:
        message = gettext("Wrong user name, password or code.", lang)
        return render(
            request,
            "web/login.html",
            {"next": safe_next(next), "error": message, "username": username},
            status_code=401,
        )
    redirect = RedirectResponse(safe_next(next), status_code=303)
    redirect.headers.append(
        "set-cookie",
        cookie_header(
            SESSION_COOKIE,
            result.token,
            https=is_https(request),
            max_age=int(sessions.ABSOLUTE_LIFETIME.total_seconds()),
        ),
    )
    return redirect


@router.post("/logout")
async def logout_submit(request: Request, who: Principal = Depends(require_user())) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await run_in_threadpool(
            login.logout, ws_of(request).engine, token, now=clock(request), source_ip=client_ip(request)
        )
    response = RedirectResponse("/login", status_code=303)
    response.headers.append("set-cookie", cookie_header(SESSION_COOKIE, "", https=is_https(request), max_age=0))
    return response


@router.post("/lang", dependencies=[Depends(public)])
def switch_language(request: Request, lang: str = Form(...), next: str = Form("/")) -> Response:
    response = back(safe_next(next))
    who = current_principal(request)
    if lang in LANGUAGES and who is not None and who.user_id is not None:
        accounts.set_preferences(ws_of(request).engine, who.user_id, language=lang)  # follows the user
    if lang in LANGUAGES:
        response.headers.append(
            "set-cookie", cookie_header(LANG_COOKIE, lang, https=is_https(request), max_age=365 * 24 * 3600)
        )
    return response


@router.get("/account", response_class=HTMLResponse)
def account_page(request: Request, who: Principal = Depends(require_user()), done: str = "") -> Response:
    ws = ws_of(request)
    now = clock(request)
    with session_scope(ws.engine) as session:
        live = sessions.live_for_user(session, who.user_id or 0, now)
        mine = [
            {
                "id": s.id,
                "created_at": s.created_at,
                "last_seen_at": s.last_seen_at,
                "source_ip": s.source_ip,
                "user_agent": s.user_agent,
                "current": str(s.id) == who.session_id,
            }
            for s in live
        ]
    return render(request, "web/account.html", {"sessions": mine, "done": done})


@router.post("/account/sessions/{session_id}/end")
def end_session(session_id: Id, request: Request, who: Principal = Depends(require_user())) -> Response:
    ws = ws_of(request)
    now = clock(request)
    with session_scope(ws.engine) as session:
        row = session.get(sessions.WebSession, session_id)
        if row is not None and row.user_id == who.user_id:
            sessions.end(session, row, now, "ended by user")
            record_audit(
                session,
                actor=who.name,
                action="session.end",
                target=f"session:{session_id}",
                source_ip=client_ip(request),
                at=now,
            )
    if str(session_id) == who.session_id:
        return back("/login")
    return back("/account", done="session")


@router.post("/account/sessions/end-others")
def end_other_sessions(request: Request, who: Principal = Depends(require_user())) -> Response:
    now = clock(request)
    with session_scope(ws_of(request).engine) as session:
        ended = sessions.end_for_user(
            session,
            who.user_id or 0,
            now,
            "ended by user",
            keep_id=int(who.session_id) if who.session_id else None,
        )
        record_audit(
            session,
            actor=who.name,
            action="session.end_others",
            target=f"user:{who.name}",
            after={"ended": ended},
            source_ip=client_ip(request),
            at=now,
        )
    return back("/account", done="sessions")


@router.post("/account/timezone")
def set_timezone(request: Request, timezone: str = Form(...), who: Principal = Depends(require_user())) -> Response:
    try:
        check_timezone(timezone)
    except ValueError:
        return back("/account", done="badtz")
    accounts.set_preferences(ws_of(request).engine, who.user_id or 0, timezone=timezone)
    return back("/account", done="timezone")


@router.post("/account/password")
async def change_password(
    request: Request,
    current: str = Form(...),
    new: str = Form(...),
    repeat: str = Form(...),
    who: Principal = Depends(require_user()),
) -> Response:
    if new != repeat:
        return back("/account", done="mismatch")
    try:
        await run_in_threadpool(
            accounts.change_own_password,
            ws_of(request).engine,
            who.user_id or 0,
            current,
            new,
            keep_session_id=int(who.session_id) if who.session_id else None,
            source_ip=client_ip(request),
        )
    except UsageError as exc:
        return render(request, "web/error.html", {"title": "Bad request", "message": exc.message}, status_code=400)
    return back("/account", done="password")


@router.get("/account/totp", response_class=HTMLResponse)
def totp_setup_page(request: Request, who: Principal = Depends(require_user())) -> Response:
    secret = totp.new_secret()
    return render(request, "web/totp.html", {"secret": secret, "uri": totp.provisioning_uri(secret, who.name)})


@router.post("/account/totp")
def totp_enable(
    request: Request,
    secret: str = Form(...),
    code: str = Form(...),
    who: Principal = Depends(require_user()),
) -> Response:
    now = clock(request)
    lang = language_of(request)
    if not totp.valid_secret(secret):
        fresh = totp.new_secret()
        return render(request, "web/totp.html", {
            "secret": fresh, "uri": totp.provisioning_uri(fresh, who.name),
            "error": gettext("That setup key is not one eduops made; add this new one to your app instead.", lang),
        }, status_code=400)
    with session_scope(ws_of(request).engine) as session:
        user = session.get(User, who.user_id)
        if user is None or user.totp_secret:
            return back("/account")
        if not totp.use_code(session, user.id, secret, code, now):
            return render(
                request,
                "web/totp.html",
                {
                    "secret": secret,
                    "uri": totp.provisioning_uri(secret, who.name),
                    "error": gettext("That code does not match; check the clock of your phone and try again.", lang),
                },
                status_code=400,
            )
        user.totp_secret = totp.seal(ring_of(request), secret, user.id)
        record_audit(
            session,
            actor=who.name,
            action="user.totp_enable",
            target=f"user:{who.name}",
            before={"totp": False},
            after={"totp": True},
            source_ip=client_ip(request),
            at=now,
        )
    return back("/account", done="totp")


@router.post("/account/totp/disable")
def totp_disable(request: Request, code: str = Form(...), who: Principal = Depends(require_user())) -> Response:
    now = clock(request)
    with session_scope(ws_of(request).engine) as session:
        user = session.scalar(sa.select(User).where(User.id == who.user_id))
        if user is None or not user.totp_secret:
            return back("/account")
        secret = totp.unseal(ring_of(request), user.totp_secret, user.id)
        if not totp.use_code(session, user.id, secret, code, now):
            return back("/account", done="badcode")
        user.totp_secret = None
        record_audit(
            session,
            actor=who.name,
            action="user.totp_disable",
            target=f"user:{who.name}",
            before={"totp": True},
            after={"totp": False},
            source_ip=client_ip(request),
            at=now,
        )
    return back("/account", done="totp-off")
