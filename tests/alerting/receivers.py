"""Local stand-ins for DingTalk, Feishu, WeCom and webhook receivers that check what the real ones check."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit


@dataclass
class Received:
    kind: str
    path: str
    query: dict[str, str]
    body: dict[str, Any]
    verdict: str  # "ok" or why it was refused
    at: float = field(default_factory=time.time)


def dingtalk_verdict(query: dict[str, str], secret: str, now_ms: float) -> str:
    """DingTalk: sign = urlencode(base64(HMAC-SHA256(key=secret, msg="timestamp\\nsecret"))), ms within an hour."""
    ts, sign = query.get("timestamp", ""), query.get("sign", "")
    if not ts.isdigit() or abs(now_ms - int(ts)) > 3600_000:
        return "timestamp missing or more than an hour off"
    digest = hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest()
    return "ok" if sign == quote(base64.b64encode(digest).decode(), safe="") else "bad sign"


def feishu_verdict(body: dict[str, Any], secret: str, now_s: float) -> str:
    """Feishu: sign = base64(HMAC-SHA256(key="timestamp\\nsecret", msg=b"")), timestamp in seconds."""
    ts, sign = str(body.get("timestamp", "")), body.get("sign", "")
    if not ts.isdigit() or abs(now_s - int(ts)) > 3600:
        return "timestamp missing or more than an hour off"
    digest = hmac.new(f"{ts}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return "ok" if sign == base64.b64encode(digest).decode() else "bad sign"


def wecom_verdict(body: dict[str, Any]) -> str:
    kind = body.get("msgtype")
    if kind not in ("text", "markdown") or not isinstance(body.get(kind), dict) or not body[kind].get("content"):
        return "payload is not {msgtype, <msgtype>: {content}}"
    return "ok"


class Receiver:
    def __init__(self, dingtalk_secret: str = "", feishu_secret: str = "") -> None:
        self.dingtalk_secret, self.feishu_secret = dingtalk_secret, feishu_secret
        self.received: list[Received] = []
        self.fail_paths: set[str] = set()
        self.hang_paths: set[str] = set()
        self.release = threading.Event()
        self.port = 0

    def handle(self, path: str, query: dict[str, str], body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if any(path.startswith(p) for p in self.hang_paths):
            self.release.wait(10)
        if path.startswith("/robot/send"):
            verdict, kind = dingtalk_verdict(query, self.dingtalk_secret, time.time() * 1000), "dingtalk"
        elif path.startswith("/open-apis/bot/v2/hook/"):
            verdict, kind = feishu_verdict(body, self.feishu_secret, time.time()), "feishu"
        elif path.startswith("/cgi-bin/webhook/send"):
            verdict, kind = wecom_verdict(body), "wecom"
        else:
            verdict, kind = "ok", "webhook"
        if any(path.startswith(p) for p in self.fail_paths):
            verdict = "told to fail"
        self.received.append(Received(kind, path, query, body, verdict))
        if verdict != "ok":
            return (
                (200, {"errcode": 310000, "errmsg": verdict, "code": 19021, "msg": verdict})
                if kind != "webhook"
                else (500, {"error": verdict})
            )
        return 200, {"errcode": 0, "errmsg": "ok", "code": 0, "msg": "success"}

    def ok(self, kind: str) -> list[Received]:
        return [r for r in self.received if r.kind == kind and r.verdict == "ok"]


@contextmanager
def http_receiver(receiver: Receiver) -> Iterator[Receiver]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = {"raw": raw.decode(errors="replace")}
            status, answer = receiver.handle(parts.path, query, body)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.release.set()
        server.shutdown()
        server.server_close()
