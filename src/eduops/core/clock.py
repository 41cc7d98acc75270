"""One clock for everything a person reads: times in the workspace's timezone (or the user's own),
to the second, labelled with the zone's UTC offset.

``format_time`` is for tables, reports, CLI output and IM messages; ``chart_time`` is for chart x values
(Plotly draws the wall-clock time it is given, so it gets the zone's local time and the axis title names
the zone via ``zone_label``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

DEFAULT_PATTERN = "%Y-%m-%d %H:%M:%S"


def as_zone(tz: tzinfo | str) -> tzinfo:
    return ZoneInfo(tz) if isinstance(tz, str) else tz


def _aware(value: datetime | str) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)  # the database keeps UTC


def offset_label(offset: timedelta | None) -> str:
    """``UTC+8``, ``UTC-3:30``, ``UTC``."""
    minutes = int((offset or timedelta()).total_seconds() // 60)
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def zone_label(tz: tzinfo | str, at: datetime | None = None) -> str:
    """The zone as a reader sees it next to a time or on an axis: ``Asia/Shanghai, UTC+8``."""
    zone = as_zone(tz)
    moment = _aware(at) if at is not None else datetime.now(UTC)
    offset = offset_label(moment.astimezone(zone).utcoffset())
    name = getattr(zone, "key", None)
    return offset if not name or name == "UTC" else f"{name}, {offset}"


def format_time(value: datetime | str | None, tz: tzinfo | str, *, pattern: str = DEFAULT_PATTERN,
                label: bool = True) -> str:
    """``2026-03-02 09:00:00 UTC+8``: the moment in ``tz``, to the second, with the zone's offset."""
    if value is None or value == "":
        return "—"
    try:
        local = _aware(value).astimezone(as_zone(tz))
    except (OverflowError, ValueError):  # a stored extreme (year 1 or 9999) shifted past what a datetime holds
        return f"{value.isoformat() if isinstance(value, datetime) else value} UTC"
    text = local.strftime(pattern)
    return f"{text} {offset_label(local.utcoffset())}" if label else text


def chart_time(value: datetime | str, tz: tzinfo | str) -> str:
    """An x value for a chart: the wall-clock time in ``tz`` without an offset (``2026-03-02 20:00:00``)."""
    return _aware(value).astimezone(as_zone(tz)).strftime(DEFAULT_PATTERN)
