"""The in-process scheduler started by `eduops serve`.

Each due slot is claimed with one conditional UPDATE on ``tasks.last_slot``, so with several
processes on one PostgreSQL database every slot runs once. Slots missed while eduops was down run
once on start (a catch-up), not once per missed slot.
"""

from __future__ import annotations

import logging
import os
import threading
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from eduops.config import Settings
from eduops.core.calendar import latest_slot, sync_tasks
from eduops.core.models import Run, Task
from eduops.core.plan import ON_DEMAND
from eduops.core.runs import HOST, claim, execute, recover_interrupted
from eduops.db import session_scope, utcnow
from eduops.errors import Conflict

log = logging.getLogger(__name__)


def trigger_for(slot: datetime, now: datetime, tick_seconds: float) -> str:
    """A slot picked up within a few ticks is on schedule; an older one is a catch-up."""
    return "scheduled" if now - slot <= timedelta(seconds=max(3 * tick_seconds, 60)) else "catch-up"


class Scheduler:
    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.workers: list[threading.Thread] = []

    def claim_due(self, now: datetime | None = None) -> list[tuple[str, datetime, str]]:
        """Claim every due slot this process should run: (task key, slot, trigger)."""
        now = now or utcnow()
        claimed = []
        with session_scope(self.engine) as session:
            tasks = session.scalars(sa.select(Task).where(Task.enabled.is_(True), Task.cron != ON_DEMAND)).all()
            for task in tasks:
                slot = latest_slot(task.cron, task.timezone, now)
                if slot is None or (task.last_slot is not None and task.last_slot >= slot):
                    continue
                won = session.execute(  # type: ignore[attr-defined]
                    sa.update(Task)
                    .where(Task.key == task.key, sa.or_(Task.last_slot.is_(None), Task.last_slot < slot))
                    .values(last_slot=slot)
                ).rowcount
                session.commit()
                if won:
                    claimed.append((task.key, slot, trigger_for(slot, now, self.settings.scheduler.tick_seconds)))
        return claimed

    def tick(self, now: datetime | None = None) -> list[threading.Thread]:
        recover_interrupted(self.engine, self.settings, now)
        started = []
        for key, slot, trigger in self.claim_due(now):
            thread = threading.Thread(target=self._run, args=(key, slot, trigger), name=f"task-{key}", daemon=True)
            thread.start()
            started.append(thread)
        self.workers = [w for w in self.workers if w.is_alive()] + started
        return started

    def _run(self, key: str, slot: datetime, trigger: str) -> None:
        try:
            run_id = claim(self.engine, self.settings, key, trigger, "scheduler", slot)
        except Conflict as exc:
            self._record_skip(key, slot, trigger, str(exc))
            return
        except Exception:
            log.exception("could not start task %s", key)
            return
        try:
            execute(self.engine, self.settings, run_id)
        except Exception:
            log.exception("run %s of %s failed", run_id, key)

    def _record_skip(self, key: str, slot: datetime, trigger: str, reason: str) -> None:
        now = utcnow()
        with session_scope(self.engine) as session:
            session.add(
                Run(task_key=key, trigger=trigger, triggered_by="scheduler", status="skipped", slot=slot,
                    started_at=now, finished_at=now, summary=f"skipped: {reason}", evidence={},
                    host=HOST, pid=os.getpid())
            )

    def start(self) -> None:
        sync_tasks(self.engine, self.settings)
        self._thread = threading.Thread(target=self._loop, name="eduops-scheduler", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # the scheduler outlives a database hiccup
                log.exception("scheduler tick failed")
            self._stop.wait(self.settings.scheduler.tick_seconds)

    def stop(self, wait: float = 5.0) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=wait)
