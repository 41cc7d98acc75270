"""The maintenance calendar: tasks with cadence and owner, when each is due, which are overdue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from croniter import croniter
from sqlalchemy.engine import Engine

from eduops.config import Settings
from eduops.core.i18n import msg
from eduops.core.models import Run, Task
from eduops.core.plan import DEFAULT_PLAN, ON_DEMAND, PLAN_BY_KEY, CheckStep, TaskSpec
from eduops.db import session_scope, utcnow
from eduops.errors import NotFound


def latest_slot(cron: str, tz: str, now: datetime) -> datetime | None:
    """The most recent time at or before ``now`` when a task with this cadence was due (UTC)."""
    if cron == ON_DEMAND:
        return None
    local_now = now.astimezone(ZoneInfo(tz))
    itr = croniter(cron, local_now + timedelta(microseconds=1))
    return itr.get_prev(datetime).astimezone(ZoneInfo("UTC"))


def next_slot(cron: str, tz: str, now: datetime) -> datetime | None:
    if cron == ON_DEMAND:
        return None
    itr = croniter(cron, now.astimezone(ZoneInfo(tz)))
    return itr.get_next(datetime).astimezone(ZoneInfo("UTC"))


def is_overdue(cron: str, tz: str, grace: timedelta, now: datetime, last_started: datetime | None) -> bool:
    """Overdue when the latest slot older than the grace period has no run that started at or after it."""
    if cron == ON_DEMAND:
        return False
    slot = latest_slot(cron, tz, now - grace)
    if slot is None:
        return False
    return last_started is None or last_started < slot


@dataclass
class CalendarEntry:
    key: str
    title: str
    description: str
    cadence: str
    timezone: str
    owner: str
    enabled: bool
    area: str
    checks: list[str]
    evidence: list[str]
    needs_signoff: bool
    next_due: datetime | None
    last_run_id: int | None
    last_status: str | None
    last_started_at: datetime | None
    overdue: bool
    overdue_since: datetime | None

    def to_dict(self) -> dict[str, object]:
        return {
            "key": self.key,
            "title": self.title,
            "description": self.description,
            "cadence": self.cadence,
            "timezone": self.timezone,
            "owner": self.owner,
            "enabled": self.enabled,
            "area": self.area,
            "checks": self.checks,
            "evidence": self.evidence,
            "needs_signoff": self.needs_signoff,
            "next_due": self.next_due.isoformat() if self.next_due else None,
            "last_run_id": self.last_run_id,
            "last_status": self.last_status,
            "last_started_at": self.last_started_at.isoformat() if self.last_started_at else None,
            "overdue": self.overdue,
            "overdue_since": self.overdue_since.isoformat() if self.overdue_since else None,
        }


def task_spec(key: str) -> TaskSpec:
    try:
        return PLAN_BY_KEY[key]
    except KeyError:
        known = ", ".join(PLAN_BY_KEY)
        raise NotFound(msg("no calendar task {key!r}; known tasks: {known}", key=key, known=known)) from None


def effective(spec: TaskSpec, settings: Settings) -> tuple[str, str, str, bool, timedelta]:
    """(cron, timezone, owner, enabled, grace) after eduops.toml's [tasks.<key>] overrides."""
    o = settings.tasks.get(spec.key)
    cron = (o.cron if o and o.cron else None) or spec.cron
    tz = (o.timezone if o and o.timezone else None) or settings.timezone
    owner = (o.owner if o and o.owner else None) or spec.owner
    enabled = o.enabled if o and o.enabled is not None else True
    grace = o.grace_minutes if o and o.grace_minutes is not None else spec.grace_minutes
    return cron, tz, owner, enabled, timedelta(minutes=grace)


def steps_for(spec: TaskSpec, settings: Settings) -> list[CheckStep]:
    o = settings.tasks.get(spec.key)
    extra = o.params if o else {}
    steps = [CheckStep(name) for name in o.checks] if o and o.checks is not None else list(spec.checks)
    return [CheckStep(s.name, {**s.params, **extra.get(s.name, {})}) for s in steps]


def sync_tasks(engine: Engine, settings: Settings, now: datetime | None = None) -> None:
    """Store the plan with its overrides; a new task starts counting from its latest slot."""
    now = now or utcnow()
    with session_scope(engine) as session:
        existing = {t.key: t for t in session.scalars(sa.select(Task))}
        for spec in DEFAULT_PLAN:
            cron, tz, owner, enabled, _ = effective(spec, settings)
            task = existing.get(spec.key)
            if task is None:
                task = Task(key=spec.key, last_slot=latest_slot(cron, tz, now), created_at=now)
                session.add(task)
            elif task.cron != cron or task.timezone != tz:
                task.last_slot = latest_slot(cron, tz, now)
            task.title, task.cron, task.timezone, task.owner, task.enabled = spec.title, cron, tz, owner, enabled
            task.updated_at = now


def calendar(engine: Engine, settings: Settings, now: datetime | None = None) -> list[CalendarEntry]:
    now = now or utcnow()
    with session_scope(engine) as session:
        # the latest run of each task is the one that started last (history can be imported out of order)
        newest = sa.select(Run.task_key, sa.func.max(Run.started_at).label("started")).group_by(Run.task_key).subquery()
        latest = sa.select(Run).join(newest, sa.and_(Run.task_key == newest.c.task_key,
                                                     Run.started_at == newest.c.started)).order_by(Run.id)
        last_runs = {r.task_key: r for r in session.scalars(latest)}
        created = dict(session.execute(sa.select(Task.key, Task.created_at)).tuples().all())
    entries = []
    for spec in DEFAULT_PLAN:
        cron, tz, owner, enabled, grace = effective(spec, settings)
        last = last_runs.get(spec.key)
        last_started = last.started_at if last else None
        # a task counts from when it joined the calendar, so a new install is not overdue at once
        baseline = max(filter(None, (last_started, created.get(spec.key))), default=None)
        overdue = enabled and is_overdue(cron, tz, grace, now, baseline)
        entries.append(
            CalendarEntry(
                key=spec.key,
                title=spec.title,
                description=spec.description,
                cadence=cron,
                timezone=tz,
                owner=owner,
                enabled=enabled,
                area=spec.area,
                checks=[s.name for s in spec.checks],
                evidence=list(spec.evidence),
                needs_signoff=spec.needs_signoff,
                next_due=next_slot(cron, tz, now) if enabled else None,
                last_run_id=last.id if last else None,
                last_status=last.status if last else None,
                last_started_at=last_started,
                overdue=overdue,
                overdue_since=latest_slot(cron, tz, now - grace) if overdue else None,
            )
        )
    return entries
