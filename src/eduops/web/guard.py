"""The outermost middleware: a request id, a cap on every request body, and a clean 500.

- Every request gets an id (the caller's ``X-Request-Id`` when it is short and plain, else a new
  one), sent back as ``X-Request-Id`` and written in the log line of anything that fails.
- No body may pass ``MAX_BODY_BYTES`` (the largest any route takes): a declared Content-Length
  above it is refused before the app runs, and a chunked body is counted as it arrives, so the app
  never receives a byte past it. Routes apply their own, smaller limits with
  ``eduops.core.bodies.read_body``. A 413 closes the connection: the rest of the body is never read.
- An exception nothing else handled becomes a JSON 500 (a short page for the console) carrying the
  request id, with ``Connection: close``, logged with its traceback. The connection is closed
  cleanly after the answer, never reset, so a kept-alive client only has to reconnect.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from eduops.core.bodies import too_large
from eduops.core.i18n import gettext, pick_language
from eduops.errors import PayloadTooLarge

log = logging.getLogger("eduops.web")
MAX_BODY_BYTES = 64 * 1024 * 1024
DRAIN_BYTES = 64 * 1024
LINGER_SECONDS = 1.0
LINGER_BYTES = 32 * 1024 * 1024
_PLAIN_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}\Z")
API_PREFIXES = ("/api/", "/xapi", "/healthz", "/metrics", "/-/")  # /-/reload: Prometheus's API shape


def request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            sent = value.decode("latin-1")
            if _PLAIN_ID.match(sent):
                return sent
    return secrets.token_hex(8)


class BodyTooLargeWhileReading(PayloadTooLarge):
    """Raised by the guarded ``receive``; the app's handlers answer it like any PayloadTooLarge."""


class Guard:
    def __init__(self, app: ASGIApp, max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id(scope)
        scope.setdefault("state", {})["request_id"] = rid
        started = swapped = refused_body = closing = body_done = False
        raw_send = send

        async def lingering(message: Message) -> None:
            """Lingering close: an answer that closes the connection while the client is still sending is
            held open (its bytes all sent) while the rest of the body is read and dropped, for a bounded
            time, so closing does not reset the connection before the client has read the answer."""
            nonlocal closing
            if message["type"] == "http.response.start":
                closing = (b"connection", b"close") in [(k.lower(), v) for k, v in message.get("headers", [])]
            if message["type"] != "http.response.body" or message.get("more_body") or not closing or body_done:
                await raw_send(message)
                return
            await raw_send({**message, "more_body": True})
            await self._drain(receive)
            await raw_send({"type": "http.response.body", "body": b"", "more_body": False})

        send = lingering  # every answer below goes out through it

        async def send_tagged(message: Message) -> None:
            nonlocal started, swapped
            if swapped:  # the app's own answer to a refused body is replaced by the 413 already sent
                return
            if message["type"] == "http.response.start":
                if refused_body and message["status"] != 413:
                    # the app turned the refused read into another answer (FastAPI: 400 "error parsing the body")
                    swapped = True
                    await self._answer(scope, send_tagged_raw, 413, too_large(self.max_body_bytes).message, rid)
                    return
                started = True
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"]
                headers.append((b"x-request-id", rid.encode()))
                if message["status"] == 413 or refused_body or (has_body and not body_done):
                    headers = [(k, v) for k, v in headers if k.lower() != b"connection"]
                    headers.append((b"connection", b"close"))
                message = {**message, "headers": headers}
            await send(message)

        async def send_tagged_raw(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        declared = _header(scope, b"content-length")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            await self._answer(scope, send_tagged_raw, 413, too_large(self.max_body_bytes).message, rid)
            return
        received = 0
        # a body the app leaves unread is dropped with the connection, unless it is small enough for the
        # server to skip cheaply (a chunked one has no size to judge)
        has_body = (declared.isdigit() and int(declared) > DRAIN_BYTES) or bool(_header(scope, b"transfer-encoding"))
        body_done = not has_body

        async def counted_receive() -> Message:
            nonlocal received, refused_body, body_done
            message = await receive()
            if message["type"] == "http.request":
                body_done = not message.get("more_body", False)
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    refused_body = True
                    raise BodyTooLargeWhileReading(too_large(self.max_body_bytes).message)
            return message

        try:
            await self.app(scope, counted_receive, send_tagged)
        except Exception as exc:  # the one place an unhandled error becomes an answer
            if isinstance(exc, PayloadTooLarge) and not started:
                await self._answer(scope, send_tagged_raw, 413, exc.message, rid)
                return
            log.exception("request %s: unexpected error on %s %s", rid, scope.get("method"), scope.get("path"))
            if not started:
                await self._answer(scope, send_tagged_raw, 500, "internal error; the server log has the details", rid)

    async def _drain(self, receive: Receive) -> None:
        """Read and drop what the client still sends, at most LINGER_BYTES or LINGER_SECONDS."""
        dropped = 0
        deadline = time.monotonic() + LINGER_SECONDS
        while dropped <= LINGER_BYTES:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            try:
                message = await asyncio.wait_for(receive(), left)
            except (TimeoutError, OSError):
                return
            if message["type"] != "http.request":
                return
            dropped += len(message.get("body", b""))
            if not message.get("more_body", False):
                return

    async def _answer(self, scope: Scope, send: Send, status: int, error: str, rid: str) -> None:
        path = scope.get("path", "")
        if path.startswith(API_PREFIXES) or status == 413:
            body = json.dumps({"error": error, "request_id": rid}).encode()
            media = b"application/json"
        else:
            lang = pick_language(_header(scope, b"accept-language") or None, None)
            text = gettext("Something went wrong on our side; the error is logged under request id {id}.", lang)
            body = f"<!doctype html><meta charset=utf-8><p>{text.format(id=rid)}</p>".encode()
            media = b"text/html; charset=utf-8"
        headers = [
            (b"content-type", media),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
            (b"cache-control", b"no-store"),
            (b"x-request-id", rid.encode()),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return ""
