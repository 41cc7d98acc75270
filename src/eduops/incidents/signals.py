"""What every source hands the incidents domain: a signal, placed in time and in the platform's dimensions.

A signal is one observation another domain already made (an alert fired, a complaint cluster grew, a
call-quality segment degraded, a release check failed, a calendar run found something, a course step's
completion fell). Incidents never re-measure: they collect signals, join them, and rank causes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Kind = Literal["alert", "feedback", "rtc", "release", "run", "analytics"]
KINDS: tuple[Kind, ...] = ("alert", "feedback", "rtc", "release", "run", "analytics")

# The dimensions signals share and joining compares; values are normalised (lower-case ids, province
# names as core.places stores them, ISP ids as rtc stores them).
DIMENSIONS = ("service", "host", "region", "isp", "app_version", "course", "teacher")

Severity = Literal["info", "warning", "critical"]


@dataclass(frozen=True)
class Signal:
    """One observation, as the incident timeline shows it and as the joining and cause rules read it."""

    kind: Kind
    ref: str                      # stable id within its kind ("alert:42", "release:5.3.1", "rtc:henan/unicom")
    at: datetime                  # UTC, when it started (the first bad sample, the alert's activeAt, ...)
    title: str                    # a core.i18n.Msg where it is eduops's own words
    severity: Severity = "warning"
    ended_at: datetime | None = None   # UTC, when it stopped (resolved alert, segment back to normal)
    dims: Mapping[str, str] = field(default_factory=dict)  # a subset of DIMENSIONS
    link: str = ""                # the console page of the thing itself ("/alerts/42", "/rtc?region=...")
    value: float | None = None    # the headline number (poor share %, complaints/h, MOS, drop in points)
    unit: str = ""                # of value ("%", "1/h", "MOS", "pp")
    series: tuple[tuple[datetime, float], ...] = ()  # for the timeline chart, UTC points
    detail: Mapping[str, Any] = field(default_factory=dict)  # examples, worst calls, journey results ...
    opens: bool = False           # strong enough to open an incident on its own

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "ref": self.ref, "at": self.at.isoformat(), "title": str(self.title),
            "severity": self.severity, "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "dims": dict(self.dims), "link": self.link, "value": self.value, "unit": self.unit,
            "series": [[t.isoformat(), v] for t, v in self.series], "detail": dict(self.detail),
            "opens": self.opens,
        }
