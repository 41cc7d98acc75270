"""What every /xapi request gets before routing and every /xapi answer after it (Communication 1.1–1.3):

- the Alternate Request Syntax: ``POST /xapi/<resource>?method=PUT`` with a form body whose fields
  ``Authorization``, ``X-Experience-API-Version``, ``Content-Type``, ``Content-Length``, ``If-Match``
  and ``If-None-Match`` become headers, ``content`` the body and every other field a query parameter;
- HEAD on every GET resource: answered as the GET would be, without the body;
- ``X-Experience-API-Version`` on every answer, errors included, and
  ``X-Experience-API-Consistent-Through`` on every answer of GET /xapi/statements, 4xx included.

``install(app)`` puts this outside every other middleware (even the one turning crashes into 500s),
so no answer leaves /xapi without the headers, and authentication sees the rewritten request.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from eduops.analytics.xapi import VERSION

METHODS = ("GET", "HEAD", "PUT", "POST", "DELETE")
HEADER_FIELDS = ("authorization", "x-experience-api-version", "content-type", "content-length", "if-match",
                 "if-none-match")
FORM_TYPE = "application/x-www-form-urlencoded"
MAX_FORM_BYTES = 64 * 1024 * 1024
STATEMENTS = "/xapi/statements"


class BadAlternateRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def iso_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def rewrite(method: str, query: str, headers: list[tuple[bytes, bytes]], form: bytes
            ) -> tuple[str, str, list[tuple[bytes, bytes]], bytes]:
    """An Alternate Request Syntax request as the request it stands for: (method, query, headers, body).

    ``query`` is the request's query string (only ``method=`` is allowed in it), ``form`` its body."""
    params = parse_qsl(query, keep_blank_values=True)
    if len(params) != 1 or params[0][0] != "method":
        raise BadAlternateRequest(400, "with ?method= (Alternate Request Syntax) the query string holds nothing "
                                       "else: send the other parameters as form fields")
    intended = params[0][1].upper()
    if intended not in METHODS:
        raise BadAlternateRequest(400, f"method={params[0][1]}: must be one of {', '.join(METHODS)}")
    content_type = next((v.decode("latin-1") for k, v in headers if k == b"content-type"), "")
    if content_type.split(";")[0].strip().lower() != FORM_TYPE:
        raise BadAlternateRequest(400, f"with ?method= the body must be a form ({FORM_TYPE}), "
                                       f"got {content_type or 'no Content-Type'}")
    try:
        fields = parse_qsl(form.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        raise BadAlternateRequest(400, "the form body is not valid UTF-8 form encoding") from None
    as_headers: dict[str, str] = {}
    rest: list[tuple[str, str]] = []
    content = b""
    for name, value in fields:
        lower = name.lower()
        if lower == "content":
            content = value.encode("utf-8")
        elif lower in HEADER_FIELDS:
            as_headers[lower] = value
        else:
            rest.append((name, value))
    as_headers.pop("content-length", None)  # recomputed from the content
    kept = [(k, v) for k, v in headers
            if k not in (b"content-type", b"content-length") and k.decode("latin-1") not in as_headers]
    new_headers = kept + [(k.encode("latin-1"), v.encode("latin-1", "replace")) for k, v in as_headers.items()]
    new_headers.append((b"content-length", str(len(content)).encode()))
    return intended, urlencode(rest), new_headers, content


async def _read_all(receive: Receive, limit: int) -> bytes | None:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, then: Receive) -> Receive:
    given = False

    async def receive() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await then()

    return receive


class XAPIMiddleware:
    """Alternate Request Syntax, HEAD and the xAPI answer headers for every request under /xapi."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/xapi"):
            await self.app(scope, receive, send)
            return
        consistent = iso_now()
        raw_query = scope.get("query_string", b"")
        query = raw_query.decode("latin-1")
        if scope["method"] == "POST" and b"method" in raw_query \
                and any(k == "method" for k, _ in parse_qsl(query, keep_blank_values=True)):
            try:
                scope, receive = await self._alternate(scope, receive, query)
            except BadAlternateRequest as exc:
                await self._refuse(scope, send, exc.status, exc.message, consistent)
                return
        head = scope["method"] == "HEAD"
        if head:
            scope = {**scope, "method": "GET"}
        statements_get = scope["path"].rstrip("/") == STATEMENTS and scope["method"] == "GET"
        await self.app(scope, receive, self._sender(send, head, consistent if statements_get else None))

    async def _alternate(self, scope: Scope, receive: Receive, query: str) -> tuple[Scope, Receive]:
        form = await _read_all(receive, MAX_FORM_BYTES)
        if form is None:
            raise BadAlternateRequest(413, f"the form is larger than {MAX_FORM_BYTES // 2**20} MiB")
        method, new_query, headers, content = rewrite(scope["method"], query, list(scope["headers"]), form)
        new_scope = {**scope, "method": method, "query_string": new_query.encode("latin-1"), "headers": headers}
        new_scope.pop("state", None)  # nothing cached about the caller of the form-wrapped request
        return new_scope, _replay(content, receive)

    @staticmethod
    def _sender(send: Send, head: bool, consistent: str | None) -> Callable[[Message], Any]:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0].lower() != b"x-experience-api-version"]
                headers.append((b"x-experience-api-version", VERSION.encode()))
                if consistent and not any(h[0].lower() == b"x-experience-api-consistent-through" for h in headers):
                    headers.append((b"x-experience-api-consistent-through", consistent.encode()))
                message = {**message, "headers": headers}
            elif message["type"] == "http.response.body" and head:
                if message.get("more_body", False):
                    return
                message = {**message, "body": b""}
            await send(message)

        return send_with_headers

    async def _refuse(self, scope: Scope, send: Send, status: int, error: str, consistent: str) -> None:
        body = orjson.dumps({"error": error})
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await self._sender(send, False, consistent if scope["path"].rstrip("/") == STATEMENTS else None)(
            {"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def install(app: Any) -> None:
    """Wrap the app's whole middleware stack, built on the first request, in ``XAPIMiddleware``."""
    build = app.build_middleware_stack

    def outermost() -> ASGIApp:
        return XAPIMiddleware(build())

    app.build_middleware_stack = outermost
