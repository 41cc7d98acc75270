"""feedback.digest: the daily digest (top clusters, new clusters, first-response SLA breaches)."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from eduops.core.checks import CheckContext, CheckResult, Finding, Measurement, check, status_from_findings
from eduops.core.clock import format_time
from eduops.core.i18n import Msg, msg
from eduops.core.models import Run
from eduops.db import session_scope
from eduops.feedback.analysis import digest


def category_word(category: str) -> Msg:
    """A category as the reader's word (``audio_video`` reads 音视频), the way the support pages show it."""
    return Msg(category.replace("_", " "))


def _last_digest_end(ctx: CheckContext) -> datetime | None:
    """When the previous digest finished: clusters it reported as new are not new again."""
    with session_scope(ctx.engine) as session:
        return session.scalar(  # type: ignore[no-any-return]
            sa.select(sa.func.max(Run.finished_at)).where(
                Run.task_key == (ctx.task_key or "feedback-digest"),
                Run.id != (ctx.run_id or -1),
                Run.status.in_(("ok", "warn", "crit")),
            )
        )


@check("feedback.digest", area="feedback", title="Feedback digest")
def feedback_digest(ctx: CheckContext) -> CheckResult:
    """Feedback since the last digest: volume, top and new clusters, complaints past their first-response SLA."""
    since = _last_digest_end(ctx) or ctx.now - timedelta(days=1)
    ctx.progress("clustering feedback", 0.1)
    d = digest(ctx.engine, ctx.settings, ctx.now, since)
    findings: list[Finding] = []
    breaches = d["sla_breaches"]
    if breaches:
        worst = breaches[0]
        findings.append(
            Finding(
                "crit" if len(breaches) >= 10 else "warn",
                msg("{count} complaints are past their first-response deadline", count=len(breaches)),
                msg(
                    "oldest: #{id} ({category}) due {first_response_due_at}: {value}",
                    id=worst['id'], category=category_word(worst['category']),
                    first_response_due_at=format_time(worst['first_response_due_at'], ctx.settings.timezone),
                    value=worst['text'][:80],
                ),
                "answer them in the support queue (/feedback/support)",
            )
        )
    for c in d["new_clusters"]:
        findings.append(
            Finding(
                "warn" if c["category"] not in ("praise", "feature_request") else "info",
                msg(
                    "new feedback cluster: {label} ({size} texts, {category})",
                    label=c['label'], size=c['size'], category=category_word(c['category']),
                ),
                " | ".join(c["examples"][:2]),
                msg(
                    "read it and make a work item if it is a bug: `eduops feedback work-item --cluster "
                    "{id}`",
                    id=c['id'],
                ),
            )
        )
    measurements = [
        Measurement("feedback_received", d["received"]),
        Measurement("feedback_complaints", d["complaints"]),
        Measurement("feedback_sla_breaches_open", len(breaches)),
        Measurement("feedback_clusters_new", len(d["new_clusters"])),
    ] + [
        Measurement("feedback_received_by_category", n, labels={"category": cat}) for cat, n in d["by_category"].items()
    ]
    top = ", ".join(f"{c['label']} ({c['this_week']})" for c in d["top"][:3]) or "none"
    summary = (
        msg(
            "{received} feedback since the last digest ({complaints} complaints); top this week: {top}; "
            "{count} new clusters; {count2} SLA breaches",
            received=d['received'], complaints=d['complaints'], top=top, count=len(d['new_clusters']),
            count2=len(breaches),
        )
    )
    status = status_from_findings(findings)
    evidence = {
        "top_clusters": [
            {k: c[k] for k in ("id", "label", "category", "size", "this_week", "trend", "top_terms", "examples")}
            for c in d["top"]
        ],
        "new_clusters": [c["id"] for c in d["new_clusters"]],
        "by_category": d["by_category"],
        "sla_breaches": [
            {k: b[k] for k in ("id", "category", "first_response_due_at", "minutes_left")} for b in breaches[:100]
        ],
    }
    return CheckResult(status, summary, measurements, findings, evidence=evidence)
