"""The `quarterly-drill` task's check: run the drill experiment, measure time to detect and to recover."""

from __future__ import annotations

from eduops.core.checks import CheckContext, CheckResult, Finding, Measurement, Status, check
from eduops.core.i18n import Msg, msg
from eduops.drills.service import drill_settings, find_experiment, run_drill, write_report


def detector(detected_by: str) -> Msg:
    """What noticed the fault (``alert DatabaseDown``, ``steady-state probe``), as the reader calls it."""
    if detected_by.startswith("alert "):
        return msg("alert {name}", name=detected_by.removeprefix("alert "))
    return msg(detected_by)


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
            findings.append(Finding("crit", msg("{title}: the fault went unnoticed", title=msg(exp.title)), reason,
                                    msg(
                                        "Check that the alert {value} watches this service, that its "
                                        "metric is collected, and that the rule is loaded.",
                                        value=alert.get('name') or '(none)',
                                    )))
        elif "did not come back" in reason:
            findings.append(Finding("crit", msg("{title}: no recovery", title=msg(exp.title)), reason,
                                    "Write down the manual recovery steps that were needed and automate them."))
        elif "outside the expected" in reason:
            findings.append(Finding("warn", msg(
                    "{title}: detection slower than the rule promises",
                    title=msg(exp.title),
                ), reason,
                                    "Look for a scheduler lagging behind its evaluation interval or a slow probe."))
        else:
            findings.append(Finding("warn", msg("{title}: drill incomplete", title=msg(exp.title)), reason,
                                    "Make the steady state hold before the drill, then run it again."))
    status: Status = "crit" if any(f.severity == "crit" for f in findings) else "warn" if findings else "ok"
    if report["passed"]:
        summary = (msg(
                "{title}: detected in {ttd_s} s by {detected_by}, recovered in {ttr_s} s",
                title=msg(exp.title), ttd_s=report['ttd_s'], detected_by=detector(report['detected_by']),
                ttr_s=report['ttr_s'],
            ))
    else:
        reasons = report["reasons"]
        joined = msg("; ".join(f"{{r{i}}}" for i in range(len(reasons))), **{f"r{i}": r for i, r in enumerate(reasons)})
        summary = msg("{title}: {join}", title=msg(exp.title), join=joined)
    evidence = {k: v for k, v in report.items() if k != "journal"} | {"journal": report["journal"][-200:]}
    return CheckResult(status, summary, measurements, findings, evidence, write_report(workdir, report))
