"""The calendar's backup tasks on both state databases: backup + verify, restore drill, freshness."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from tests.backup.conftest import configure, local_target

from eduops.alerting.models import MetricSeries
from eduops.backup import service
from eduops.backup.models import BackupRun
from eduops.config import TaskOverride
from eduops.core.runs import run_task
from eduops.core.service import get_run
from eduops.db import session_scope


def _checks(ws, run_id: int) -> dict[str, dict]:
    return {c["name"]: c for c in get_run(ws.engine, run_id)["checks"]}


def test_backup_tasks_back_up_eduops_itself_verify_and_drill(ws, tmp_path: Path) -> None:
    s = ws.settings
    configure(
        s, {"include_state": True, "verify_period_days": 4, "targets": [local_target(s, "local", tmp_path / "r1")]}
    )
    s.tasks["daily-inspection"] = TaskOverride(checks=["backup.freshness"])

    before = _checks(ws, run_task(ws.engine, s, "daily-inspection"))["backup.freshness"]
    assert before["status"] == "crit"  # never backed up
    assert any(f["title"].startswith("Backup of eduops-state is stale") for f in before["findings"])

    backup_run = run_task(ws.engine, s, "backup")
    backup = _checks(ws, backup_run)
    assert backup["backup.run"]["status"] == "ok", backup["backup.run"]["summary"]
    assert {(r["source"], r["run_id"]) for r in service.list_backups(ws.engine)} == {
        ("eduops-state", backup_run),
        ("eduops-config", backup_run),
    }
    assert backup["backup.verify"]["status"] == "ok"
    assert backup["backup.verify"]["summary"] == "verified local 1/4"
    kind = "postgresql" if s.state_url.startswith("postgresql") else "sqlite"
    with session_scope(ws.engine) as session:
        state = session.scalars(sa.select(BackupRun).where(BackupRun.source == "eduops-state")).one()
        assert (state.kind, state.status) == (kind, "ok")
        runs_table = state.record["tables"]["public.runs" if kind == "postgresql" else "runs"]
        assert runs_table["rows"] >= 1  # eduops's own tables, counted at backup time
        names = set(session.scalars(sa.select(MetricSeries.name)))
    assert {"backup_last_success_age_seconds", "backup_copy_lag", "backup_verify_failed", "backup_success"} <= names

    drill = _checks(ws, run_task(ws.engine, s, "restore-drill"))["backup.restore_drill"]
    assert drill["status"] == "ok", drill["summary"]
    assert {m["name"] for m in drill["measurements"]} >= {"backup_drill_rto_seconds", "backup_drill_rpo_seconds"}

    one = run_task(ws.engine, s, "backup", params={"backup.run": {"source": "eduops-config"}})
    assert _checks(ws, one)["backup.run"]["summary"] == "1/1 sources backed up (incremental)"
    assert [r["source"] for r in service.list_backups(ws.engine, run_id=one)] == ["eduops-config"]
    assert get_run(ws.engine, one)["evidence"]["params"] == {"backup.run": {"source": "eduops-config"}}

    after = _checks(ws, run_task(ws.engine, s, "daily-inspection"))["backup.freshness"]
    assert after["status"] == "ok" and after["summary"] == "2/2 sources fresh"
    with session_scope(ws.engine) as session:  # two days later without a backup: stale again
        for row in session.scalars(sa.select(BackupRun)):
            row.finished_at = row.finished_at - timedelta(days=2)
    assert _checks(ws, run_task(ws.engine, s, "daily-inspection"))["backup.freshness"]["status"] == "crit"


def test_checks_warn_when_backups_are_not_configured(sqlite_ws) -> None:
    configure(sqlite_ws.settings, {})
    checks = _checks(sqlite_ws, run_task(sqlite_ws.engine, sqlite_ws.settings, "backup"))
    assert {n: c["status"] for n, c in checks.items()} == {"backup.run": "warn", "backup.verify": "warn"}
    assert "docs/backup.md" in checks["backup.run"]["findings"][0]["remedy"]
