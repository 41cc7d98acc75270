"""Verification and health: rotating ``restic check --read-data-subset``, freshness, copy lag, targets."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from eduops.backup import restic, retention
from eduops.backup.models import BackupCopy, BackupRun, Drill, Verification
from eduops.backup.service import Plan, mark_interrupted
from eduops.config import Settings
from eduops.core.checks import Measurement
from eduops.db import session_scope, utcnow
from eduops.errors import EduopsError, UsageError

READ_DATA = ("rotate", "full", "none")


def _subset(engine: Engine, target: str, read_data: str, parts: int) -> str:
    if read_data == "full":
        return "full"
    if read_data == "none":
        return ""
    with session_scope(engine) as session:
        previous = session.scalar(
            sa.select(Verification.subset)
            .where(Verification.target == target, Verification.subset.like("%/%"))
            .order_by(Verification.id.desc())
            .limit(1)
        )
    return retention.next_slice(previous, parts)


def verify(
    engine: Engine,
    settings: Settings,
    *,
    read_data: str = "rotate",
    target: str | None = None,
    run_id: int | None = None,
) -> list[dict[str, Any]]:
    """Check every target (or one); each reads its next slice so all data is read within the period."""
    if read_data not in READ_DATA:
        raise UsageError(f"read_data {read_data!r}: use one of {', '.join(READ_DATA)}")
    plan = Plan.of(settings)
    names = [target] if target else [t.name for t in plan.targets]
    if not names:
        raise UsageError("no backup targets configured: add [[backup.targets]] to eduops.toml")
    results = []
    for name in names:
        subset = _subset(engine, name, read_data, plan.conf.verify_period_days)
        started = utcnow()
        try:
            repo = plan.repo(name)
            if subset == "full":
                ok, text = _full(repo, plan)
            else:
                ok, text = restic.check(repo, subset or None, plan.cache)
            status = "ok" if ok else "failed"
        except EduopsError as exc:
            status, text = "error", exc.message
        with session_scope(engine) as session:
            session.add(
                Verification(
                    run_id=run_id,
                    target=name,
                    subset=subset,
                    status=status,
                    started_at=started,
                    finished_at=utcnow(),
                    output=text[-4000:],
                )
            )
        results.append(
            {
                "target": name,
                "subset": subset or "structure",
                "status": status,
                "output": text.strip().splitlines()[-1] if text.strip() else "",
            }
        )
    return results


def _full(repo: restic.Repository, plan: Plan) -> tuple[bool, str]:
    restic.clear_stale_locks(repo, plan.cache)
    proc = restic.run(repo, ["check", "--read-data"], cache_dir=plan.cache, check=False)
    text = restic.scrub(proc.stdout + proc.stderr, repo.secrets())
    if proc.returncode != 0 and "no errors were found" not in text:
        err = restic.classify(repo, proc.stderr, proc.returncode)
        if not isinstance(err, restic.ResticFailed):
            raise err
    return proc.returncode == 0 and "no errors were found" in text, text


def freshness(engine: Engine, settings: Settings, now: datetime | None = None) -> list[dict[str, Any]]:
    """Per source: the newest good backup, its age, and whether it is older than cadence plus grace."""
    now = now or utcnow()
    mark_interrupted(engine, settings)
    plan = Plan.of(settings)
    rows = []
    with session_scope(engine) as session:
        for spec in plan.sources:
            last_ok = session.scalar(
                sa.select(sa.func.max(BackupRun.finished_at)).where(
                    BackupRun.source == spec.name, BackupRun.status == "ok"
                )
            )
            last = session.scalars(
                sa.select(BackupRun).where(BackupRun.source == spec.name).order_by(BackupRun.id.desc()).limit(1)
            ).first()
            stale = retention.is_stale(
                last_ok, now, timedelta(hours=spec.cadence_hours), timedelta(hours=spec.grace_hours)
            )
            rows.append(
                {
                    "source": spec.name,
                    "kind": spec.kind,
                    "last_success": last_ok.isoformat() if last_ok else None,
                    "age_seconds": (now - last_ok).total_seconds() if last_ok else None,
                    "cadence_hours": spec.cadence_hours,
                    "stale": stale,
                    "last_status": last.status if last else None,
                    "last_error": last.error if last else "",
                }
            )
    return rows


def copy_lag(engine: Engine, settings: Settings, now: datetime | None = None, days: float = 7) -> dict[str, int]:
    """Per target: good backups of the last ``days`` that have no good copy there."""
    now = now or utcnow()
    plan = Plan.of(settings)
    since = now - timedelta(days=days)
    lag: dict[str, int] = {}
    with session_scope(engine) as session:
        recent = set(
            session.scalars(sa.select(BackupRun.id).where(BackupRun.status == "ok", BackupRun.finished_at >= since))
        )
        for target in plan.targets:
            have = set(
                session.scalars(
                    sa.select(BackupCopy.backup_id).where(
                        BackupCopy.target == target.name,
                        BackupCopy.status.in_(("ok", "forgotten")),
                        BackupCopy.backup_id.in_(recent),
                    )
                )
            )
            lag[target.name] = len(recent - have)
    return lag


def measurements(engine: Engine, settings: Settings, now: datetime | None = None) -> list[Measurement]:
    """The backup series the alert rules watch (see rules/backup.yml)."""
    now = now or utcnow()
    out: list[Measurement] = []
    for row in freshness(engine, settings, now):
        age = row["age_seconds"] if row["age_seconds"] is not None else 1e9
        out.append(Measurement("backup_last_success_age_seconds", age, "s", {"source": row["source"]}))
        out.append(Measurement("backup_stale", 1.0 if row["stale"] else 0.0, "", {"source": row["source"]}))
        out.append(
            Measurement(
                "backup_last_failed",
                1.0 if row["last_status"] in ("failed", "interrupted") else 0.0,
                "",
                {"source": row["source"]},
            )
        )
    for target, lag in copy_lag(engine, settings, now).items():
        out.append(Measurement("backup_copy_lag", float(lag), "snapshots", {"target": target}))
    with session_scope(engine) as session:
        for target in {t.name for t in Plan.of(settings).targets}:
            last = session.scalars(
                sa.select(Verification).where(Verification.target == target).order_by(Verification.id.desc()).limit(1)
            ).first()
            if last is not None:
                out.append(
                    Measurement("backup_verify_failed", 0.0 if last.status == "ok" else 1.0, "", {"target": target})
                )
        for source in {s.name for s in Plan.of(settings).sources}:
            drill = session.scalars(
                sa.select(Drill).where(Drill.source == source).order_by(Drill.id.desc()).limit(1)
            ).first()
            if drill is not None:
                out.append(
                    Measurement("backup_drill_failed", 0.0 if drill.status == "ok" else 1.0, "", {"source": source})
                )
    return out


def targets_status(settings: Settings, init: bool = False) -> list[dict[str, Any]]:
    """Each target: reachable, initialised, snapshot count and stored size; errors name the target."""
    plan = Plan.of(settings)
    if init and plan.targets:
        plan.ensure_repositories()
    out = []
    for i, spec in enumerate(plan.targets):
        row: dict[str, Any] = {
            "target": spec.name,
            "kind": spec.kind,
            "primary": i == 0,
            "reachable": False,
            "initialised": False,
            "snapshots": None,
            "size_bytes": None,
            "error": "",
        }
        try:
            repo = plan.repo(spec.name)
            row["reachable"] = True
            row["initialised"] = restic.is_initialised(repo, plan.cache)
            if row["initialised"]:
                row["snapshots"] = len(restic.snapshots(repo, ["eduops"], plan.cache))
                row["size_bytes"] = restic.stats_size(repo, plan.cache)
        except EduopsError as exc:
            row["reachable"] = "unreachable" not in exc.message and row["reachable"]
            row["error"] = exc.message
        out.append(row)
    return out
