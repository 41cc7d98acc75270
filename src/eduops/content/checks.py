"""content.audit: the weekly content audit (stale syllabus, licences, question-bank gaps)."""

from __future__ import annotations

from collections import Counter

from eduops.content.service import audit
from eduops.content.xapi import refresh_from_xapi
from eduops.core.checks import CheckContext, CheckResult, Finding, Measurement, check, status_from_findings
from eduops.core.i18n import msg

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
                msg(
                    "{code} ({title}): {replace}",
                    code=row['code'], title=row['title'], replace=row['problem'].replace('_', ' '),
                ),
                msg(
                    "{detail}; owner {value}{value2}",
                    detail=row['detail'], value=row['owner'] or 'nobody',
                    value2=f"; course {row['course']}" if row["course"] else "",
                ),
                REMEDY.get(row["problem"], ""),
            )
        )
    for qb in report["question_bank"]:
        if qb["thin_points"]:
            findings.append(
                Finding(
                    "warn",
                    msg(
                        "question bank {syllabus}: {count} points have fewer than {min_items_per_point} "
                        "items",
                        syllabus=qb['syllabus'], count=len(qb['thin_points']),
                        min_items_per_point=report['min_items_per_point'],
                    ),
                    ", ".join(f"{p} ({qb['items_per_point'][p]})" for p in qb["thin_points"][:30]),
                    "write items for these points",
                )
            )
    shown = findings[:MAX_FINDINGS]
    if len(findings) > MAX_FINDINGS:
        shown.append(
            Finding(
                "warn",
                msg("{value} more problems", value=len(findings) - MAX_FINDINGS),
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
        msg(
            "{assets} assets: {sum} need review, {count} licence problems, {sum2} thin question-bank "
            "points",
            assets=report['assets'], sum=sum(fresh_kinds[k] for k in ('superseded_syllabus', 'needs_review')),
            count=len(report['licences']), sum2=sum(len(q['thin_points']) for q in report['question_bank']),
        )
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
