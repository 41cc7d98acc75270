"""The weekly security check: findings with severity and remedy, a score per area, the trend."""

from __future__ import annotations

from eduops.core.checks import CheckContext, CheckResult, Measurement, check
from eduops.core.i18n import msg
from eduops.security.scoring import AREA_TITLES
from eduops.security.service import run_scan


@check("security.scan", area="security", title="Security scan")
def security_scan(ctx: CheckContext) -> CheckResult:
    """Vulnerable dependencies, TLS, HTTP headers, open ports, pending patches, weak configuration, access."""
    areas = ctx.params.get("areas")
    report = run_scan(ctx.settings, ctx.engine, ctx.now, areas=list(areas) if areas else None,
                      progress=ctx.progress, trigger="scheduled" if ctx.run_id else "manual", run_id=ctx.run_id)
    measurements = [Measurement("security_score", report.score, "points", {"area": "overall"})]
    measurements += [Measurement("security_score", s, "points", {"area": a}) for a, s in report.scores().items()]
    for severity in ("crit", "warn"):
        count = float(sum(f.severity == severity for f in report.findings))
        measurements.append(Measurement("security_findings", count,
                                        "", {"severity": severity}))
    parts = [f"{AREA_TITLES[a]} {s:.0f}" for a, s in report.scores().items()]
    delta = report.trend.get("overall")
    trend = "" if delta is None else f", {delta:+.0f} on last week"
    failed = [a.area for a in report.areas.values() if a.error]
    summary = (msg(
            "score {score:.0f}/100{trend}; {count} findings{value}{value2}",
            score=report.score, trend=trend, count=len(report.findings),
            value=f" ({'; '.join(parts)})" if parts else "",
            value2=f"; could not scan {', '.join(failed)}" if failed else "",
        ))
    return CheckResult(report.status, summary, measurements, report.findings,  # type: ignore[arg-type]
                       evidence={"scan_id": report.scan_id, "scores": report.scores(), "trend": report.trend,
                                 "skipped": {n: a.skipped for n, a in report.areas.items() if a.skipped},
                                 "errors": {n: a.error for n, a in report.areas.items() if a.error}})


@check("security.traffic", area="security", title="Traffic anomalies")
def security_traffic(ctx: CheckContext) -> CheckResult:
    """Per-route request rates against the same hour of the week, top talkers, failed-login bursts."""
    from eduops.core.checks import status_from_findings
    from eduops.security.settings import security_settings
    from eduops.security.traffic import signal

    found = signal(security_settings(ctx.settings), ctx.engine, ctx.now)
    unusual = [f for f in found.findings if f.severity != "info"]
    summary = (msg(
            "{count} traffic anomalies",
            count=len(unusual),
        ) if unusual else "traffic as usual for this hour of the week")
    return CheckResult(status_from_findings(found.findings), summary, found.measurements, found.findings,
                       evidence=found.evidence)
