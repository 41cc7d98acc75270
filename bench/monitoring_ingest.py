"""Sample ingestion into the metric store: samples per second through ``metric_store.ingest`` (series
lookup, creation of new series, one transaction) against a baseline measured in the same run: a bare
``executemany`` INSERT of the same rows into the same SQLite table with the series ids already known,
in interleaved rounds. Goal: ingest ≤ 3× the bare insert's time (a guard on the series lookup's cost).
Run: .venv/bin/python bench/monitoring_ingest.py [--quick]   (--quick: 500 series)
"""

from __future__ import annotations

import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from harness import Goal, finish, interleaved, parse, parser, report, timed

from eduops.alerting.metric_store import ingest
from eduops.alerting.models import MetricSample, MetricSeries
from eduops.db import make_engine, upgrade

BATCHES = 10  # samples of every series per round
GOAL = Goal("metric ingest (existing series) / bare INSERT with known ids", "≤ 3× the bare insert", "<=", 3.0)


def main() -> int:
    args = parse(parser(__doc__))
    series = 500 if args.quick else 2000
    url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'ingest.db'}"
    upgrade(url)
    engine = make_engine(url)
    now = datetime.now(UTC)
    labels = [{"host": f"h{i % 50}", "mount": f"/m{i}"} for i in range(series)]
    create_s = timed(lambda: ingest(engine, [("disk_used_pct", lb, 1.0, now) for lb in labels]))
    with engine.connect() as conn:
        ids = conn.execute(sa.select(MetricSeries.id).order_by(MetricSeries.id)).scalars().all()

    def ours(n: int) -> float:
        def run() -> None:
            for r in range(BATCHES):
                t = now + timedelta(seconds=1 + n * 2 * BATCHES + r)
                ingest(engine, [("disk_used_pct", lb, float(r), t) for lb in labels])
        return timed(run)

    def bare(n: int) -> float:
        def run() -> None:
            for r in range(BATCHES):  # one transaction a batch, as ingest commits each call
                t = now + timedelta(seconds=1 + n * 2 * BATCHES + BATCHES + r)
                with engine.begin() as conn:
                    conn.execute(sa.insert(MetricSample),
                                 [{"series_id": sid, "ts": t, "value": float(r)} for sid in ids])
        return timed(run)

    pairs = interleaved(args.rounds, ours, bare, label="seconds")
    n = series * BATCHES
    print(f"first sample of {series:,} new series: {series / create_s:,.0f} samples/s (creates the series)")
    report(GOAL, [mine / base for mine, base in pairs],
           f"{n:,} samples a round to existing series; ingest {n / pairs[0][0]:,.0f} samples/s")
    return finish()


if __name__ == "__main__":
    sys.exit(main())
