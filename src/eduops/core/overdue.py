"""The `calendar.overdue` check: tasks whose run has not happened within cadence plus grace."""

from __future__ import annotations

from eduops.core.calendar import calendar
from eduops.core.checks import CheckContext, CheckResult, Finding, Measurement, Status, check
from eduops.core.clock import format_time
from eduops.core.i18n import msg


@check("calendar.overdue", area="performance", title="Overdue maintenance tasks")
def overdue_tasks(ctx: CheckContext) -> CheckResult:
    """Every calendar task that should have run by now and did not is a finding for its owner."""
    entries = calendar(ctx.engine, ctx.settings, ctx.now)
    findings = []
    measurements = []
    for e in entries:
        measurements.append(Measurement("eduops_task_overdue", 1.0 if e.overdue else 0.0, "", {"task": e.key}))
        if not e.overdue:
            continue
        tz = ctx.settings.tz
        since = format_time(e.overdue_since, tz) if e.overdue_since else "?"
        last = format_time(e.last_started_at, tz) if e.last_started_at else msg("never")
        findings.append(
            Finding(
                "crit" if e.area in ("backups", "security") else "warn",
                msg("{title} ({key}) is overdue", title=msg(e.title), key=e.key),
                msg(
                    "due at {since} ({cadence}, {timezone}); last run: {last}; owner: {owner}",
                    since=since, cadence=e.cadence, timezone=e.timezone, last=last, owner=e.owner,
                ),
                msg(
                    "Run it now with `eduops run {key}` and ask {owner} why it did not run; if the "
                    "cadence changed, set [tasks.{key}] cron in eduops.toml.",
                    key=e.key, owner=e.owner,
                ),
            )
        )
    status: Status = "crit" if any(f.severity == "crit" for f in findings) else "warn" if findings else "ok"
    summary = msg(
            "{count} overdue: {join}",
            count=len(findings), join=", ".join(e.key for e in entries if e.overdue),
        ) if findings else (
        msg("all {count} tasks on schedule", count=len(entries)))
    return CheckResult(status, summary, measurements, findings, {"overdue": [e.key for e in entries if e.overdue]})
