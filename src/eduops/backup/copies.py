"""After the primary has the new snapshots: one ``restic copy`` per secondary, then retention per target.

Each target is listed once per run, so the cost grows with targets, not with sources × targets.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from eduops.backup import restic, retention
from eduops.backup.models import BackupCopy, BackupRun
from eduops.backup.settings import SourceSpec
from eduops.db import session_scope, utcnow
from eduops.errors import EduopsError

if TYPE_CHECKING:
    from eduops.backup.service import Plan


def copy_to(engine: Engine, plan: Plan, target: str, backups: dict[int, str]) -> None:
    """Copy the primary's snapshots ``{backup id: snapshot id}`` to ``target`` and record each copy."""
    with session_scope(engine) as session:
        rows = {
            bid: BackupCopy(backup_id=bid, target=target, status="running", error="", started_at=utcnow())
            for bid in backups
        }
        session.add_all(rows.values())
        session.flush()
        copy_ids = {bid: row.id for bid, row in rows.items()}
    found: dict[str, str] = {}
    error = ""
    try:
        dest = plan.repo(target)
        restic.copy(plan.repo(plan.primary), dest, list(backups.values()), plan.cache)
        for snap in restic.snapshots(dest, ["eduops"], plan.cache):
            if snap.tag_value("backup"):
                found[str(snap.tag_value("backup"))] = snap.id
    except EduopsError as exc:
        error = exc.message
    with session_scope(engine) as session:
        for bid, copy_id in copy_ids.items():
            row = session.get(BackupCopy, copy_id)
            assert row is not None
            row.finished_at, row.snapshot_id = utcnow(), found.get(str(bid))
            if row.snapshot_id:
                row.status = "ok"
            else:
                row.status = "failed"
                row.error = error or f"target {target!r}: restic copy finished but the snapshot is not there"


def owed(engine: Engine, primary: str, target: str, sources: list[str]) -> dict[int, str]:
    """``{backup id: snapshot id}`` of these sources' backups that the primary holds and ``target`` does not:
    never copied (a crash before the copy), or whose copy failed or was interrupted. A copy in progress
    (``running``, its run alive) or already made is not owed."""
    with session_scope(engine) as session:
        on_target = (
            sa.select(BackupCopy.backup_id)
            .where(BackupCopy.target == target, BackupCopy.status.in_(("ok", "forgotten", "running")))
        )
        rows = session.execute(
            sa.select(BackupRun.id, BackupCopy.snapshot_id)
            .join(BackupCopy, BackupCopy.backup_id == BackupRun.id)
            .where(
                BackupRun.source.in_(sources),
                BackupRun.status == "ok",
                BackupCopy.target == primary,
                BackupCopy.status == "ok",
                BackupCopy.snapshot_id.is_not(None),
                BackupRun.id.not_in(on_target),
            )
            .order_by(BackupRun.id)
        ).all()
    return {int(bid): str(snap) for bid, snap in rows}


def apply_retention(engine: Engine, plan: Plan, sources: list[SourceSpec], target: str) -> dict[str, dict[str, Any]]:
    """Per source: forget and prune what the policy drops, only after the guard found the recent snapshots.

    A target is not even listed while eduops holds no more live snapshots of these sources there than
    ``keep_last``: by its records nothing could be forgotten yet.
    """
    if all(_live(engine, s.name, target) <= (s.retention or plan.conf.retention).keep_last for s in sources):
        return {
            s.name: {"target": target, "applied": True, "kept": _live(engine, s.name, target), "forgotten": 0}
            for s in sources
        }
    try:
        repo = plan.repo(target)
        listed = restic.snapshots(repo, ["eduops"], plan.cache)
    except EduopsError as exc:
        return {s.name: {"target": target, "applied": False, "reason": exc.message} for s in sources}
    notes = {}
    for spec in sources:
        snaps = [s for s in listed if s.tag_value("source") == spec.name]
        notes[spec.name] = _retain(engine, plan, spec, target, repo, snaps)
    return notes


def _live(engine: Engine, source: str, target: str) -> int:
    with session_scope(engine) as session:
        return int(
            session.scalar(
                sa.select(sa.func.count())
                .select_from(BackupCopy)
                .join(BackupRun, BackupRun.id == BackupCopy.backup_id)
                .where(BackupRun.source == source, BackupCopy.target == target, BackupCopy.status == "ok")
            )
            or 0
        )


def _retain(
    engine: Engine, plan: Plan, spec: SourceSpec, target: str, repo: restic.Repository, snaps: list[restic.Snapshot]
) -> dict[str, Any]:
    pol = spec.retention or plan.conf.retention
    policy = retention.Policy(pol.keep_last, pol.keep_daily, pol.keep_weekly, pol.keep_monthly, pol.keep_yearly)
    since = utcnow() - timedelta(days=pol.guard_days)
    with session_scope(engine) as session:
        expected = [
            e
            for e in session.scalars(
                sa.select(BackupCopy.snapshot_id)
                .join(BackupRun, BackupRun.id == BackupCopy.backup_id)
                .where(
                    BackupRun.source == spec.name,
                    BackupCopy.target == target,
                    BackupCopy.status == "ok",
                    BackupCopy.finished_at >= since,
                    BackupCopy.snapshot_id.is_not(None),
                )
                .order_by(BackupCopy.finished_at)
            )
            if e
        ]
    decided = retention.plan([(s.id, s.time) for s in snaps], policy)
    verdict = retention.guard([s.id for s in snaps], expected, decided, newest=expected[-1:])
    if not verdict.safe:
        return {"target": target, "applied": False, "reason": verdict.reason}
    if decided.forget:
        try:
            restic.forget(repo, list(decided.forget), prune=True, cache_dir=plan.cache)
        except EduopsError as exc:
            return {"target": target, "applied": False, "reason": exc.message}
        with session_scope(engine) as session:  # restic 0.14 reports short ids after backup, full ids in lists
            for row in session.scalars(
                sa.select(BackupCopy).where(BackupCopy.target == target, BackupCopy.status == "ok")
            ):
                if row.snapshot_id and any(f.startswith(row.snapshot_id) for f in decided.forget):
                    row.status = "forgotten"
    return {"target": target, "applied": True, "kept": len(decided.keep), "forgotten": len(decided.forget)}
