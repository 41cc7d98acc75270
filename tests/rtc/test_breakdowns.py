"""Breakdowns over a synthetic month: the injected problems come out on top; root-cause hints find them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from eduops.errors import NotFound, UsageError
from eduops.rtc.breakdowns import (
    HEATMAP_METRICS,
    ROLLUP_METRICS_SQL,
    Window,
    _dimension,
    _joins,
    breakdown,
    heatmap,
    overall,
    week_over_week,
    worst_segments,
)
from eduops.rtc.calls import call_detail, review, search_calls
from eduops.rtc.store import Store
from eduops.rtc.synthetic import BAD_APP_VERSION, BAD_ISP, BAD_PROVINCE, BAD_TEACHER, PEAK_HOURS

from .conftest import NOW

MONTH = Window(NOW - timedelta(days=31), NOW)


def test_injected_problems_top_the_worst_segment_ranking(month_store: Store) -> None:
    ranked = worst_segments(month_store, MONTH, min_sessions=20)
    top = {(r["dimension"], r["segment"]) for r in ranked[:3]}
    assert top == {("province_isp", f"{BAD_PROVINCE} / {BAD_ISP}"), ("app_version", BAD_APP_VERSION),
                   ("teacher", BAD_TEACHER)}
    assert all(r["lift"] > 1.5 for r in ranked[:3])
    assert all(r["sessions"] >= 20 for r in ranked)


def test_minimum_volume_keeps_small_segments_out(month_store: Store) -> None:
    sessions = next(r["sessions"] for r in worst_segments(month_store, MONTH) if r["segment"] == BAD_TEACHER)
    ranked = worst_segments(month_store, MONTH, min_sessions=sessions + 1)
    assert ranked and ("teacher", BAD_TEACHER) not in {(r["dimension"], r["segment"]) for r in ranked}


def test_heatmap_shows_the_bad_province_at_peak(month_store: Store) -> None:
    data = heatmap(month_store, MONTH, "loss_pct")
    assert data["hours"] == list(range(24)) and len(data["values"]) == len(data["rows"])
    row = data["values"][data["rows"].index(BAD_PROVINCE)]
    peak = max(row[h] or 0 for h in PEAK_HOURS)
    quiet = [row[h] for h in (9, 10, 11, 14, 15) if row[h] is not None]
    assert peak > 3 * max(quiet)
    with pytest.raises(UsageError):
        heatmap(month_store, MONTH, "bogus")


# a window that starts and ends inside a quarter hour, by province, teacher and the hour itself
ODD = Window(NOW - timedelta(days=20, minutes=7), NOW - timedelta(days=2, minutes=52))


@pytest.mark.parametrize(("metric", "rows_dim"), [*((m, "province") for m in HEATMAP_METRICS),
                                                  ("mos", "teacher"), ("poor_pct", "hour")])
def test_heatmap_cells_are_the_rollup_figures_per_segment_and_local_hour(month_store: Store, metric: str,
                                                                          rows_dim: str) -> None:
    expr = _dimension(rows_dim, rollup=True)
    plain = month_store.query(
        f"SELECT {expr} AS segment, hour(r.bucket) AS hour, {ROLLUP_METRICS_SQL} {_joins([expr], True)} "
        "WHERE r.bucket >= ? AND r.bucket < ? GROUP BY ALL", [ODD.start, ODD.end])
    data = heatmap(month_store, ODD, metric, rows_dim)
    assert sorted(data["rows"]) == sorted({str(r["segment"]) for r in plain}) and len(plain) >= 24
    filled = 0
    for r in plain:
        i, hour = data["rows"].index(str(r["segment"])), int(r["hour"])
        assert (data["samples"][i][hour], data["sessions"][i][hour]) == (r["samples"], r["sessions"])
        expected = None if r[metric] is None else round(float(r[metric]), 3)
        assert data["values"][i][hour] == pytest.approx(expected, abs=1e-3)
        filled += 1
    assert sum(1 for row in data["samples"] for n in row if n) == filled


def test_breakdown_by_every_dimension(month_store: Store) -> None:
    by_version = {r["segment"]: r for r in breakdown(month_store, "app_version", MONTH)}
    others = [r["video_freeze_rate_pct"] for v, r in by_version.items() if v != BAD_APP_VERSION]
    assert by_version[BAD_APP_VERSION]["video_freeze_rate_pct"] > 3 * max(others)
    assert 90 < by_version[BAD_APP_VERSION]["join_success_pct"] <= 100
    for dimension in ("province", "isp", "network", "os", "device", "scenario", "teacher", "hour", "country"):
        rows = breakdown(month_store, dimension, MONTH)
        assert rows and all(r["samples"] > 0 for r in rows)
    hours = {r["segment"] for r in breakdown(month_store, "hour", MONTH)}
    assert hours <= set(range(24))
    with pytest.raises(UsageError, match="unknown dimension"):
        breakdown(month_store, "shoe_size", MONTH)


def test_overall_and_week_over_week(month_store: Store) -> None:
    total = overall(month_store, MONTH)
    assert 0 < total["poor_pct"] < 50 and 3.5 < total["mos"] < 4.5 and 95 < total["join_success_pct"] < 100
    trend = week_over_week(month_store, NOW)
    assert [m["metric"] for m in trend["metrics"]][:2] == ["poor_pct", "video_freeze_rate_pct"]
    for m in trend["metrics"]:
        assert m["change"] == pytest.approx(m["this_week"] - m["last_week"], abs=2e-3)


def test_empty_window_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        Window(NOW, NOW)


def test_call_search_and_the_bad_teachers_call(month_store: Store) -> None:
    calls = search_calls(month_store, user_id=BAD_TEACHER, limit=5)
    assert calls and all(c["participants"] >= 2 for c in calls)
    detail = call_detail(month_store, calls[0]["call_id"])
    assert detail["hint"]["cause"] == "teacher_network"
    assert detail["hint"]["user_id"] == BAD_TEACHER
    assert any("jitter" in e or "loss" in e for e in detail["hint"]["evidence"])
    assert set(detail["timeline"]) == {p["user_id"] for p in detail["participants"] if p["join_ok"]}
    summary = review(detail)
    assert summary["participants"] == len(detail["participants"]) and summary["worst"]


def test_call_search_filters(month_store: Store) -> None:
    poor = search_calls(month_store, band="poor", limit=20)
    assert poor and all(c["band"] == "poor" for c in poor)
    recent = search_calls(month_store, start=NOW - timedelta(days=2), end=NOW, limit=1000)
    assert recent and all(c["start_ts"] >= NOW - timedelta(days=2, hours=1) for c in recent)
    channel = recent[0]["channel"]
    assert all(c["channel"] == channel for c in search_calls(month_store, channel=channel))
    with pytest.raises(UsageError):
        search_calls(month_store, band="awful")
    with pytest.raises(NotFound):
        call_detail(month_store, "no-such-call")


def test_peak_call_in_the_bad_region_points_at_the_region(month_store: Store) -> None:
    rows = month_store.query(
        """SELECT s.call_id FROM sessions s JOIN calls c USING (call_id)
           WHERE s.province = ? AND s.isp = ? AND hour(c.start_ts) IN (19, 20) AND c.scenario = 'one_on_one'
             AND s.join_ok AND c.call_id NOT IN (SELECT call_id FROM call_teachers WHERE teacher_id = ?)
           ORDER BY c.start_ts DESC LIMIT 12""",
        [BAD_PROVINCE, BAD_ISP, BAD_TEACHER],
    )
    causes = [call_detail(month_store, r["call_id"])["hint"] for r in rows]
    regional = [h for h in causes if h and h["cause"] == "service_side"]
    assert regional, causes
    assert BAD_PROVINCE in regional[0]["summary"]


def test_heat_map_greys_out_cells_with_too_few_calls() -> None:
    import json

    from eduops.rtc.charts import heatmap_figure, split_by_volume

    values = [[80.0, 5.0, None], [10.0, 12.0, 3.0]]
    sessions = [[3, 40, 0], [25, 19, 20]]
    shown, grey = split_by_volume(values, sessions, minimum=20)
    assert shown == [[None, 5.0, None], [10.0, None, 3.0]]
    assert grey == [[1, None, None], [None, 1, None]]  # data but too few calls; no data stays empty
    figure = json.loads(heatmap_figure({"metric": "poor_pct", "rows": ["Henan", "Hebei"], "hours": [0, 1, 2],
                                        "values": values, "sessions": sessions}, minimum=20, lang="zh-CN"))
    low, main = figure["data"]
    assert main["z"] == shown and low["z"] == grey  # the 80 % of 3 night calls is not the brightest cell
    assert "样本太少" in low["hovertemplate"]
