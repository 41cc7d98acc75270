"""Traffic anomaly signal: rates vs same hour of week, top talkers, failed-login bursts, term starts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from eduops.security import anomaly
from eduops.security.settings import SecuritySettings
from eduops.security.traffic import signal

NOW = datetime(2026, 9, 14, 10, 30, tzinfo=UTC)  # a Monday
HOUR = NOW.replace(minute=0) - timedelta(hours=1)


@pytest.mark.parametrize(("path", "route"), [
    ("/courses/42/lessons/7?x=1", "/courses/:id/lessons/:id"), ("/login", "/login"),
    ("/v/5f1e2d3c4b5a69788796a5b4", "/v/:id"), ("/", "/"),
])
def test_route_of(path: str, route: str) -> None:
    assert anomaly.route_of(path) == route


def test_parse_combined_log() -> None:
    lines = ['203.0.113.9 - alice [14/Sep/2026:09:15:02 +0000] "GET /courses/42?p=1 HTTP/1.1" 200 512 "-" "curl"',
             "garbage"]
    (r,) = anomaly.parse_access_log(lines)
    assert (r.ip, r.account, r.route, r.status) == ("203.0.113.9", "alice", "/courses/:id", 200)


def requests_at(hour: datetime, route: str, n: int, ip: str = "198.51.100.1") -> list[anomaly.RequestLine]:
    return [anomaly.RequestLine(hour + timedelta(seconds=i % 3600), ip, "", "GET", route, 200) for i in range(n)]


def history(current: int, usual: int = 100) -> list[anomaly.RequestLine]:
    reqs = []
    for k in range(1, 5):
        reqs += requests_at(HOUR - timedelta(weeks=k), "/login", usual)
        reqs += requests_at(HOUR - timedelta(weeks=k) + timedelta(hours=3), "/login", usual * 10)  # other hour
    return reqs + requests_at(HOUR, "/login", current, ip="203.0.113.66")


@pytest.mark.parametrize(("observed", "usual", "ratio", "min_requests", "expected"), [
    ({"/login": 400}, {"/login": 100.0}, 3.0, 100, [("/login", 4.0)]),
    ({"/login": 250}, {"/login": 100.0}, 3.0, 100, []),
    ({"/login": 50}, {"/login": 1.0}, 3.0, 100, []),  # too quiet to matter
    ({"/new": 500}, {}, 3.0, 100, [("/new", float("inf"))]),  # never seen before
])
def test_rate_anomalies(observed, usual, ratio, min_requests, expected) -> None:
    found = anomaly.rate_anomalies(observed, usual, ratio, min_requests)
    assert [(a.route, a.ratio) for a in found] == expected


def test_same_hour_of_week_baseline() -> None:
    counts = anomaly.hourly_counts(history(400))
    assert anomaly.baseline(counts, HOUR) == {"/login": 100.0}


def test_failed_login_bursts() -> None:
    t0 = NOW - timedelta(minutes=30)
    stuffing = [(t0 + timedelta(seconds=5 * i), f"user{i}", "203.0.113.7") for i in range(30)]
    slow = [(t0 + timedelta(minutes=3 * i), "bob", f"198.51.100.{i}") for i in range(10)]
    bursts = anomaly.failed_login_bursts(stuffing + slow, threshold=20)
    assert [(b.kind, b.who, b.failures, b.distinct) for b in bursts] == [("ip", "203.0.113.7", 30, 30)]


@pytest.mark.parametrize(("day", "expected"), [(date(2026, 9, 1), True), (date(2026, 9, 8), True),
                                               (date(2026, 9, 9), False), (date(2026, 8, 31), False)])
def test_term_start_window(day: date, expected: bool) -> None:
    assert anomaly.in_term_start(day, [date(2026, 9, 1)]) is expected


def test_signal_flags_a_surge_unless_term_just_started(sqlite_ws) -> None:
    sec = SecuritySettings()
    out = signal(sec, sqlite_ws.engine, NOW, requests=history(500), logins=[])
    surge = [f for f in out.findings if "/login" in f.title]
    assert surge and surge[0].severity == "warn" and "5.0× usual" in surge[0].title
    metric = {(m.name, tuple(sorted(m.labels.items()))): m.value for m in out.measurements}
    assert metric[("security_route_unexpected_surge_ratio", (("route", "/login"),))] == 5.0
    assert metric[("security_top_talker_requests", (("by", "ip"), ("who", "203.0.113.66")))] == 500
    term = signal(SecuritySettings(term_starts=["2026-09-10"]), sqlite_ws.engine, NOW, requests=history(500), logins=[])
    annotated = [f for f in term.findings if "/login" in f.title]
    assert annotated[0].severity == "info" and "start of term" in annotated[0].title
    metric = {(m.name, tuple(sorted(m.labels.items()))): m.value for m in term.measurements}
    assert metric[("security_route_unexpected_surge_ratio", (("route", "/login"),))] == 0.0
    assert metric[("security_expected_surge", ())] == 1.0


def test_rules_file_is_prometheus_format() -> None:
    from pathlib import Path

    import yaml

    import eduops.security

    data = yaml.safe_load((Path(eduops.security.__file__).parent / "rules" / "security.yml").read_text())
    rules = [r for g in data["groups"] for r in g["rules"]]
    assert {r["alert"] for r in rules} >= {"TrafficSurge", "CredentialStuffing", "SecurityCriticalFindings"}
    assert all(r["expr"] and r["annotations"]["remedy"] for r in rules)


def test_traffic_command_records_metrics_from_logs_and_failed_logins(sqlite_ws, tmp_path, monkeypatch) -> None:
    import json

    import sqlalchemy as sa
    from typer.testing import CliRunner

    from eduops.alerting.models import MetricSeries
    from eduops.cli import app
    from eduops.core import console

    now = datetime.now(UTC)
    log = tmp_path / "access.log"
    stamp = (now - timedelta(hours=1)).strftime("%d/%b/%Y:%H:%M:%S +0000")
    log.write_text("".join(f'203.0.113.{i % 3} - - [{stamp}] "GET /api/v1/courses/{i} HTTP/1.1" 200 10 "-" "x"\n'
                           for i in range(30)))
    sqlite_ws.settings.model_extra["security"] = {"access_logs": [str(log)]}
    if "login_attempts" in sa.inspect(sqlite_ws.engine).get_table_names():
        with sqlite_ws.engine.begin() as conn:
            for i in range(25):
                conn.execute(sa.text("INSERT INTO login_attempts (username, source_ip, at, outcome) "
                                     "VALUES (:u, '198.51.100.9', :at, 'failed')"),
                             {"u": f"student{i}", "at": now - timedelta(minutes=10, seconds=-i)})
    monkeypatch.setattr(console, "_workspace", sqlite_ws)
    result = CliRunner().invoke(app, ["security", "traffic", "--json"])
    data = json.loads(result.stdout if hasattr(result, "stdout") else result.output)
    names = {m["name"] for m in data["measurements"]}
    assert {"security_route_requests", "security_top_talker_requests"} <= names
    with sqlite_ws.engine.connect() as conn:
        keys = set(conn.execute(sa.select(MetricSeries.key)).scalars())
    assert 'security_route_requests{route="/api/v1/courses/:id"}' in keys
    if "login_attempts" in sa.inspect(sqlite_ws.engine).get_table_names():
        assert result.exit_code == 1
        assert any("25 failed logins from 198.51.100.9 on 25 accounts" in f["title"] for f in data["findings"])
