"""Whether a new signal joins an open incident, opens a new one, or is only kept for the timeline.

Pure functions: the background loop, the API and the tests call the same ones. A signal joins an
incident when it starts within the join window of the incident's signals, shares at least one
dimension value with it, contradicts none (another region, another release) and is of a kind that
can explain or be explained by the incident's kinds. Of several matches the one sharing the most
dimensions wins, then the one whose last signal is nearest, then the oldest.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from eduops.incidents.signals import DIMENSIONS, Kind, Signal

# which kinds can be parts of one story; symmetric. An alert goes with everything; a calendar run's
# findings say nothing about learners' complaints or funnels on their own.
COMPATIBLE: dict[str, frozenset[str]] = {
    "alert": frozenset({"alert", "feedback", "rtc", "release", "run", "analytics"}),
    "feedback": frozenset({"alert", "feedback", "rtc", "release", "analytics"}),
    "rtc": frozenset({"alert", "feedback", "rtc", "run"}),
    "release": frozenset({"alert", "feedback", "release", "run", "analytics"}),
    "run": frozenset({"alert", "rtc", "release", "run"}),
    "analytics": frozenset({"alert", "feedback", "release", "analytics"}),
}


@dataclass(frozen=True)
class OpenIncident:
    """What joining needs to know of an incident that is not resolved."""

    id: int
    dims: Mapping[str, str]
    kinds: frozenset[str]
    first_signal_at: datetime
    last_signal_at: datetime


@dataclass(frozen=True)
class Decision:
    action: Literal["attach", "open", "keep"]  # keep: not strong enough to open, no incident to join
    incident_id: int | None = None
    shared: tuple[str, ...] = ()


def shared_dims(a: Mapping[str, str], b: Mapping[str, str]) -> tuple[str, ...]:
    """The dimensions both name with the same value, in DIMENSIONS order."""
    return tuple(d for d in DIMENSIONS if a.get(d) and a.get(d) == b.get(d))


def conflicting_dims(a: Mapping[str, str], b: Mapping[str, str]) -> tuple[str, ...]:
    """The dimensions both name with different values (Henan vs Guangdong, 5.3.1 vs 5.3.0)."""
    return tuple(d for d in DIMENSIONS if a.get(d) and b.get(d) and a[d] != b[d])


def kinds_compatible(kind: Kind | str, kinds: Iterable[str]) -> bool:
    """A kind fits an incident when it fits at least one kind already there (an empty incident takes any)."""
    present = set(kinds)
    return not present or bool(COMPATIBLE.get(kind, frozenset()) & present)


def in_window(at: datetime, incident: OpenIncident, window: timedelta) -> bool:
    return incident.first_signal_at - window <= at <= incident.last_signal_at + window


def joins(signal: Signal, incident: OpenIncident, window: timedelta) -> tuple[str, ...] | None:
    """The shared dimensions when ``signal`` joins ``incident``, else None."""
    if not in_window(signal.at, incident, window) or not kinds_compatible(signal.kind, incident.kinds):
        return None
    if conflicting_dims(signal.dims, incident.dims):
        return None
    shared = shared_dims(signal.dims, incident.dims)
    return shared or None


def decide(signal: Signal, incidents: Iterable[OpenIncident], window: timedelta) -> Decision:
    """Attach to the best matching open incident, else open one when the signal is strong enough."""
    best: tuple[tuple[int, float, int], OpenIncident, tuple[str, ...]] | None = None
    for incident in incidents:
        shared = joins(signal, incident, window)
        if shared is None:
            continue
        distance = abs((signal.at - incident.last_signal_at).total_seconds())
        key = (-len(shared), distance, incident.id)
        if best is None or key < best[0]:
            best = (key, incident, shared)
    if best is not None:
        return Decision("attach", best[1].id, best[2])
    return Decision("open") if signal.opens else Decision("keep")


def merge_dims(incident: Mapping[str, str], signal: Mapping[str, str]) -> dict[str, str]:
    """The incident's dimensions plus those the signal adds; the incident's own values stay."""
    merged = {d: incident[d] for d in DIMENSIONS if incident.get(d)}
    for d in DIMENSIONS:
        if signal.get(d) and d not in merged:
            merged[d] = signal[d]
    return merged


def holder(signal: Signal, carriers: Iterable[tuple[int, datetime | None]]) -> int | None:
    """The incident that already holds this occurrence of a signal, of those carrying its ref as
    ``(incident id, resolved_at)``: one still open, or one resolved after the signal began (the same
    occurrence, already handled — a failed release check stays "failed" for a day, a surge for hours).
    None when the signal is new, or began after every incident carrying it was resolved (it came back)."""
    for incident_id, resolved_at in sorted(carriers, key=lambda c: c[0]):
        if resolved_at is None or signal.at <= resolved_at:
            return incident_id
    return None
