"""Alerts as the console shows them: one severity scale, sorted, values with units, duplicates once,
and the detail page's graph of the rule's expression over the alert's life."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from eduops.alerting.metrics import record
from eduops.alerting.models import AlertState
from eduops.alerting.presentation import (
    alerts_headline,
    collapse,
    expression_unit,
    graphed_expression,
    normalize_severity,
    sort_alerts,
)
from eduops.core.checks import Measurement
from eduops.core.principal import Principal, current_principal
from eduops.db import session_scope, utcnow
from eduops.web.app import create_app


@pytest.mark.parametrize(
    ("given", "normal"),
    [("crit", "critical"), ("critical", "critical"), ("CRITICAL", "critical"), ("page", "critical"),
     ("warn", "warning"), ("warning", "warning"), ("info", "info"), ("", "info"), (None, "info"),
     ("whatever", "info")],
)
def test_severities_are_normalised(given: str | None, normal: str) -> None:
    assert normalize_severity(given) == normal


def _a(name: str, severity: str, since: str, state: str = "firing", **labels: str) -> dict:  # type: ignore[type-arg]
    return {"alertname": name, "state": state, "fired_at": since, "active_at": since, "fingerprint": name + since,
            "labels": {"alertname": name, "severity": severity, **labels}, "severity": normalize_severity(severity)}


def test_sorted_by_severity_then_oldest_first() -> None:
    alerts = [_a("Info", "info", "2026-01-01T00:00"), _a("NewCrit", "critical", "2026-01-03T00:00"),
              _a("Warn", "warn", "2026-01-01T00:00"), _a("OldCrit", "crit", "2026-01-02T00:00")]
    assert [a["alertname"] for a in sort_alerts(alerts)] == ["OldCrit", "NewCrit", "Warn", "Info"]


def test_the_same_alert_is_shown_once() -> None:
    alerts = [_a("CalendarTaskOverdue", "warning", "2026-01-02T00:00", task="content-audit"),
              _a("CalendarTaskOverdue", "warn", "2026-01-01T00:00", task="content-audit"),
              _a("CalendarTaskOverdue", "warning", "2026-01-01T00:00", task="backup"),
              _a("CalendarTaskOverdue", "warning", "2026-01-01T00:00", state="inactive", task="drill")]
    merged = collapse(alerts)
    assert len(merged) == 3
    audit = next(a for a in merged if a["labels"]["task"] == "content-audit")
    assert audit["duplicates"] == 2 and audit["fired_at"] == "2026-01-01T00:00"  # the earliest start kept


@pytest.mark.parametrize(
    ("expr", "graphed", "threshold", "op"),
    [
        ("predict_linear(disk_free_bytes[6h], 86400) < 0", "predict_linear(disk_free_bytes[6h], 86400)", 0.0, "<"),
        ("disk_used_pct > 85", "disk_used_pct", 85.0, ">"),
        ("endpoint_up == 0", "endpoint_up", 0.0, "=="),
        ("rate(errors_total[5m]) > 1e-2", "rate(errors_total[5m])", 0.01, ">"),
        ("absent(up)", "absent(up)", None, ""),
    ],
)
def test_graphed_expression(expr: str, graphed: str, threshold: float | None, op: str) -> None:
    assert graphed_expression(expr) == (graphed, threshold, op)


@pytest.mark.parametrize(
    ("expr", "units", "unit"),
    [
        ("predict_linear(disk_free_bytes[6h], 86400) < 0", {}, "bytes"),
        ("disk_used_pct > 85", {"disk_used_pct": "%"}, "%"),
        ("db_query_ms > 500", {}, "ms"),
        ("rate(errors_total[5m]) > 1", {}, ""),
        ("not valid promql ((", {}, ""),
    ],
)
def test_expression_unit(expr: str, units: dict[str, str], unit: str) -> None:
    assert expression_unit(expr, units) == unit


def test_headline_counts_firing_by_severity() -> None:
    h = alerts_headline([_a("A", "crit", "2026-01-02"), _a("B", "warn", "2026-01-01"),
                         _a("C", "warning", "2026-01-01", state="pending")])
    assert (h.status, h.params) == ("crit", {"critical": 1, "warning": 1, "info": 0})
    assert alerts_headline([_a("C", "warning", "2026-01-01", state="inactive")]).status == "ok"


def test_detail_page_graphs_the_expression_with_units_and_a_readable_badge(sqlite_ws) -> None:
    now = utcnow()
    labels = {"host": "db-1", "mount": "/data"}
    with session_scope(sqlite_ws.engine) as session:
        for minutes in range(360, -1, -10):  # the free space falls 20 MB every 10 minutes
            free = 5e8 - (360 - minutes) * 2e6
            record(session, [Measurement("disk_free_bytes", free, "bytes", labels)], now - timedelta(minutes=minutes))
        session.add(AlertState(fingerprint="f" * 16, rule="platform/DiskFullIn24h", alertname="DiskFullIn24h",
                               labels={"alertname": "DiskFullIn24h", "severity": "critical", **labels},
                               annotations={}, state="firing", value=-8.771e8, active_at=now - timedelta(hours=1),
                               fired_at=now - timedelta(minutes=45)))
    app = create_app(sqlite_ws)
    app.dependency_overrides[current_principal] = lambda: Principal(name="v", kind="user", role="viewer")
    client = TestClient(app)
    listing = client.get("/alerts", headers={"accept-language": "en"}).text
    assert "-836 MiB" in listing and "e+08" not in listing
    page = client.get("/alerts/" + "f" * 16, headers={"accept-language": "en"})
    assert page.status_code == 200
    assert 'class="badge state-firing"' in page.text and 'class="severity critical"' in page.text
    figure = json.loads(re.search(r'data-target="alert-expression">(.*?)</script>', page.text, re.S).group(1))
    line = figure["data"][0]
    assert line["name"] == "host=db-1,mount=/data"
    assert len(line["y"]) > 20 and line["y"][-1] < line["y"][0]  # the prediction falls over the alert's life
    assert all(t.endswith("iB") or t.endswith(" B") for t in line["text"])
    assert figure["data"][-1]["y"] == [0.0, 0.0]  # the threshold
    assert "bytes" in figure["layout"]["yaxis"]["title"]["text"]
