"""The weekly anomaly baseline: median ± k·MAD of the same hour of past weeks, surges suppress it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from eduops.alerting.anomaly import WEEK, anomaly_measurements, baseline, in_surge, is_anomalous, weekly_history
from eduops.alerting.metric_store import ingest, rollup
from eduops.alerting.service import add_surge


@pytest.mark.parametrize(
    ("value", "history", "k", "flagged"),
    [
        (100, [98, 100, 102, 101], 3, False),
        (160, [98, 100, 102, 101], 3, True),
        (40, [98, 100, 102, 101], 3, True),
        (160, [100], 3, False),  # one week is not a baseline
        (100, [100, 100, 100], 3, False),
        (104, [100, 100, 100], 3, True),  # flat history: 1% of the median is the spread
    ],
)
def test_is_anomalous(value: float, history: list[float], k: float, flagged: bool) -> None:
    assert is_anomalous(value, history, k)[0] is flagged


def test_baseline_is_median_and_scaled_mad() -> None:
    median, mad = baseline([1, 2, 3, 4, 100])
    assert median == 3 and mad == pytest.approx(1.4826)


def test_weekly_history_takes_the_same_hour() -> None:
    now = 10 * WEEK
    points = [(now - WEEK + 60, 5.0), (now - WEEK - 7200, 99.0), (now - 2 * WEEK, 7.0)]
    assert weekly_history(points, now, 3) == [5.0, 7.0]


def test_surge_window() -> None:
    t = datetime(2026, 9, 1, 8, tzinfo=UTC)
    surges = [(t, t + timedelta(hours=4), "")]
    assert in_surge(t + timedelta(hours=1), "x", surges) and not in_surge(t + timedelta(hours=5), "x", surges)


def test_anomaly_series_from_the_store_and_suppressed_by_a_surge(ws) -> None:
    now = datetime(2026, 9, 1, 8, tzinfo=UTC)
    rows = [("concurrent_learners", {"site": "main"}, 1000.0 + w, now - timedelta(weeks=w)) for w in range(1, 5)]
    rows.append(("concurrent_learners", {"site": "main"}, 5000.0, now - timedelta(minutes=1)))
    ingest(ws.engine, rows)
    rollup(ws.engine, now - timedelta(days=7))  # older weeks are read from the 5-minute roll-ups
    got = {m.name: m.value for m in anomaly_measurements(ws.engine, "concurrent_learners", now)}
    assert got["anomaly_flag"] == 1.0 and got["anomaly_score"] > 100
    add_surge(ws.engine, "start of term", now - timedelta(hours=1), now + timedelta(hours=8))
    got = {m.name: m.value for m in anomaly_measurements(ws.engine, "concurrent_learners", now)}
    assert got["anomaly_flag"] == 0.0
