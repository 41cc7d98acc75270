"""What every domain's demo share gets (DemoContext), and the core's share: the calendar with 30 days of run
history, failures and an overdue task."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from croniter import croniter

from eduops.core.calendar import effective, sync_tasks
from eduops.core.checks import get_check
from eduops.core.i18n import encode, msg
from eduops.core.models import CheckRun, FindingRow, Run, Task
from eduops.core.plan import DEFAULT_PLAN, ON_DEMAND, TaskSpec
from eduops.core.runs import summary_of
from eduops.core.workspace import Workspace
from eduops.db import session_scope


@dataclass
class DemoContext:
    """What a domain's ``populate(demo)`` gets: the workspace, a fixed clock and a seeded random."""

    ws: Workspace
    now: datetime
    rng: random.Random
    progress: Callable[[str, float], None] = lambda message, fraction: None
    admin_user: str = "admin"
    admin_password: str = ""
    # background services a domain starts for the demo (e.g. the demo platform API); stopped at exit
    stoppers: list[Callable[[], None]] = field(default_factory=list)
    # what each domain wants printed after the demo is ready, e.g. {"loadtest": "demo platform on ..."}
    notes: dict[str, str] = field(default_factory=dict)
    shared: dict[str, Any] = field(default_factory=dict)  # hand-offs between domains (user ids, courses)
    platform_port: int = 8081  # where the demo platform listens: the console's port + 1 (0: any free port)


HISTORY_DAYS = 30
# The content audit stopped running 12 days ago (its owner went on leave): the demo's overdue task.
STALLED_TASK = "content-audit"
STALLED_DAYS = 12
# Tasks whose own domain's demo records their history by running the real task (release journeys with
# screenshots, a load test with its knee, a drill with its timeline): made-up runs here would be the newest
# ones whenever their slot fell within the history window (a load test on 20 Feb, a drill on 1 Jan).
OWN_HISTORY = {"release-check", "load-test", "quarterly-drill"}

# What went wrong on which days (days ago → (task, check, status, finding title, remedy)).
INCIDENTS: dict[tuple[int, str], tuple[str, str, str, str]] = {
    (3, "backup"): ("backup.verify", "crit", "restic check reported 2 damaged pack files on the S3 copy",
                    "Run `restic check --read-data` on the S3 target and `eduops backup run` again"),
    (9, "restore-drill"): ("backup.restore_drill", "crit", "Restored PostgreSQL row counts differ for table orders",
                           "The dump ran outside a transaction; enable --single-transaction and re-run the drill"),
    (5, "daily-inspection"): ("host.status", "warn", "Disk /var/lib/postgresql is 88% full",
                              "Prune old WAL segments or grow the volume before it reaches 95%"),
    (1, "daily-inspection"): ("host.status", "warn", "Disk /var/lib/postgresql is 91% full",
                              "Prune old WAL segments or grow the volume before it reaches 95%"),
    (2, "daily-inspection"): ("tls.cert_expiry", "warn", "Certificate of live.example.edu expires in 12 days",
                              "Renew it (certbot renew) and reload nginx"),
    (14, "weekly-security"): ("security.scan", "crit", "django 3.2.0 has 14 known vulnerabilities",
                              "Upgrade django to 3.2.25 or later"),
    (7, "weekly-security"): ("security.scan", "warn", "Missing Content-Security-Policy on www.example.edu",
                             "Set Content-Security-Policy: default-src 'self'"),
    (6, "feedback-digest"): ("feedback.digest", "warn", "4 complaints waited more than 2 hours for a first answer",
                             "Put a second person on the support rota in the evening peak"),
}


def _slots(spec: TaskSpec, cron: str, tz: str, start: datetime, end: datetime) -> list[datetime]:
    from zoneinfo import ZoneInfo

    if cron == ON_DEMAND:  # releases: about twice a week
        return [end - timedelta(days=d, hours=6) for d in (2, 6, 9, 13, 16, 20, 23, 27)]
    itr = croniter(cron, start.astimezone(ZoneInfo(tz)))
    slots = []
    while (slot := itr.get_next(datetime).astimezone(ZoneInfo("UTC"))) <= end:
        slots.append(slot)
    return slots


def _measurements(demo: DemoContext, spec: TaskSpec, days_ago: int) -> list[dict[str, Any]]:
    rng = demo.rng
    if spec.key == "daily-inspection":
        disk = 70 + (HISTORY_DAYS - days_ago) * 0.7 + rng.uniform(-0.5, 0.5)
        app = {"host": "app-1"}
        return [
            {"name": "host_cpu_used_pct", "value": round(rng.uniform(22, 61), 1), "unit": "%", "labels": app},
            {"name": "host_memory_used_pct", "value": round(rng.uniform(55, 72), 1), "unit": "%", "labels": app},
            {"name": "disk_used_pct", "value": round(disk, 1), "unit": "%",
             "labels": {"host": "db-1", "mount": "/var/lib/postgresql"}},
        ]
    if spec.key in ("backup", "backup-full"):
        return [{"name": "backup_duration_seconds", "value": round(rng.uniform(80, 140), 1), "unit": "s",
                 "labels": {"source": "postgres-main"}}]
    if spec.key == "restore-drill":
        return [{"name": "restore_drill_rto_seconds", "value": round(rng.uniform(300, 420)), "unit": "s",
                 "labels": {"source": "postgres-main"}}]
    return []


def populate(demo: DemoContext) -> None:
    ws = demo.ws
    end = demo.now
    start = end - timedelta(days=HISTORY_DAYS)
    sync_tasks(ws.engine, ws.settings, now=start)
    with session_scope(ws.engine) as session:
        for task in session.query(Task):
            task.created_at = start
    total = len(DEFAULT_PLAN)
    with session_scope(ws.engine) as session:
        for n, spec in enumerate(DEFAULT_PLAN):
            demo.progress(f"run history of {spec.key}", n / total)
            if spec.key in OWN_HISTORY:
                continue
            cron, tz, owner, _, _ = effective(spec, ws.settings)
            for slot in _slots(spec, cron, tz, start, end):
                days_ago = (end - slot).days
                if spec.key == STALLED_TASK and days_ago < STALLED_DAYS:
                    continue
                incident = INCIDENTS.get((days_ago, spec.key))
                duration = timedelta(seconds=demo.rng.uniform(20, 600))
                run = Run(task_key=spec.key, trigger="scheduled" if cron != ON_DEMAND else "manual",
                          triggered_by="scheduler" if cron != ON_DEMAND else "release-bot", status="ok", slot=slot,
                          started_at=slot + timedelta(seconds=demo.rng.uniform(1, 9)), host="ops-1", pid=4242,
                          evidence={"owner": owner, "required_evidence": list(spec.evidence), "demo": True})
                run.finished_at = run.started_at + duration
                run.heartbeat_at = run.finished_at
                session.add(run)
                session.flush()
                statuses = []
                for step in spec.checks:
                    registered = get_check(step.name)
                    area = registered.area if registered else spec.area
                    status, summary = "ok", encode(msg("{check}: all within limits", check=step.name))
                    if incident and incident[0] == step.name:
                        status, summary = incident[1], incident[2]
                        session.add(FindingRow(run_id=run.id, check_name=step.name, area=area,
                                               severity=incident[1], title=incident[2], remedy=incident[3]))
                    statuses.append(status)
                    session.add(CheckRun(run_id=run.id, name=step.name, area=area, status=status,
                                         summary=summary, measurements=_measurements(demo, spec, days_ago),
                                         evidence={"demo": True}, started_at=run.started_at,
                                         duration_ms=duration.total_seconds() * 1000 / len(spec.checks)))
                worst = "crit" if "crit" in statuses else "warn" if "warn" in statuses else "ok"
                run.status = worst
                counts = {s: statuses.count(s) for s in set(statuses)}
                run.summary = encode(summary_of(counts, 0 if worst == "ok" else 1))
                if spec.needs_signoff:
                    run.signed_off_by, run.signed_off_at = owner, run.finished_at + timedelta(hours=3)
                    run.sign_off_comment = "Reviewed the journal; failover took longer than the target, ticket OPS-212."
        # the scheduler should not replay the month: each task's latest slot counts as handled
        from eduops.core.calendar import latest_slot

        for task in session.query(Task):
            task.last_slot = latest_slot(task.cron, task.timezone, end)
    demo.progress("calendar ready", 1.0)
    demo.notes["calendar"] = f"{HISTORY_DAYS} days of run history; {STALLED_TASK} is overdue"
