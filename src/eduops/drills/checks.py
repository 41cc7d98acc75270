"""The `quarterly-drill` task's check: run the drill experiment, measure time to detect and to recover."""

from __future__ import annotations

from eduops.core.checks import CheckContext, CheckResult, Finding, Measurement, Status, check
from eduops.drills.service import drill_settings, find_experiment, run_drill, write_report


@check("drills.quarterly", area="drills", title="Quarterly emergency drill")
def quarterly(ctx: CheckContext) -> CheckResult:
    """Inject the experiment's fault, watch eduops's alert, roll back, and time detection and recovery.

    Parameter ``experiment``: a ready-made name (``eduops drill list``) or a YAML file; default from
    ``[drills] experiment``.
    """
    path = find_experiment(ctx.settings, str(ctx.params.get("experiment") or drill_settings(ctx.settings).experiment))
    workdir = ctx.artifact_path("drill").parent
    exp, report = run_drill(ctx.settings, path, workdir / "drill-work", ctx.engine, ctx.progress)
    labels = {"experiment": path.stem}
    measurements = [Measurement("drill_passed", float(report["passed"]), "", labels)]
    if report["ttd_s"] is not None:
        measurements.append(Measurement("drill_ttd_seconds", report["ttd_s"], "s", labels))
    if report["ttr_s"] is not None:
        measurements.append(Measurement("drill_ttr_seconds", report["ttr_s"], "s", labels))
    findings = []
    alert = report.get("alert") or {}
    for reason in report["reasons"]:
        if "not detected" in reason:
            findings.append(Finding("crit", f"{exp.title}: the fault went unnoticed", reason,
                                    f"Check that the alert {alert.get('name') or '(none)'} watches this service, "
                                    "that its metric is collected, and that the rule is loaded."))
        elif "did not come back" in reason:
            findings.append(Finding("crit", f"{exp.title}: no recovery", reason,
                                    "Write down the manual recovery steps that were needed and automate them."))
        elif "outside the expected" in reason:
            findings.append(Finding("warn", f"{exp.title}: detection slower than the rule promises", reason,
                                    "Look for a scheduler lagging behind its evaluation interval or a slow probe."))
        else:
            findings.append(Finding("warn", f"{exp.title}: drill incomplete", reason,
                                    "Make the steady state hold before the drill, then run it again."))
    status: Status = "crit" if any(f.severity == "crit" for f in findings) else "warn" if findings else "ok"
    if report["passed"]:
        summary = (f"{exp.title}: detected in {report['ttd_s']} s by {report['detected_by']}, "
                   f"recovered in {report['ttr_s']} s")
    else:
        summary = f"{exp.title}: " + "; ".join(report["reasons"])
    evidence = {k: v for k, v in report.items() if k != "journal"} | {"journal": report["journal"][-200:]}
    return CheckResult(status, summary, measurements, findings, evidence, write_report(workdir, report))
