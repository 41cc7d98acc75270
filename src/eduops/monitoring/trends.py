"""Week-over-week performance trends: p95 endpoint and database latency, busiest hosts (pure + store)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine

from eduops.alerting.metric_store import DbSource
from eduops.alerting.promql import parse, selectors
from eduops.alerting.promql_funcs import quantile

WEEK = 7 * 86400.0
TRENDS = [("http_total_ms", "endpoint", 0.95), ("db_query_ms", "db", 0.95), ("cpu_used_pct", "host", 0.95)]


@dataclass
class Trend:
    metric: str
    subject: str
    this_week: float
    last_week: float | None

    @property
    def change_pct(self) -> float | None:
        if self.last_week in (None, 0):
            return None
        assert self.last_week is not None
        return (self.this_week - self.last_week) / self.last_week * 100


def judge_trend(t: Trend, worse_pct: float = 20.0) -> str:
    """ "worse", "better" or "steady" (a change under ``worse_pct`` either way is steady)."""
    change = t.change_pct
    if change is None or abs(change) < worse_pct:
        return "steady"
    return "worse" if change > 0 else "better"


def weekly_trends(engine: Engine, now: datetime) -> list[Trend]:
    t = now.timestamp()
    out = []
    for metric, key, q in TRENDS:
        node = parse(metric)
        source = DbSource(engine, raw_days=14, now=t)
        source.preload([node], t - 2 * WEEK, t)
        for labels, points in source.select(selectors(node)[0].matchers, t - 2 * WEEK, t):
            this = [v for ts, v in points if v is not None and ts > t - WEEK]
            last = [v for ts, v in points if v is not None and ts <= t - WEEK]
            if this:
                out.append(
                    Trend(metric, dict(labels).get(key, "?"), quantile(q, this), quantile(q, last) if last else None)
                )
    return out
