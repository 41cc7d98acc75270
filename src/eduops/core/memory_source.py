"""Series held in memory, indexed by metric name: what ``rules test`` and the benches evaluate over."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator

from eduops.core.promql import Matcher
from eduops.core.promql_eval import Labels, Points


class MemorySource:
    def __init__(self) -> None:
        self.by_name: dict[str, dict[Labels, Points]] = {}

    def add(self, labels: dict[str, str] | Labels, t: float, value: float | None) -> None:
        """Append a sample (``None`` is a stale marker); samples of a series arrive in time order."""
        key: Labels = tuple(sorted(labels.items())) if isinstance(labels, dict) else labels
        name = dict(key).get("__name__", "")
        points = self.by_name.setdefault(name, {}).setdefault(key, [])
        if points and points[-1][0] >= t:
            bisect.insort(points, (t, value), key=lambda p: p[0])
        else:
            points.append((t, value))

    def series_count(self) -> int:
        return sum(len(s) for s in self.by_name.values())

    def select(
        self, matchers: tuple[Matcher, ...], start: float, end: float
    ) -> Iterator[tuple[Labels, Points]]:
        name = next((m.value for m in matchers if m.name == "__name__" and m.op == "="), None)
        pools: Iterable[dict[Labels, Points]] = (
            [self.by_name.get(name, {})] if name is not None else (self.by_name.values())
        )
        for pool in pools:
            for labels, points in pool.items():
                values = dict(labels)
                if all(m.matches(values.get(m.name, "")) for m in matchers):
                    lo = bisect.bisect_left(points, start, key=lambda p: p[0])
                    hi = bisect.bisect_right(points, end, key=lambda p: p[0])
                    if hi > lo:
                        yield labels, points[lo:hi]
