"""Collectors against real local services: an HTTP(S) server, TCP ports, PostgreSQL, MariaDB, Redis,
SQLite, a log file and a Prometheus exporter."""

from __future__ import annotations

import json
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from tests.conftest import MARIADB_URL, PG_ADMIN_URL, REDIS_URL, service_missing
from tests.monitoring.tlshelp import make_cert

from eduops.monitoring.collectors import HttpResult, collect_http, collect_tcp, judge_http
from eduops.monitoring.db_probe import collect_database, kind_of
from eduops.monitoring.logscan import OffsetStore, compile_patterns
from eduops.monitoring.scrape import collect_scrape, parse_exposition
from eduops.monitoring.service import Collectors, LogRate, jobs_for
from eduops.monitoring.settings import (
    DatabaseCollector,
    HttpCollector,
    MonitoringSettings,
    ScrapeCollector,
    TcpCollector,
)

REGISTRY = CollectorRegistry()
Gauge("node_filesystem_avail_bytes", "free", ["mountpoint"], registry=REGISTRY).labels("/").set(123.0)
Counter("node_cpu_seconds", "cpu", ["mode"], registry=REGISTRY).labels("idle").inc(42)


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        routes = {
            "/health": (200, "application/json", json.dumps({"status": "ok", "db": {"up": True}}).encode()),
            "/broken": (500, "text/plain", b"oops"),
            "/metrics": (200, "text/plain", generate_latest(REGISTRY)),
        }
        status, ctype, body = routes.get(self.path, (404, "text/plain", b"no"))
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def web(tls: tuple[Path, Path] | None = None) -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*tls)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def by_name(measurements) -> dict[str, float]:  # type: ignore[no-untyped-def]
    return {m.name: m.value for m in measurements}


def test_http_probe_splits_latency_and_checks_json() -> None:
    with web() as port:
        c = HttpCollector(name="api", url=f"http://127.0.0.1:{port}/health", expect_json={"db.up": True})
        measurements, why = collect_http(c)
    values = by_name(measurements)
    assert why == "" and values["endpoint_up"] == 1.0 and values["http_status_code"] == 200
    assert {"http_dns_ms", "http_connect_ms", "http_first_byte_ms", "http_total_ms"} <= set(values)
    assert values["http_total_ms"] >= values["http_first_byte_ms"]


def test_https_probe_has_tls_phase_and_cert_days(tmp_path: Path) -> None:
    cert, key = make_cert(tmp_path, 30)
    with web((cert, key)) as port:
        c = HttpCollector(name="lms", url=f"https://localhost:{port}/health", expect_keyword="ok", ca_file=str(cert))
        measurements, why = collect_http(c)
    values = by_name(measurements)
    assert why == ""
    assert values["http_tls_ms"] > 0
    assert values["cert_days_left"] == pytest.approx(30, abs=0.1)


def test_http_down_and_wrong_status() -> None:
    with web() as port:
        _, why = collect_http(HttpCollector(name="x", url=f"http://127.0.0.1:{port}/broken"))
    assert why == "status 500, expected 200"
    measurements, why = collect_http(HttpCollector(name="x", url="http://127.0.0.1:1/", timeout=2))
    assert by_name(measurements)["endpoint_up"] == 0.0 and "ConnectionRefused" in why


@pytest.mark.parametrize(
    ("status", "body", "keyword", "expect_json", "why"),
    [
        (200, b"hello", "", {}, ""),
        (503, b"", "", {}, "status 503, expected 200"),
        (200, b"hello", "welcome", {}, "keyword 'welcome' not in the answer"),
        (200, b'{"a": {"b": 1}}', "", {"a.b": 1}, ""),
        (200, b'{"a": {"b": 2}}', "", {"a.b": 1}, "a.b is 2, expected 1"),
        (200, b"<html>", "", {"a": 1}, "the answer is not JSON"),
    ],
)
def test_judge_http(status: int, body: bytes, keyword: str, expect_json: dict, why: str) -> None:
    assert judge_http(HttpResult(status, body, {}, None), [200], keyword, expect_json) == why


def test_tcp_open_and_closed() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    try:
        up, why = collect_tcp(TcpCollector(name="rtmp", host="127.0.0.1", port=port))
    finally:
        listener.close()
    assert why == "" and by_name(up)["endpoint_up"] == 1.0 and "tcp_connect_ms" in by_name(up)
    down, why = collect_tcp(TcpCollector(name="rtmp", host="127.0.0.1", port=port, timeout=2))
    assert by_name(down)["endpoint_up"] == 0.0 and why


@pytest.mark.parametrize(
    ("url", "query"),
    [
        (PG_ADMIN_URL, "SELECT count(*) FROM pg_stat_activity"),
        (MARIADB_URL, "SELECT 1"),
        (REDIS_URL, ""),
    ],
    ids=["postgresql", "mariadb", "redis"],
)
def test_database_latency_on_local_servers(url: str, query: str) -> None:
    measurements, why = collect_database(DatabaseCollector(name="main", url=url, query=query, timeout=5))
    if why:
        service_missing(url.split("://")[0], why)
    values = by_name(measurements)
    assert values["db_up"] == 1.0 and values["db_connect_ms"] > 0 and values["db_query_ms"] > 0
    assert measurements[0].labels["kind"] == kind_of(url)


def test_sqlite_latency_and_a_down_database(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "lms.db"
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.commit()
    measurements, why = collect_database(
        DatabaseCollector(name="lms", url=f"sqlite:///{path}", query="SELECT count(*) FROM t")
    )
    assert why == "" and by_name(measurements)["db_up"] == 1.0
    down, why = collect_database(DatabaseCollector(name="pg", url="postgresql://postgres@127.0.0.1:1/x", timeout=2))
    assert by_name(down)["db_up"] == 0.0 and why
    with pytest.raises(ValueError, match="not a database"):
        kind_of("mongodb://x")


def test_scrape_an_exporter() -> None:
    with web() as port:
        measurements, why = collect_scrape(ScrapeCollector(name="node1", url=f"http://127.0.0.1:{port}/metrics"))
    assert why == ""
    target = (("instance", f"127.0.0.1:{port}"), ("job", "node1"))
    values = {(m.name, tuple(sorted(m.labels.items()))): m.value for m in measurements}
    assert values[("node_filesystem_avail_bytes", (target[0], target[1], ("mountpoint", "/")))] == 123.0
    assert values[("node_cpu_seconds_total", (target[0], target[1], ("mode", "idle")))] == 42.0
    assert values[("up", target)] == 1.0


def test_parse_exposition_handles_node_exporter_text() -> None:
    text = (
        "# HELP node_load1 1m load average.\n# TYPE node_load1 gauge\nnode_load1 0.42\n"
        'node_network_receive_bytes_total{device="eth0"} 1.5e+06\n'
    )
    assert parse_exposition(text) == [
        ("node_load1", {}, 0.42, ""),
        ("node_network_receive_bytes_total", {"device": "eth0"}, 1.5e6, ""),
    ]


def test_error_log_rate(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("ERROR old\n")
    rate = LogRate(str(log), compile_patterns(["ERROR"]), OffsetStore(tmp_path / "o.json"))
    assert rate() == ([], "")  # first reading sets the offset
    rate.last = (rate.last or 0) - 120  # two minutes since the previous reading
    with log.open("a") as fh:
        fh.write("ERROR a\nINFO b\nERROR c\nERROR d\nERROR e\n")
    measurements, _ = rate()
    assert by_name(measurements)["log_error_lines"] == 4
    assert by_name(measurements)["log_error_lines_per_min"] == pytest.approx(2.0, rel=0.05)


def test_collectors_store_measurements(ws) -> None:
    import time

    import sqlalchemy as sa

    from eduops.alerting.models import MetricSeries

    ms = MonitoringSettings.model_validate(
        {"host": {"enabled": False}, "tcp": [{"name": "pg", "host": "127.0.0.1", "port": 5432, "interval": "10s"}]}
    )
    collectors = Collectors(ws.engine, jobs_for(ws.settings, ms))
    collectors.tick(time.time())
    deadline = time.monotonic() + 10
    names: list[str] = []
    while time.monotonic() < deadline:
        with ws.engine.connect() as conn:
            names = conn.execute(sa.select(MetricSeries.name)).scalars().all()
        if "endpoint_up" in names and not collectors.running:
            break
    collectors.stop()
    assert "endpoint_up" in names
    assert collectors.jobs[0].interval == 10.0


def test_only_one_process_leads(ws) -> None:
    from eduops.core.leader import Leader

    first, second = Leader(ws.engine, ws.settings.home, "monitoring"), Leader(ws.engine, ws.settings.home, "monitoring")
    other_work = Leader(ws.engine, ws.settings.home, "alerting")
    assert first.try_acquire() is True
    assert second.try_acquire() is False
    assert other_work.try_acquire() is True  # each piece of work has its own leader
    first.release()
    assert second.try_acquire() is True
    second.release()
    other_work.release()
