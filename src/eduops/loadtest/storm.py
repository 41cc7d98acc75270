"""The live-class join storm as pure functions: when each learner is planned to arrive, and how far the
arrivals a test recorded strayed from that plan.

Every learner arrives (logs in and joins the class) once within ``join_s`` seconds, spread evenly,
then sends a heartbeat every ``heartbeat_s`` seconds until ``duration_s``. One Locust generator fires
the schedule (``locustfile.JoinStormUser``); the report sets planned against actual arrivals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from eduops.errors import UsageError

TOLERANCE_PCT = 5.0  # arrivals may stray this share of all learners from the plan
MAX_LEARNERS = 1_000_000


@dataclass(frozen=True)
class Storm:
    learners: int = 10_000
    join_s: float = 60.0
    heartbeat_s: float = 15.0
    duration_s: float = 360.0  # the join window, then five minutes of heartbeats

    def to_dict(self) -> dict[str, Any]:
        return {"learners": self.learners, "join_s": self.join_s, "heartbeat_s": self.heartbeat_s,
                "duration_s": self.duration_s}


def make_storm(learners: int, join_s: float = 60.0, heartbeat_s: float = 15.0,
               duration_s: float | None = None) -> Storm:
    """A storm, or UsageError saying which number is wrong; the default duration is join_s + 5 minutes."""
    duration = join_s + 300.0 if duration_s is None else float(duration_s)
    if not 1 <= learners <= MAX_LEARNERS:
        raise UsageError(f"a join storm needs between 1 and {MAX_LEARNERS:,} learners (got {learners})")
    if join_s <= 0 or heartbeat_s <= 0:
        raise UsageError(f"the join window and the heartbeat interval must be more than zero seconds "
                         f"(got {join_s:g} and {heartbeat_s:g})")
    if duration < join_s:
        raise UsageError(f"the test ({duration:g} s) must last at least the join window ({join_s:g} s)")
    return Storm(learners, float(join_s), float(heartbeat_s), duration)


def planned_arrival(storm: Storm, k: int) -> float:
    """Second at which learner ``k`` (0-based) is planned to arrive: evenly over the join window."""
    return k * storm.join_s / storm.learners


def planned_by(storm: Storm, t: float) -> int:
    """How many learners are planned to have arrived by second ``t`` (learner k arrives at its second)."""
    if t < 0:
        return 0
    return min(storm.learners, math.floor(t * storm.learners / storm.join_s) + 1)


def planned_heartbeats(storm: Storm) -> int:
    """Heartbeats the whole test should send: each learner's, every heartbeat_s after its arrival."""
    total = 0
    for k in range(storm.learners):
        left = storm.duration_s - planned_arrival(storm, k)
        total += max(0, math.ceil(left / storm.heartbeat_s) - 1)
    return total


def arrival_report(storm: Storm, ticks: list[dict[str, Any]]) -> dict[str, Any]:
    """Planned against actual arrivals at every tick (each tick carries ``storm_t`` and the cumulative
    ``arrivals``), the largest gap as a share of all learners, and whether it stays within tolerance."""
    points = [(float(t["storm_t"]), int(t["arrivals"])) for t in ticks if "storm_t" in t and "arrivals" in t]
    t_values = [round(t, 3) for t, _n in points]
    planned = [planned_by(storm, t) for t, _n in points]
    actual = [n for _t, n in points]
    gaps = [abs(a - p) for a, p in zip(actual, planned, strict=True)]
    worst = max(gaps, default=storm.learners)
    deviation_pct = round(100.0 * worst / storm.learners, 2)
    arrived = actual[-1] if actual else 0
    return {"storm": storm.to_dict(), "t": t_values, "planned": planned, "actual": actual, "arrived": arrived,
            "max_deviation_pct": deviation_pct, "tolerance_pct": TOLERANCE_PCT,
            "within_tolerance": bool(points) and deviation_pct <= TOLERANCE_PCT and arrived == storm.learners}
