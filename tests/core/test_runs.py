"""The run loop: checks run in order, a crash is an `error`, skips say why, results are stored."""

from __future__ import annotations

import pytest

from eduops.core import checks as checks_mod
from eduops.core.checks import CheckContext, CheckResult, Finding, Measurement, check
from eduops.core.runs import overall_status, run_task
from eduops.core.service import get_run, list_runs
from eduops.config import TaskOverride


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

    from eduops.core.models import MetricSample, MetricSeries

    ws.settings.tasks["daily-inspection"] = TaskOverride(checks=["testing.ok"])
    run_task(ws.engine, ws.settings, "daily-inspection")
    run_task(ws.engine, ws.settings, "daily-inspection")
    with ws.engine.connect() as conn:
        series = conn.execute(sa.select(MetricSeries.key)).scalars().all()
        samples = conn.execute(sa.select(sa.func.count()).select_from(MetricSample)).scalar()
    assert series == ['testing_value{host="a"}']
    assert samples == 2
