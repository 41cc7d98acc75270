"""One ASGI middleware for every request: who is calling, CSRF, and the security headers.

CSRF (OWASP ASVS 4.2.2, 50.x): a state-changing request without an ``Authorization`` header rides
on a cookie, so it must carry the token in ``X-CSRF-Token`` or a ``csrf_token`` form field: the
session's own token once logged in, or the pre-login cookie's value (double submit) before.
"""

from __future__ import annotations

import hmac
import json
import secrets
import tempfile
from collections.abc import Callable
from typing import IO

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from eduops.core.i18n import gettext, pick_language
from eduops.core.principal import Principal, current_principal

PRE_COOKIE = "eduops_csrf"
SESSION_COOKIE = "eduops_session"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}
MAX_FORM_BYTES = 64 * 1024 * 1024  # multipart: files spool to disk
MAX_URLENCODED_BYTES = 1024 * 1024  # a plain form's fields are all held in memory while parsed
SPOOL_BYTES = 1024 * 1024
REPLAY_CHUNK = 64 * 1024
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'self'"
)
HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "SAMEORIGIN",
    "referrer-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
    "cross-origin-opener-policy": "same-origin",
}


def is_api_path(path: str) -> bool:
    return path.startswith(("/api/", "/xapi", "/healthz", "/metrics", "/-/"))


def needs_csrf(request: Request) -> bool:
    """A state change that rides on a cookie: a page form, or an API call carrying the session cookie.

    A call with an Authorization header (API key) or without any cookie has nothing to forge.
    """
    if request.method in SAFE_METHODS or "authorization" in request.headers:
        return False
    return SESSION_COOKIE in request.cookies or not is_api_path(request.url.path)


def is_https(request: Request) -> bool:
    """Whether cookies get ``Secure``: the request came over HTTPS (as a trusted proxy says, see
    ``eduops.web.proxy``), or the console's ``base_url`` is https (users only ever reach it that way)."""
    if request.scope.get("scheme") == "https":  # what request.url.scheme says, without building the URL
        return True
    ws = getattr(request.app.state, "workspace", None)
    return ws is not None and str(ws.settings.base_url).lower().startswith("https://")


def form_limit(content_type: str) -> int:
    return MAX_FORM_BYTES if content_type.startswith("multipart/") else MAX_URLENCODED_BYTES


async def _read_body(receive: Receive, limit: int = MAX_FORM_BYTES) -> IO[bytes] | None:
    """The whole request body in a spooled file (memory up to 1 MiB, then disk), or None when it is
    larger than a form may be."""
    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            spool.close()
            return None
        spool.write(chunk)
        if not message.get("more_body", False):
            break
    spool.seek(0)
    return spool


async def _form_token(scope: Scope, body: IO[bytes]) -> str:
    """The csrf_token field of a urlencoded or multipart form body, or ""."""
    request = Request(scope, replay_for_check(body))
    if not request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        return ""
    try:
        form = await request.form()
    except Exception:  # a malformed form carries no token: the request is refused as forged (403)
        return ""
    finally:
        body.seek(0)
    value = form.get("csrf_token")
    await form.close()
    return value if isinstance(value, str) else ""


async def _principal(request: Request) -> Principal | None:
    """The caller, cached on the request: at once when no database read is needed
    (``app.state.authenticate_now``), else ``current_principal`` off the event loop."""
    quick: Callable[[Request], tuple[bool, Principal | None]] | None = getattr(
        request.app.state, "authenticate_now", None)
    if quick is not None and "principal" not in request.scope.get("state", {}):
        known, found = quick(request)
        if known:
            request.state.principal = found
            return found
    return await run_in_threadpool(current_principal, request)


class ConsoleMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        state = scope.setdefault("state", {})
        new_pre = ""
        if scope["path"].startswith("/static/"):
            principal = None
        else:
            principal = await _principal(request)
        if principal is not None and principal.kind == "user":
            state["csrf_token"] = principal.extra.get("csrf_token", "")
        else:
            pre = request.cookies.get(PRE_COOKIE, "")
            if not pre and not is_api_path(scope["path"]):  # machine clients get no cookie
                pre = new_pre = secrets.token_urlsafe(32)
            state["csrf_token"] = pre

        spooled: IO[bytes] | None = None
        if needs_csrf(request):
            sent = request.headers.get("x-csrf-token", "")
            # without any cookie there is nothing to match: a fresh pre-login token proves nothing
            expected = "" if new_pre else state["csrf_token"]
            if not sent and expected:  # a plain form: the token is a field of the body, which is kept for the app
                body = await _read_body(receive, form_limit(request.headers.get("content-type", "")))
                if body is None:
                    await self._refuse(request, send, 413)
                    return
                sent = await _form_token(scope, body)
                receive = replay_for_check(body, then=receive)
                spooled = body
            if not (sent and expected and hmac.compare_digest(sent, expected)):
                if spooled is not None:
                    spooled.close()
                await self._refuse(request, send, 403)
                return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers.setdefault(name, value)
                if is_https(request):
                    headers.setdefault("strict-transport-security", "max-age=31536000")
                if principal is not None:
                    headers.setdefault("cache-control", "no-store")
                if new_pre:
                    headers.append("set-cookie", cookie_header(PRE_COOKIE, new_pre, https=is_https(request)))
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            if spooled is not None:
                spooled.close()

    async def _refuse(self, request: Request, send: Send, status: int) -> None:
        lang = pick_language(request.headers.get("accept-language"), request.cookies.get("eduops_lang"))
        if status == 413:
            limit = form_limit(request.headers.get("content-type", ""))
            error = f"this form may carry at most {limit // 2**20} MiB (files in multipart/form-data: " \
                f"{MAX_FORM_BYTES // 2**20} MiB); send larger bodies with X-CSRF-Token"
            message = gettext("The upload is too large for a form.", lang)
        else:
            error = "CSRF token missing or wrong; send the page's csrf_token as X-CSRF-Token"
            message = gettext(
                "The form has expired or did not come from this console; reload the page and try again.", lang
            )
        if is_api_path(request.url.path):
            body, media = json.dumps({"error": error}).encode(), "application/json"
        else:
            body, media = (
                f"<!doctype html><meta charset=utf-8><p>{message}</p>".encode(),
                "text/html; charset=utf-8",
            )
        headers = [(b"content-type", media.encode()), (b"content-length", str(len(body)).encode())]
        headers += [(k.encode(), v.encode()) for k, v in HEADERS.items()]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def replay_for_check(body: IO[bytes], then: Receive | None = None) -> Receive:
    """A receive that hands over ``body`` in 64 KiB pieces, then whatever ``then`` gives (e.g. a disconnect)."""
    done = False

    async def receive() -> Message:
        nonlocal done
        if not done or then is None:
            chunk = body.read(REPLAY_CHUNK)
            more = bool(chunk) and body.tell() < _size(body)
            done = not more
            return {"type": "http.request", "body": chunk, "more_body": more}
        return await then()

    return receive


def _size(fh: IO[bytes]) -> int:
    here = fh.tell()
    end = fh.seek(0, 2)
    fh.seek(here)
    return end


def cookie_header(name: str, value: str, *, https: bool, max_age: int | None = None, http_only: bool = True) -> str:
    parts = [f"{name}={value}", "Path=/", "SameSite=Lax"]
    if http_only:
        parts.append("HttpOnly")
    if https:
        parts.append("Secure")
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    return "; ".join(parts)
