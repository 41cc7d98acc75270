"""The calendar as days: when each task falls in a week or a month, in the viewer's timezone."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from croniter import croniter

from eduops.core.calendar import CalendarEntry
from eduops.core.plan import ON_DEMAND

MAX_PER_TASK = 200


@dataclass
class Day:
    date: date
    in_range: bool
    items: list[tuple[datetime, CalendarEntry]] = field(default_factory=list)


def occurrences(cron: str, task_tz: str, start: datetime, end: datetime) -> list[datetime]:
    """Due times of a cadence in [start, end), UTC."""
    if cron == ON_DEMAND:
        return []
    itr = croniter(cron, start.astimezone(ZoneInfo(task_tz)) - timedelta(microseconds=1))
    found: list[datetime] = []
    while len(found) < MAX_PER_TASK:
        due = itr.get_next(datetime)
        if due >= end:
            break
        found.append(due.astimezone(ZoneInfo("UTC")))
    return found


def period(view: str, anchor: date) -> tuple[date, date, date, date]:
    """(first shown day, last shown day + 1, range start, range end) for a week or a month view."""
    if view == "week":
        start = anchor - timedelta(days=anchor.weekday())
        return start, start + timedelta(days=7), start, start + timedelta(days=7)
    first = anchor.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    grid_start = first - timedelta(days=first.weekday())
    grid_end = following + timedelta(days=(7 - following.weekday()) % 7)
    return grid_start, grid_end, first, following


def days(entries: list[CalendarEntry], view: str, anchor: date, tz: tzinfo) -> list[Day]:
    grid_start, grid_end, range_start, range_end = period(view, anchor)
    start = datetime.combine(grid_start, time(), tz)
    end = datetime.combine(grid_end, time(), tz)
    shown = {
        grid_start + timedelta(days=i): Day(
            grid_start + timedelta(days=i), range_start <= grid_start + timedelta(days=i) < range_end
        )
        for i in range((grid_end - grid_start).days)
    }
    for entry in entries:
        if not entry.enabled:
            continue
        for due in occurrences(entry.cadence, entry.timezone, start, end):
            local = due.astimezone(tz)
            if local.date() in shown:
                shown[local.date()].items.append((local, entry))
    for day in shown.values():
        day.items.sort(key=lambda item: item[0])
    return [shown[d] for d in sorted(shown)]


def shift(view: str, anchor: date, steps: int) -> date:
    if view == "week":
        return anchor + timedelta(days=7 * steps)
    month = anchor.month - 1 + steps
    return date(anchor.year + month // 12, month % 12 + 1, 1)
