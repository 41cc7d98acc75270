"""The calendar's call-quality checks on real data: trend, AI tutor latency, probe, rehearsal."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from eduops.core.checks import CheckContext, get_check
from eduops.core.workspace import Workspace
from eduops.db import utcnow
from eduops.rtc.aitutor import Turn, store_turns
from eduops.rtc.checks import _probe_findings
from eduops.rtc.service import open_store
from eduops.rtc.store import insert_arrow
from eduops.rtc.synthetic import BAD_APP_VERSION, generate


def _ctx(ws: Workspace, **params: object) -> CheckContext:
    return CheckContext(settings=ws.settings, engine=ws.engine, now=utcnow(), params=dict(params))


def test_checks_are_registered_for_the_plan() -> None:
    for name in ("rtc.quality_trend", "rtc.ai_tutor_latency", "rtc.probe", "rtc.rehearsal"):
        spec = get_check(name)
        assert spec is not None and spec.area == "call_quality"


def test_quality_trend_on_an_empty_store(sqlite_ws: Workspace) -> None:
    result = get_check("rtc.quality_trend").func(_ctx(sqlite_ws))  # type: ignore[union-attr]
    assert result.status == "ok" and "no calls" in result.summary


def test_quality_trend_names_the_worst_segments(sqlite_ws: Workspace) -> None:
    data = generate(utcnow(), days=14, calls_per_day=50, seed=11, interval_s=30)
    with open_store(sqlite_ws.settings).connect() as con:
        insert_arrow(con, data.calls, data.sessions, data.samples)
    result = get_check("rtc.quality_trend").func(_ctx(sqlite_ws))  # type: ignore[union-attr]
    assert result.status in ("ok", "warn")
    names = {m.name for m in result.measurements}
    assert {"rtc_week_poor_pct", "rtc_week_mos", "rtc_week_join_success_pct"} <= names
    assert any(BAD_APP_VERSION in f.title for f in result.findings)
    assert result.evidence["worst_segments"]


def _serve(status: int) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(status)
            self.end_headers()
            self.wfile.write(b"classroom")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}/room"


@pytest.fixture
def classroom() -> Iterator[str]:
    server, url = _serve(200)
    yield url
    server.shutdown()


def test_ai_tutor_latency_flags_a_slow_model(sqlite_ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    now = utcnow()
    turns = [Turn("c", "u", i, now - timedelta(hours=i), "acme", "slow-1", 300.0, 2000.0, 2600.0, 3000.0)
             for i in range(10)]
    turns += [Turn("c", "u", i, now - timedelta(hours=i), "acme", "fast-1", 300.0, 700.0, 900.0, 1000.0)
              for i in range(10)]
    store_turns(open_store(sqlite_ws.settings), turns)
    monkeypatch.setenv("EDUOPS_RTC__TUTOR_URL", "http://127.0.0.1:9/v1/chat/completions")  # nobody listens
    result = get_check("rtc.ai_tutor_latency").func(_ctx(sqlite_ws))  # type: ignore[union-attr]
    titles = [f.title for f in result.findings]
    assert any("slow-1" in t for t in titles) and not any("fast-1" in t for t in titles)
    assert "tutor endpoint probe failed" in titles and result.status == "crit"
    by_model = {m.labels["model"]: m.value for m in result.measurements if m.labels}
    assert by_model == {"slow-1": 3000.0, "fast-1": 1000.0}


@pytest.mark.slow
def test_probe_check(sqlite_ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    # a real call between two local peers; on a machine with both cores busy ICE alone can take seconds, so the
    # connect-time threshold (judged by _probe_findings, table-tested below) is out of the way here
    monkeypatch.setenv("EDUOPS_RTC__PROBE_CONNECT_MS", "60000")
    result = get_check("rtc.probe").func(_ctx(sqlite_ws, duration_s=1.5))  # type: ignore[union-attr]
    assert result.status == "ok", result.summary
    assert {m.name for m in result.measurements} >= {"rtc_probe_connect_ms", "rtc_probe_mos", "rtc_probe_rtt_ms"}


@pytest.mark.parametrize("result, severities", [
    ({"connected": True, "connect_ms": 300.0, "mos": 4.3}, []),
    ({"connected": True, "connect_ms": 601.0, "mos": 4.3}, ["warn"]),        # slower than the 600 ms threshold
    ({"connected": True, "connect_ms": 300.0, "mos": 3.4}, ["warn"]),        # below MOS 3.5
    ({"connected": True, "connect_ms": 900.0, "mos": None}, ["warn", "warn"]),
    ({"connected": False, "error": "ICE failed", "connect_ms": None, "mos": None}, ["crit"]),
])
def test_probe_findings(result: dict[str, object], severities: list[str]) -> None:
    assert [f.severity for f in _probe_findings(result, 600.0, 3.5)] == severities


@pytest.mark.slow
def test_rehearsal_checks_probe_classroom_and_resources(sqlite_ws: Workspace, classroom: str,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    broken, broken_url = _serve(404)
    try:
        monkeypatch.setenv("EDUOPS_RTC__CLASSROOM_URL", classroom)
        monkeypatch.setenv("EDUOPS_RTC__PROBE_DURATION_S", "1.5")
        sqlite_ws.settings.model_extra["rtc"] = {"rehearsal_resources": [broken_url]}  # type: ignore[index]
        result = get_check("rtc.rehearsal").func(_ctx(sqlite_ws))  # type: ignore[union-attr]
    finally:
        broken.shutdown()
    assert result.status == "crit"
    assert [f.title for f in result.findings] == [f"{broken_url} answers HTTP 404"]
    assert "1/2 endpoints reachable" in result.summary
    assert result.evidence["probe"]["connected"]
