"""`eduops loadtest run SCENARIO` and `eduops loadtest list`."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from eduops.config import TaskOverride
from eduops.core.console import exit_for, out, plain, print_json, progress_bar, styled_status, table, workspace
from eduops.core.runs import run_task
from eduops.core.service import get_run
from eduops.loadtest.scenarios import SCENARIOS, scaled_users, slo_for
from eduops.loadtest.service import loadtest_settings, parse_duration, plan_test, reachable

JSON = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]
loadtest_app = typer.Typer(help="Load tests with Locust: scenarios, SLOs and the capacity knee.",
                           no_args_is_help=True)


@loadtest_app.command("list")
def list_command(as_json: JSON = False) -> None:
    """The scenario library with each scenario's shape, size and SLO."""
    lt = loadtest_settings(workspace().settings)
    rows = [{"scenario": s.key, "title": s.title, "shape": s.shape, "nominal_users": s.nominal_users,
             "local_users": scaled_users(s, lt), "p95_ms": slo_for(s, lt).p95_ms,
             "error_rate_pct": slo_for(s, lt).error_rate_pct, "description": s.description}
            for s in SCENARIOS.values()]
    if as_json:
        print_json(rows)
        return
    table(["scenario", "shape", "users (nominal → here)", "SLO", "what"],
          [[r["scenario"], r["shape"], f"{r['nominal_users']} → {r['local_users']}",
            f"p95 ≤ {r['p95_ms']:.0f} ms, errors ≤ {r['error_rate_pct']}%", r["description"]] for r in rows],
          title=f"Load-test scenarios (target {lt.host})")


@loadtest_app.command("run")
def run_command(
    scenario: Annotated[str, typer.Argument(help="scenario key, see `eduops loadtest list`")],
    users: Annotated[int | None, typer.Option(min=1, help="peak users (capacity search: the highest step)")] = None,
    spawn_rate: Annotated[float | None, typer.Option(min=0.01, help="users started per second")] = None,
    duration: Annotated[str | None, typer.Option(help="test length, e.g. 90s or 5m")] = None,
    host: Annotated[str | None, typer.Option(help="base URL of the platform")] = None,
    shape: Annotated[str | None, typer.Option(help="constant, ramp, spike, step, double_wave or storm")] = None,
    capacity: Annotated[bool, typer.Option("--capacity", help="raise the load until the SLO breaks")] = False,
    arrival_rate: Annotated[float | None, typer.Option(min=0.01, help="open model: arrivals per second")] = None,
    workers: Annotated[int | None, typer.Option(min=0, max=64, help="Locust worker processes (distributed)")] = None,
    join_seconds: Annotated[float | None, typer.Option(min=0.01, help="join storm: every learner arrives within "
                                                                      "this many seconds (60)")] = None,
    heartbeat_seconds: Annotated[float | None, typer.Option(min=0.01, help="join storm: seconds between a "
                                                                           "learner's heartbeats (15)")] = None,
    as_json: JSON = False,
) -> None:
    """Run a scenario against the platform; stored as a run of the `load-test` task with its report.

    Exit 1 when the SLO (or the capacity target) is missed.
    """
    ws = workspace()
    params: dict[str, Any] = {"scenario": scenario, "mode": "capacity" if capacity else "fixed"}
    for key, value in (("users", users), ("spawn_rate", spawn_rate), ("host", host), ("shape", shape),
                       ("arrival_rate", arrival_rate), ("workers", workers), ("join_seconds", join_seconds),
                       ("heartbeat_seconds", heartbeat_seconds)):
        if value is not None:
            params[key] = value
    if duration is not None:
        params["duration"] = parse_duration(duration)
    plan = plan_test(loadtest_settings(ws.settings), params)  # bad input stops here, exit 2
    reachable(plan.host)
    base = ws.settings.tasks.get("load-test") or TaskOverride.model_validate({})
    ws.settings.tasks["load-test"] = base.model_copy(update={
        "checks": ["loadtest.capacity"], "params": {**base.params, "loadtest.capacity": params}})
    with progress_bar(f"{scenario} → {plan.host}", enabled=not as_json) as progress:
        run_id = run_task(ws.engine, ws.settings, "load-test", trigger="manual", actor="cli", progress=progress)
    run = get_run(ws.engine, run_id)
    check = run["checks"][0] if run["checks"] else {"status": run["status"], "summary": run["summary"],
                                                    "evidence": {}}
    if as_json:
        print_json({"run": run["id"], "status": run["status"], "summary": check["summary"],
                    "report": next((a["path"] for a in run["artifacts"] if a["name"].endswith(".html")), None),
                    **check.get("evidence", {})})
    else:
        out.print(f"run [bold]#{run['id']}[/] load-test: {styled_status(run['status'])} — {plain(check['summary'])}")
        overall = check.get("evidence", {}).get("overall")
        if overall:
            out.print(f"  {overall['requests']} requests, {overall['rps']} req/s, p50 {overall['p50_ms']:.0f} ms, "
                      f"p95 {overall['p95_ms']:.0f} ms, p99 {overall['p99_ms']:.0f} ms, "
                      f"{overall['error_rate_pct']:.2f}% errors")
        for a in run["artifacts"]:
            out.print(f"  report: {a['path']}")
    exit_for(run["status"])
