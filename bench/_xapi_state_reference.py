"""The reference for bench/xapi_documents.py: the least a Python server can do to answer the same xAPI State
PUT/GET, served by the same uvicorn (uvloop, httptools) as `eduops serve`.

A bare ASGI app, no framework: it checks the Authorization header against one fixed value, parses the
query string and the agent JSON, hashes the document key and the content (SHA-256 key, SHA-1 ETag, as
eduops does) and runs one prepared statement through the DB-API (sqlite3) on the same table in WAL mode:
an INSERT ... ON CONFLICT DO UPDATE for PUT, a SELECT for GET. No rate limit, no request id, no
security headers, no xAPI version header.

    python bench/_xapi_state_reference.py <sqlite file> <port> <authorization header value>
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sqlite3
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import uvicorn

UPSERT = ("INSERT INTO xapi_documents (key, scope, kind, activity_id, agent, registration, doc_id, content_type, "
          "content, etag, updated) VALUES (?, ?, 'state', ?, ?, '', ?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE "
          "SET content_type = excluded.content_type, content = excluded.content, etag = excluded.etag, "
          "updated = excluded.updated")
SELECT = "SELECT content_type, content, etag FROM xapi_documents WHERE key = ?"
Send = Callable[[dict[str, Any]], Awaitable[None]]


def digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def make_app(path: str, authorization: bytes) -> Any:
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")

    async def answer(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes = b"") -> None:
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def app(scope: dict[str, Any], receive: Callable[[], Awaitable[dict[str, Any]]], send: Send) -> None:
        if scope["type"] != "http":
            return
        headers = dict(scope["headers"])
        if not hmac.compare_digest(headers.get(b"authorization", b""), authorization):
            await answer(send, 401, [(b"content-length", b"0")])
            return
        params = dict(parse_qsl(scope["query_string"].decode("latin-1")))
        account = json.loads(params["agent"])["account"]
        agent = f"account|{account['homePage']}|{account['name']}"
        activity, doc_id = params["activityId"], params["stateId"]
        key = digest("state", activity, agent, "", doc_id)
        if scope["method"] == "PUT":
            chunks = []
            while True:
                message = await receive()
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    break
            content = b"".join(chunks)
            etag = hashlib.sha1(content).hexdigest()
            content_type = headers.get(b"content-type", b"application/octet-stream").decode("latin-1")
            db.execute(UPSERT, (key, digest("state", activity, agent), activity, agent, doc_id, content_type,
                                content, etag, datetime.now(UTC).isoformat()))
            await answer(send, 204, [(b"etag", f'"{etag}"'.encode())])
            return
        row = db.execute(SELECT, (key,)).fetchone()
        if row is None:
            await answer(send, 404, [(b"content-length", b"0")])
            return
        await answer(send, 200, [(b"content-type", row[0].encode()), (b"etag", f'"{row[2]}"'.encode()),
                                 (b"content-length", str(len(row[1])).encode())], bytes(row[1]))

    return app


if __name__ == "__main__":
    app = make_app(sys.argv[1], sys.argv[3].encode("latin-1"))
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning", access_log=False)
