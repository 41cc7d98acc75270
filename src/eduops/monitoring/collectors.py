"""Collectors: each measures one thing and returns measurements (units in the names).

HTTP(S) with the latency split into DNS, connect, TLS and first byte; TCP reachability; database
connect and query time; error-log lines per minute; Prometheus exporters scraped with
prometheus-client's text parser.
"""

from __future__ import annotations

import json
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509

from eduops.core.checks import Measurement

Timer = time.perf_counter


@dataclass
class HttpResult:
    status: int
    body: bytes
    phases_ms: dict[str, float]
    cert_days_left: float | None
    error: str = ""


def http_probe(url: str, timeout: float = 10.0, method: str = "GET", ca_file: str | None = None) -> HttpResult:
    """One request with its time split into dns, connect, tls, first_byte and total (ms)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is not an http(s) URL")
    host, https = parts.hostname, parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    phases: dict[str, float] = {}
    t0 = Timer()
    info = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    t1 = Timer()
    phases["dns"] = (t1 - t0) * 1000
    family, _, _, _, address = info[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    days_left = None
    try:
        sock.connect(address)
        t2 = Timer()
        phases["connect"] = (t2 - t1) * 1000
        stream: socket.socket = sock
        if https:
            ctx = ssl.create_default_context(cafile=ca_file)
            stream = ctx.wrap_socket(sock, server_hostname=host)
            t3 = Timer()
            phases["tls"] = (t3 - t2) * 1000
            der = stream.getpeercert(binary_form=True)
            if der:
                cert = x509.load_der_x509_certificate(der)
                days_left = (cert.not_valid_after_utc.timestamp() - time.time()) / 86400
            t2 = t3
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        request = (
            f"{method} {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nUser-Agent: eduops-probe\r\n"
            "Accept: */*\r\nConnection: close\r\n\r\n"
        )
        stream.sendall(request.encode())
        first = stream.recv(65536)
        t4 = Timer()
        phases["first_byte"] = (t4 - t2) * 1000
        chunks = [first]
        while chunk := stream.recv(65536):
            chunks.append(chunk)
            if sum(len(c) for c in chunks) > 8 * 1024 * 1024:
                break
        phases["total"] = (Timer() - t0) * 1000
    finally:
        sock.close()
    raw = b"".join(chunks)
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].decode(errors="replace")
    try:
        status = int(status_line.split()[1])
    except (IndexError, ValueError):
        return HttpResult(0, b"", phases, days_left, f"not an HTTP answer: {status_line[:80]!r}")
    if b"transfer-encoding: chunked" in head.lower():
        body = dechunk(body)
    return HttpResult(status, body, phases, days_left)


def dechunk(data: bytes) -> bytes:
    out, rest = [], data
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        try:
            size = int(size_line.split(b";")[0], 16)
        except ValueError:
            break
        if size == 0:
            break
        out.append(rest[:size])
        rest = rest[size + 2 :]
    return b"".join(out)


def json_path(data: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        elif isinstance(data, dict) and part in data:
            data = data[part]
        else:
            return None
    return data


def judge_http(result: HttpResult, expect_status: list[int], keyword: str, expect_json: dict[str, Any]) -> str:
    """Why a probe result is a failure, or "" when it is up (pure: table-tested)."""
    if result.error:
        return result.error
    if result.status not in expect_status:
        return f"status {result.status}, expected {', '.join(map(str, expect_status))}"
    text = result.body.decode(errors="replace")
    if keyword and keyword not in text:
        return f"keyword {keyword!r} not in the answer"
    if expect_json:
        try:
            data = json.loads(text)
        except ValueError:
            return "the answer is not JSON"
        for path, want in expect_json.items():
            got = json_path(data, path)
            if got != want:
                return f"{path} is {got!r}, expected {want!r}"
    return ""


def collect_http(c: Any) -> tuple[list[Measurement], str]:
    labels = {"endpoint": c.name}
    try:
        result = http_probe(c.url, c.timeout, c.method, c.ca_file)
        why = judge_http(result, c.expect_status, c.expect_keyword, c.expect_json)
    except (OSError, ValueError) as exc:
        return [Measurement("endpoint_up", 0.0, "", {**labels, "kind": "http"})], f"{type(exc).__name__}: {exc}"
    out = [
        Measurement("endpoint_up", 0.0 if why else 1.0, "", {**labels, "kind": "http"}),
        Measurement("http_status_code", float(result.status), "", dict(labels)),
    ]
    out += [Measurement(f"http_{phase}_ms", round(ms, 3), "ms", dict(labels)) for phase, ms in result.phases_ms.items()]
    if result.cert_days_left is not None:
        out.append(Measurement("cert_days_left", round(result.cert_days_left, 3), "days", dict(labels)))
    return out, why


def collect_tcp(c: Any) -> tuple[list[Measurement], str]:
    labels = {"endpoint": c.name, "kind": "tcp"}
    t0 = Timer()
    try:
        with socket.create_connection((c.host, c.port), timeout=c.timeout):
            ms = (Timer() - t0) * 1000
    except OSError as exc:
        return [Measurement("endpoint_up", 0.0, "", labels)], f"{c.host}:{c.port}: {exc}"
    return [
        Measurement("endpoint_up", 1.0, "", labels),
        Measurement("tcp_connect_ms", round(ms, 3), "ms", {"endpoint": c.name}),
    ], ""
