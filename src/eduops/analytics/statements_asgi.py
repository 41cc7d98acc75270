"""The thin path for POST /xapi/statements: learning platforms send statements in batches many times a
second, so these requests skip FastAPI's routing and dependency injection (as ``documents_asgi`` does for the
document resources).

``StatementsFastPath`` answers ``POST /xapi/statements`` itself with exactly the semantics of the route in
``xapi_api`` (which stays declared for OpenAPI and runs the same ``post_answer``): version header, then
caller and the ``ingest:xapi`` permission, then the same handler. It sits inside every other middleware
(``analytics.api.setup`` adds it among the first), so the request id, body cap and clean 500 of the guard,
the real client address, the rate limits, the security headers, the xAPI headers and the Alternate Request
Syntax all apply as to any other route. Errors answer as the app's error handlers would.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from eduops.analytics import xapi_api
from eduops.analytics.documents_asgi import allowed, caller, error_response
from eduops.errors import EduopsError

PATH = "/xapi/statements"
PERMISSION = "ingest:xapi"


class StatementsFastPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != PATH:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        response: Response
        try:
            xapi_api.version_required(request)
            response = await xapi_api.post_answer(request, allowed(caller(request), PERMISSION))
        except EduopsError as exc:
            response = error_response(exc)
        await response(scope, receive, send)
