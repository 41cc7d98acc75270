"""The scenario library: the peaks an online school sees, each with its load shape and SLO.

A scenario names a Locust user class in ``locustfile.py`` (what one student does) and how the crowd
arrives (``shapes.py``). Sizes are nominal; on one machine they are scaled to ``max_local_users``.
"""

from __future__ import annotations

from dataclasses import dataclass

from eduops.errors import UsageError
from eduops.loadtest.analysis import SLO
from eduops.loadtest.settings import LoadtestSettings


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    description: str
    user_class: str  # in eduops.loadtest.locustfile
    shape: str
    nominal_users: int
    slo: SLO


SCENARIOS: dict[str, Scenario] = {s.key: s for s in (
    Scenario("term-rush", "Start-of-term rush",
             "Students log in, open the timetable and join the live class at its start minute.",
             "TermRushStudent", "ramp", 5000, SLO(p95_ms=800, error_rate_pct=1.0)),
    Scenario("live-class-spike", "Live-class join spike",
             "10,000 students join the same live class within seconds of its start.",
             "LiveClassStudent", "spike", 10000, SLO(p95_ms=1000, error_rate_pct=1.0)),
    Scenario("booking-peak", "1-on-1 booking peak",
             "Evening peaks of students booking tutor slots; a taken slot (409) is a normal answer.",
             "BookingStudent", "double_wave", 2000, SLO(p95_ms=600, error_rate_pct=0.5)),
    Scenario("browse", "Course and video browsing",
             "Students browse the catalogue, open a course and start a lesson video.",
             "BrowsingStudent", "step", 3000, SLO(p95_ms=500, error_rate_pct=0.5)),
    Scenario("join-storm", "Live-class join storm",
             "10,000 learners join the same live class within 60 s, then each sends a heartbeat every 15 s "
             "for 5 minutes; the report sets planned against actual arrivals.",
             "JoinStormUser", "storm", 10000, SLO(p95_ms=1000, error_rate_pct=1.0)),
    Scenario("quiz", "Quiz submission",
             "A class submits its quiz at the bell.",
             "QuizStudent", "spike", 2000, SLO(p95_ms=800, error_rate_pct=0.5)),
)}


def get_scenario(key: str) -> Scenario:
    try:
        return SCENARIOS[key]
    except KeyError:
        raise UsageError(f"unknown scenario {key!r}; one of {', '.join(SCENARIOS)} "
                         "(see `eduops loadtest list`)") from None


def slo_for(scenario: Scenario, settings: LoadtestSettings) -> SLO:
    override = settings.slo.get(scenario.key)
    return SLO(override.p95_ms, override.error_rate_pct) if override else scenario.slo


def scaled_users(scenario: Scenario, settings: LoadtestSettings) -> int:
    """The nominal crowd, scaled down to what this machine may run."""
    return min(scenario.nominal_users, settings.max_local_users)
