"""What the overview shows: one tile per area (its headline, as on its page), top findings, overdue tasks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from eduops.config import Settings
from eduops.core import calendar as cal
from eduops.core.areas import Headline, headline
from eduops.core.models import FindingRow, Run
from eduops.core.plugins import areas
from eduops.db import session_scope

SEVERITY_RANK = {"crit": 0, "warn": 1, "info": 2}


@dataclass
class Tile:
    area: str
    label: str
    page: str
    headline: Headline

    @property
    def status(self) -> str | None:
        return self.headline.status

    @property
    def colour(self) -> str:
        return self.headline.colour


def tiles(ws: Any, now: datetime) -> list[Tile]:
    """One tile per declared area, its status from the area's headline function (what its page shows too)."""
    return [Tile(a.key, a.label, a.page or "/calendar", headline(ws, a.key, now)) for a in areas()]


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
