"""The rules' look-back window of stored samples, kept in memory between evaluation cycles.

Each cycle reads only what changed since the last one: sample rows with a higher id than those already
read (so a late sample with an old timestamp still arrives), and the series of ids it has not seen. The
first cycle, a metric name no cycle needed before, or a longer look-back load that name's window in
full. Everything is thrown away and loaded again when the store went backwards (a restored or
replaced database: its newest sample id is below what was read), when this process deleted samples
(retention), when time runs backwards, when a window reaches past the raw retention (roll-ups answer
there) and every ``REBUILD_SECONDS`` of wall time.

Sample ids come from a sequence. SQLite hands them out in commit order; a server (PostgreSQL) may commit
a lower id after a higher one was read, so there the rows of the last ``SETTLE_SECONDS`` are read again
(ids already merged are skipped).
"""

from __future__ import annotations

import bisect
import time
from collections import deque
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from eduops.alerting import metric_store
from eduops.alerting.memory_source import MemorySource, _Series
from eduops.alerting.models import MetricSample, MetricSeries
from eduops.alerting.promql import Node, selectors
from eduops.alerting.promql_eval import Labels

SETTLE_SECONDS = 30.0  # how long a server's insert transaction may stay open and still be read
REBUILD_SECONDS = 3600.0
CHUNK = 500


def lookbacks(nodes: Iterable[Node]) -> dict[str, float]:
    """The look-back each metric name needs: the longest of the expressions that select it."""
    out: dict[str, float] = {}
    for node in nodes:
        longest = metric_store.max_range(node)
        for sel in selectors(node):
            out[sel.name] = max(out.get(sel.name, 0.0), longest)
    return out


class SeriesWindow:
    """Series and samples of the metric names the rules select, from ``now - look-back`` on."""

    def __init__(self, engine: Engine, raw_days: float = 7.0, clock: Any = time.monotonic) -> None:
        self.engine, self.raw_days, self.clock = engine, raw_days, clock
        self.settle = 0.0 if engine.dialect.name == "sqlite" else SETTLE_SECONDS
        self.reset()

    def reset(self) -> None:
        self.mem = MemorySource()
        self.lookback: dict[str, float] = {}  # name → seconds held
        self.series: dict[int, _Series | None] = {}  # id → series, None when its name is not held
        self.floor = 0  # every sample row with an id up to here has been read
        self.recent: set[int] = set()  # ids above the floor already read
        self.top = 0  # the highest id read
        self.marks: deque[tuple[float, int]] = deque()  # (clock, highest id read then)
        self.end = float("-inf")  # the newest ``now`` evaluated
        self.built = self.clock()
        self.generation = metric_store.deletions

    def load(self, nodes: list[Node], now: float) -> MemorySource:
        """Samples the expressions need at ``now``: the held window brought up to date."""
        wanted = lookbacks(nodes)
        if not wanted:
            return MemorySource()
        oldest = now - max(wanted.values())
        if "" in wanted or oldest < now - self.raw_days * 86400 + metric_store.ROLLUP_SECONDS:
            # a selector without a metric name, or a window reaching the roll-ups: read it all, hold nothing
            source = metric_store.DbSource(self.engine, self.raw_days)
            source.preload(nodes, oldest, now)
            return source.mem
        if (
            now < self.end
            or self.generation != metric_store.deletions
            or self.clock() - self.built >= REBUILD_SECONDS
        ):
            self.reset()
        with self.engine.connect() as conn:
            newest = conn.scalar(sa.select(sa.func.max(MetricSample.id))) or 0
            if newest < max(self.floor, self.top):  # the store went backwards: restored or replaced
                self.reset()
            fresh = not self.lookback
            self._read_new(conn, min(now - s for s in self.lookback.values()) if self.lookback else now)
            missing = {n: s for n, s in wanted.items() if s > self.lookback.get(n, -1.0)}
            if missing:
                self._read_names(conn, missing, now)
        self.end = now
        self._advance_floor(newest, fresh)
        self._trim(now)
        return self.mem

    def _read_new(self, conn: Any, oldest: float) -> None:
        """Merge the sample rows stored since the last cycle (by id) into the held series."""
        if not self.lookback:
            return
        rows = conn.execute(
            sa.select(MetricSample.id, MetricSample.series_id, MetricSample.ts, MetricSample.value).where(
                MetricSample.id > self.floor, MetricSample.ts >= metric_store.to_dt(oldest)
            )
        ).all()
        unknown = {sid for _id, sid, _ts, _v in rows if sid not in self.series}
        if unknown:
            self._read_series(conn, unknown)
        recent, series = self.recent, self.series
        for row_id, sid, ts, value in rows:
            held = series.get(sid)
            if held is None or row_id in recent:  # not held (a name loaded later reads it in full) or merged
                continue
            recent.add(row_id)
            self.top = max(self.top, row_id)
            _merge(held, ts.timestamp(), value)

    def _read_series(self, conn: Any, ids: set[int]) -> None:
        wanted = sorted(ids)
        for i in range(0, len(wanted), CHUNK):
            query = sa.select(MetricSeries.id, MetricSeries.name, MetricSeries.labels).where(
                MetricSeries.id.in_(wanted[i : i + CHUNK])
            )
            for sid, name, labels in conn.execute(query):
                self.series[sid] = self._hold(name, labels) if name in self.lookback else None

    def _hold(self, name: str, labels: dict[str, str]) -> _Series:
        values = {**labels, "__name__": name}
        key: Labels = tuple(sorted(values.items()))
        pool = self.mem.by_name.setdefault(name, {})
        held = pool.get(key)
        if held is None:
            held = pool[key] = _Series(key, values)
        return held

    def _read_names(self, conn: Any, wanted: dict[str, float], now: float) -> None:
        """Load these names' series and their samples from ``now - look-back`` on, in full."""
        for name in wanted:
            self.mem.by_name.pop(name, None)
        self.lookback.update(wanted)
        ids: list[int] = []
        for sid, name, labels in conn.execute(
            sa.select(MetricSeries.id, MetricSeries.name, MetricSeries.labels).where(
                MetricSeries.name.in_(sorted(wanted))
            )
        ):
            self.series[sid] = self._hold(name, labels)
            ids.append(sid)
        oldest = metric_store.to_dt(now - max(wanted.values()))
        for i in range(0, len(ids), CHUNK):
            rows = conn.execute(
                sa.select(MetricSample.id, MetricSample.series_id, MetricSample.ts, MetricSample.value)
                .where(MetricSample.series_id.in_(ids[i : i + CHUNK]), MetricSample.ts >= oldest)
                .order_by(MetricSample.series_id, MetricSample.ts)
            )
            for row_id, sid, ts, value in rows:
                if row_id > self.floor:  # read in full: merged now, skipped by the next cycle's new rows
                    self.recent.add(row_id)
                self.top = max(self.top, row_id)
                held = self.series[sid]
                assert held is not None
                _merge(held, ts.timestamp(), value)

    def _advance_floor(self, newest: int, fresh: bool) -> None:
        """Rows up to the highest id read ``settle`` seconds ago can no longer appear: forget their ids.
        A window loaded in full starts from the highest id there was when it was read (an insert still open
        on a server then, with a lower id, shows at the next rebuild)."""
        now = self.clock()
        if fresh:
            self.marks.clear()
        self.marks.append((now, newest))
        floor = newest if fresh else self.floor
        while self.marks and now - self.marks[0][0] >= self.settle:
            floor = max(floor, self.marks.popleft()[1])
        if floor > self.floor:
            self.floor = floor
            self.recent = {i for i in self.recent if i > floor}

    def _trim(self, now: float) -> None:
        for name, pool in self.mem.by_name.items():
            cutoff = now - self.lookback.get(name, 0.0)
            for held in pool.values():
                if held.times and held.times[0] < cutoff:
                    k = bisect.bisect_left(held.times, cutoff)
                    del held.times[:k], held.points[:k]


def _merge(series: _Series, t: float, value: float) -> None:
    if not series.times or series.times[-1] <= t:
        series.times.append(t)
        series.points.append((t, value))
    else:  # a late sample
        i = bisect.bisect_right(series.times, t)
        series.times.insert(i, t)
        series.points.insert(i, (t, value))
