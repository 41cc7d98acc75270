"""eduops watching itself: its own health as series in the metric store (so `/metrics`, charts and the
rules in ``rules/eduops.yml`` see them), recorded by the process leading alerting every ``PERIOD_S``.

- ``eduops_scheduler_lag_seconds``: how long the oldest scheduled slot that is due has waited unclaimed
  (a healthy scheduler claims a slot within ``scheduler.tick_seconds``);
- ``eduops_overdue_tasks``: calendar tasks that have not run within their cadence plus grace;
- ``eduops_delivery_queue_depth``: notifications waiting in the leader's channel queues (rate limits);
- ``eduops_notifications_failed_1h`` and ``eduops_notifications_last_sent_age_seconds``;
- ``eduops_ingest_journal_bytes``: accepted events in the ingest journal not yet loaded into the store;
- ``eduops_store_bytes{store}``: the state database (SQLite) and the DuckDB stores of the workspace.
The age of the last backup of eduops's own state is ``backup_last_success_age_seconds{source="eduops-state"}``,
which the backup checks record.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from eduops.alerting.metric_store import ingest
from eduops.alerting.models import Delivery
from eduops.config import Settings
from eduops.core.calendar import calendar, effective, latest_slot
from eduops.core.models import Task
from eduops.core.plan import DEFAULT_PLAN
from eduops.db import session_scope

PERIOD_S = 15.0
Sample = tuple[str, dict[str, str], float]


def scheduler_lag(slots: Iterable[tuple[datetime | None, datetime | None, datetime | None]], now: datetime) -> float:
    """Seconds the oldest due, unclaimed slot has waited; each item is (latest due slot, last claimed slot,
    when the task joined the calendar). A slot from before the task joined is not owed."""
    waited = [(now - due).total_seconds() for due, claimed, joined in slots
              if due is not None and due <= now and (claimed is None or claimed < due)
              and (joined is None or joined <= due)]
    return max(waited, default=0.0)


def folder_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else 0


def store_sizes(settings: Settings) -> list[Sample]:
    """Sizes of the workspace's stores and the ingest journal (no domain code needed: files by name)."""
    home = settings.home
    found: list[Sample] = []
    if settings.state_url.startswith("sqlite"):
        db = Path(settings.state_url.split("///", 1)[-1])
        found.append(("eduops_store_bytes", {"store": "state"},
                      float(sum(folder_bytes(p) for p in (db, db.with_name(db.name + "-wal"))))))
    for path in sorted(home.glob("*.duckdb")):
        found.append(("eduops_store_bytes", {"store": path.stem},
                      float(folder_bytes(path) + folder_bytes(path.with_name(path.name + ".wal")))))
    journal = sum(folder_bytes(p) for p in home.glob("*.journal"))
    found.append(("eduops_ingest_journal_bytes", {}, float(journal)))
    return found


def measure(engine: Engine, settings: Settings, now: datetime, queue_depth: int) -> list[Sample]:
    entries = calendar(engine, settings, now)
    with session_scope(engine) as session:
        tasks = {k: (last, created) for k, last, created in session.execute(
            sa.select(Task.key, Task.last_slot, Task.created_at)).tuples().all()}
        failed = session.scalar(sa.select(sa.func.count()).select_from(Delivery).where(
            Delivery.status == "failed", Delivery.queued_at >= now - timedelta(hours=1))) or 0
        last_sent = session.scalar(sa.select(sa.func.max(Delivery.sent_at)).where(Delivery.status == "sent"))
    slots = []
    for spec in DEFAULT_PLAN:
        cron, tz, _owner, enabled, _grace = effective(spec, settings)
        if enabled and spec.key in tasks:
            last, created = tasks[spec.key]
            slots.append((latest_slot(cron, tz, now), last, created))
    samples: list[Sample] = [
        ("eduops_scheduler_lag_seconds", {}, scheduler_lag(slots, now)),
        ("eduops_overdue_tasks", {}, float(sum(1 for e in entries if e.overdue))),
        ("eduops_delivery_queue_depth", {}, float(queue_depth)),
        ("eduops_notifications_failed_1h", {}, float(failed)),
    ]
    if last_sent is not None:
        samples.append(("eduops_notifications_last_sent_age_seconds", {}, (now - last_sent).total_seconds()))
    return samples + store_sizes(settings)


def record(engine: Engine, settings: Settings, now: datetime, queue_depth: int) -> int:
    return ingest(engine, [(name, labels, value, now) for name, labels, value in
                           measure(engine, settings, now, queue_depth)])


# what the console page shows, in this order: (series, what it is (a msgid), unit)
SHOWN = (
    ("eduops_scheduler_lag_seconds", "Scheduler lag", "s"),
    ("eduops_overdue_tasks", "Overdue tasks", ""),
    ("eduops_delivery_queue_depth", "Notifications waiting", ""),
    ("eduops_notifications_failed_1h", "Failed notifications (1 h)", ""),
    ("eduops_notifications_last_sent_age_seconds", "Last notification sent", "s"),
    ("eduops_ingest_journal_bytes", "Ingest journal backlog", "bytes"),
    ("eduops_store_bytes", "Store size", "bytes"),
    ("backup_last_success_age_seconds", "Last backup of eduops's own state", "s"),
)


def latest(engine: Engine) -> list[dict[str, object]]:
    """The newest recorded value of each self-health series (what the rules see), in ``SHOWN`` order."""
    from eduops.alerting.models import MetricSample, MetricSeries

    names = [name for name, _label, _unit in SHOWN]
    with session_scope(engine) as session:
        newest = (sa.select(MetricSample.series_id, sa.func.max(MetricSample.ts).label("ts"))
                  .join(MetricSeries, MetricSeries.id == MetricSample.series_id)
                  .where(MetricSeries.name.in_(names)).group_by(MetricSample.series_id).subquery())
        rows = session.execute(
            sa.select(MetricSeries.name, MetricSeries.labels, MetricSample.value, MetricSample.ts)
            .join(newest, newest.c.series_id == MetricSeries.id)
            .join(MetricSample, sa.and_(MetricSample.series_id == newest.c.series_id, MetricSample.ts == newest.c.ts))
        ).all()
    order = {name: (i, label, unit) for i, (name, label, unit) in enumerate(SHOWN)}
    found = []
    for name, labels, value, ts in rows:
        if name == "backup_last_success_age_seconds" and labels.get("source") != "eduops-state":
            continue
        i, label, unit = order[name]
        found.append({"name": name, "labels": dict(labels), "label": label, "unit": unit, "value": float(value),
                      "at": ts, "order": (i, sorted(labels.items()))})
    return sorted(found, key=lambda r: r["order"])  # type: ignore[arg-type,return-value]


def shown_value(value: float, unit: str) -> str:
    """A value as a person reads it: durations in s/min/h/d, sizes in KiB/MiB/GiB."""
    if unit == "s":
        for size, suffix in ((86400, "d"), (3600, "h"), (60, "min")):
            if value >= size:
                return f"{value / size:.1f} {suffix}"
        return f"{value:.0f} s"
    if unit == "bytes":
        for size, suffix in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
            if value >= size:
                return f"{value / size:.1f} {suffix}"
        return f"{value:.0f} B"
    return f"{value:g}"
