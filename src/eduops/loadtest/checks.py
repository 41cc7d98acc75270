"""The `load-test` task's check: a capacity search (or one fixed load) against the platform."""

from __future__ import annotations

from eduops.core.checks import CheckContext, CheckResult, Finding, Measurement, Status, check
from eduops.core.i18n import msg
from eduops.errors import ServiceUnavailable
from eduops.loadtest.service import live_file, loadtest_settings, plan_test, reachable, run_test


@check("loadtest.capacity", area="performance", title="Load test and capacity search")
def capacity(ctx: CheckContext) -> CheckResult:
    """Raise the load step by step until a scenario's SLO breaks; report the knee and the capacity.

    Parameters (``[tasks.load-test.params."loadtest.capacity"]`` or `eduops loadtest run`): scenario,
    mode (capacity | fixed), users, spawn_rate, duration, host, shape, arrival_rate, workers.
    """
    lt = loadtest_settings(ctx.settings)
    plan = plan_test(lt, dict(ctx.params))
    try:
        reachable(plan.host)
    except ServiceUnavailable as exc:
        return CheckResult("error", exc.message, findings=[Finding(
            "crit", "the platform under test does not answer", exc.message,
            "Start the platform (or `eduops demo`), or set [loadtest] host to where it runs.")])
    summary, files = run_test(plan, lt, ctx.artifact_path("loadtest").parent, ctx.progress,
                              live_file(ctx.settings), ctx.settings.language)
    labels = {"scenario": plan.scenario.key, "mode": plan.mode}
    overall = summary["overall"]
    measurements = [
        Measurement("loadtest_rps", overall["rps"], "1/s", labels),
        Measurement("loadtest_p95_ms", overall["p95_ms"], "ms", labels),
        Measurement("loadtest_error_rate_pct", overall["error_rate_pct"], "%", labels),
        Measurement("loadtest_users", float(plan.shape.users), "", labels),
    ]
    findings: list[Finding] = []
    knee = summary["knee"]
    if plan.mode == "capacity":
        measurements.append(Measurement("loadtest_capacity_users", float(knee["capacity_users"]), "", labels))
        measurements.append(Measurement("loadtest_capacity_rps", float(knee["capacity_rps"]), "1/s", labels))
        if knee["users"] is not None:
            text = msg("knee at {users} users ({reasons}); capacity {capacity_users} users at {capacity_rps} req/s",
                       users=knee["users"], reasons="; ".join(knee["reasons"]),
                       capacity_users=knee["capacity_users"], capacity_rps=knee["capacity_rps"])
        else:
            text = msg("no knee up to {users} users ({capacity_rps} req/s within the SLO)", users=plan.shape.users,
                       capacity_rps=knee["capacity_rps"])
        if not summary["verdict"]["passed"]:
            findings.append(Finding(
                "crit", msg("{title}: capacity below target", title=msg(plan.scenario.title)),
                msg("{text}; the target is {target_users} users.", text=text, target_users=plan.target_users),
                "Scale out the tier that saturates first (see the slowest endpoint in the report), "
                "or lower the target in [loadtest.capacity] target_users after a review."))
    else:
        text = msg("{rps:.1f} req/s, p95 {p95_ms:.0f} ms, {errors:.2f}% errors at {users} users",
                   rps=overall["rps"], p95_ms=overall["p95_ms"], errors=overall["error_rate_pct"],
                   users=plan.shape.users)
        if not summary["verdict"]["passed"]:
            findings.append(Finding(
                "crit", msg("{title}: SLO broken", title=msg(plan.scenario.title)),
                msg(
                    "{join} (SLO p95 ≤ {p95_ms:.0f} ms, errors ≤ {error_rate_pct}%).",
                    join="; ".join(summary["verdict"]["reasons"]), p95_ms=plan.slo.p95_ms,
                    error_rate_pct=plan.slo.error_rate_pct,
                ),
                "Find the knee with a capacity search (`eduops loadtest run SCENARIO --capacity`) and scale "
                "out before the peak, or relax the SLO in [loadtest.slo.<scenario>] after a review."))
    status: Status = "crit" if findings else "ok"
    evidence = {**summary, "errors": summary["errors"][:20]}
    return CheckResult(status, msg(
            "{title}: {text}",
            title=msg(plan.scenario.title), text=text,
        ), measurements, findings, evidence, files)
