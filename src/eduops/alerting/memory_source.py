"""Series held in memory, indexed by metric name: what ``rules test``, the demo and the benches evaluate over."""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass, field

from eduops.alerting.promql import Matcher
from eduops.alerting.promql_eval import Labels, Points


@dataclass
class _Series:  # one series: its labels, and parallel lists of times and (time, value) points
    labels: Labels
    values: dict[str, str]
    times: list[float] = field(default_factory=list)
    points: Points = field(default_factory=list)


class MemorySource:
    def __init__(self) -> None:
        self.by_name: dict[str, dict[Labels, _Series]] = {}

    def add(self, labels: dict[str, str] | Labels, t: float, value: float | None) -> None:
        """Add a sample (``None`` is a stale marker); samples may come in any order."""
        key: Labels = tuple(sorted(labels.items())) if isinstance(labels, dict) else labels
        values = dict(key)
        pool = self.by_name.setdefault(values.get("__name__", ""), {})
        series = pool.get(key)
        if series is None:
            series = pool[key] = _Series(key, values)
        if series.times and series.times[-1] >= t:
            i = bisect.bisect_right(series.times, t)
            series.times.insert(i, t)
            series.points.insert(i, (t, value))
        else:
            series.times.append(t)
            series.points.append((t, value))

    def series_count(self) -> int:
        return sum(len(s) for s in self.by_name.values())

    def select(self, matchers: tuple[Matcher, ...], start: float, end: float) -> Iterator[tuple[Labels, Points]]:
        name = next((m.value for m in matchers if m.name == "__name__" and m.op == "="), None)
        pools = [self.by_name.get(name, {})] if name is not None else list(self.by_name.values())
        rest = [m for m in matchers if not (m.name == "__name__" and m.op == "=")]
        for pool in pools:
            for series in pool.values():
                if rest and not all(m.matches(series.values.get(m.name, "")) for m in rest):
                    continue
                lo = bisect.bisect_left(series.times, start)
                hi = bisect.bisect_right(series.times, end)
                if hi > lo:
                    yield series.labels, series.points[lo:hi]
