"""Every error leaves as a clear JSON (or page) with the right status, never a stack trace.

API paths answer JSON. Console pages send an unauthenticated browser to /login and show other
errors as a page in the viewer's language.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from eduops.core.i18n import gettext, msg
from eduops.errors import EduopsError
from eduops.web import problems

TITLES = {
    400: "Bad request",
    401: "Not logged in",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Too large",
    422: "Bad request",
    429: "Too many requests",
    503: "Unavailable",
}


def allowed_methods(request: Request) -> list[str]:
    """Every method some route answers on this path. The router's own 405 names only the first route it
    found (GET, when POST on the same path is another route), so the Allow header is rebuilt from all the
    routes on it with the fewest path parameters."""
    from fastapi.routing import _iter_included_route_candidates

    scope = {**request.scope, "type": "http"}
    by_params: dict[int, set[str]] = {}
    for route in _iter_included_route_candidates(request.app.routes):
        methods = getattr(route, "methods", None)
        if methods and route.matches(scope)[0] != Match.NONE:
            by_params.setdefault(len(getattr(route, "param_convertors", {})), set()).update(methods)
    # the most literal routes only: /feedback/clusters/refresh is the POST route's, not a {cluster_id} for GET
    found = by_params[min(by_params)] if by_params else set()
    if "GET" in found:
        found.add("HEAD")  # eduops.web.head answers it for every GET
    return sorted(found)


def _not_allowed(request: Request, allowed: list[str]) -> Response:
    """405 naming the methods this path takes, in the Allow header and in the message."""
    text = "{method} is not allowed on {path}; it takes {allowed}."
    args = {"method": request.method, "path": request.url.path, "allowed": ", ".join(allowed)}
    headers = {"Allow": ", ".join(allowed)}
    if is_page(request):
        from eduops.core.pages import language_of

        return _page(request, 405, gettext(text, language_of(request)).format(**args), headers)
    return JSONResponse({"error": text.format(**args)}, status_code=405, headers=headers)


def _path_taken_by_other_methods(request: Request, exc: RequestValidationError) -> list[str]:
    """The methods of the other routes on this exact path, when only the path failed to validate: GET on
    /feedback/clusters/refresh (a POST route) reached GET /feedback/clusters/{cluster_id} and failed there,
    but what is wrong is the method, not the id."""
    if not exc.errors() or any(tuple(e.get("loc", ()))[:1] != ("path",) for e in exc.errors()):
        return []
    own = {"GET", "HEAD"} if request.method in ("GET", "HEAD") else {request.method}  # the route that failed
    return [m for m in allowed_methods(request) if m not in own]


def is_page(request: Request) -> bool:
    from eduops.web.middleware import is_api_path

    return not is_api_path(request.url.path) and not request.url.path.startswith("/static/")


def page_message(status: int, detail: str, path: str) -> str:
    """What an error page says: the error's own message, or for the router's bare "Not Found" (English, and no
    advice) a sentence that says what to do, in the reader's language."""
    if status == 404 and detail == HTTPStatus(status).phrase:
        return msg("there is no page at {path}; check the address or start again from the overview", path=path)
    return detail


def _page(request: Request, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    if status == 401:
        from eduops.web.views import safe_next

        target = safe_next(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
        return RedirectResponse(f"/login?next={quote(target, safe='/')}", status_code=303)
    from eduops.core.pages import render

    response = render(
        request,
        "web/error.html",
        {"title": TITLES.get(status, "Error"), "message": message},
        status_code=status,
    )
    if headers:
        response.headers.update(headers)
    return response


def _challenge(request: Request) -> str:
    """xAPI clients authenticate with HTTP Basic (API key id and secret); the rest of the API with Bearer."""
    return 'Basic realm="eduops xAPI"' if request.url.path.startswith("/xapi") else 'Bearer realm="eduops"'


ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {"type": "string", "description": "what is wrong and what to do"},
        "problems": {"type": "array", "items": {"type": "string"}, "description": "422: one line per bad field"},
    },
}
ERROR_ANSWER = "an error (4xx: the request is wrong, 5xx: ours), always this shape, with a message saying what is wrong"


def document_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document with the errors every operation can answer: any 4xx (bad input, auth, not found,
    too large, rate limited) comes as ``{"error": ...}``. FastAPI documents its own 422 shape, which the
    handlers here replace, so the 422 is described as what it really is."""
    schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for item in schema.get("paths", {}).values():
        for op in item.values():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            if "422" in op["responses"]:
                op["responses"]["422"]["content"] = error
            op["responses"].setdefault("default", {"description": ERROR_ANSWER, "content": error})
    for name in ("HTTPValidationError", "ValidationError"):  # FastAPI's, unless something else still uses it
        kept = {k: v for k, v in schema["components"]["schemas"].items() if k != name}
        if f'"#/components/schemas/{name}"' not in json.dumps({**schema, "components": {"schemas": kept}}):
            schema["components"]["schemas"] = kept
    return schema


def install(app: FastAPI) -> None:
    build_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_errors(build_openapi())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.exception_handler(EduopsError)
    async def eduops_error(request: Request, exc: EduopsError) -> Response:
        if is_page(request):
            return _page(request, exc.http_status, exc.message)
        headers = {"WWW-Authenticate": _challenge(request)} if exc.http_status == 401 else None
        return JSONResponse({"error": exc.message}, status_code=exc.http_status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        other_methods = _path_taken_by_other_methods(request, exc)
        if other_methods:
            return _not_allowed(request, other_methods)
        if is_page(request):
            from eduops.core.pages import language_of

            return _page(request, 422, problems.page_message(exc.errors(), language_of(request)))
        lines = [f"{problems.where(tuple(e.get('loc', ())))}: {e.get('msg')}" for e in exc.errors()]
        return JSONResponse({"error": "invalid request: " + "; ".join(lines), "problems": lines}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 405:
            return _not_allowed(request, allowed_methods(request))
        if is_page(request) and exc.status_code in TITLES:
            message = page_message(exc.status_code, str(exc.detail), request.url.path)
            return _page(request, exc.status_code, message, dict(exc.headers or {}))
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)
    # anything else is answered by eduops.web.guard.Guard: a JSON 500 with Connection: close and a request id
