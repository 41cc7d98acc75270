"""`/metrics`: eduops's own numbers and the latest value of every collected series, Prometheus format."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy.engine import Engine

from eduops.alerting.models import AlertState, Delivery, MetricSample, MetricSeries
from eduops.core.models import Run
from eduops.db import session_scope

_BAD = re.compile(r"[^a-zA-Z0-9_:]")
FRESH = timedelta(minutes=15)


def metric_name(name: str) -> str:
    cleaned = _BAD.sub("_", name)
    return cleaned if cleaned and not cleaned[0].isdigit() else f"_{cleaned}"


class StoreCollector:
    def __init__(self, engine: Engine, now: datetime | None = None) -> None:
        self.engine, self.now = engine, now

    def collect(self) -> Iterator[Any]:
        now = self.now or datetime.now(UTC)
        with session_scope(self.engine) as session:
            newest = (
                sa.select(MetricSample.series_id, sa.func.max(MetricSample.ts).label("ts"))
                .where(MetricSample.ts >= now - FRESH)
                .group_by(MetricSample.series_id)
                .subquery()
            )
            rows = session.execute(
                sa.select(MetricSeries.name, MetricSeries.labels, MetricSample.value)
                .join(newest, newest.c.series_id == MetricSeries.id)
                .join(
                    MetricSample, sa.and_(MetricSample.series_id == newest.c.series_id, MetricSample.ts == newest.c.ts)
                )
            ).all()
            alerts = session.execute(
                sa.select(AlertState.alertname, AlertState.state, sa.func.count()).group_by(
                    AlertState.alertname, AlertState.state
                )
            ).all()
            deliveries = session.execute(
                sa.select(Delivery.channel, Delivery.status, sa.func.count()).group_by(
                    Delivery.channel, Delivery.status
                )
            ).all()
            runs = session.execute(
                sa.select(Run.task_key, Run.status, sa.func.count()).group_by(Run.task_key, Run.status)
            ).all()
        families: dict[str, tuple[GaugeMetricFamily, list[str]]] = {}
        seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
        for name, labels, value in rows:
            clean = metric_name(name)
            keys = sorted(metric_name(k) for k in labels)
            ident = (clean, tuple(sorted((metric_name(k), str(v)) for k, v in labels.items())))
            if ident in seen:
                continue
            seen.add(ident)
            family = families.get(f"{clean}|{keys}")
            if family is None:
                family = (GaugeMetricFamily(clean, f"collected by eduops: {name}", labels=keys), keys)
                families[f"{clean}|{keys}"] = family
            family[0].add_metric([str(labels.get(k, "")) for k in keys] if keys else [], float(value))
        merged: dict[str, GaugeMetricFamily] = {}
        for fam, _ in families.values():
            if fam.name in merged:  # same name, different label sets: one family, as Prometheus wants
                merged[fam.name].samples.extend(fam.samples)
            else:
                merged[fam.name] = fam
        yield from merged.values()
        a = GaugeMetricFamily("eduops_alerts", "alerts by name and state", labels=["alertname", "state"])
        for name, state, n in alerts:
            a.add_metric([name, state], n)
        yield a
        d = GaugeMetricFamily(
            "eduops_notifications", "delivered and failed notifications", labels=["channel", "status"]
        )
        for channel, status, n in deliveries:
            d.add_metric([channel, status], n)
        yield d
        r = GaugeMetricFamily("eduops_runs", "calendar runs by task and status", labels=["task", "status"])
        for task, status, n in runs:
            r.add_metric([task, status], n)
        yield r


def exposition(engine: Engine, now: datetime | None = None) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(engine, now))  # type: ignore[arg-type]
    return generate_latest(registry)
