"""Monitoring's share of the demo: a week of metrics for hosts, endpoints and databases — a disk filling
up on db-1 and a database that slows down at the evening peak — with the alert history the shipped
rules really produce on that data."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from eduops.alerting.alerts import RuleEvaluator, acknowledge, diff
from eduops.alerting.memory_source import MemorySource
from eduops.alerting.metric_store import ingest
from eduops.alerting.promql_eval import Sample, evaluate
from eduops.alerting.rules import AlertingRule
from eduops.alerting.service import add_surge, create_silence
from eduops.alerting.settings import alerting_settings
from eduops.core.demo import DemoContext

STEP = 300.0
DAYS = 7
HOSTS = ("web-1", "web-2", "db-1")
ENDPOINTS = {
    "lms": "https://learn.example.edu/health",
    "live": "https://live.example.edu/api/ping",
    "api": "https://api.example.edu/v1/health",
}
DATABASES = {"lms-postgres": "postgresql", "cache-redis": "redis"}
DISK_BYTES = 500e9


def peak(local_hour: float) -> float:
    """0…1: how busy the platform is (evening classes 19–21h, a smaller lunch bump)."""
    evening = math.exp(-((local_hour - 20) ** 2) / 2.0)
    lunch = 0.4 * math.exp(-((local_hour - 12.5) ** 2) / 1.5)
    return min(evening + lunch, 1.0)


def generate(demo: DemoContext) -> list[tuple[str, dict[str, str], float, datetime]]:
    rng, now = demo.rng, demo.now.replace(second=0, microsecond=0)
    start = now - timedelta(days=DAYS)
    tz = demo.ws.settings.tz
    rows: list[tuple[str, dict[str, str], float, datetime]] = []
    steps = int(DAYS * 86400 / STEP)
    for i in range(steps + 1):
        ts = start + timedelta(seconds=i * STEP)
        local = ts.astimezone(tz)
        busy = peak(local.hour + local.minute / 60)
        progress = i / steps
        for host in HOSTS:
            h = {"host": host}
            cpu = 20 + 60 * busy + rng.gauss(0, 4) + (12 if host == "db-1" and busy > 0.8 else 0)
            rows.append(("cpu_used_pct", h, max(min(cpu, 100), 0), ts))
            rows.append(("memory_used_pct", h, 55 + 15 * busy + rng.gauss(0, 2), ts))
            if host == "db-1":  # WAL and logs fill the data volume: from 60% to 93% in a week, faster at the end
                used = 0.60 + 0.33 * progress**1.6
            else:
                used = 0.42 + 0.02 * math.sin(i / 50)
            m = {**h, "mount": "/var/lib/postgresql" if host == "db-1" else "/"}
            rows.append(("disk_used_pct", m, used * 100, ts))
            rows.append(("disk_free_bytes", m, (1 - used) * DISK_BYTES, ts))
        for name in ENDPOINTS:
            e = {"endpoint": name}
            down = name == "live" and timedelta(days=2, hours=3) < now - ts < timedelta(days=2, hours=3, minutes=25)
            rows.append(("endpoint_up", {**e, "kind": "http"}, 0.0 if down else 1.0, ts))
            rows.append(("http_total_ms", e, 80 + 250 * busy**2 + rng.gauss(0, 10), ts))
        for db, kind in DATABASES.items():
            d = {"db": db, "kind": kind}
            slow = kind == "postgresql" and busy > 0.85 and local.weekday() in (1, 3)  # Tue/Thu big classes
            rows.append(("db_query_ms", d, (650 + rng.gauss(0, 40)) if slow else 8 + 30 * busy + rng.gauss(0, 2), ts))
            rows.append(("db_up", d, 1.0, ts))
        errors = 0.5 + rng.random() + (60 if timedelta(days=4) < now - ts < timedelta(days=4, minutes=20) else 0)
        rows.append(("log_error_lines_per_min", {"file": "/var/log/lms/app.log"}, errors, ts))
    return rows


def replay_alerts(demo: DemoContext, rows: list[tuple[str, dict[str, str], float, datetime]]) -> int:
    """Evaluate the shipped rules over the week, every 5 minutes, and store the alert history."""
    from eduops.alerting.pipeline import active_groups

    source = MemorySource()
    for name, labels, value, ts in rows:
        source.add({**labels, "__name__": name}, ts.timestamp(), value)
    groups = active_groups(demo.ws.settings, alerting_settings(demo.ws.settings))
    evaluator = RuleEvaluator(demo.ws.engine, demo.ws.settings, groups, STEP)
    rules = [r for g in groups for r in g.rules if isinstance(r, AlertingRule)]
    t = min(ts for *_, ts in rows).timestamp()
    end = max(ts for *_, ts in rows).timestamp()
    events = 0
    while t <= end:
        transitions = []
        for rule in rules:
            result = evaluate(rule.query, source, t)
            before = {k: a.state for k, a in rule.active.items()}
            rule.step(t, [Sample((), result)] if isinstance(result, float) else result)
            transitions += diff(rule, before)
        if transitions:
            evaluator.persist(transitions, t)
            events += len(transitions)
        t += STEP
    return events


def populate(demo: DemoContext) -> None:
    demo.progress("a week of host, endpoint and database metrics", 0.0)
    rows = generate(demo)
    ingest(demo.ws.engine, rows)
    demo.progress("alert history from the shipped rules", 0.5)
    replay_alerts(demo, rows)
    # one live evaluation on the stored data: adds what only exists now (an overdue calendar task)
    from eduops.alerting.pipeline import active_groups

    live = RuleEvaluator(
        demo.ws.engine, demo.ws.settings, active_groups(demo.ws.settings, alerting_settings(demo.ws.settings)), STEP
    )
    live.restore()
    live.evaluate(demo.now.timestamp())
    from eduops.alerting.alerts import current_alerts

    firing = [a for a in current_alerts(demo.ws.engine) if a["state"] == "firing"]
    if firing:
        acknowledge(demo.ws.engine, firing[0]["fingerprint"], demo.admin_user)
    create_silence(
        demo.ws.engine,
        ['alertname="HostHighCPU"', 'host="web-2"'],
        demo.admin_user,
        "web-2 is being re-imaged tonight",
        duration=4 * 3600,
        now=demo.now,
    )
    term = demo.now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=3)
    add_surge(demo.ws.engine, "Start of the autumn term", term, term + timedelta(days=2), author=demo.admin_user)
    demo.notes["monitoring"] = "alerts at /alerts, metric charts at /monitoring"
    demo.progress("done", 1.0)


def _utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC)
