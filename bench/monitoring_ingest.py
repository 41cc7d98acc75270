"""Sample ingestion into the metric store: samples per second through ``metric_store.ingest`` (series
lookup, creation of new series, one transaction) against a baseline measured in the same run: a bare
``executemany`` INSERT of the same rows into the same SQLite table with the series ids already known.
Run: .venv/bin/python bench/monitoring_ingest.py
"""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from eduops.alerting.metric_store import ingest
from eduops.alerting.models import MetricSample, MetricSeries
from eduops.db import make_engine, upgrade

SERIES, ROUNDS = 2000, 10


def main() -> None:
    url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'ingest.db'}"
    upgrade(url)
    engine = make_engine(url)
    now = datetime.now(UTC)
    labels = [{"host": f"h{i % 50}", "mount": f"/m{i}"} for i in range(SERIES)]
    first = [("disk_used_pct", lb, 1.0, now) for lb in labels]
    began = time.perf_counter()
    ingest(engine, first)
    create_s = time.perf_counter() - began

    began = time.perf_counter()
    for r in range(1, ROUNDS + 1):
        ingest(engine, [("disk_used_pct", lb, float(r), now + timedelta(seconds=r)) for lb in labels])
    ingest_s = time.perf_counter() - began

    with engine.connect() as conn:
        ids = conn.execute(sa.select(MetricSeries.id).order_by(MetricSeries.id)).scalars().all()
    began = time.perf_counter()
    with engine.begin() as conn:
        for r in range(1, ROUNDS + 1):
            conn.execute(
                sa.insert(MetricSample),
                [{"series_id": sid, "ts": now + timedelta(seconds=100 + r), "value": float(r)} for sid in ids],
            )
    bare_s = time.perf_counter() - began
    n = SERIES * ROUNDS
    print(f"first sample of {SERIES:,} new series: {SERIES / create_s:,.0f} samples/s (creates the series)")
    print(
        f"{n:,} samples to existing series: eduops ingest {n / ingest_s:,.0f} samples/s, "
        f"bare INSERT {n / bare_s:,.0f} samples/s; ratio {ingest_s / bare_s:.2f}x the bare insert's time"
    )


if __name__ == "__main__":
    main()
