"""Anomaly baseline: a metric against the same hour of the week over the last N weeks.

A value is anomalous when it lies outside median ± k·MAD (the MAD scaled by 1.4826 so k reads like
standard deviations). "Expected surge" windows (start of term, a scheduled large class) suppress the
flag. The result is stored as ``anomaly_score`` and ``anomaly_flag`` series, so rules can use it.
"""

from __future__ import annotations

import statistics
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from eduops.alerting.metric_store import DbSource, ingest
from eduops.alerting.models import ExpectedSurge
from eduops.alerting.promql import parse, selectors
from eduops.core.checks import Measurement
from eduops.db import session_scope

WEEK = 7 * 86400.0
HALF_HOUR = 1800.0
MAD_SCALE = 1.4826


def baseline(history: list[float]) -> tuple[float, float]:
    """(median, scaled MAD) of the same-hour values of past weeks."""
    median = statistics.median(history)
    mad = statistics.median(abs(v - median) for v in history) * MAD_SCALE
    return median, mad


def score(value: float, median: float, mad: float) -> float:
    """How many scaled MADs ``value`` lies from the median (0 when it is the median)."""
    if value == median:
        return 0.0
    spread = mad if mad > 0 else max(abs(median) * 0.01, 1e-9)
    return (value - median) / spread


def is_anomalous(value: float, history: list[float], k: float, min_weeks: int = 2) -> tuple[bool, float]:
    if len(history) < min_weeks:
        return False, 0.0
    median, mad = baseline(history)
    s = score(value, median, mad)
    return abs(s) > k, s


def in_surge(now: datetime, metric: str, surges: list[tuple[datetime, datetime, str]]) -> bool:
    return any(start <= now < end and (not m or m == metric) for start, end, m in surges)


def weekly_history(points: list[tuple[float, float | None]], now: float, weeks: int) -> list[float]:
    """The mean of each past week's values within half an hour of this time of the week."""
    out = []
    for w in range(1, weeks + 1):
        centre = now - w * WEEK
        values = [v for t, v in points if v is not None and centre - HALF_HOUR <= t <= centre + HALF_HOUR]
        if values:
            out.append(sum(values) / len(values))
    return out


def anomaly_measurements(
    engine: Engine, metric: str, now: datetime, weeks: int = 4, k: float = 3.0
) -> list[Measurement]:
    node = parse(metric)
    t = now.timestamp()
    source = DbSource(engine, now=t)
    source.preload([node], t - weeks * WEEK - HALF_HOUR, t)
    with session_scope(engine) as session:
        surges = [
            (s.starts_at, s.ends_at, s.metric)
            for s in session.scalars(
                sa.select(ExpectedSurge).where(ExpectedSurge.ends_at > now, ExpectedSurge.starts_at <= now)
            )
        ]
    suppressed = in_surge(now, metric, surges)
    out = []
    for labels, points in source.select(selectors(node)[0].matchers, t - weeks * WEEK - HALF_HOUR, t):
        recent = [v for ts, v in points if v is not None and t - 600 <= ts <= t]
        if not recent:
            continue
        flagged, s = is_anomalous(recent[-1], weekly_history(points, t, weeks), k)
        base = {k_: v for k_, v in labels if k_ != "__name__"} | {"metric": metric}
        out.append(Measurement("anomaly_score", round(s, 3), "", dict(base)))
        out.append(Measurement("anomaly_flag", 1.0 if flagged and not suppressed else 0.0, "", dict(base)))
    return out


def record_anomalies(
    engine: Engine, metrics: list[str], now: datetime | None = None, weeks: int = 4, k: float = 3.0
) -> int:
    now = now or datetime.now(UTC)
    rows = []
    for metric in metrics:
        for m in anomaly_measurements(engine, metric, now, weeks, k):
            rows.append((m.name, m.labels, m.value, now))
    return ingest(engine, rows)


def expected_surge(start: datetime, hours: float) -> tuple[datetime, datetime]:
    return start, start + timedelta(hours=hours)
