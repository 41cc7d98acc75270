"""Learning analytics as one Python API: what the HTTP routes, the CLI, the console and checks call.

``Analytics(settings)`` opens the workspace's event store and answers each metric; arguments arrive
as text from the outside (dates, verbs, steps) and are checked here once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from eduops.analytics import metrics, vocab
from eduops.analytics.sql import Filters
from eduops.analytics.store import Store, open_store
from eduops.config import Settings
from eduops.core import values
from eduops.core.i18n import msg
from eduops.errors import UsageError


def parse_day(text: str | None, name: str) -> date | None:
    """YYYY-MM-DD within the supported range (eduops.core.values), or a UsageError naming ``name``."""
    return values.parse_day(text, name)


def parse_list(values: Sequence[str] | str | None) -> list[str]:
    if values is None:
        return []
    items = [values] if isinstance(values, str) else list(values)
    return [v.strip() for item in items for v in item.split(",") if v.strip()]


def not_after_now(moment: datetime | None) -> datetime:
    """A store time (naive UTC) no later than now: events stamped in the future do not move "today"."""
    now = datetime.now(UTC).replace(tzinfo=None)
    if moment is None:
        return now
    naive = moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment
    return min(naive, now)


@dataclass
class Analytics:
    settings: Settings
    store: Store

    @classmethod
    def open(cls, settings: Settings) -> Analytics:
        return cls(settings, open_store(settings))

    @property
    def tz(self) -> str:
        return self.settings.timezone

    def _range(self, since: str | None, until: str | None) -> tuple[datetime | None, datetime | None]:
        """``since`` and ``until`` are inclusive days in the workspace's timezone; the SQL takes UTC [first, end)."""
        first, last = parse_day(since, "since"), parse_day(until, "until")
        end = metrics.day_start_utc(last + timedelta(days=1), self.tz) if last else None
        return (metrics.day_start_utc(first, self.tz) if first else None), end

    def active(self, since: str | None = None, until: str | None = None, f: Filters = Filters()) -> dict[str, Any]:
        last = parse_day(until, "until")
        first = parse_day(since, "since")
        if last is None or first is None:
            ext = metrics.extent(self.store, f)
            if last is None:  # up to the newest event, never past today (no chart runs into the future)
                last = metrics.local_date(not_after_now(ext.last), self.tz)
            if first is None:
                first = last - timedelta(days=29)
        return metrics.active_users(self.store, first, last, f, self.tz)

    def completion(self, until: str | None = None, f: Filters = Filters(), by: str = "course",
                   count: str = "learners") -> dict[str, Any]:
        _first, end = self._range(None, until)
        return metrics.completion(self.store, f, end, by, count)

    def retention(self, unit: str = "week", periods: int = 12, mode: str = "on", start_verbs: Sequence[str] = (),
                  return_verbs: Sequence[str] = (), since: str | None = None, until: str | None = None,
                  f: Filters = Filters()) -> dict[str, Any]:
        if not 1 <= periods <= 120:
            raise UsageError(msg("{name} must be between {lo} and {hi}", name="periods", lo=1, hi=120))
        first, end = self._range(since, until)
        return metrics.retention(self.store, unit, periods, mode.replace("-", "_"),
                                 [vocab.verb_iri(v) for v in parse_list(start_verbs)],
                                 [vocab.verb_iri(v) for v in parse_list(return_verbs)], first, end, f, self.tz)

    def funnel(self, steps: Sequence[str], window_days: int = 14, since: str | None = None,
               until: str | None = None, f: Filters = Filters()) -> dict[str, Any]:
        first, end = self._range(since, until)
        return metrics.funnel(self.store, parse_list(steps), first, end, window_days, f, self.tz)

    def breakdown(self, dimension: str, since: str | None = None, until: str | None = None,
                  f: Filters = Filters()) -> dict[str, Any]:
        first, end = self._range(since, until)
        return metrics.breakdown(self.store, dimension, first, end, f, self.tz)

    def video(self, since: str | None = None, until: str | None = None, f: Filters = Filters()) -> dict[str, Any]:
        first, end = self._range(since, until)
        return metrics.video_engagement(self.store, first, end, f, self.tz)

    def at_risk(self, asof: str | None = None, f: Filters = Filters(), idle_days: int = 7) -> dict[str, Any]:
        day = parse_day(asof, "asof")
        if day is None:
            ext = metrics.extent(self.store, f)
            moment = not_after_now(ext.last + timedelta(seconds=1) if ext.last else None)
        else:
            moment = metrics.day_start_utc(day + timedelta(days=1), self.tz)
        return metrics.at_risk(self.store, moment, f, idle_days)

    def courses(self) -> dict[str, Any]:
        return metrics.courses(self.store)

    def course(self, course: str) -> dict[str, Any]:
        """Everything about one course: outcomes, activity, retention, at-risk learners."""
        f = Filters(course=course)
        done = self.completion(f=f)
        if not done["courses"]:
            from eduops.errors import NotFound

            raise NotFound(msg("no statements for course {course!r}", course=course))
        return {"course": course, "completion": done["courses"][0], "active": self.active(f=f),
                "parts": self.completion(f=f, by="part", count="registrations")["courses"],
                "retention": self.retention(unit="week", periods=8, f=f), "at_risk": self.at_risk(f=f),
                "video": self.video(f=f)}
