"""The daily inspection's checks against this machine, a local log file and a local TLS server."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import psutil
import pytest
from tests.monitoring.tlshelp import make_cert, tls_server

from eduops.core.checks import CheckContext, Measurement, get_check
from eduops.db import utcnow
from eduops.monitoring.host import HostThresholds, judge_host
from eduops.monitoring.logscan import message_shape
from eduops.monitoring.tlscert import cert_severity, parse_endpoint


def ctx_for(ws, **params) -> CheckContext:  # type: ignore[no-untyped-def]
    return CheckContext(settings=ws.settings, engine=ws.engine, now=utcnow(), params=params)


def test_checks_are_registered_under_the_plan_names() -> None:
    for name in ("host.status", "host.processes", "logs.errors", "tls.cert_expiry"):
        assert get_check(name) is not None, name


def test_host_status_measures_this_machine(sqlite_ws) -> None:
    result = get_check("host.status").func(ctx_for(sqlite_ws, sample_seconds=0.1))
    names = {m.name for m in result.measurements}
    assert {
        "cpu_used_pct",
        "load1",
        "memory_used_pct",
        "swap_used_pct",
        "disk_used_pct",
        "disk_inodes_used_pct",
        "net_rx_bytes_per_s",
        "uptime_seconds",
    } <= names
    root = next(m for m in result.measurements if m.name == "disk_used_pct" and m.labels["mount"] == "/")
    assert root.value == pytest.approx(psutil.disk_usage("/").percent, abs=1)
    assert {m.labels["interface"] for m in result.measurements if m.name == "net_rx_bytes_per_s"} >= {"lo"}
    assert result.status in ("ok", "warn", "crit")


@pytest.mark.parametrize(
    ("name", "value", "labels", "expected"),
    [
        ("cpu_used_pct", 50, {}, []),
        ("cpu_used_pct", 90, {}, ["warn"]),
        ("memory_used_pct", 95, {}, ["warn"]),
        ("disk_used_pct", 84.9, {"mount": "/"}, []),
        ("disk_used_pct", 86, {"mount": "/"}, ["warn"]),
        ("disk_used_pct", 96, {"mount": "/"}, ["crit"]),
        ("disk_inodes_used_pct", 97, {"mount": "/data"}, ["crit"]),
        ("uptime_seconds", 1e9, {}, []),
    ],
)
def test_host_thresholds(name: str, value: float, labels: dict[str, str], expected: list[str]) -> None:
    findings = judge_host([Measurement(name, value, "", labels)], HostThresholds())
    assert [f.severity for f in findings] == expected
    assert all(f.remedy for f in findings)


def test_processes_found_and_missing(sqlite_ws) -> None:
    me = psutil.Process().name()
    sqlite_ws.settings.inspection.processes = [me, "no-such-daemon-xyz"]
    result = get_check("host.processes").func(ctx_for(sqlite_ws))
    running = {m.labels["process"]: m.value for m in result.measurements if m.name == "process_running"}
    assert running == {me: 1.0, "no-such-daemon-xyz": 0.0}
    assert result.status == "crit"
    assert [f.title for f in result.findings] == ["process no-such-daemon-xyz is not running"]


@pytest.mark.parametrize(
    ("line", "shape"),
    [
        ("2026-11-30 10:00:01,123 ERROR db timeout after 30s on 10.0.0.5", "ERROR db timeout after #s on #"),
        ("[2026-11-30T10:00:02Z] ERROR user 'alice' failed", "ERROR user # failed"),
    ],
)
def test_message_shape_groups_repeats(line: str, shape: str) -> None:
    assert message_shape(line) == shape


def test_log_scan_counts_only_new_lines(sqlite_ws, tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text(
        "2026-11-30 10:00:00 INFO started\n"
        + "".join(f"2026-11-30 10:00:{i:02d} ERROR db timeout after {i}s\n" for i in range(5))
        + "2026-11-30 10:01:00 CRITICAL disk full\nTraceback (most recent call last):\n"
    )
    ins = sqlite_ws.settings.inspection
    ins.log_files = [str(tmp_path / "*.log")]
    ins.log_crit_lines = 50
    check = get_check("logs.errors").func
    first = check(ctx_for(sqlite_ws))
    assert first.measurements[0].value == 7
    assert first.evidence["top_messages"][0]["count"] == 5
    assert "db timeout" in first.evidence["top_messages"][0]["message"]
    assert first.status == "warn"
    # nothing new: nothing counted
    assert check(ctx_for(sqlite_ws)).measurements[0].value == 0
    with log.open("a") as fh:
        fh.write("2026-11-30 11:00:00 ERROR payment gateway 502\n2026-11-30 11:00:01 INFO ok\npartial ERROR")
    third = check(ctx_for(sqlite_ws))
    assert third.measurements[0].value == 1
    assert "payment gateway" in third.evidence["top_messages"][0]["message"]
    # rotation: a new, shorter file is read from its start
    log.unlink()
    log.write_text("ERROR after rotation\n")
    fourth = check(ctx_for(sqlite_ws))
    assert fourth.measurements[0].value == 1
    assert fourth.evidence["files"][str(log)]["rotated"] is True


def test_log_scan_first_run_skips_files_untouched_since_last_run(sqlite_ws, tmp_path: Path) -> None:
    log = tmp_path / "old.log"
    log.write_text("ERROR long ago\n")
    sqlite_ws.settings.inspection.log_files = [str(log)]
    ctx = ctx_for(sqlite_ws)
    ctx.last_run_at = utcnow() + timedelta(minutes=1)
    assert get_check("logs.errors").func(ctx).measurements[0].value == 0


@pytest.mark.parametrize(("days", "expected"), [(40, "ok"), (30, "warn"), (10, "warn"), (7, "crit"), (-1, "crit")])
def test_cert_severity(days: float, expected: str) -> None:
    assert cert_severity(days, 30, 7) == expected


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        ("https://example.org", ("example.org", 443)),
        ("example.org:8443", ("example.org", 8443)),
        ("https://127.0.0.1:9/x", ("127.0.0.1", 9)),
    ],
)
def test_parse_endpoint(endpoint: str, expected: tuple[str, int]) -> None:
    assert parse_endpoint(endpoint) == expected


@pytest.mark.parametrize(("days", "status"), [(5, "crit"), (20, "warn"), (90, "ok")])
def test_cert_expiry_against_local_tls_server(sqlite_ws, tmp_path: Path, days: int, status: str) -> None:
    cert, key = make_cert(tmp_path, days)
    with tls_server(cert, key) as port:
        endpoint = f"https://localhost:{port}/"
        sqlite_ws.settings.inspection.endpoints = [endpoint]
        result = get_check("tls.cert_expiry").func(ctx_for(sqlite_ws, ca_file=str(cert)))
    assert result.measurements[0].name == "cert_days_left"
    assert result.measurements[0].value == pytest.approx(days, abs=0.1)
    assert result.evidence[endpoint]["trusted"] is True
    assert result.status == status


def test_untrusted_and_unreachable_certificates_are_findings(sqlite_ws, tmp_path: Path) -> None:
    cert, key = make_cert(tmp_path, 90)
    with tls_server(cert, key) as port:
        sqlite_ws.settings.inspection.endpoints = [f"localhost:{port}", "127.0.0.1:1"]
        result = get_check("tls.cert_expiry").func(ctx_for(sqlite_ws))
    titles = [f.title for f in result.findings]
    assert any("is not trusted" in t for t in titles)
    assert any("cannot read the certificate of 127.0.0.1:1" in t for t in titles)
    assert result.status == "crit"


def test_performance_trends_week_over_week(ws) -> None:
    from datetime import timedelta as td

    from eduops.alerting.metric_store import ingest
    from eduops.monitoring.trends import Trend, judge_trend

    now = utcnow()
    rows = []
    for i in range(50):
        rows.append(("http_total_ms", {"endpoint": "lms"}, 100.0 + i, now - td(days=8, minutes=i)))
        rows.append(("http_total_ms", {"endpoint": "lms"}, 200.0 + i, now - td(days=1, minutes=i)))
        rows.append(("http_total_ms", {"endpoint": "api"}, 50.0, now - td(days=1, minutes=i)))
    ingest(ws.engine, rows)
    ctx = CheckContext(settings=ws.settings, engine=ws.engine, now=now)
    result = get_check("monitoring.performance_trends").func(ctx)
    assert result.status == "warn"
    assert result.evidence["slowest_endpoints"][0]["endpoint"] == "lms"
    assert [f.title for f in result.findings] == ["http_total_ms p95 of lms up 68% on last week"]
    assert judge_trend(Trend("x", "y", 110, 100)) == "steady"
    assert judge_trend(Trend("x", "y", 50, 100)) == "better"


def test_shipped_platform_rules_pass_their_unit_tests() -> None:
    from eduops.alerting.rules_unittest import run_test_file

    outcomes = run_test_file(Path(__file__).parent / "platform_rules_test.yml")
    assert [(o.group, o.failures) for o in outcomes] == [
        ("host rules", []),
        ("endpoints and calendar", []),
        ("node_exporter hosts", []),
    ]
