"""The weekly-security task runs security.scan: findings, a score per area, measurements, the trend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from eduops.alerting.models import MetricSeries
from eduops.core.checks import CheckContext, get_check
from eduops.core.runs import run_task
from eduops.core.service import get_run
from eduops.core.workspace import Workspace, create_user
from eduops.security.service import history


def minimal(ws: Workspace) -> None:
    ws.settings.model_extra["security"] = {"scan_installed_python": False, "check_patches": False}


def test_weekly_security_task_records_findings_scores_and_metrics(ws: Workspace) -> None:
    minimal(ws)
    create_user(ws.engine, "ada", "admin", "Correct-Horse-Battery-9")
    run_id = run_task(ws.engine, ws.settings, "weekly-security", trigger="manual", actor="test")
    run = get_run(ws.engine, run_id)
    (check,) = [c for c in run["checks"] if c["name"] == "security.scan"]
    assert check["status"] == "crit"
    assert any(f["title"] == "account ada (admin) has no second factor" and f["remedy"] for f in check["findings"])
    assert "score" in check["summary"]
    with ws.engine.connect() as conn:
        keys = set(conn.execute(sa.select(MetricSeries.key)).scalars())
    assert 'security_score{area="overall"}' in keys and 'security_score{area="access"}' in keys
    assert len(history(ws.engine)) == 1


def test_trend_in_the_summary(sqlite_ws: Workspace) -> None:
    minimal(sqlite_ws)
    spec = get_check("security.scan")
    assert spec is not None and spec.area == "security"
    now = datetime.now(UTC)
    first = spec.func(CheckContext(sqlite_ws.settings, sqlite_ws.engine, now - timedelta(days=7)))
    second = spec.func(CheckContext(sqlite_ws.settings, sqlite_ws.engine, now))
    assert first.status == "ok" and "on last week" not in first.summary
    assert "+0 on last week" in second.summary and second.evidence["trend"]["overall"] == 0.0


def test_traffic_check_is_registered(sqlite_ws: Workspace) -> None:
    spec = get_check("security.traffic")
    assert spec is not None
    result = spec.func(CheckContext(sqlite_ws.settings, sqlite_ws.engine, datetime.now(UTC)))
    assert result.status == "ok"
    assert {m.name for m in result.measurements} >= {"security_expected_surge", "security_failed_logins_burst"}
