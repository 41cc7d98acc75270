"""The joining rules: a new signal attaches to an open incident (window, shared dimensions, compatible
kinds, no contradiction), opens a new one when strong enough, or is only kept; the best match wins."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from eduops.incidents.joining import Decision, OpenIncident, decide, holder, kinds_compatible, merge_dims
from eduops.incidents.signals import Signal

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
WINDOW = timedelta(hours=2)
RELEASE = OpenIncident(1, {"app_version": "5.3.1", "service": "quiz"}, frozenset({"release"}), T0, T0)
CALLS = OpenIncident(2, {"region": "henan", "isp": "unicom"}, frozenset({"rtc"}), T0, T0 + timedelta(hours=1))
CALLS_HENAN = OpenIncident(3, {"region": "henan"}, frozenset({"rtc"}), T0, T0 + timedelta(minutes=30))


def sig(kind: str, minutes: int, opens: bool = False, **dims: str) -> Signal:
    return Signal(kind=kind, ref=f"{kind}:{minutes}:{sorted(dims.items())}", at=T0 + timedelta(minutes=minutes),  # type: ignore[arg-type]
                  title="t", dims=dims, opens=opens)


@pytest.mark.parametrize(
    ("signal", "incidents", "expected"),
    [
        # complaints from 5.3.1 users join the release incident
        (sig("feedback", 30, app_version="5.3.1"), [RELEASE], Decision("attach", 1, ("app_version",))),
        # the same complaints three hours later are outside the window: kept, not strong enough to open
        (sig("feedback", 200, app_version="5.3.1"), [RELEASE], Decision("keep")),
        # ...but a strong signal that far out opens its own
        (sig("alert", 200, opens=True, app_version="5.3.1"), [RELEASE], Decision("open")),
        # nothing in common: opens when strong
        (sig("alert", 10, opens=True, host="db1"), [RELEASE, CALLS], Decision("open")),
        # a contradicting dimension (another release) never joins
        (sig("release", 5, opens=True, app_version="5.3.2", service="quiz"), [RELEASE], Decision("open")),
        # a calendar run's finding says nothing about complaints: incompatible kinds
        (sig("run", 10, region="henan", isp="unicom"), [OpenIncident(
            4, {"region": "henan", "isp": "unicom"}, frozenset({"feedback"}), T0, T0)], Decision("keep")),
        # the incident sharing more dimensions wins (henan+unicom over henan alone)
        (sig("feedback", 40, region="henan", isp="unicom"), [CALLS_HENAN, CALLS],
         Decision("attach", 2, ("region", "isp"))),
        # equal sharing: the nearer last signal wins (CALLS_HENAN's last is 12:30, CALLS's 13:00)
        (sig("alert", 25, region="henan"), [CALLS, CALLS_HENAN], Decision("attach", 3, ("region",))),
        # a signal before the incident's first, within the window, still joins
        (sig("rtc", -90, region="henan", isp="unicom"), [CALLS], Decision("attach", 2, ("region", "isp"))),
        # no dimensions at all: cannot be placed
        (sig("alert", 0, opens=True), [RELEASE], Decision("open")),
    ],
)
def test_decide(signal: Signal, incidents: list[OpenIncident], expected: Decision) -> None:
    assert decide(signal, incidents, WINDOW) == expected


@pytest.mark.parametrize(
    ("kind", "present", "expected"),
    [("alert", {"run"}, True), ("run", {"feedback"}, False), ("rtc", {"feedback", "release"}, True),
     ("analytics", {"rtc"}, False), ("feedback", set(), True)],
)
def test_kinds_compatible(kind: str, present: set[str], expected: bool) -> None:
    assert kinds_compatible(kind, present) is expected


@pytest.mark.parametrize(
    ("incident", "signal", "merged"),
    [
        ({"region": "henan"}, {"isp": "unicom", "course": "c1"}, {"region": "henan", "isp": "unicom", "course": "c1"}),
        ({"app_version": "5.3.1"}, {"app_version": "5.3.2"}, {"app_version": "5.3.1"}),  # the incident's own stays
        ({}, {"bogus": "x", "host": "db1"}, {"host": "db1"}),  # only known dimensions
    ],
)
def test_merge_dims(incident: dict[str, str], signal: dict[str, str], merged: dict[str, str]) -> None:
    assert merge_dims(incident, signal) == merged


@pytest.mark.parametrize(("minutes", "carriers", "expected"), [
    (30, [], None),                                       # never seen: new
    (30, [(4, None)], 4),                                 # on an open incident already
    (30, [(4, T0 + timedelta(hours=2))], 4),              # began before that incident resolved: same occurrence
    (300, [(4, T0 + timedelta(hours=2))], None),          # began after it resolved: it came back, a new one
    (300, [(4, T0 + timedelta(hours=2)), (9, None)], 9),  # ... and the recurrence is open already
])
def test_holder_keeps_one_occurrence_on_one_incident(minutes, carriers, expected) -> None:
    assert holder(sig("release", minutes, opens=True, app_version="5.3.1"), carriers) == expected
