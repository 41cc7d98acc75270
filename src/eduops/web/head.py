"""HEAD on every GET route (RFC 9110 9.3.2): answered as the GET would be, headers only. FastAPI routes take
only the methods they name, so without this an uptime checker's ``HEAD /healthz`` or ``HEAD /login`` was a 405.
/xapi does the same in its own outermost middleware (eduops.analytics.xapi_http)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)
