"""Load shapes are pure curves: users at second t for each kind."""

from __future__ import annotations

import pytest

from eduops.errors import UsageError
from eduops.loadtest.shapes import capacity_shape, make_shape, step_index, target

RAMP = make_shape("ramp", 100, 100, 5)
SPIKE = make_shape("spike", 1000, 100, 10)
STEP = make_shape("step", 50, 50, 10, start_users=10, step_users=10, step_s=10)
WAVE = make_shape("double_wave", 100, 100, 10)
CONST = make_shape("constant", 7, 10, 3)


@pytest.mark.parametrize(
    ("shape", "t", "users"),
    [
        (CONST, 0, 7), (CONST, 9.9, 7), (CONST, 10, None),
        (RAMP, 0, 1), (RAMP, 25, 50), (RAMP, 50, 100), (RAMP, 99, 100), (RAMP, 100, None),
        (SPIKE, 0, 100), (SPIKE, 29.9, 100), (SPIKE, 30, 1000), (SPIKE, 69.9, 1000), (SPIKE, 70, 100),
        (STEP, 0, 10), (STEP, 9.9, 10), (STEP, 10, 20), (STEP, 45, 50),
        (WAVE, 0, 10), (WAVE, 25, 100), (WAVE, 50, 10), (WAVE, 75, 100),
        (RAMP, -1, None),
    ],
)
def test_users_at_second_t(shape, t: float, users: int | None) -> None:
    got = target(shape, t)
    assert (got[0] if got else None) == users


def test_the_spike_arrives_within_seconds() -> None:
    # everyone joins the live class at its start minute: the spawn rate covers the jump in rise_s (2 s)
    users, rate = target(SPIKE, 31)
    assert users == 1000 and rate >= 500


@pytest.mark.parametrize(("t", "step"), [(0, 0), (9.99, 0), (10, 1), (25, 2), (1000, 4)])
def test_step_index(t: float, step: int) -> None:
    assert step_index(STEP, t) == step


def test_capacity_shape_climbs_to_the_maximum() -> None:
    shape = capacity_shape(5, 10, 42, 3, 50)
    assert shape.duration_s == 5 * 3  # 5, 15, 25, 35, 42
    assert [target(shape, t)[0] for t in (0, 3, 6, 9, 12)] == [5, 15, 25, 35, 42]
    assert target(shape, 15) is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("zigzag", 10, 10), "unknown load shape"),
        (("ramp", 0, 10), "users ≥ 1"),
        (("ramp", 10, 0), "duration > 0"),
    ],
)
def test_bad_shapes_are_refused(args: tuple, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        make_shape(*args)
