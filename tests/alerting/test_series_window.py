"""The rules' window held between cycles answers every expression exactly as a fresh read of the store
would: through new, late and out-of-order samples, new series, new names, deletions, a store that went
backwards and time that went backwards."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from eduops.alerting.metric_store import DbSource, apply_retention, ingest, to_dt
from eduops.alerting.models import MetricSample
from eduops.alerting.promql import parse
from eduops.alerting.promql_eval import evaluate
from eduops.alerting.series_window import SeriesWindow

T0 = 1_800_000_000.0
EXPRS = ["cpu", "avg_over_time(cpu[2m])", "count_over_time(cpu[5m])", "rate(req_total[5m])"]


def put(engine: Any, name: str, host: str, points: list[tuple[float, float]]) -> None:
    ingest(engine, [(name, {"host": host}, v, to_dt(t)) for t, v in points])


def answers(source: Any, exprs: list[str], now: float) -> dict[str, list[tuple[Any, float]]]:
    out = {}
    for expr in exprs:
        value = evaluate(parse(expr), source, now)
        assert isinstance(value, list)
        out[expr] = sorted((s.labels, round(s.value, 9)) for s in value)
    return out


def same_as_fresh(window: SeriesWindow, exprs: list[str], now: float) -> dict[str, list[tuple[Any, float]]]:
    held = answers(window.load([parse(e) for e in exprs], now), exprs, now)
    fresh = DbSource(window.engine, window.raw_days)
    fresh.preload([parse(e) for e in exprs], now - 600, now)
    assert held == answers(fresh, exprs, now)
    return held


def test_the_held_window_answers_as_a_fresh_read_of_the_store(ws: Any) -> None:
    engine = ws.engine
    for host, base in (("a", 10.0), ("b", 50.0)):
        put(engine, "cpu", host, [(T0 - 600 + 15 * k, base + k) for k in range(41)])
        put(engine, "req_total", host, [(T0 - 600 + 15 * k, 100.0 * k) for k in range(41)])
    window = SeriesWindow(engine)
    first = same_as_fresh(window, EXPRS, T0)
    assert len(first["cpu"]) == 2 and first["count_over_time(cpu[5m])"][0][1] == 20

    # new samples, a new series, a late sample with an old time, a counter reset
    put(engine, "cpu", "a", [(T0 + 15, 99.0), (T0 - 52, 7.0)])
    put(engine, "cpu", "c", [(T0 + 10, 5.0)])
    put(engine, "req_total", "b", [(T0 + 15, 3.0)])
    now = T0 + 15
    second = same_as_fresh(window, EXPRS, now)
    assert ("c" in str(second["cpu"])) and dict(second["count_over_time(cpu[5m])"])[
        (("host", "a"),)] == 21  # 19 still in the window, the new one and the late one

    # a name no cycle needed before, with a longer look-back than any so far
    put(engine, "disk", "a", [(T0 - 500, 1.0), (T0 + 20, 2.0)])
    same_as_fresh(window, [*EXPRS, "max_over_time(disk[10m])", "min_over_time(cpu[10m])"], T0 + 30)

    # retention in this process deletes samples inside the window: read again
    apply_retention(engine, to_dt(T0 + 30 + 7 * 86400 - 200), raw_days=7)
    assert same_as_fresh(window, EXPRS, T0 + 30)["count_over_time(cpu[5m])"] != second["count_over_time(cpu[5m])"]

    # the store went backwards (restored from an older copy): its newest rows are gone
    with engine.begin() as conn:
        newest = conn.scalar(sa.select(sa.func.max(MetricSample.id)))
        conn.execute(sa.delete(MetricSample).where(MetricSample.id > newest - 3))
    same_as_fresh(window, EXPRS, T0 + 45)

    # time went backwards
    same_as_fresh(window, EXPRS, T0)


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_sample_committed_after_a_higher_id_is_still_read(ws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL hands out ids before commit: a lower id can become visible after a higher one was read."""
    engine = ws.engine
    put(engine, "cpu", "a", [(T0 - 60, 1.0), (T0 - 30, 2.0)])
    clock = [0.0]
    window = SeriesWindow(engine, clock=lambda: clock[0])
    same_as_fresh(window, EXPRS, T0)
    with engine.connect() as slow:
        slow.begin()
        slow.execute(sa.insert(MetricSample).values(
            series_id=slow.scalar(sa.text("SELECT id FROM metric_series WHERE name = 'cpu'")), ts=to_dt(T0 + 5),
            value=40.0))
        put(engine, "cpu", "a", [(T0 + 10, 3.0)])  # a higher id, committed first
        clock[0] = 5.0
        assert dict(same_as_fresh(window, EXPRS, T0 + 15)["count_over_time(cpu[5m])"])[(("host", "a"),)] == 3
        slow.commit()
    clock[0] = 10.0
    assert dict(same_as_fresh(window, EXPRS, T0 + 30)["count_over_time(cpu[5m])"])[(("host", "a"),)] == 4
    clock[0] = 100.0  # long settled: those ids are no longer remembered one by one
    same_as_fresh(window, EXPRS, T0 + 45)
    assert window.floor == window.top and not window.recent
