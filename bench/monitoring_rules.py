"""One rule-evaluation cycle: 200 alerting rules over 10,000 series.

Measures the PromQL evaluation + alert state step for every rule against a baseline measured in the
same run: one plain Python pass that reads the newest sample of every series each rule selects and
compares it with the threshold (the least work any evaluator must do). Also times loading the
cycle's window of 10,000 series from the state database (SQLite). Target: a cycle under 1 s.
Run: .venv/bin/python bench/monitoring_rules.py
"""

from __future__ import annotations

import random
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from eduops.alerting.memory_source import MemorySource
from eduops.alerting.promql import parse
from eduops.alerting.promql_eval import Sample, evaluate
from eduops.alerting.rules import AlertingRule

METRICS, PER_METRIC, RULES = 50, 200, 200
NOW = 1_800_000_000.0
SAMPLES = 20  # 15-second scrapes over the last 5 minutes


def build() -> MemorySource:
    rng = random.Random(7)
    src = MemorySource()
    for m in range(METRICS):
        for s in range(PER_METRIC):
            labels = {"__name__": f"metric_{m}", "host": f"h{s % 40}", "instance": f"i{s}"}
            base = rng.uniform(0, 100)
            for k in range(SAMPLES):
                src.add(labels, NOW - (SAMPLES - 1 - k) * 15, base + k * (m % 3))
    return src


def rules() -> list[AlertingRule]:
    shapes = [
        "metric_{m} > 90",
        "avg_over_time(metric_{m}[5m]) > 95",
        "rate(metric_{m}[5m]) > 0.1",
        "sum by (host) (metric_{m}) > 1000",
        "max_over_time(metric_{m}[5m]) > 99 and metric_{m} > 50",
    ]
    out = []
    for r in range(RULES):
        expr = shapes[r % len(shapes)].format(m=r % METRICS)
        out.append(
            AlertingRule(
                f"Rule{r}",
                expr,
                parse(expr),
                hold=60.0,
                labels={"severity": "warning"},
                annotations={"summary": "{{ $labels.instance }} at {{ $value }}"},
            )
        )
    return out


def cycle(src: MemorySource, rs: list[AlertingRule], t: float) -> int:
    alerts = 0
    for rule in rs:
        value = evaluate(rule.query, src, t)
        rule.step(t, [Sample((), value)] if isinstance(value, float) else value)
        alerts += len(rule.active)
    return alerts


def baseline(src: MemorySource, rs: list[AlertingRule], t: float) -> int:
    hits = 0
    for r in range(len(rs)):
        for series in src.by_name[f"metric_{r % METRICS}"].values():
            latest = next((v for ts, v in reversed(series.points) if ts <= t), None)
            if latest is not None and latest > 90:
                hits += 1
    return hits


def db_window_load() -> tuple[float, int]:
    """Seconds to load one cycle's 5-minute window of 10,000 series from SQLite."""
    from eduops.alerting.metric_store import DbSource, ingest
    from eduops.db import make_engine, upgrade

    path = Path(tempfile.mkdtemp()) / "bench.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    engine = make_engine(url)
    rows = [
        (
            f"metric_{m}",
            {"host": f"h{s % 40}", "instance": f"i{s}"},
            float(k),
            datetime.fromtimestamp(NOW - k * 60, UTC),
        )
        for m in range(METRICS)
        for s in range(PER_METRIC)
        for k in range(5)
    ]
    ingest(engine, rows)
    nodes = [r.query for r in rules()]
    began = time.perf_counter()
    source = DbSource(engine, now=NOW)
    source.preload(nodes, NOW - 600, NOW)
    return time.perf_counter() - began, source.series_count()


def main() -> None:
    src = build()
    rs = rules()
    cycle(src, rs, NOW - 30)  # warm-up: alerts become pending
    times, base_times = [], []
    for i in range(3):
        began = time.perf_counter()
        alerts = cycle(src, rs, NOW + i)
        times.append(time.perf_counter() - began)
        began = time.perf_counter()
        baseline(src, rs, NOW + i)
        base_times.append(time.perf_counter() - began)
    best, base = min(times), min(base_times)
    print(
        f"{RULES} rules over {src.series_count():,} series ({SAMPLES} samples each): "
        f"cycle {best * 1000:.0f} ms ({alerts:,} active alerts), target < 1000 ms"
    )
    print(f"baseline (newest sample vs threshold, plain Python): {base * 1000:.0f} ms; ratio {best / base:.1f}x")
    load_s, series = db_window_load()
    print(
        f"loading the cycle's window of {series:,} series from SQLite: {load_s * 1000:.0f} ms; "
        f"cycle incl. load {(best + load_s) * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
