"""One rule-evaluation cycle end to end against the real state database: 200 alerting rules over 10,000
series, on SQLite and on PostgreSQL (a scratch database at 127.0.0.1:5432).

eduops: ``RuleEvaluator.evaluate`` as the running pipeline calls it every cycle: load the window every
rule needs from the store (series metadata and samples), evaluate the PromQL, step the alert states
and persist the transitions. Nothing is timed separately and added.
Baseline, in the same rounds: the least any evaluator must do with the same store: one plain SQL
query for the newest sample of every series in the window, joined to its series, and a plain Python
comparison with a threshold for each rule's series.

Goal (issue 18): a cycle with loading < 1 s in every round (the ratio to the baseline is in the note).

    .venv/bin/python bench/monitoring_rules.py [--series-per-metric 200] [--skip-pg] [--quick]
    (--quick: 50 series a metric = 2,500 series; EDUOPS_BENCH_PG names the PostgreSQL server)
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from harness import Goal, finish, interleaved, parse, parser, report, timed

from eduops.alerting.alerts import RuleEvaluator
from eduops.alerting.metric_store import ingest
from eduops.alerting.promql import parse as parse_promql
from eduops.alerting.rules import AlertingRule, RuleGroup
from eduops.config import load_settings
from eduops.db import make_engine, upgrade

METRICS, RULES = 50, 200
NOW = 1_800_000_000.0
SAMPLES = 20  # 15-second scrapes over the last 5 minutes
PG = os.environ.get("EDUOPS_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
SHAPES = [
    "metric_{m} > 90",
    "avg_over_time(metric_{m}[5m]) > 95",
    "rate(metric_{m}[5m]) > 0.1",
    "sum by (host) (metric_{m}) > 1000",
    "max_over_time(metric_{m}[5m]) > 99 and metric_{m} > 50",
]
NEWEST = """SELECT s.name, s.labels, x.value FROM metric_samples x
JOIN (SELECT series_id, max(ts) AS ts FROM metric_samples WHERE ts > :start AND ts <= :end GROUP BY series_id) n
  ON n.series_id = x.series_id AND n.ts = x.ts
JOIN metric_series s ON s.id = x.series_id"""


def rules() -> list[AlertingRule]:
    out = []
    for r in range(RULES):
        expr = SHAPES[r % len(SHAPES)].format(m=r % METRICS)
        out.append(AlertingRule(f"Rule{r}", expr, parse_promql(expr), hold=60.0, labels={"severity": "warning"},
                                annotations={"summary": "{{ $labels.instance }} at {{ $value }}"}))
    return out


def fill(engine: sa.Engine, per_metric: int, until: float) -> int:
    rng = random.Random(7)
    rows = []
    for m in range(METRICS):
        for s in range(per_metric):
            labels = {"host": f"h{s % 40}", "instance": f"i{s}"}
            base = rng.uniform(0, 100)
            for k in range(SAMPLES):
                t = until - (SAMPLES - 1 - k) * 15
                rows.append((f"metric_{m}", labels, base + k * (m % 3), datetime.fromtimestamp(t, UTC)))
    for i in range(0, len(rows), 50_000):
        ingest(engine, rows[i:i + 50_000])
    return METRICS * per_metric


def baseline(engine: sa.Engine, now: float) -> int:
    newest: dict[str, list[float]] = {}
    start, end = datetime.fromtimestamp(now - 300, UTC), datetime.fromtimestamp(now, UTC)
    with engine.connect() as conn:
        for name, _labels, value in conn.execute(sa.text(NEWEST), {"start": start, "end": end}):
            newest.setdefault(name, []).append(value)
    return sum(1 for r in range(RULES) for v in newest.get(f"metric_{r % METRICS}", []) if v > 90)


@contextmanager
def scratch_pg() -> Iterator[str]:
    name = f"eduops_bench_rules_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(f"{PG}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{PG}/{name}"
    finally:
        make_engine(f"{PG}/{name}").dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def measure(url: str, label: str, per_metric: int, rounds: int) -> None:
    upgrade(url)
    engine = make_engine(url)
    # samples up to NOW + rounds × 15 s, so every round's window is full
    series = fill(engine, per_metric, NOW + rounds * 15)
    home = Path(tempfile.mkdtemp(prefix="eduops-bench-rules-"))
    evaluator = RuleEvaluator(engine, load_settings(None, home=str(home)), [RuleGroup("bench", None, rules())], 15.0)
    evaluator.evaluate(NOW - 15)  # warm-up: alerts become pending and are persisted
    pairs = interleaved(rounds, lambda n: timed(lambda: evaluator.evaluate(NOW + n * 15)),
                        lambda n: timed(lambda: baseline(engine, NOW + n * 15)), label=f"{label} cycle seconds")
    active = sum(len(r.active) for g in evaluator.groups for r in g.rules if isinstance(r, AlertingRule))
    ratio = statistics.median(mine / base for mine, base in pairs)
    report(Goal(f"rule cycle with loading, {RULES} rules × {series:,} series, {label}", "< 1 s", "<", 1.0,
                every_round=True, unit="s"), [mine for mine, _ in pairs],
           f"{active:,} active alerts; median {ratio:.1f}× a newest-sample SQL query + threshold pass")


def main() -> int:
    p = parser(__doc__)
    p.add_argument("--series-per-metric", type=int, default=None, help="default 200 (10,000 series); --quick 50")
    p.add_argument("--skip-pg", action="store_true", help="SQLite only")
    args = parse(p)
    per_metric = args.series_per_metric or (50 if args.quick else 200)
    with tempfile.TemporaryDirectory() as tmp:
        measure(f"sqlite:///{Path(tmp) / 'bench.db'}", "SQLite", per_metric, args.rounds)
    if not args.skip_pg:
        with scratch_pg() as url:
            measure(url, "PostgreSQL", per_metric, args.rounds)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
