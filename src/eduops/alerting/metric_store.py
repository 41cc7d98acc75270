"""The metric store in the state database: PromQL over stored samples, 5-minute roll-ups, retention.

Raw samples (``metric_samples``) are kept ``raw_days`` (7 by default); five-minute roll-ups
(min/avg/max/count in ``metric_rollups``) ``rollup_days`` (90). A query older than the raw
retention reads the roll-ups' averages.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from eduops.alerting.memory_source import MemorySource, _Series
from eduops.alerting.models import MetricRollup, MetricSample, MetricSeries
from eduops.alerting.promql import Matcher, Node, parse, selectors, value_type
from eduops.alerting.promql_eval import LOOKBACK_SECONDS, Labels, Points, Sample, evaluate
from eduops.db import session_scope
from eduops.errors import UsageError

ROLLUP_SECONDS = 300
deletions = 0  # raw samples deleted by this process so far: a held window (series_window) reloads after one


def to_dt(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


class DbSource:
    """A SeriesSource over the state database; loads what a set of expressions needs once per window."""

    def __init__(self, engine: Engine, raw_days: float = 7.0, now: float | None = None) -> None:
        self.engine = engine
        self.raw_days = raw_days
        self.now = now  # the clock the raw retention counts from (default: the window's end)
        self.mem = MemorySource()
        self.window: tuple[float, float] | None = None

    def preload(self, nodes: list[Node], start: float, end: float) -> None:
        """Fetch every series the expressions select, with their samples in ``[start, end]``."""
        names: set[str] = set()
        for node in nodes:
            for sel in selectors(node):
                names.add(sel.name)
        self.window = (start, end)
        self.mem = MemorySource()
        by_id: dict[int, _Series] = {}
        with self.engine.connect() as session:  # Core rows: no ORM loading on the hot path
            query = sa.select(MetricSeries.id, MetricSeries.name, MetricSeries.labels)
            if "" not in names:
                query = query.where(MetricSeries.name.in_(sorted(names)))
            for sid, name, labels in session.execute(query):
                values = {**labels, "__name__": name}
                key: Labels = tuple(sorted(values.items()))
                series = _Series(key, values)
                self.mem.by_name.setdefault(name, {})[key] = series
                by_id[sid] = series
            ids = list(by_id)
            raw_from = max(start, (self.now or end) - self.raw_days * 86400 + ROLLUP_SECONDS)
            if start < raw_from:
                for sid, ts, total, count in self._chunks(session, MetricRollup, ids, start, raw_from):
                    t = ts.timestamp() + ROLLUP_SECONDS
                    by_id[sid].times.append(t)
                    by_id[sid].points.append((t, total / max(count, 1)))
            for sid, ts, value in self._chunks(session, MetricSample, ids, raw_from, end):
                t = ts.timestamp()
                by_id[sid].times.append(t)
                by_id[sid].points.append((t, value))

    @staticmethod
    def _chunks(session: Any, table: Any, ids: list[int], start: float, end: float) -> Iterator[Any]:
        cols = (
            (table.series_id, table.ts, table.sum_value, table.count)
            if table is MetricRollup
            else (table.series_id, table.ts, table.value)
        )
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            yield from session.execute(
                sa.select(*cols)
                .where(table.series_id.in_(chunk), table.ts >= to_dt(start), table.ts <= to_dt(end))
                .order_by(table.series_id, table.ts)
            )

    def series_count(self) -> int:
        return self.mem.series_count()

    def select(self, matchers: tuple[Matcher, ...], start: float, end: float) -> Iterator[tuple[Labels, Points]]:
        return self.mem.select(matchers, start, end)


def max_range(node: Node) -> float:
    """The longest look-back an expression needs (its ranges and offsets, or the 5-minute lookback)."""
    from eduops.alerting.promql import MatrixSelector

    longest = LOOKBACK_SECONDS

    def walk(n: Any) -> None:
        nonlocal longest
        if isinstance(n, MatrixSelector):
            longest = max(longest, n.range + n.selector.offset)
            return
        for attr in ("expr", "lhs", "rhs", "selector"):
            if hasattr(n, attr):
                walk(getattr(n, attr))
        for arg in getattr(n, "args", ()):
            walk(arg)
        if hasattr(n, "offset") and hasattr(n, "matchers"):
            longest = max(longest, LOOKBACK_SECONDS + n.offset)

    walk(node)
    return longest


def quote_label(value: str) -> str:
    """A label value inside double quotes in PromQL."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def expression_for(name_or_expr: str, labels: dict[str, str] | None = None) -> str:
    """``cpu_used_pct`` + {host: a} → ``cpu_used_pct{host="a"}``; a full expression passes through."""
    if not labels:
        return name_or_expr
    if not all(c.isalnum() or c in "_:" for c in name_or_expr):
        raise UsageError("--labels only goes with a metric name; put matchers in the expression instead")
    inner = ",".join(f'{k}="{quote_label(v)}"' for k, v in sorted(labels.items()))
    return f"{name_or_expr}{{{inner}}}"


def query_range(
    engine: Engine,
    expr: str,
    start: datetime,
    end: datetime,
    step: float,
    raw_days: float = 7.0,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Evaluate ``expr`` every ``step`` seconds from ``start`` to ``end``: a list of series with points."""
    if step <= 0:
        raise UsageError("step must be positive")
    points_wanted = (end - start).total_seconds() / step
    if points_wanted > 11000:
        raise UsageError(f"{points_wanted:.0f} points per series is too many (at most 11,000); raise the step")
    node = parse(expr)
    if value_type(node) not in ("vector", "scalar"):
        raise UsageError(f"{expr}: a range query needs an instant vector or a scalar, not a {value_type(node)}; "
                         "wrap a range such as up[5m] in a function, e.g. rate(up[5m]) or max_over_time(up[5m])")
    source = DbSource(engine, raw_days, (now or datetime.now(UTC)).timestamp())
    s, e = start.timestamp(), end.timestamp()
    source.preload([node], s - max_range(node), e)
    out: dict[Labels, dict[str, Any]] = {}
    t = s
    while t <= e + 1e-9:
        value = evaluate(node, source, t)
        vector = [Sample((), value)] if isinstance(value, float) else value
        for sample in vector:
            entry = out.setdefault(sample.labels, {"metric": dict(sample.labels), "points": []})
            entry["points"].append([to_dt(t).isoformat(), sample.value])
        t += step
    return sorted(out.values(), key=lambda x: sorted(x["metric"].items()))


def rollup(engine: Engine, now: datetime) -> int:
    """Roll finished five-minute buckets of raw samples up; returns the number of roll-up rows written."""
    cutoff = to_dt((now.timestamp() // ROLLUP_SECONDS) * ROLLUP_SECONDS)
    written = 0
    with session_scope(engine) as session:
        last = session.scalar(sa.select(sa.func.max(MetricRollup.ts)))
        since = (
            (last + timedelta(seconds=ROLLUP_SECONDS))
            if last
            else session.scalar(sa.select(sa.func.min(MetricSample.ts)))
        )
        if since is None or since >= cutoff:
            return 0
        buckets: dict[tuple[int, float], list[float]] = {}
        rows = session.execute(
            sa.select(MetricSample.series_id, MetricSample.ts, MetricSample.value).where(
                MetricSample.ts >= to_dt((since.timestamp() // ROLLUP_SECONDS) * ROLLUP_SECONDS),
                MetricSample.ts < cutoff,
            )
        )
        for sid, ts, value in rows:
            start = (ts.timestamp() // ROLLUP_SECONDS) * ROLLUP_SECONDS
            stats = buckets.setdefault((sid, start), [value, value, 0.0, 0])
            stats[0], stats[1] = min(stats[0], value), max(stats[1], value)
            stats[2] += value
            stats[3] += 1
        payload = [
            {
                "series_id": sid,
                "ts": to_dt(start),
                "min_value": st[0],
                "max_value": st[1],
                "sum_value": st[2],
                "count": int(st[3]),
            }
            for (sid, start), st in buckets.items()
        ]
        for i in range(0, len(payload), 1000):
            session.execute(sa.insert(MetricRollup), payload[i : i + 1000])
        written = len(payload)
    return written


def apply_retention(engine: Engine, now: datetime, raw_days: float = 7.0, rollup_days: float = 90.0) -> tuple[int, int]:
    """Delete raw samples older than ``raw_days`` and roll-ups older than ``rollup_days``."""
    global deletions
    with session_scope(engine) as session:
        raw = session.execute(sa.delete(MetricSample).where(MetricSample.ts < now - timedelta(days=raw_days)))
        rolled = session.execute(sa.delete(MetricRollup).where(MetricRollup.ts < now - timedelta(days=rollup_days)))
        counts = getattr(raw, "rowcount", 0) or 0, getattr(rolled, "rowcount", 0) or 0
    if counts[0]:
        deletions += 1
    return counts


def series_ids_bulk(session: Any, items: list[tuple[str, dict[str, str], str]]) -> dict[str, int]:
    """Ids for (name, labels, unit) series; the missing ones are created in one INSERT."""
    from eduops.alerting.metrics import series_ids, series_key

    wanted = {series_key(n, lb): (n, lb, u) for n, lb, u in items}
    found: dict[str, int] = {}
    keys = list(wanted)
    for i in range(0, len(keys), 500):
        found.update(
            session.execute(sa.select(MetricSeries.key, MetricSeries.id).where(MetricSeries.key.in_(keys[i : i + 500])))
            .tuples()
            .all()
        )
    missing = [k for k in keys if k not in found]
    if missing:
        try:
            with session.begin_nested():
                session.execute(
                    sa.insert(MetricSeries),
                    [
                        {"name": wanted[k][0], "labels": dict(wanted[k][1]), "key": k, "unit": wanted[k][2]}
                        for k in missing
                    ],
                )
        except sa.exc.IntegrityError:  # another process created some of them meanwhile
            return series_ids(session, list(wanted.values()))
        for i in range(0, len(missing), 500):
            found.update(
                session.execute(
                    sa.select(MetricSeries.key, MetricSeries.id).where(MetricSeries.key.in_(missing[i : i + 500]))
                )
                .tuples()
                .all()
            )
    return found


def ingest(engine: Engine, samples: list[tuple[str, dict[str, str], float, datetime]], unit: str = "") -> int:
    """Store (name, labels, value, ts) samples in one transaction; returns how many were stored."""
    from eduops.alerting.metrics import series_key

    if not samples:
        return 0
    with session_scope(engine) as session:
        ids = series_ids_bulk(session, [(n, lb, unit) for n, lb, _, _ in samples])
        rows = [{"series_id": ids[series_key(n, lb)], "ts": ts, "value": v} for n, lb, v, ts in samples]
        for i in range(0, len(rows), 5000):
            session.execute(sa.insert(MetricSample), rows[i : i + 5000])
    return len(samples)

