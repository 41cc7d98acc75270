"""Runs: one execution of a calendar task. Checks run one after another; a crash is an `error`.

A task never runs twice at once (a lock row in ``tasks``, also across processes on one PostgreSQL).
A running run proves it is alive with a heartbeat; one that falls silent is marked ``interrupted``.
"""

from __future__ import annotations

import mimetypes
import os
import socket
import threading
import time
import traceback
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from eduops.config import Settings
from eduops.core import plugins
from eduops.core.audit import record_audit
from eduops.core.calendar import effective, steps_for, task_spec
from eduops.core.checks import CheckContext, CheckResult, get_check, status_from_findings, worst
from eduops.core.clock import format_time
from eduops.core.i18n import Msg, encode, msg
from eduops.core.models import Artifact, CheckRun, FindingRow, Run, Task
from eduops.core.processes import pid_alive
from eduops.db import session_scope, utcnow
from eduops.errors import Conflict, NotFound

HOST = socket.gethostname()
FINISHED = ("ok", "warn", "crit", "error", "skipped", "interrupted")

Progress = Callable[[str, float], None]
# what the starter asked for beyond the plan: check name -> extra params for that check
RunParams = dict[str, dict[str, Any]]


def _no_progress(message: str, fraction: float) -> None:
    pass


def _scaled(progress: Progress, index: int, count: int) -> Progress:
    """Progress of one check as a share of the whole run."""

    def report(message: str, fraction: float) -> None:
        progress(message, (index + fraction) / max(count, 1))

    return report


def claim(engine: Engine, settings: Settings, key: str, trigger: str, actor: str, slot: datetime | None,
          source_ip: str = "", params: RunParams | None = None) -> int:
    """Take the task's lock and create its run (recorded in the audit log); Conflict when it is already running.

    A run left ``running`` by a process that died is marked interrupted first, so its lock never blocks this one.
    ``params`` (check name -> params) are added to those steps' params from the plan and kept in the evidence.
    """
    spec = task_spec(key)
    recover_interrupted(engine, settings)
    now = utcnow()
    lease = now + timedelta(seconds=settings.scheduler.stale_after_seconds)
    with session_scope(engine) as session:
        if session.get(Task, key) is None:
            from eduops.core.calendar import sync_tasks

            session.close()
            sync_tasks(engine, settings)
    with session_scope(engine) as session:
        taken = session.execute(  # type: ignore[attr-defined]
            sa.update(Task)
            .where(Task.key == spec.key, sa.or_(Task.lock_run_id.is_(None), Task.lock_expires_at < now))
            .values(lock_run_id=-1, lock_expires_at=lease)
        ).rowcount
        if not taken:
            holder = session.get(Task, key)
            raise Conflict(
                f"task {key!r} is already running (run {holder.lock_run_id if holder else '?'}); "
                "wait for it to finish or look at it with `eduops runs list`"
            )
        run = Run(
            task_key=key, trigger=trigger, triggered_by=actor, status="running", slot=slot,
            started_at=now, heartbeat_at=now, host=HOST, pid=os.getpid(),
            evidence={"params": params} if params else {},
        )
        session.add(run)
        session.flush()
        session.execute(sa.update(Task).where(Task.key == key).values(lock_run_id=run.id))
        record_audit(session, actor=actor, action="task.run", target=f"task:{key}",
                     after={"run": run.id, "trigger": trigger, **({"params": params} if params else {})},
                     source_ip=source_ip or ("" if slot else "local"))
        return run.id


def _heartbeat(engine: Engine, settings: Settings, run_id: int, key: str) -> None:
    now = utcnow()
    lease = now + timedelta(seconds=settings.scheduler.stale_after_seconds)
    with session_scope(engine) as session:
        session.execute(sa.update(Run).where(Run.id == run_id, Run.status == "running").values(heartbeat_at=now))
        session.execute(
            sa.update(Task).where(Task.key == key, Task.lock_run_id == run_id).values(lock_expires_at=lease)
        )


def _release(session: Any, key: str, run_id: int) -> None:
    mine = sa.update(Task).where(Task.key == key, Task.lock_run_id == run_id)
    session.execute(mine.values(lock_run_id=None, lock_expires_at=None))


def run_check(name: str, ctx: CheckContext) -> tuple[CheckResult, str]:
    """Run one registered check; returns its result and its area. Never raises."""
    spec = get_check(name)
    if spec is None:
        domain = name.split(".", 1)[0]
        return (
            CheckResult("skipped", f"check {name!r} is not available: the {domain} domain is not installed yet"),
            "",
        )
    try:
        result = spec.func(ctx)
        if not isinstance(result, CheckResult):
            raise TypeError(f"check {name} returned {type(result).__name__}, not CheckResult")
    except Exception as exc:  # a crashing check is a result, never the end of the run
        result = CheckResult(
            "error",
            msg("{check} crashed: {error}", check=name, error=f"{type(exc).__name__}: {exc}"),
            evidence={"traceback": traceback.format_exc(limit=8)},
        )
    return result, spec.area


def _store_check(engine: Engine, run_id: int, name: str, area: str, result: CheckResult, started: datetime,
                 duration_ms: float) -> None:
    with session_scope(engine) as session:
        session.add(
            CheckRun(
                run_id=run_id, name=name, area=area, status=result.status, summary=encode(result.summary),
                measurements=[
                    {"name": m.name, "value": m.value, "unit": m.unit, "labels": m.labels} for m in result.measurements
                ],
                evidence=result.evidence, started_at=started, duration_ms=duration_ms,
            )
        )
        for f in result.findings:
            session.add(
                FindingRow(run_id=run_id, check_name=name, area=area, severity=f.severity,
                           title=encode(f.title), detail=encode(f.detail), remedy=encode(f.remedy))
            )
        for path in result.artifacts:
            p = Path(path)
            session.add(
                Artifact(run_id=run_id, name=p.name, path=str(p),
                         media_type=mimetypes.guess_type(p.name)[0] or "application/octet-stream",
                         size_bytes=p.stat().st_size if p.exists() else 0)
            )
        plugins.manager().hook.eduops_record_measurements(session=session, measurements=result.measurements,
                                                          ts=started)


def overall_status(statuses: list[str]) -> str:
    """Skipped checks do not dilute the others; only a run of nothing but skips is skipped."""
    real = [s for s in statuses if s != "skipped"]
    if not statuses:
        return "skipped"
    return worst(real) if real else "skipped"


STATUS_COUNTS = {
    "ok": "{n} ok", "warn": "{n} warn", "crit": "{n} crit", "error": "{n} error", "skipped": "{n} skipped",
}


def summarize(results: list[tuple[str, CheckResult]]) -> Msg:
    """``5 checks: 4 ok, 1 warn; 2 findings``, as a message each reader sees in their language."""
    counts: dict[str, int] = {}
    findings = 0
    for _, r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
        findings += len(r.findings)
    return summary_of(counts, findings)


def summary_of(counts: dict[str, int], findings: int) -> Msg:
    """A run's summary from its checks' statuses (status → how many) and its number of findings."""
    parts = [msg(STATUS_COUNTS.get(s, "{n} " + s), n=n) for s, n in sorted(counts.items())]
    joined = msg(", ".join(f"{{p{i}}}" for i in range(len(parts))), **{f"p{i}": p for i, p in enumerate(parts)})
    return msg("{total} checks: {parts}; {findings} findings", total=sum(counts.values()), parts=joined,
               findings=findings)


def execute(engine: Engine, settings: Settings, run_id: int, progress: Progress = _no_progress) -> None:
    """Run the checks of a claimed run, with heartbeats and the task's time limit."""
    plugins.load_checks(settings.plugins)
    with session_scope(engine) as session:
        run = session.get(Run, run_id)
        if run is None:
            raise NotFound(msg("no run {run_id}", run_id=run_id))
        key = run.task_key
        asked: RunParams = dict((run.evidence or {}).get("params") or {})
        last_before = session.scalar(
            sa.select(sa.func.max(Run.started_at)).where(
                Run.task_key == key, Run.id != run_id, Run.status.in_(("ok", "warn", "crit"))
            )
        )
    spec = task_spec(key)
    override = settings.tasks.get(key)
    timeout = (override.timeout_seconds if override and override.timeout_seconds else None) or (
        settings.scheduler.run_timeout_seconds
    )
    steps = steps_for(spec, settings)
    artifacts_dir = settings.artifacts_dir / str(run_id)
    results: list[tuple[str, CheckResult]] = []
    state: dict[str, Any] = {}

    def work() -> None:
        try:
            for i, step in enumerate(steps):
                progress(f"{step.name}", i / max(len(steps), 1))
                ctx = CheckContext(
                    settings=settings, engine=engine, now=utcnow(), run_id=run_id, task_key=key,
                    last_run_at=last_before, params={**step.params, **asked.get(step.name, {})},
                    artifacts_dir=artifacts_dir,
                    progress=_scaled(progress, i, len(steps)),
                )
                started = utcnow()
                t0 = time.perf_counter()
                result, area = run_check(step.name, ctx)
                if result.status not in ("error", "skipped") and result.findings and result.status == "ok":
                    result.status = status_from_findings(result.findings)
                _store_check(engine, run_id, step.name, area, result, started, (time.perf_counter() - t0) * 1000)
                results.append((step.name, result))
            progress("done", 1.0)
        except Exception as exc:  # storing failed: the run is an error, the scheduler lives on
            state["error"] = f"{type(exc).__name__}: {exc}"

    worker = threading.Thread(target=work, name=f"run-{run_id}", daemon=True)
    deadline = time.monotonic() + timeout
    worker.start()
    while worker.is_alive():
        worker.join(timeout=min(settings.scheduler.heartbeat_seconds, max(deadline - time.monotonic(), 0.01)))
        if worker.is_alive():
            if time.monotonic() >= deadline:
                state["error"] = msg("timed out after {seconds:.0f} s; raise [tasks.{key}] timeout_seconds if needed",
                                     seconds=timeout, key=key)
                break
            _heartbeat(engine, settings, run_id, key)

    with session_scope(engine) as session:
        run = session.get(Run, run_id)
        assert run is not None
        done = list(results)
        if "error" in state:
            run.status = "error"
            error = state["error"]
            run.summary = encode(msg("{summary}; {error}", summary=summarize(done), error=error) if done else error)
        else:
            run.status = overall_status([r.status for _, r in done])
            run.summary = encode(summarize(done))
        cron, tz, owner, *_ = effective(spec, settings)
        run.evidence = {
            "owner": owner,
            "required_evidence": list(spec.evidence),
            "checks": [n for n, _ in done],
            "timeout_seconds": timeout,
            **({"params": asked} if asked else {}),
        }
        run.finished_at = utcnow()
        _release(session, key, run_id)


def run_task(
    engine: Engine, settings: Settings, key: str, *, trigger: str = "manual", actor: str = "cli",
    slot: datetime | None = None, progress: Progress = _no_progress, params: RunParams | None = None,
) -> int:
    """Claim and execute a task now; returns the run id."""
    run_id = claim(engine, settings, key, trigger, actor, slot, params=params)
    execute(engine, settings, run_id, progress)
    return run_id


def recover_interrupted(engine: Engine, settings: Settings, now: datetime | None = None) -> list[int]:
    """Mark runs whose process died as interrupted; their scheduled slot becomes due again (once)."""
    now = now or utcnow()
    stale = now - timedelta(seconds=settings.scheduler.stale_after_seconds)
    recovered = []
    with session_scope(engine) as session:
        running = session.scalars(sa.select(Run).where(Run.status == "running")).all()
        for run in running:
            dead_here = run.host == HOST and run.pid != os.getpid() and not pid_alive(run.pid)
            silent = run.heartbeat_at is None or run.heartbeat_at < stale
            if not (dead_here or silent):
                continue
            run.status = "interrupted"
            run.finished_at = now
            run.summary = encode(msg(
                "interrupted: the eduops process running it (pid {pid} on {host}) stopped; last heartbeat {at}",
                pid=run.pid, host=run.host,
                at=format_time(run.heartbeat_at, settings.timezone) if run.heartbeat_at else msg("never"),
            ))
            _release(session, run.task_key, run.id)
            if run.slot is not None and run.trigger != "manual":
                session.execute(
                    sa.update(Task)
                    .where(Task.key == run.task_key, Task.last_slot == run.slot)
                    .values(last_slot=run.slot - timedelta(microseconds=1))
                )
            recovered.append(run.id)
    return recovered


def running_here(engine: Engine) -> list[tuple[int, str]]:
    """(run id, task) of the runs this process is executing."""
    with session_scope(engine) as session:
        rows = session.execute(sa.select(Run.id, Run.task_key).where(
            Run.status == "running", Run.host == HOST, Run.pid == os.getpid()).order_by(Run.id)).all()
    return [(int(i), str(k)) for i, k in rows]


def interrupt_own(engine: Engine, run_ids: list[int], reason: str) -> None:
    """Record runs of this process that will not finish (it is stopping) as interrupted, now, instead of
    leaving them for the next start's recovery; a scheduled slot becomes due again (once)."""
    now = utcnow()
    with session_scope(engine) as session:
        for run in session.scalars(sa.select(Run).where(Run.id.in_(run_ids), Run.status == "running")).all():
            run.status = "interrupted"
            run.finished_at = now
            run.summary = f"interrupted: {reason}"
            _release(session, run.task_key, run.id)
            if run.slot is not None and run.trigger != "manual":
                session.execute(sa.update(Task).where(Task.key == run.task_key, Task.last_slot == run.slot)
                                .values(last_slot=run.slot - timedelta(microseconds=1)))
