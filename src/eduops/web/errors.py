"""Every error leaves as a clear JSON (or page) with the right status, never a stack trace.

API paths answer JSON. Console pages send an unauthenticated browser to /login and show other
errors as a page in the viewer's language.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from eduops.errors import EduopsError

TITLES = {
    400: "Bad request",
    401: "Not logged in",
    403: "Not allowed",
    404: "Not found",
    409: "Conflict",
    413: "Too large",
    422: "Bad request",
    429: "Too many requests",
    503: "Unavailable",
}


def _where(loc: tuple[object, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body",)]
    return ".".join(parts) or "body"


def is_page(request: Request) -> bool:
    from eduops.web.middleware import is_api_path

    return not is_api_path(request.url.path) and not request.url.path.startswith("/static/")


def _page(request: Request, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    if status == 401:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
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


def install(app: FastAPI) -> None:
    @app.exception_handler(EduopsError)
    async def eduops_error(request: Request, exc: EduopsError) -> Response:
        if is_page(request):
            return _page(request, exc.http_status, exc.message)
        headers = {"WWW-Authenticate": _challenge(request)} if exc.http_status == 401 else None
        return JSONResponse({"error": exc.message}, status_code=exc.http_status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        problems = [f"{_where(tuple(e.get('loc', ())))}: {e.get('msg')}" for e in exc.errors()]
        message = "invalid request: " + "; ".join(problems)
        if is_page(request):
            return _page(request, 422, message)
        return JSONResponse({"error": message, "problems": problems}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if is_page(request) and exc.status_code in TITLES:
            return _page(request, exc.status_code, str(exc.detail), dict(exc.headers or {}))
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)
    # anything else is answered by eduops.web.guard.Guard: a JSON 500 with Connection: close and a request id
