"""Backup checks for the calendar: freshness (daily inspection), run, verify and the restore drill."""

from __future__ import annotations

from eduops.backup import drills, service, verification
from eduops.backup.settings import load
from eduops.core.checks import CheckContext, CheckResult, Finding, Measurement, check, status_from_findings
from eduops.core.i18n import msg
from eduops.errors import EduopsError

REMEDY_CONFIG = "add [[backup.targets]] (and sources) to eduops.toml; see docs/backup.md"


def _not_configured(ctx: CheckContext) -> CheckResult | None:
    if not load(ctx.settings).targets:
        return CheckResult(
            "warn",
            "no backup targets configured",
            findings=[Finding("warn", "Backups are not configured", "no [[backup.targets]]", REMEDY_CONFIG)],
        )
    return None


def _failed(exc: EduopsError) -> CheckResult:
    return CheckResult(
        "crit",
        exc.message,
        findings=[Finding("crit", "Backup step failed", exc.message, "fix the target or source named above and rerun")],
        evidence={"error": exc.message, "exit_code": exc.exit_code},  # what `eduops backup run` exits with
    )


@check("backup.freshness", area="backups", title="Backup freshness")
def freshness(ctx: CheckContext) -> CheckResult:
    """Every source has a good backup within its cadence plus grace, copied to every target."""
    if (skip := _not_configured(ctx)) is not None:
        return skip
    try:
        rows = verification.freshness(ctx.engine, ctx.settings, ctx.now)
        lag = verification.copy_lag(ctx.engine, ctx.settings, ctx.now)
        measured = verification.measurements(ctx.engine, ctx.settings, ctx.now)
    except EduopsError as exc:
        return _failed(exc)
    findings = []
    for row in rows:
        if row["stale"]:
            age = f"{row['age_seconds'] / 3600:.1f} h old" if row["age_seconds"] is not None else "never backed up"
            findings.append(
                Finding(
                    "crit",
                    msg("Backup of {source} is stale ({age})", source=row['source'], age=age),
                    msg(
                        "cadence {cadence_hours} h; last status {last_status}: {last_error}",
                        cadence_hours=row['cadence_hours'], last_status=row['last_status'],
                        last_error=row['last_error'],
                    ),
                    msg("run `eduops backup run {source}`", source=row["source"]),
                )
            )
    for target, missing in lag.items():
        if missing:
            findings.append(
                Finding(
                    "warn",
                    msg("Target {target} is {missing} backup(s) behind the primary", target=target, missing=missing),
                    "copies failed or have not run",
                    "check `eduops backup targets`",
                )
            )
    fresh = sum(1 for r in rows if not r["stale"])
    return CheckResult(
        status_from_findings(findings),
        msg("{fresh}/{count} sources fresh", fresh=fresh, count=len(rows)),
        measurements=measured,
        findings=findings,
        evidence={"sources": rows, "copy_lag": lag},
    )


@check("backup.run", area="backups", title="Back up every source")
def run(ctx: CheckContext) -> CheckResult:
    """Back up every source (param ``source``: only that one) to the primary target and copy it to every other."""
    if (skip := _not_configured(ctx)) is not None:
        return skip
    mode = str(ctx.params.get("mode", "incremental"))
    source = ctx.params.get("source")
    try:
        results = service.run_backups(
            ctx.engine,
            ctx.settings,
            str(source) if source else None,
            mode=mode,
            run_id=ctx.run_id,
            progress=ctx.progress,
        )
        measured = verification.measurements(ctx.engine, ctx.settings)
    except EduopsError as exc:
        return _failed(exc)
    findings = []
    for r in results:
        src = {"source": r["source"]}
        measured += [
            Measurement("backup_success", 1.0 if r["status"] == "ok" else 0.0, "", src),
            Measurement("backup_duration_seconds", r["duration_s"], "s", src),
            Measurement("backup_added_bytes", float(r["added_bytes"]), "bytes", src),
        ]
        if r["status"] != "ok":
            findings.append(
                Finding(
                    "crit",
                    msg("Backup of {source} failed", source=r['source']),
                    r["error"],
                    msg("fix the cause above, then `eduops backup run {source}`", source=r["source"]),
                )
            )
        for c in r["copies"]:
            if c["status"] != "ok":
                findings.append(
                    Finding(
                        "warn",
                        msg("Copy of {source} to {target} failed", source=r['source'], target=c['target']),
                        c["error"],
                        "check the target with `eduops backup targets`",
                    )
                )
        for note in r["record"].get("retention", []):
            if not note.get("applied"):
                findings.append(
                    Finding(
                        "warn",
                        msg(
                            "Retention not applied on {target} for {source}",
                            target=note['target'], source=r['source'],
                        ),
                        note.get("reason", ""),
                        "nothing was deleted; look at the target",
                    )
                )
    ok = sum(1 for r in results if r["status"] == "ok")
    return CheckResult(
        status_from_findings(findings),
        msg("{ok}/{count} sources backed up ({mode})", ok=ok, count=len(results), mode=mode),
        measurements=measured,
        findings=findings,
        evidence={"backups": [{k: r[k] for k in ("id", "source", "status", "snapshot_id", "copies")} for r in results]},
    )


@check("backup.verify", area="backups", title="Verify backup repositories")
def verify(ctx: CheckContext) -> CheckResult:
    """restic check on every target, reading the next slice of the data (read_data: rotate, full or none)."""
    if (skip := _not_configured(ctx)) is not None:
        return skip
    try:
        results = verification.verify(
            ctx.engine, ctx.settings, read_data=str(ctx.params.get("read_data", "rotate")), run_id=ctx.run_id
        )
    except EduopsError as exc:
        return _failed(exc)
    findings = [
        Finding(
            "crit",
            msg("Verification of {target} failed", target=r['target']),
            r["output"],
            "run `eduops backup verify` and read restic's report; restore from another target if needed",
        )
        for r in results
        if r["status"] != "ok"
    ]
    measured = [
        Measurement("backup_verify_failed", 0.0 if r["status"] == "ok" else 1.0, "", {"target": r["target"]})
        for r in results
    ]
    read = ", ".join(f"{r['target']} {r['subset']}" for r in results)
    return CheckResult(
        status_from_findings(findings),
        msg("verified {read}", read=read),
        measurements=measured,
        findings=findings,
        evidence={"verifications": results},
    )


@check("backup.restore_drill", area="backups", title="Restore drill")
def restore_drill(ctx: CheckContext) -> CheckResult:
    """Restore the latest backup of every source into a scratch place and prove it is the data."""
    if (skip := _not_configured(ctx)) is not None:
        return skip
    try:
        results = drills.drill(
            ctx.engine, ctx.settings, target=ctx.params.get("target"), run_id=ctx.run_id, progress=ctx.progress
        )
    except EduopsError as exc:
        return _failed(exc)
    findings, measured = [], []
    for d in results:
        src = {"source": d["source"]}
        measured.append(Measurement("backup_drill_failed", 0.0 if d["status"] == "ok" else 1.0, "", src))
        if d["rto_seconds"] is not None:
            measured.append(Measurement("backup_drill_rto_seconds", d["rto_seconds"], "s", src))
        if d["rpo_seconds"] is not None:
            measured.append(Measurement("backup_drill_rpo_seconds", d["rpo_seconds"], "s", src))
        if d["status"] != "ok":
            findings.append(
                Finding(
                    "crit",
                    msg("Restore drill of {source} failed", source=d['source']),
                    d["error"],
                    "the backup cannot be trusted: find the cause before the next backup",
                )
            )
    ok = sum(1 for d in results if d["status"] == "ok")
    return CheckResult(
        status_from_findings(findings),
        msg("{ok}/{count} sources restored and proven", ok=ok, count=len(results)),
        measurements=measured,
        findings=findings,
        evidence={"drills": [{k: v for k, v in d.items() if k != "evidence"} for d in results]},
    )
