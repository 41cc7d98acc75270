"""Calendar check for learning: the weekly summary of who is active, who completes and who is at risk."""

from __future__ import annotations

from datetime import timedelta

from eduops.analytics import metrics
from eduops.analytics.sql import Filters
from eduops.analytics.store import open_store
from eduops.core.checks import CheckContext, CheckResult, Finding, Measurement, check, status_from_findings
from eduops.errors import EduopsError

LOW_COMPLETION_PCT = 40.0
MIN_ENROLLED = 20
AT_RISK_SHARE_PCT = 30.0
WAU_DROP_PCT = 20.0


@check("analytics.learning_summary", area="learning", title="Learning summary")
def learning_summary(ctx: CheckContext) -> CheckResult:
    """Active learners (DAU/WAU/MAU), completion per course and at-risk learners over the last week."""
    params = ctx.params
    try:
        store = open_store(ctx.settings)
        f = Filters(now=ctx.now)  # the run's clock ends the counted time range
        ext = metrics.extent(store, f)
    except EduopsError as exc:
        return CheckResult("error", f"event store unavailable: {exc.message}")
    if not ext.statements or ext.last is None:
        return CheckResult("ok", "no learner events yet; point your LMS at /xapi/statements",
                           evidence={"store": store.location})
    tz = ctx.settings.timezone
    last = min(metrics.local_date(ctx.now, tz), metrics.local_date(ext.last, tz))
    active = metrics.active_users(store, last - timedelta(days=13), last, f, tz=tz)
    today, week_ago = active["days"][-1], active["days"][-8]
    done = metrics.completion(store, f)
    now = ctx.now.replace(tzinfo=None)
    asof = now if now < ext.last.replace(tzinfo=None) else ext.last.replace(tzinfo=None) + timedelta(seconds=1)
    risk = metrics.at_risk(store, asof, f)
    measurements = [
        Measurement("learning_dau", today["dau"]), Measurement("learning_wau", today["wau"]),
        Measurement("learning_mau", today["mau"]),
        Measurement("learning_stickiness", today["stickiness"] or 0.0),
        Measurement("learning_completion_pct", done["completion_pct"] or 0.0, "%"),
        Measurement("learning_at_risk", len(risk["learners"])),
    ]
    findings = []
    low = float(params.get("low_completion_pct", LOW_COMPLETION_PCT))
    for course in done["courses"]:
        measurements.append(Measurement("learning_course_completion_pct", course["completion_pct"] or 0.0, "%",
                                        {"course": course["course"]}))
        if course["enrolled"] >= MIN_ENROLLED and (course["completion_pct"] or 0) < low:
            findings.append(Finding("warn", f"low completion in {course['course']}",
                                    f"{course['completion_pct']}% of {course['enrolled']} learners completed "
                                    f"({course['failed']} failed, {course['withdrawn']} withdrew)",
                                    "open the course page (/analytics/course) and look at where learners stop"))
    enrolled_now = sum(c["in_progress"] for c in done["courses"])
    if enrolled_now and 100 * len(risk["learners"]) / enrolled_now > AT_RISK_SHARE_PCT:
        findings.append(Finding("warn", f"{len(risk['learners'])} learners at risk",
                                f"{len(risk['learners'])} of {enrolled_now} learners still enrolled are failing "
                                "or have been idle for 7 days", "contact them: eduops analytics at-risk --json"))
    if week_ago["wau"] and 100 * (week_ago["wau"] - today["wau"]) / week_ago["wau"] > WAU_DROP_PCT:
        findings.append(Finding("warn", "weekly active learners dropped",
                                f"WAU fell from {week_ago['wau']} to {today['wau']} in a week",
                                "check call quality and releases of the week (eduops analytics breakdown region)"))
    summary = (f"{today['dau']} active today, {today['wau']} this week, {today['mau']} this month; "
               f"completion {done['completion_pct']}%; {len(risk['learners'])} at risk")
    return CheckResult(status_from_findings(findings), summary, measurements, findings,
                       evidence={"as_of": last.isoformat(), "store": store.location,
                                 "excluded_out_of_range": done["excluded"]["out_of_range"],
                                 "courses": [{k: c[k] for k in ("course", "enrolled", "completion_pct")}
                                             for c in done["courses"]]})
