"""Reading runs and their results as plain data for the CLI, the API and reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import selectinload

from eduops.core.i18n import msg, render_text
from eduops.core.models import Run
from eduops.db import session_scope
from eduops.errors import NotFound, UsageError


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def run_to_dict(run: Run, detail: bool = True, lang: str = "en") -> dict[str, Any]:
    """A run as plain data; its summary, findings and remedies in ``lang`` (the API and --json: English)."""
    data: dict[str, Any] = {
        "id": run.id,
        "task": run.task_key,
        "trigger": run.trigger,
        "triggered_by": run.triggered_by,
        "status": run.status,
        "summary": render_text(run.summary, lang),
        "slot": _iso(run.slot),
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
        "duration_s": (run.finished_at - run.started_at).total_seconds() if run.finished_at else None,
        "signed_off_by": run.signed_off_by,
        "signed_off_at": _iso(run.signed_off_at),
    }
    if detail:
        findings_by_check: dict[str, list[dict[str, str]]] = {}
        for f in run.findings:
            findings_by_check.setdefault(f.check_name, []).append(
                {"severity": f.severity, "title": render_text(f.title, lang), "detail": render_text(f.detail, lang),
                 "remedy": render_text(f.remedy, lang)}
            )
        data["evidence"] = run.evidence
        data["sign_off_comment"] = run.sign_off_comment
        data["checks"] = [
            {
                "name": c.name,
                "area": c.area,
                "status": c.status,
                "summary": render_text(c.summary, lang),
                "duration_ms": round(c.duration_ms, 1),
                "measurements": c.measurements,
                "findings": findings_by_check.get(c.name, []),
                "evidence": c.evidence,
            }
            for c in run.checks
        ]
        data["artifacts"] = [
            {"id": a.id, "name": a.name, "path": a.path, "media_type": a.media_type, "size_bytes": a.size_bytes}
            for a in run.artifacts
        ]
    return data


def get_run(engine: Engine, run_id: int, lang: str = "en") -> dict[str, Any]:
    with session_scope(engine) as session:
        run = session.scalar(
            sa.select(Run)
            .where(Run.id == run_id)
            .options(selectinload(Run.checks), selectinload(Run.findings), selectinload(Run.artifacts))
        )
        if run is None:
            raise NotFound(msg("no run {run_id}; list runs with `eduops runs list`", run_id=run_id))
        return run_to_dict(run, lang=lang)


def list_runs(
    engine: Engine, *, task: str | None = None, status: str | None = None, limit: int = 50, offset: int = 0,
    lang: str = "en",
) -> list[dict[str, Any]]:
    from eduops.core.runs import FINISHED

    if status and status not in ("running", *FINISHED):
        raise UsageError(f"status: {status!r} is not a run status; use one of running, {', '.join(FINISHED)}")
    with session_scope(engine) as session:
        query = sa.select(Run).order_by(Run.started_at.desc(), Run.id.desc())
        if task:
            query = query.where(Run.task_key == task)
        if status:
            query = query.where(Run.status == status)
        return [run_to_dict(r, detail=False, lang=lang) for r in session.scalars(query.limit(limit).offset(offset))]


def sign_off(engine: Engine, run_id: int, user: str, comment: str) -> dict[str, Any]:
    from eduops.core.plan import PLAN_BY_KEY
    from eduops.db import utcnow
    from eduops.errors import Conflict

    with session_scope(engine) as session:
        run = session.get(Run, run_id)
        if run is None:
            raise NotFound(msg("no run {run_id}", run_id=run_id))
        spec = PLAN_BY_KEY.get(run.task_key)
        if spec is None or not spec.needs_signoff:
            raise Conflict(f"task {run.task_key!r} does not take a sign-off")
        if run.status == "running":
            raise Conflict("the run is still in progress; sign off once it has finished")
        run.signed_off_by, run.signed_off_at, run.sign_off_comment = user, utcnow(), comment
    return get_run(engine, run_id)
