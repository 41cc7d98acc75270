"""content.audit: the weekly content audit (stale syllabus, licences, question-bank gaps)."""

from __future__ import annotations

from collections import Counter

from eduops.content.service import audit
from eduops.content.xapi import refresh_from_xapi
from eduops.core.checks import CheckContext, CheckResult, Finding, Measurement, check, status_from_findings

MAX_FINDINGS = 200

REMEDY = {
    "superseded_syllabus": "check it against the current syllabus, then `eduops content reviewed CODE`",
    "needs_review": "review the asset, then `eduops content reviewed CODE`",
    "no_licence": "record the licence (holder, type, scope, dates, proof) or take the material down",
    "no_proof": "attach the signed licence or the link to its terms as proof",
    "no_expiry": "record the licence's end date",
    "expired": "renew the licence or withdraw the material now",
    "expiring": "start the renewal with the holder before the end date",
    "not_started": "hide the material until the licence starts",
    "out_of_scope": "extend the licence to these uses or stop using the material there",
}


@check("content.audit", area="content", title="Content audit")
def content_audit(ctx: CheckContext) -> CheckResult:
    """Assets on a superseded syllabus, licence problems and question-bank gaps, each with its owner."""
    today = ctx.now.astimezone(ctx.settings.tz).date()
    ctx.progress("question-bank usage from learner events", 0.1)
    from_xapi = refresh_from_xapi(ctx.engine, ctx.settings)
    report = audit(ctx.engine, ctx.settings, today)
    findings: list[Finding] = []
    for row in report["licences"] + report["freshness"]:
        if row["severity"] == "info":
            continue
        findings.append(
            Finding(
                row["severity"],
                f"{row['code']} ({row['title']}): {row['problem'].replace('_', ' ')}",
                f"{row['detail']}; owner {row['owner'] or 'nobody'}"
                + (f"; course {row['course']}" if row["course"] else ""),
                REMEDY.get(row["problem"], ""),
            )
        )
    for qb in report["question_bank"]:
        if qb["thin_points"]:
            findings.append(
                Finding(
                    "warn",
                    f"question bank {qb['syllabus']}: {len(qb['thin_points'])} points have fewer than "
                    f"{report['min_items_per_point']} items",
                    ", ".join(f"{p} ({qb['items_per_point'][p]})" for p in qb["thin_points"][:30]),
                    "write items for these points",
                )
            )
    shown = findings[:MAX_FINDINGS]
    if len(findings) > MAX_FINDINGS:
        shown.append(
            Finding(
                "warn",
                f"{len(findings) - MAX_FINDINGS} more problems",
                "see the audit page",
                "open /content/audit in the console",
            )
        )
    licence_kinds = Counter(r["problem"] for r in report["licences"])
    fresh_kinds = Counter(r["problem"] for r in report["freshness"])
    measurements = [
        Measurement("content_assets", report["assets"]),
        Measurement("content_assets_stale", fresh_kinds["superseded_syllabus"] + fresh_kinds["needs_review"]),
    ] + [Measurement("content_licence_problems", n, labels={"problem": k}) for k, n in sorted(licence_kinds.items())]
    for qb in report["question_bank"]:
        measurements.append(
            Measurement("content_qbank_thin_points", len(qb["thin_points"]), labels={"syllabus": qb["syllabus"]})
        )
    summary = (
        f"{report['assets']} assets: {sum(fresh_kinds[k] for k in ('superseded_syllabus', 'needs_review'))} "
        f"need review, {len(report['licences'])} licence problems, "
        f"{sum(len(q['thin_points']) for q in report['question_bank'])} thin question-bank points"
    )
    return CheckResult(
        status_from_findings(findings),
        summary,
        measurements,
        shown,
        evidence={
            "items_rated_from_xapi": from_xapi,
            "licences": report["licences"][:500],
            "freshness": [r for r in report["freshness"] if r["severity"] != "info"][:500],
            "question_bank": report["question_bank"],
        },
    )
