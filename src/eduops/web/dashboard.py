"""What the overview shows: one tile per area from its latest results, top findings, overdue tasks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from eduops.config import Settings
from eduops.core import calendar as cal
from eduops.core.models import CheckRun, FindingRow, Run
from eduops.core.plugins import areas
from eduops.core.runs import overall_status
from eduops.db import session_scope

COLOUR = {"ok": "green", "warn": "amber", "crit": "red", "error": "red", "skipped": "grey", None: "grey"}
SEVERITY_RANK = {"crit": 0, "warn": 1, "info": 2}


@dataclass
class Tile:
    area: str
    label: str
    status: str | None
    colour: str
    summary: str
    run_id: int | None
    checked_at: datetime | None


def tile_status(statuses: list[str]) -> str | None:
    """The area's status from its latest checks: skips alone mean no data (a pure rule)."""
    if not statuses:
        return None
    return overall_status(statuses)


def tiles(engine: Engine) -> list[Tile]:
    """Per area, the worst of the latest result of each of its checks (a skipped result does not hide
    an earlier real one: the security tile keeps the weekly scan when the daily certificate check is off)."""
    with session_scope(engine) as session:
        newest = (
            sa.select(CheckRun.area, CheckRun.name, sa.func.max(CheckRun.started_at).label("at"))
            .where(CheckRun.area != "", CheckRun.status != "skipped")
            .group_by(CheckRun.area, CheckRun.name)
            .subquery()
        )
        rows = session.scalars(
            sa.select(CheckRun)
            .join(newest, sa.and_(CheckRun.area == newest.c.area, CheckRun.name == newest.c.name,
                                  CheckRun.started_at == newest.c.at))
            .order_by(CheckRun.id.desc())
        ).all()
    found: list[Tile] = []
    for area_spec in areas():
        area = area_spec.key
        mine = [r for r in rows if r.area == area]
        status = tile_status([r.status for r in mine])
        worst = next((r for r in mine if r.status == status), None)
        found.append(
            Tile(
                area=area,
                label=area_spec.label,
                status=status,
                colour=COLOUR.get(status, "grey"),
                summary=worst.summary if worst else "",
                run_id=worst.run_id if worst else None,
                checked_at=max((r.started_at for r in mine), default=None),
            )
        )
    return found


def top_findings(engine: Engine, limit: int = 10) -> list[dict[str, Any]]:
    """Warn and crit findings of each task's latest run, the most serious first."""
    with session_scope(engine) as session:
        latest_runs = sa.select(sa.func.max(Run.id)).where(Run.status != "running").group_by(Run.task_key)
        rows = session.execute(
            sa.select(FindingRow, Run.task_key, Run.started_at)
            .join(Run, Run.id == FindingRow.run_id)
            .where(FindingRow.run_id.in_(latest_runs), FindingRow.severity.in_(("warn", "crit")))
        ).all()
    ordered = sorted(rows, key=lambda r: (SEVERITY_RANK.get(r[0].severity, 9), -r[0].run_id, r[0].id))
    return [
        {
            "run_id": f.run_id,
            "task": task,
            "at": at,
            "severity": f.severity,
            "title": f.title,
            "remedy": f.remedy,
            "check": f.check_name,
            "area": f.area,
        }
        for f, task, at in ordered[:limit]
    ]


def overdue(engine: Engine, settings: Settings, now: datetime | None = None) -> list[cal.CalendarEntry]:
    return [e for e in cal.calendar(engine, settings, now) if e.overdue]


def runs_per_day(engine: Engine, since: datetime, tz: tzinfo) -> list[dict[str, Any]]:
    """(day in the viewer's timezone, status, count) for the chart of recent runs."""
    with session_scope(engine) as session:
        rows = session.execute(sa.select(Run.started_at, Run.status).where(Run.started_at >= since)).all()
    counts: dict[tuple[str, str], int] = {}
    for started, status in rows:
        key = (started.astimezone(tz).date().isoformat(), status)
        counts[key] = counts.get(key, 0) + 1
    return [{"day": d, "status": s, "count": n} for (d, s), n in sorted(counts.items())]
