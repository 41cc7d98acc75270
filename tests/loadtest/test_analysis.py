"""Judging a load test: percentiles, SLO verdicts, per-step windows and the knee."""

from __future__ import annotations

import pytest

from eduops.errors import UsageError
from eduops.loadtest.analysis import SLO, Window, broke_at, bucket_ms, find_knee, judge, percentile, steps_of
from eduops.loadtest.service import parse_duration, plan_test
from eduops.loadtest.settings import LoadtestSettings


@pytest.mark.parametrize(("ms", "bucket"), [(0.4, 0), (57.6, 58), (123, 120), (1234, 1200), (15432, 15000)])
def test_buckets_keep_two_significant_digits(ms: float, bucket: int) -> None:
    assert bucket_ms(ms) == bucket


@pytest.mark.parametrize(
    ("hist", "q", "expected"),
    [({}, 0.95, 0.0), ({10: 95, 500: 5}, 0.95, 10.0), ({10: 94, 500: 6}, 0.95, 500.0),
     ({"20": 1, "10": 1}, 0.5, 10.0), ({10: 1, 20: 1}, 1.0, 20.0)],
)
def test_percentile(hist: dict, q: float, expected: float) -> None:
    assert percentile(hist, q) == expected


def _w(users: int, requests: int, failures: int, p95: float, seconds: float = 10) -> Window:
    return Window(users, seconds, requests, failures, p95 / 2, p95, p95 * 1.2)


SLO_ = SLO(p95_ms=200, error_rate_pct=1.0)


@pytest.mark.parametrize(
    ("w", "reasons"),
    [
        (_w(10, 1000, 0, 150), []),
        (_w(10, 1000, 0, 250), ["p95 250 ms > 200 ms"]),
        (_w(10, 1000, 20, 150), ["errors 2.00% > 1.00%"]),
        (_w(10, 1000, 20, 300), ["p95 300 ms > 200 ms", "errors 2.00% > 1.00%"]),
        (_w(10, 0, 0, 0), ["no requests completed"]),
    ],
)
def test_slo_judgement(w: Window, reasons: list[str]) -> None:
    assert judge(w, SLO_) == reasons


@pytest.mark.parametrize(
    ("steps", "knee_users", "capacity_users", "capacity_rps"),
    [
        ([_w(10, 500, 0, 50), _w(20, 1000, 0, 80), _w(30, 1100, 0, 400), _w(40, 1100, 0, 900)], 30, 20, 100.0),
        ([_w(10, 500, 0, 50), _w(20, 1000, 0, 80)], None, 20, 100.0),
        ([_w(10, 500, 0, 500)], 10, 0, 0.0),
        ([_w(10, 500, 0, 50), _w(20, 1000, 50, 80)], 20, 10, 50.0),
    ],
)
def test_the_knee_is_the_first_step_breaking_the_slo(steps, knee_users, capacity_users, capacity_rps) -> None:
    knee = find_knee(steps, SLO_)
    assert (knee.users, knee.capacity_users, knee.capacity_rps) == (knee_users, capacity_users, capacity_rps)


def _tick(t: float, step: int, requests: int, latency: int, failures: int = 0) -> dict:
    return {"t": t, "dt": 1.0, "step": step, "users": 10 * (step + 1), "requests": requests,
            "failures": failures, "hist": {latency: requests}}


def test_steps_leave_out_the_settling_second_and_stop_when_a_step_breaks() -> None:
    ticks = [_tick(1, 0, 100, 999), _tick(2, 0, 100, 50), _tick(3, 0, 100, 50),
             _tick(4, 1, 100, 999), _tick(5, 1, 100, 300), _tick(6, 1, 100, 300)]
    steps = steps_of(ticks, settle_s=1.0)
    assert [s.p95_ms for s in steps] == [50.0, 300.0]
    assert [s.users for s in steps] == [10, 20]
    assert not broke_at(ticks, SLO_)  # step 1 is still running
    assert broke_at(ticks + [_tick(7, 2, 100, 300)], SLO_)


@pytest.mark.parametrize(("text", "seconds"), [("90", 90), ("90s", 90), ("5m", 300), ("1.5h", 5400), (30, 30)])
def test_durations(text, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["soon", "5 weeks", "0s", "-3m"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(UsageError):
        parse_duration(text)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"scenario": "black-friday"}, "unknown scenario 'black-friday'"),
        ({"scenario": "quiz", "mode": "soak"}, "mode 'soak'"),
        ({"scenario": "quiz", "mode": "fixed", "shape": "zigzag"}, "unknown load shape"),
        ({"scenario": "quiz", "colour": "red"}, "unknown load-test parameters"),
        ({"scenario": "quiz", "host": "ftp://x"}, "must be an http"),
    ],
)
def test_bad_plans_say_what_to_fix(params: dict, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        plan_test(LoadtestSettings(), params)


def test_the_10000_student_spike_is_scaled_to_this_machine() -> None:
    plan = plan_test(LoadtestSettings(users=5000, max_local_users=300), {"scenario": "live-class-spike",
                                                                         "mode": "fixed"})
    assert plan.scenario.nominal_users == 10000
    assert plan.shape.users == 300 and plan.shape.kind == "spike"
