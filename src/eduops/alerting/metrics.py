"""Measurements become time series in the state database."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from eduops.alerting.models import MetricSample, MetricSeries
from eduops.core.checks import Measurement


def series_key(name: str, labels: dict[str, str]) -> str:
    """The canonical Prometheus-style identity of a series: name{a="1",b="2"}."""
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{name}{{{inner}}}"


def series_ids(session: Session, items: Iterable[tuple[str, dict[str, str], str]]) -> dict[str, int]:
    """Ids for (name, labels, unit) series, creating the missing ones."""
    wanted = {series_key(n, lb): (n, lb, u) for n, lb, u in items}
    found = dict(
        session.execute(sa.select(MetricSeries.key, MetricSeries.id).where(MetricSeries.key.in_(list(wanted))))
        .tuples()
        .all()
    )
    for key, (name, labels, unit) in wanted.items():
        if key not in found:
            row = MetricSeries(name=name, labels=dict(labels), key=key, unit=unit)
            session.add(row)
            session.flush()
            found[key] = row.id
    return found


def record(session: Session, measurements: Iterable[Measurement], ts: datetime) -> int:
    """Store measurements as samples at ``ts``; returns how many were stored."""
    items = list(measurements)
    if not items:
        return 0
    ids = series_ids(session, [(m.name, {k: str(v) for k, v in m.labels.items()}, m.unit) for m in items])
    rows = [
        {"series_id": ids[series_key(m.name, {k: str(v) for k, v in m.labels.items()})], "ts": ts, "value": m.value}
        for m in items
    ]
    session.execute(sa.insert(MetricSample), rows)
    return len(rows)
