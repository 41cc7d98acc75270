"""Metrics on generated data with known answers, and the pure shaping rules, as tables."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from eduops.analytics import lrs, metrics
from eduops.analytics.sql import Filters
from eduops.analytics.store import DuckDBStore

from . import datasets
from .helpers import T0, day, statement

AUTHORITY = {"objectType": "Agent", "account": {"homePage": "https://eduops.test", "name": "test"}}


def load(store: DuckDBStore, statements: list[dict[str, Any]]) -> DuckDBStore:
    lrs.store_statements(store, statements, AUTHORITY)
    return store


D0 = T0.date()


@pytest.mark.parametrize(("n", "dau", "wau", "mau", "new", "returning"), [
    (0, 1, 1, 1, 1, 0),
    (1, 2, 2, 2, 1, 1),
    (2, 1, 2, 2, 0, 1),
    (5, 0, 2, 2, 0, 0),
    (7, 0, 2, 2, 0, 0),
    (8, 2, 3, 3, 1, 1),
    (9, 0, 2, 3, 0, 0),
])
def test_active_users(store: DuckDBStore, n: int, dau: int, wau: int, mau: int, new: int, returning: int) -> None:
    result = metrics.active_users(load(store, datasets.activity()), D0, D0 + timedelta(days=9))
    row = result["days"][n]
    assert row["day"] == (D0 + timedelta(days=n)).isoformat()
    assert (row["dau"], row["wau"], row["mau"], row["new"], row["returning"]) == (dau, wau, mau, new, returning)


@pytest.mark.parametrize(("tz", "active_day", "hour"), [
    ("UTC", date(2026, 3, 1), 20), ("Asia/Shanghai", date(2026, 3, 2), 4), ("America/New_York", date(2026, 3, 1), 15),
])
def test_days_and_hours_are_local_to_the_workspace(store: DuckDBStore, tz: str, active_day: date, hour: int) -> None:
    """20:00 UTC on 1 March is 04:00 on 2 March in Beijing and 15:00 on 1 March in New York."""
    load(store, [statement("night-owl", "experienced", day(-1).replace(hour=20), obj="course/a/p")])
    result = metrics.active_users(store, date(2026, 2, 28), date(2026, 3, 3), tz=tz)
    assert [d["day"] for d in result["days"] if d["dau"]] == [active_day.isoformat()]
    hours = metrics.breakdown(store, "hour", day(-5), day(5), tz=tz)["rows"]
    assert [r["key"] for r in hours] == [hour]
    weeks = metrics.retention(store, "day", 1, tz=tz)
    assert [c["cohort"] for c in weeks["cohorts"]] == [active_day.isoformat()]


def test_active_days_spread_and_stickiness(store: DuckDBStore) -> None:
    result = metrics.active_users(load(store, datasets.activity()), D0, D0 + timedelta(days=8))
    assert result["active_days_30"] == [{"days": 1, "learners": 1}, {"days": 2, "learners": 1},
                                        {"days": 3, "learners": 1}]
    assert result["days"][8]["stickiness"] == round(2 / 3, 4)


RETENTION_CASES = [
    ("on", [[10, 5, 3, 2], [4, 2, 1, None]], [100.0, 50.0, 28.57, 20.0]),
    ("on_or_after", [[10, 6, 4, 2], [4, 3, 1, None]], [100.0, 64.29, 35.71, 20.0]),
]


@pytest.mark.parametrize(("mode", "counts", "average"), RETENTION_CASES)
def test_weekly_retention(store: DuckDBStore, mode: str, counts: list[list[int | None]], average: list[float]) -> None:
    result = metrics.retention(load(store, datasets.weekly_cohorts()), "week", 3, mode, first=day(0),
                               end=day(28).replace(hour=0))
    assert [c["cohort"] for c in result["cohorts"]] == [D0.isoformat(), (D0 + timedelta(days=7)).isoformat()]
    assert [c["counts"] for c in result["cohorts"]] == counts
    assert result["cohorts"][1]["pct"] == [None if c is None else round(100 * c / 4, 2) for c in counts[1]]
    assert result["average"]["pct"] == average


def test_retention_with_start_and_return_events(store: DuckDBStore) -> None:
    """Only 'launched' starts a cohort and only 'experienced' counts as a return."""
    load(store, datasets.weekly_cohorts())
    result = metrics.retention(store, "day", 8, "on", ["http://adlnet.gov/expapi/verbs/launched"],
                               ["http://adlnet.gov/expapi/verbs/experienced"], first=day(0), end=day(28))
    by_cohort = {c["cohort"]: c["counts"] for c in result["cohorts"]}
    assert by_cohort[D0.isoformat()][:9] == [10, 0, 0, 0, 0, 0, 0, 0, 5]
    assert by_cohort[(D0 + timedelta(days=7)).isoformat()][:9] == [4, 0, 0, 0, 0, 0, 0, 0, 2]


def test_monthly_retention(store: DuckDBStore) -> None:
    """Everyone starts in March; L0 comes back on 6 April; the data ends on 11 April."""
    load(store, [*datasets.weekly_cohorts(), statement("L0", "experienced", day(35), obj="course/a/p")])
    result = metrics.retention(store, "month", 2, "on", first=day(0), end=day(40).replace(hour=0))
    assert [c["counts"] for c in result["cohorts"]] == [[14, 1, None]]


def test_funnel(store: DuckDBStore) -> None:
    result = metrics.funnel(load(store, datasets.funnel_steps()), ["registered", "launched", "completed", "passed"],
                            first=day(0).replace(hour=0), end=day(30))
    got = [(s["learners"], s["conversion_pct"], s["from_previous_pct"], s["median_s_from_previous"])
           for s in result["steps"]]
    assert got == [(10, 100.0, None, None), (8, 80.0, 80.0, 3600.0), (5, 50.0, 62.5, 169200.0),
                   (3, 30.0, 60.0, 86400.0)]
    assert result["biggest_drop_step"] == 3 and result["biggest_drop_label"] == "completed"


def test_funnel_steps_on_objects_with_a_pattern(store: DuckDBStore) -> None:
    """``*`` in a step's object matches anything; other characters (even % and _) match themselves."""
    load(store, [*datasets.funnel_steps(), statement("F0", "experienced", day(1), obj="course/a/lesson_1"),
                 statement("F1", "experienced", day(1), obj="course/a/lessonX1")])
    result = metrics.funnel(store, ["registered", "experienced@*/lesson_1"], first=day(0), end=day(30))
    assert [s["learners"] for s in result["steps"]] == [10, 1]


def test_funnel_window_counts_from_step_one(store: DuckDBStore) -> None:
    result = metrics.funnel(load(store, datasets.funnel_steps()), ["registered", "launched"], first=day(0),
                            end=day(30), window_days=30)
    assert [s["learners"] for s in result["steps"]] == [10, 9]


def test_completion_and_outcomes(store: DuckDBStore) -> None:
    result = metrics.completion(load(store, datasets.outcomes()))
    a, b = result["courses"]
    assert a["course"].endswith("course/a") and b["course"].endswith("course/b")
    assert {k: a[k] for k in ("enrolled", "passed", "completed", "failed", "withdrawn", "in_progress")} == {
        "enrolled": 10, "passed": 3, "completed": 5, "failed": 1, "withdrawn": 1, "in_progress": 3}
    assert a["completion_pct"] == 50.0 and b["completion_pct"] == 25.0
    assert (a["pass_pct"], a["pass_of_graded_pct"]) == (30.0, 75.0)
    assert result["outcomes"]["in_progress"] == 6 and result["enrolled"] == 14


def test_at_risk(store: DuckDBStore) -> None:
    result = metrics.at_risk(load(store, datasets.outcomes()), asof=day(10).replace(hour=0),
                             f=Filters(course="https://lms.example.edu/course/a"))
    got = {(r["learner"], r["idle"], r["failing"]) for r in result["learners"]}
    assert got == {("I0", True, False), ("I1", False, True)}


def test_breakdown_by_region_and_course(store: DuckDBStore) -> None:
    load(store, datasets.outcomes())
    regions = {r["key"]: (r["learners"], r["statements"], r["completions"])
               for r in metrics.breakdown(store, "region", day(0), day(30))["rows"]}
    assert regions == {"east": (3, 4, 3), "west": (3, 3, 2), "(none)": (8, 10, 1)}
    devices = {r["key"]: r["learners"] for r in metrics.breakdown(store, "device", day(0), day(30))["rows"]}
    assert devices == {"ios": 3, "android": 2, "(none)": 10}
    only_east = metrics.completion(store, Filters(region="east"))
    assert only_east["courses"][0]["passed"] == 3


def test_video_engagement(store: DuckDBStore) -> None:
    result = metrics.video_engagement(load(store, datasets.video()), day(0), day(5))
    [v] = result["videos"]
    assert (v["viewers"], v["mean_watched_pct"]) == (2, 75.0)
    assert v["deciles_pct"] == [100.0] * 5 + [50.0] * 5


def test_voided_statements_leave_the_metrics(store: DuckDBStore) -> None:
    load(store, datasets.outcomes())
    [passed_id] = [str(r[0]) for r in store.query("SELECT id FROM statements WHERE actor_id = 'P0'")]
    lrs.store_statements(store, [{"actor": {"mbox": "mailto:admin@x.example"},
                                  "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
                                  "object": {"objectType": "StatementRef", "id": passed_id}}], AUTHORITY)
    assert metrics.completion(store)["courses"][0]["passed"] == 2


@pytest.mark.parametrize(("deltas", "expected"), [
    ({}, [0, 0, 0]),
    ({date(2026, 1, 1): 1}, [1, 1, 1]),
    ({date(2025, 12, 30): 2, date(2026, 1, 2): -1}, [2, 1, 1]),
    ({date(2026, 1, 2): 3, date(2026, 1, 3): -3}, [0, 3, 0]),
])
def test_running_totals(deltas: dict[date, int], expected: list[int]) -> None:
    got = metrics.running_totals(deltas, date(2026, 1, 1), date(2026, 1, 3))
    assert list(got.values()) == expected


@pytest.mark.parametrize(("unit", "start", "end", "periods"), [
    ("day", date(2026, 3, 1), date(2026, 3, 31), 30),
    ("week", date(2026, 3, 1), date(2026, 3, 2), 1),  # Sunday to Monday crosses a week
    ("week", date(2026, 3, 2), date(2026, 3, 8), 0),
    ("month", date(2026, 1, 31), date(2026, 2, 1), 1),
    ("month", date(2025, 12, 1), date(2026, 3, 1), 3),
])
def test_periods_between(unit: str, start: date, end: date, periods: int) -> None:
    assert metrics.periods_between(unit, start, end) == periods


def test_retention_table_leaves_unreached_periods_out_of_the_average() -> None:
    c1, c2 = date(2026, 1, 5), date(2026, 1, 12)
    table = metrics.retention_table({c1: 10, c2: 20}, {(c1, 1): 5, (c2, 1): 5, (c1, 2): 1}, {}, "on", 2,
                                    {c1: 2, c2: 1})
    assert table["average"]["pct"] == [100.0, round(100 * 10 / 30, 2), 10.0]
    assert table["cohorts"][1]["counts"] == [20, 5, None]


@pytest.mark.parametrize(("rows", "drop_step", "pcts"), [
    ([(1, 10, None), (2, 5, 60.0), (3, 5, 30.0)], 2, [100.0, 50.0, 50.0]),
    ([(1, 10, None), (2, 8, 1.0), (3, 2, 1.0)], 3, [100.0, 80.0, 20.0]),
    ([(1, 0, None), (2, 0, None)], None, [None, None]),
    ([(1, 4, None), (2, 4, 1.0)], None, [100.0, 100.0]),
])
def test_funnel_summary(rows: list[tuple[int, int, float | None]], drop_step: int | None,
                        pcts: list[float | None]) -> None:
    result = metrics.funnel_summary([f"s{i}" for i in range(1, len(rows) + 1)], rows)
    assert result["biggest_drop_step"] == drop_step
    assert [s["conversion_pct"] for s in result["steps"]] == pcts


@pytest.mark.parametrize(("text", "segments", "seconds"), [
    ("0[.]50", [(0, 50)], 50),
    ("0[.]30[,]20[.]100", [(0, 30), (20, 100)], 100),
    ("10[.]20[,]10[.]20", [(10, 20), (10, 20)], 10),
    ("5[.]1[,]x[.]y[,]", [], 0),
    ("", [], 0),
])
def test_played_segments(text: str, segments: list[tuple[float, float]], seconds: float) -> None:
    assert metrics.parse_segments(text) == segments
    assert metrics.watched_seconds(segments) == seconds


def test_funnel_median_gap_is_exact_not_whole_second_boundaries(store: DuckDBStore) -> None:
    """0.2 s across a second boundary and 0.999 s within one: the median is their mean, 0.5995 s
    (counting second boundaries would give 1 and 0)."""
    def at(actor: str, verb: str, stamp: str) -> dict[str, Any]:
        s = statement(actor, verb, day(0))
        s["timestamp"] = stamp
        return s

    load(store, [at("G0", "launched", "2026-03-02T09:00:00.900Z"), at("G0", "completed", "2026-03-02T09:00:01.100Z"),
                 at("G1", "launched", "2026-03-02T09:00:00.000Z"), at("G1", "completed", "2026-03-02T09:00:00.999Z")])
    result = metrics.funnel(store, ["launched", "completed"], first=day(0).replace(hour=0), end=day(1))
    assert result["steps"][1]["median_s_from_previous"] == pytest.approx(0.5995, abs=1e-9)
