"""Every error leaves as a clear JSON (or page) with the right status, never a stack trace.

API paths answer JSON. Console pages send an unauthenticated browser to /login and show other
errors as a page in the viewer's language.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from eduops.core.i18n import Msg, msg, render_text
from eduops.errors import EduopsError

TITLES = {
    400: "Bad request",
    401: "Not logged in",
    403: "Not allowed",
    404: "Not found",
    405: "Wrong method",
    409: "Conflict",
    413: "Too large",
    422: "Bad request",
    429: "Too many requests",
    503: "Unavailable",
}


# pydantic's error types a console page can meet, as advice a reader can act on (its own words stay for the API)
PROBLEMS = {
    "missing": "is required",
    "int_parsing": "should be a whole number",
    "int_type": "should be a whole number",
    "float_parsing": "should be a number",
    "bool_parsing": "should be true or false",
    "greater_than": "should be more than {gt}",
    "greater_than_equal": "should be at least {ge}",
    "less_than": "should be less than {lt}",
    "less_than_equal": "should be at most {le}",
    "string_too_short": "should have at least {min_length} characters",
    "string_too_long": "should have at most {max_length} characters",
    "string_pattern_mismatch": "should match {pattern}",
    "literal_error": "should be one of {expected}",
    "enum": "should be one of {expected}",
    "date_parsing": "should be a date such as 2026-03-02",
    "date_from_datetime_parsing": "should be a date such as 2026-03-02",
    "datetime_parsing": "should be a time such as 2026-03-02T09:00:00+08:00",
    "datetime_from_date_parsing": "should be a time such as 2026-03-02T09:00:00+08:00",
}


def problem_message(error: Mapping[str, Any]) -> Msg:
    """One validation problem as a message: where, then what to send instead."""
    where = _where(tuple(error.get("loc", ())))
    advice, context = PROBLEMS.get(str(error.get("type"))), dict(error.get("ctx") or {})
    if advice is None or not set(re.findall(r"\{(\w+)\}", advice)) <= context.keys():  # unknown, or a field missing
        return msg("{where}: {problem}", where=where, problem=str(error.get("msg", "")))
    return msg("{where}: {problem}", where=where, problem=msg(advice, **context))


def _where(loc: tuple[object, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body",)]
    return ".".join(parts) or "body"


def is_page(request: Request) -> bool:
    from eduops.web.middleware import is_api_path

    return not is_api_path(request.url.path) and not request.url.path.startswith("/static/")


def page_message(status: int, detail: str, path: str) -> str:
    """What an error page says: the error's own message, or for the router's bare "Not Found" / "Method Not
    Allowed" (English, and no advice) a sentence that says what to do, in the reader's language."""
    if detail == HTTPStatus(status).phrase:
        if status == 404:
            return msg("there is no page at {path}; check the address or start again from the overview", path=path)
        if status == 405:
            return msg("{path} cannot be opened this way; use the page's own links and buttons", path=path)
    return detail


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
            from eduops.core.pages import language_of

            lang = language_of(request)
            shown = ("; " if lang == "en" else "；").join(render_text(problem_message(e), lang) for e in exc.errors())
            return _page(request, 422, msg("invalid request: {problems}", problems=shown))
        return JSONResponse({"error": message, "problems": problems}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if is_page(request) and exc.status_code in TITLES:
            message = page_message(exc.status_code, str(exc.detail), request.url.path)
            return _page(request, exc.status_code, message, dict(exc.headers or {}))
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)
    # anything else is answered by eduops.web.guard.Guard: a JSON 500 with Connection: close and a request id
