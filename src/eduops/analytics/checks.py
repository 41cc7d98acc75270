"""Calendar check for learning: the weekly summary of who is active, who completes and who is at risk."""

from __future__ import annotations

from datetime import timedelta

from eduops.analytics import metrics
from eduops.analytics.sql import Filters
from eduops.analytics.store import open_store
from eduops.core.checks import CheckContext, CheckResult, Finding, Measurement, check, status_from_findings
from eduops.core.i18n import msg
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
        return CheckResult("error", msg("event store unavailable: {message}", message=exc.message))
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
            findings.append(Finding("warn", msg("low completion in {course}", course=course['course']),
                                    msg(
                                        "{completion_pct}% of {enrolled} learners completed ({failed} "
                                        "failed, {withdrawn} withdrew)",
                                        completion_pct=course['completion_pct'], enrolled=course['enrolled'],
                                        failed=course['failed'], withdrawn=course['withdrawn'],
                                    ),
                                    "open the course page (/analytics/course) and look at where learners stop"))
    enrolled_now = sum(c["in_progress"] for c in done["courses"])
    if enrolled_now and 100 * len(risk["learners"]) / enrolled_now > AT_RISK_SHARE_PCT:
        findings.append(Finding("warn", msg("{count} learners at risk", count=len(risk['learners'])),
                                msg(
                                    "{count} of {enrolled_now} learners still enrolled are failing or "
                                    "have been idle for 7 days",
                                    count=len(risk['learners']), enrolled_now=enrolled_now,
                                ), "contact them: `eduops analytics at-risk --json`"))
    if week_ago["wau"] and 100 * (week_ago["wau"] - today["wau"]) / week_ago["wau"] > WAU_DROP_PCT:
        findings.append(Finding("warn", "weekly active learners dropped",
                                msg("WAU fell from {wau} to {wau2} in a week", wau=week_ago['wau'], wau2=today['wau']),
                                "check call quality and releases of the week (`eduops analytics breakdown region`)"))
    summary = (msg(
            "{dau} active today, {wau} this week, {mau} this month; completion {completion_pct}%; "
            "{count} at risk",
            dau=today['dau'], wau=today['wau'], mau=today['mau'], completion_pct=done['completion_pct'],
            count=len(risk['learners']),
        ))
    return CheckResult(status_from_findings(findings), summary, measurements, findings,
                       evidence={"as_of": last.isoformat(), "store": store.location,
                                 "excluded_out_of_range": done["excluded"]["out_of_range"],
                                 "courses": [{k: c[k] for k in ("course", "enrolled", "completion_pct")}
                                             for c in done["courses"]]})
