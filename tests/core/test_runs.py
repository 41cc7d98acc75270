"""The run loop: checks run in order, a crash is an `error`, skips say why, results are stored."""

from __future__ import annotations

import pytest

from eduops.config import TaskOverride
from eduops.core import checks as checks_mod
from eduops.core.checks import CheckContext, CheckResult, Finding, Measurement, check
from eduops.core.runs import overall_status, run_task
from eduops.core.service import get_run, list_runs


@pytest.fixture
def fake_checks() -> None:
    @check("testing.ok", area="performance")
    def ok_check(ctx: CheckContext) -> CheckResult:
        """Always fine."""
        return CheckResult("ok", "all good", measurements=[Measurement("testing_value", 42.0, "ms", {"host": "a"})])

    @check("testing.finds", area="security")
    def finding_check(ctx: CheckContext) -> CheckResult:
        """Finds one problem."""
        return CheckResult("ok", "one problem", findings=[Finding("crit", "bad thing", "detail", "fix it")])

    @check("testing.crash", area="performance")
    def crash_check(ctx: CheckContext) -> CheckResult:
        """Raises."""
        raise RuntimeError("boom")

    yield
    for name in ("testing.ok", "testing.finds", "testing.crash"):
        checks_mod.REGISTRY.pop(name, None)


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([], "skipped"),
        (["skipped"], "skipped"),
        (["ok", "skipped"], "ok"),
        (["ok", "warn"], "warn"),
        (["warn", "error"], "error"),
        (["error", "crit", "ok"], "crit"),
    ],
)
def test_overall_status_ignores_skips_unless_all_skipped(statuses: list[str], expected: str) -> None:
    assert overall_status(statuses) == expected


def test_run_records_each_check_and_survives_a_crash(ws, fake_checks) -> None:
    ws.settings.tasks["daily-inspection"] = TaskOverride(
        checks=["testing.ok", "testing.crash", "testing.finds", "nothere.check"]
    )
    run_id = run_task(ws.engine, ws.settings, "daily-inspection", actor="tester")
    run = get_run(ws.engine, run_id)
    by_name = {c["name"]: c for c in run["checks"]}
    assert [c["name"] for c in run["checks"]] == ["testing.ok", "testing.crash", "testing.finds", "nothere.check"]
    assert by_name["testing.ok"]["status"] == "ok"
    assert by_name["testing.ok"]["measurements"][0]["value"] == 42.0
    assert by_name["testing.crash"]["status"] == "error"
    assert "boom" in by_name["testing.crash"]["summary"]
    assert by_name["testing.finds"]["status"] == "crit"
    assert by_name["testing.finds"]["findings"][0]["remedy"] == "fix it"
    assert by_name["nothere.check"]["status"] == "skipped"
    assert "not installed" in by_name["nothere.check"]["summary"]
    assert run["status"] == "crit"
    assert run["triggered_by"] == "tester"
    assert run["finished_at"] is not None
    assert [r["id"] for r in list_runs(ws.engine)] == [run_id]


def test_measurements_become_metric_samples(ws, fake_checks) -> None:
    import sqlalchemy as sa

    from eduops.alerting.models import MetricSample, MetricSeries

    ws.settings.tasks["daily-inspection"] = TaskOverride(checks=["testing.ok"])
    run_task(ws.engine, ws.settings, "daily-inspection")
    run_task(ws.engine, ws.settings, "daily-inspection")
    with ws.engine.connect() as conn:
        series = conn.execute(sa.select(MetricSeries.key)).scalars().all()
        samples = conn.execute(sa.select(sa.func.count()).select_from(MetricSample)).scalar()
    assert series == ['testing_value{host="a"}']
    assert samples == 2


def test_overdue_tasks_become_findings_for_their_owner(ws) -> None:
    from datetime import timedelta

    import sqlalchemy as sa

    from eduops.core.calendar import sync_tasks
    from eduops.core.models import Task
    from eduops.db import session_scope, utcnow

    sync_tasks(ws.engine, ws.settings)
    with session_scope(ws.engine) as session:  # the plan was installed ten days ago and nothing ran since
        session.execute(sa.update(Task).values(created_at=utcnow() - timedelta(days=10)))
    ws.settings.tasks["daily-inspection"] = TaskOverride(checks=["calendar.overdue"])
    run = get_run(ws.engine, run_task(ws.engine, ws.settings, "daily-inspection"))
    [result] = run["checks"]
    titles = [f["title"] for f in result["findings"]]
    assert "Daily backup (backup) is overdue" in titles
    assert not any("(daily-inspection)" in t for t in titles)  # this very run counts as its run
    assert not any("(quarterly-drill)" in t for t in titles)  # its last slot was before the plan existed
    assert not any("release-check" in t for t in titles)  # on-demand tasks are never overdue
    backup = next(f for f in result["findings"] if "(backup)" in f["title"])
    assert backup["severity"] == "crit" and "owner: ops-oncall" in backup["detail"]
    assert result["status"] == "crit"


def test_a_run_over_its_time_limit_is_an_error(ws) -> None:
    import eduops_test_plugins  # noqa: F401  (registers testing.blocking)

    block = ws.settings.home / "block"
    block.write_text("hold")
    ws.settings.tasks["backup"] = TaskOverride(
        checks=["testing.blocking"], timeout_seconds=0.5, params={"testing.blocking": {"block_file": str(block)}}
    )
    try:
        run = get_run(ws.engine, run_task(ws.engine, ws.settings, "backup"))
    finally:
        block.unlink()
    assert run["status"] == "error"
    assert "timed out after 0 s" in run["summary"] or "timed out" in run["summary"]


def test_every_task_run_is_in_the_audit_log(ws, fake_checks) -> None:
    from eduops.core.audit import list_audit, verify_chain

    ws.settings.tasks["backup"] = TaskOverride(checks=["testing.ok"])
    run_id = run_task(ws.engine, ws.settings, "backup", actor="cli:olga")
    rows = [r for r in list_audit(ws.engine) if r["action"] == "task.run"]
    assert [(r["actor"], r["target"]) for r in rows] == [("cli:olga", "task:backup")]
    assert rows[0]["after"]["run"] == run_id
    assert verify_chain(ws.engine)[1] is None


def test_params_of_a_run_reach_their_check_on_top_of_the_plan_and_stay_in_its_evidence(ws) -> None:
    @check("testing.echo", area="performance")
    def echo(ctx: CheckContext) -> CheckResult:
        """Shows the params it got."""
        return CheckResult("ok", "echo", evidence={"params": ctx.params})

    try:
        ws.settings.tasks["backup"] = TaskOverride(
            checks=["testing.echo"], params={"testing.echo": {"mode": "plan", "keep": 1}}
        )
        asked = {"testing.echo": {"mode": "asked"}}
        run = get_run(ws.engine, run_task(ws.engine, ws.settings, "backup", params=asked))
    finally:
        checks_mod.REGISTRY.pop("testing.echo", None)
    assert run["checks"][0]["evidence"]["params"] == {"mode": "asked", "keep": 1}
    assert run["evidence"]["params"] == asked


def test_a_task_left_running_by_a_dead_process_starts_again_and_that_run_is_interrupted(ws) -> None:
    import subprocess
    from datetime import timedelta

    import sqlalchemy as sa

    from eduops.core.calendar import sync_tasks
    from eduops.core.models import Run, Task
    from eduops.core.runs import HOST, claim
    from eduops.db import session_scope, utcnow

    sync_tasks(ws.engine, ws.settings)
    dead = subprocess.Popen(["true"])
    dead.wait()
    now = utcnow()
    with session_scope(ws.engine) as session:  # kill -9 mid-run: the row and the task's lock stay behind
        left = Run(task_key="backup", trigger="manual", status="running", host=HOST, pid=dead.pid,
                   started_at=now, heartbeat_at=now, evidence={})
        session.add(left)
        session.flush()
        session.execute(sa.update(Task).where(Task.key == "backup")
                        .values(lock_run_id=left.id, lock_expires_at=now + timedelta(hours=1)))
        left_id = left.id
    again = claim(ws.engine, ws.settings, "backup", "manual", "cli:olga", None)
    assert again != left_id
    assert get_run(ws.engine, left_id)["status"] == "interrupted"
    assert f"pid {dead.pid}" in get_run(ws.engine, left_id)["summary"]


def test_calendar_shows_the_run_that_started_last_even_when_imported_later(ws) -> None:
    from datetime import timedelta

    from eduops.core.calendar import calendar, sync_tasks
    from eduops.core.models import Run
    from eduops.db import session_scope, utcnow

    sync_tasks(ws.engine, ws.settings)
    now = utcnow()
    with session_scope(ws.engine) as session:
        session.add(Run(task_key="backup", trigger="scheduled", status="ok", started_at=now - timedelta(hours=2),
                        finished_at=now - timedelta(hours=1), evidence={}))
        session.flush()
        session.add(Run(task_key="backup", trigger="scheduled", status="crit", started_at=now - timedelta(days=9),
                        finished_at=now - timedelta(days=9), evidence={}))
    entry = next(e for e in calendar(ws.engine, ws.settings) if e.key == "backup")
    assert entry.last_status == "ok"
    assert entry.last_started_at is not None and now - entry.last_started_at < timedelta(hours=3)
