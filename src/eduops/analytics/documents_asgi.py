"""The thin path for the xAPI document resources: learning content saves its State every few seconds per
learner, so these requests skip FastAPI's routing and dependency injection.

``DocumentsFastPath`` is an ASGI middleware that answers ``/xapi/activities/state``,
``/xapi/activities/profile`` and ``/xapi/agents/profile`` itself, with exactly the semantics of the
routes in ``documents_api`` (which stay declared for OpenAPI and run the same ``answer``): version
header, caller and permission (the caller the console middleware already established, or a test's
override of ``current_principal``), then the same handler. It sits inside every other middleware
(``analytics.api.setup`` adds it first, so it is the innermost): the request id, body cap and clean
500 of the guard, the real client address, the rate limits, the security headers and the xAPI
headers, HEAD and Alternate Request Syntax all apply as to any other route. Errors answer as the
app's error handlers would (JSON ``{"error"}``, ``WWW-Authenticate`` on 401).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from eduops.analytics import documents_api
from eduops.core.principal import Principal, current_principal
from eduops.errors import EduopsError, PermissionDenied, Unauthenticated

# path -> (resource, permission), as the routes of documents_api declare them
PATHS = {
    "/xapi" + documents_api.STATE: ("state", "xapi:state"),
    "/xapi" + documents_api.ACTIVITY_PROFILE: ("activity_profile", "ingest:xapi"),
    "/xapi" + documents_api.AGENT_PROFILE: ("agent_profile", "ingest:xapi"),
}
METHODS = frozenset(documents_api.METHODS)
CHALLENGE = 'Basic realm="eduops xAPI"'
_UNSET = object()


def caller(request: Request) -> Principal | None:
    """The caller as FastAPI's ``Depends(current_principal)`` would resolve it: a zero-argument override
    on the app (tests), else the principal the console middleware cached, else authenticated now."""
    override = getattr(request.app, "dependency_overrides", {}).get(current_principal)
    if override is not None:
        found: Principal | None = override()
        return found
    cached: Any = request.scope.get("state", {}).get("principal", _UNSET)
    if cached is not _UNSET:
        return cached if isinstance(cached, Principal) else None
    return current_principal(request)


def allowed(principal: Principal | None, permission: str) -> Principal:
    """``core.principal.require``'s rule: no caller is 401, a caller without the permission 403."""
    if principal is None:
        raise Unauthenticated("log in or send an API key (Authorization: Bearer <key>)")
    if not principal.can(permission):
        raise PermissionDenied(f"this needs the {permission!r} permission, which {principal.name} lacks")
    return principal


def error_response(exc: EduopsError) -> Response:
    headers = {"WWW-Authenticate": CHALLENGE} if exc.http_status == 401 else None
    return JSONResponse({"error": exc.message}, status_code=exc.http_status, headers=headers)


class DocumentsFastPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = PATHS.get(scope["path"]) if scope["type"] == "http" else None
        if found is None or scope["method"] not in METHODS:
            await self.app(scope, receive, send)
            return
        resource, permission = found
        request = Request(scope, receive)
        try:
            documents_api.check_version(request)
            allowed(caller(request), permission)
            response = await documents_api.answer(request, resource)
        except EduopsError as exc:
            response = error_response(exc)
        await response(scope, receive, send)
