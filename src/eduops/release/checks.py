"""release.regression: HTTP checks and browser journeys against the platform, screenshots as evidence."""

from __future__ import annotations

from pathlib import Path

from eduops.core.checks import CheckContext, CheckResult, Finding, Measurement, check
from eduops.core.i18n import msg
from eduops.release.journeys import BrowserRun, run_http_checks
from eduops.release.service import release_settings


@check("release.regression", area="content", title="Release regression journeys")
def release_regression(ctx: CheckContext) -> CheckResult:
    """Log in, open a course, play a video, open the class page, submit a quiz; any failure is critical."""
    cfg = release_settings(ctx.settings)
    base_url = str(ctx.params.get("base_url") or cfg.base_url)
    version = str(ctx.params.get("release", ""))
    phase = str(ctx.params.get("phase", "post"))
    if not base_url:
        return CheckResult(
            "skipped", "no platform to check: set [release] base_url in eduops.toml (or EDUOPS_RELEASE__BASE_URL)"
        )
    labels = {"phase": phase} | ({"release": version} if version else {})
    ctx.progress("HTTP checks", 0.05)
    http = run_http_checks(base_url, cfg.http_checks, timeout_s=cfg.timeout_ms / 1000)
    findings = [
        Finding("crit", msg(
                "HTTP check {path} failed",
                path=h.path,
            ), h.error, "look at the deploy: this page must answer")
        for h in http
        if not h.ok
    ]
    ctx.progress("browser journeys", 0.2)
    out_dir = ctx.artifact_path(".").resolve()
    try:
        journeys = BrowserRun(cfg, base_url, out_dir, prefix=f"{phase}-").run(cfg.journeys)
    except Exception as exc:  # no browser at all: the check could not do its job
        return CheckResult(
            "error",
            msg("the browser journeys could not run: {name}: {exc}", name=type(exc).__name__, exc=exc),
            evidence={"http": [h.to_dict() for h in http], "base_url": base_url},
        )
    for j in journeys:
        if not j.ok:
            findings.append(
                Finding(
                    "crit",
                    msg("journey '{title}' failed after release {version}", title=msg(j.title), version=version)
                    if version else msg("journey '{title}' failed", title=msg(j.title)),
                    msg(
                        "step {value}/{steps_total} ({failed_step}): {error}; screenshot {screenshot}",
                        value=j.steps_done + 1, steps_total=j.steps_total, failed_step=j.failed_step, error=j.error,
                        screenshot=j.screenshot,
                    ),
                    "roll back the release or fix it now: a core journey of the platform is broken",
                )
            )
    measurements = [
        Measurement("release_journey_ok", 1.0 if j.ok else 0.0, labels={**labels, "journey": j.name}) for j in journeys
    ]
    measurements += [
        Measurement("release_journey_duration_ms", j.duration_ms, "ms", labels={**labels, "journey": j.name})
        for j in journeys
    ]
    failed = sum(1 for j in journeys if not j.ok) + sum(1 for h in http if not h.ok)
    measurements.append(Measurement("release_journeys_failed", float(failed), labels=labels))
    passed = sum(1 for j in journeys if j.ok)
    counts = {"passed": passed, "count": len(journeys), "sum": sum(h.ok for h in http), "count2": len(http)}
    summary = (
        msg("{passed}/{count} journeys and {sum}/{count2} HTTP checks passed against {base_url} ({phase}-deploy "
            "check of {version})", base_url=base_url, phase=phase, version=version, **counts)
        if version else
        msg("{passed}/{count} journeys and {sum}/{count2} HTTP checks passed against {base_url}", base_url=base_url,
            **counts)
    )
    return CheckResult(
        "crit" if failed else "ok",
        summary,
        measurements,
        findings,
        evidence={
            "base_url": base_url,
            "release": version,
            "phase": phase,
            "journeys": [j.to_dict() for j in journeys],
            "http": [h.to_dict() for h in http],
            "screenshots": [j.screenshot for j in journeys if j.screenshot],
            "failed_screenshots": [j.screenshot for j in journeys if not j.ok and j.screenshot],
        },
        artifacts=[Path(j.screenshot) for j in journeys if j.screenshot],
    )
