"""Hostile bodies against a real server process: a chunked 1 GB body to every intake route is refused
with 413 once it passes the route's limit, and the server's memory does not grow with it."""

from __future__ import annotations

import json
import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.web.live_server import Live, live_server

from eduops.config import load_settings
from eduops.core.crypto import Keyring, write_keyring
from eduops.core.workspace import open_workspace
from eduops.web.apikeys import create_key

GB = 1024**3
CHUNK = b"[" + b"0," * (512 * 1024 - 1)  # 1 MiB of a JSON array that never ends, made once, sent again and again
STATE_URL = ("/xapi/activities/state?activityId=https%3A%2F%2Fexample.com%2Fa"
             "&agent=%7B%22mbox%22%3A%22mailto%3Aa%40example.com%22%7D&stateId=s")
INTAKE = [
    ("POST", "/xapi/statements", "application/json"),
    ("POST", "/api/v1/rtc/reports", "application/json"),
    ("POST", "/api/v1/feedback", "application/json"),
    ("POST", "/api/v1/feedback/import", "text/csv"),
    ("POST", "/api/v1/content/assets", "text/csv"),
    ("POST", "/api/v1/content/assets", "application/json"),
    ("POST", "/api/v1/content/syllabi", "application/json"),
    ("POST", "/api/v1/silences", "application/json"),
    ("POST", "/api/v1/surges", "application/json"),
    ("POST", "/api/v1/releases", "application/json"),
    ("POST", "/api/v1/runs/1/sign-off", "application/json"),
    ("POST", "/api/v1/feedback/1/reply", "application/json"),
    ("POST", "/api/v1/alerts/alertmanager", "application/json"),
    ("PUT", STATE_URL, "application/octet-stream"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Live, str]]:
    home = tmp_path_factory.mktemp("hostile") / "home"
    home.mkdir()
    settings = load_settings(None, home=str(home))
    write_keyring(settings.key_file, Keyring.new())
    ws = open_workspace(settings)
    scopes = ["admin", "ingest:rtc", "ingest:xapi", "ingest:feedback", "ingest:alerts", "xapi:state"]
    _, key = create_key(ws.engine, "hostile", scopes, actor="test")
    ws.engine.dispose()
    with live_server(home) as live:
        yield live, key


def _head(method: str, path: str, ctype: str, key: str, extra: str = "") -> bytes:
    return (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
            f"X-Experience-API-Version: 1.0.3\r\nContent-Type: {ctype}\r\n{extra}\r\n").encode()


def _read_response(sock: socket.socket, deadline: float) -> tuple[int, dict[str, str], bytes]:
    data = b""
    while b"\r\n\r\n" not in data or len(data) < _expected_length(data):
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        piece = sock.recv(65536)
        if not piece:
            break
        data += piece
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def _expected_length(data: bytes) -> int:
    head, sep, _ = data.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(head) + len(sep) + int(value)
    return len(data) + 1


def stream_chunked(live: Live, method: str, path: str, ctype: str, key: str,
                   total: int = GB, timeout: float = 60) -> tuple[int, dict[str, str], bytes, int]:
    """Send up to ``total`` bytes chunked, stopping as soon as the server answers; returns the answer and
    how many body bytes went out."""
    sock = socket.create_connection((live.host, live.port))
    deadline = time.monotonic() + timeout
    try:
        sock.sendall(_head(method, path, ctype, key, "Transfer-Encoding: chunked\r\n"))
        frame = f"{len(CHUNK):x}\r\n".encode() + CHUNK + b"\r\n"
        sent = 0
        pending = b""
        sock.setblocking(False)
        while time.monotonic() < deadline:
            readable, writable, _ = select.select([sock], [sock], [], 1.0)
            if readable:
                sock.setblocking(True)
                return (*_read_response(sock, deadline), sent)
            if writable and sent < total:
                if not pending:
                    pending = frame
                try:
                    n = sock.send(pending)
                except (BrokenPipeError, ConnectionResetError):
                    sock.setblocking(True)
                    return (*_read_response(sock, deadline), sent)
                pending = pending[n:]
                if not pending:
                    sent += len(CHUNK)
                    if sent >= total:
                        sock.sendall(b"0\r\n\r\n")
        raise AssertionError(f"no answer to {method} {path} within {timeout} s after {sent} bytes")
    finally:
        sock.close()


@pytest.mark.parametrize(("method", "path", "ctype"), INTAKE, ids=[f"{p[:40]}-{c}" for _, p, c in INTAKE])
def test_chunked_gigabyte_is_refused_while_reading(server: tuple[Live, str], method: str, path: str,
                                                   ctype: str) -> None:
    live, key = server
    status, headers, body, sent = stream_chunked(live, method, path, ctype, key)
    assert status == 413, body[:300]
    assert headers.get("connection") == "close"
    assert "limit" in json.loads(body)["error"]
    assert sent <= 64 * 1024 * 1024 + 16 * 1024 * 1024  # the server stopped reading near the limit, not at 1 GB


def test_memory_stays_bounded_across_every_intake_route(server: tuple[Live, str]) -> None:
    live, key = server
    for method, path, ctype in INTAKE:  # warm up: every route's modules imported, pools made
        stream_chunked(live, method, path, ctype, key, total=2 * 1024 * 1024)
    before = live.status("VmHWM")
    for method, path, ctype in INTAKE:
        status, _, _, _ = stream_chunked(live, method, path, ctype, key)
        assert status == 413
    grew = live.status("VmHWM") - before
    assert grew < 50 * 1024 * 1024, f"peak RSS grew by {grew / 2**20:.0f} MiB"


@pytest.mark.parametrize(("declared", "limit"), [(5 * GB, "64 MiB"), (40 * 1024 * 1024, "32 MiB")])
def test_a_declared_length_over_the_limit_is_refused_before_reading(server: tuple[Live, str], declared: int,
                                                                     limit: str) -> None:
    """Over the server's cap or the route's own limit: answered from the headers, no body sent at all."""
    live, key = server
    sock = socket.create_connection((live.host, live.port))
    try:
        sock.sendall(_head("POST", "/api/v1/rtc/reports", "application/json", key,
                           f"Content-Length: {declared}\r\n"))
        status, headers, body = _read_response(sock, time.monotonic() + 20)
    finally:
        sock.close()
    assert status == 413
    assert headers.get("connection") == "close"
    assert limit in json.loads(body)["error"]


def test_a_route_that_reads_no_body_answers_and_closes_the_connection(server: tuple[Live, str]) -> None:
    """The unread rest of a 1 GB body is never read, only dropped with the connection."""
    live, key = server
    status, headers, _, sent = stream_chunked(live, "POST", "/api/v1/feedback/1/close", "application/json", key)
    assert status == 404
    assert headers.get("connection") == "close"
    assert sent < 64 * 1024 * 1024


def test_server_log_has_no_traceback(server: tuple[Live, str]) -> None:
    live, _ = server
    assert "Traceback" not in Path(live.log).read_text()
