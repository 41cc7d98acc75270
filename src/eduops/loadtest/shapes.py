"""Load shapes as pure functions of time: how many users (or arrivals per second) at second ``t``.

Locust's LoadTestShape classes in ``locustfile.py`` only call ``target``; tests check the curves here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from eduops.errors import UsageError

KINDS = ("constant", "ramp", "spike", "step", "double_wave", "storm")


@dataclass(frozen=True)
class Shape:
    """``users`` is the peak; ``duration_s`` the whole test; ``params`` tune the curve (see ``target``)."""

    kind: str
    users: int
    duration_s: float
    spawn_rate: float = 10.0
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "users": self.users, "duration_s": self.duration_s,
                "spawn_rate": self.spawn_rate, "params": dict(self.params)}


def make_shape(kind: str, users: int, duration_s: float, spawn_rate: float = 10.0, **params: Any) -> Shape:
    if kind not in KINDS:
        raise UsageError(f"unknown load shape {kind!r}; use one of {', '.join(KINDS)}")
    if users < 1 or duration_s <= 0 or spawn_rate <= 0:
        raise UsageError(f"a load shape needs users ≥ 1, a duration > 0 and a spawn rate > 0 "
                         f"(got {users}, {duration_s}, {spawn_rate})")
    return Shape(kind, users, float(duration_s), float(spawn_rate), dict(params))


def step_count(shape: Shape) -> int:
    start, step = int(shape.params.get("start_users", shape.params.get("step_users", 10))), _step_users(shape)
    return max(1, math.ceil((shape.users - start) / step) + 1) if shape.users > start else 1


def _step_users(shape: Shape) -> int:
    return max(1, int(shape.params.get("step_users", 10)))


def step_index(shape: Shape, t: float) -> int:
    """Which step of a ``step`` shape second ``t`` falls in."""
    return min(int(t // float(shape.params.get("step_s", 10.0))), step_count(shape) - 1)


def target(shape: Shape, t: float) -> tuple[int, float] | None:
    """(users, spawn rate) at second ``t`` of the test, or None once it is over.

    - constant: ``users`` from the start.
    - ramp: 0 → ``users`` over ``ramp_fraction`` (0.5) of the test, then hold.
    - spike: ``base_fraction`` (0.1) of the users, a jump to all of them at ``spike_at`` (0.3 of the test)
      within ``rise_s`` (2 s) — everyone joins the live class at its start minute — held for ``hold_fraction``
      (0.4), then back to the base.
    - step: ``start_users``, then ``step_users`` more every ``step_s`` seconds up to ``users``.
    - double_wave: between ``min_fraction`` (0.1) and all users, peaking at 1/4 and 3/4 of the test
      (the afternoon and the evening peak of a school day).
    - storm: the join storm (``storm.py``): ``users`` learners arrive on a schedule fired by one
      generator user, so Locust runs one user.
    """
    if t < 0 or t >= shape.duration_s:
        return None
    p, users, rate = shape.params, shape.users, shape.spawn_rate
    if shape.kind == "constant":
        return users, rate
    if shape.kind == "storm":
        return 1, 1.0
    if shape.kind == "ramp":
        ramp_s = max(shape.duration_s * float(p.get("ramp_fraction", 0.5)), 1e-9)
        now = users if t >= ramp_s else max(1, math.ceil(users * t / ramp_s))
        return now, max(rate, users / ramp_s)
    if shape.kind == "spike":
        base = max(1, round(users * float(p.get("base_fraction", 0.1))))
        start = shape.duration_s * float(p.get("spike_at", 0.3))
        end = start + shape.duration_s * float(p.get("hold_fraction", 0.4))
        if start <= t < end:
            return users, max(rate, users / max(float(p.get("rise_s", 2.0)), 0.1))
        return base, max(rate, users / max(float(p.get("rise_s", 2.0)), 0.1))
    if shape.kind == "step":
        start_users = int(p.get("start_users", _step_users(shape)))
        now = min(users, start_users + step_index(shape, t) * _step_users(shape))
        return now, max(rate, float(_step_users(shape)))
    if shape.kind == "double_wave":
        low = float(p.get("min_fraction", 0.1))
        level = low + (1 - low) * abs(math.sin(2 * math.pi * t / shape.duration_s))
        return max(1, round(users * level)), rate
    raise UsageError(f"unknown load shape {shape.kind!r}; use one of {', '.join(KINDS)}")


def capacity_shape(start_users: int, step_users: int, max_users: int, step_s: float, spawn_rate: float) -> Shape:
    """The staircase the capacity search climbs: one step every ``step_s`` until ``max_users``."""
    if start_users < 1 or step_users < 1 or max_users < start_users or step_s <= 0:
        raise UsageError("capacity search needs 1 ≤ start_users ≤ max_users, step_users ≥ 1 and step_seconds > 0")
    steps = math.ceil((max_users - start_users) / step_users) + 1
    return make_shape("step", max_users, steps * step_s, spawn_rate, start_users=start_users,
                      step_users=step_users, step_s=step_s)
