"""The one parser for the dates, times, durations and integers a person or a client types.

Every API parameter, CLI option and console field that takes one of these goes through here, so
the supported range is the same everywhere and a value outside it is a ``UsageError`` (HTTP 400,
CLI exit 2) that names the parameter, instead of an overflow somewhere downstream:

- dates and times: 1970-01-01 to 2199-12-31 (``EARLIEST``, ``LATEST``);
- durations: ``500ms``, ``30s``, ``5m``, ``1h30m``, ``7d``, ``2w``, ``1y``, at most ``MAX_DURATION_S``
  (10 years);
- integers: within a signed 64-bit integer, the largest a database column holds (``MAX_INT``).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from eduops.core.i18n import msg
from eduops.errors import UsageError

EARLIEST = date(1970, 1, 1)
LATEST = date(2199, 12, 31)
MAX_INT = 2**63 - 1
MAX_DURATION_S = 10 * 366 * 86400
_DURATION = re.compile(r"(\d{1,12}(?:ms|[smhdwy]))+")
_DURATION_PART = re.compile(r"(\d+)(ms|[smhdwy])")
UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
RANGE_TEXT = f"{EARLIEST.isoformat()} to {LATEST.isoformat()}"


def _outside(name: str, text: object) -> UsageError:
    return UsageError(msg("{name}: {text!s} is outside the supported range {first} to {last}", name=name, text=text,
                          first=EARLIEST.isoformat(), last=LATEST.isoformat()))


def check_day(value: date, name: str) -> date:
    if not EARLIEST <= value <= LATEST:
        raise _outside(name, value.isoformat())
    return value


def check_time(value: datetime, name: str, shown: str | None = None) -> datetime:
    """``value`` (aware) when its UTC day is within the supported range; errors quote ``shown`` (what the
    caller typed) or the value."""
    try:
        day = value.astimezone(UTC).date() if value.tzinfo else value.date()
    except OverflowError:  # 0001-01-01T00:00+08:00 is before the first instant a datetime holds
        raise _outside(name, shown or value.isoformat()) from None
    if not EARLIEST <= day <= LATEST:
        raise _outside(name, shown or value.isoformat())
    return value


def parse_day(text: str | None, name: str) -> date | None:
    """``YYYY-MM-DD`` within the supported range; empty is None."""
    if text is None or not str(text).strip():
        return None
    try:
        value = date.fromisoformat(str(text).strip())
    except ValueError:
        raise UsageError(msg("{name}: {text!r} is not a date (YYYY-MM-DD)", name=name, text=text)) from None
    return check_day(value, name)


def day_start(value: date, tz: tzinfo, plus_days: int = 0) -> datetime:
    """Midnight of ``value`` (+ days) in ``tz``: the start of a day as the workspace's clock shows it."""
    return datetime.combine(value, time(), tz) + timedelta(days=plus_days)


def parse_time(text: str | None, name: str, tz: tzinfo | None = None) -> datetime | None:
    """An ISO 8601 time within the supported range; empty is None. Without a zone it is read in ``tz``
    (the workspace's, for what a person typed), or refused when ``tz`` is None (machine clients)."""
    if text is None or not str(text).strip():
        return None
    raw = str(text).strip()
    try:
        value = datetime.fromisoformat(raw[:-1] + "+00:00" if raw.endswith(("Z", "z")) else raw)
    except ValueError:
        raise UsageError(msg("{name}: {text!r} is not an ISO 8601 time such as 2026-03-01T08:00:00+08:00",
                             name=name, text=text)) from None
    if value.tzinfo is None:
        if tz is None:
            raise UsageError(msg("{name}: {text!r} has no timezone; add Z or +08:00", name=name, text=text))
        value = value.replace(tzinfo=tz)
    return check_time(value, name, raw)


def parse_duration(text: str | None, name: str, *, max_seconds: float = MAX_DURATION_S,
                   allow_zero: bool = False) -> float:
    """``1h30m`` → 5400.0 seconds, at most ``max_seconds``."""
    raw = (text or "").strip()
    if not _DURATION.fullmatch(raw):
        raise UsageError(msg("{name}: {text!r} is not a duration such as 30s, 5m, 1h30m or 7d", name=name, text=text))
    seconds = float(sum(int(n) * UNIT_SECONDS[u] for n, u in _DURATION_PART.findall(raw)))
    if seconds > max_seconds:
        raise UsageError(msg("{name}: {text!r} is longer than the longest supported, {longest}", name=name, text=text,
                             longest=format_duration(max_seconds)))
    if seconds <= 0 and not allow_zero:
        raise UsageError(msg("{name}: {text!r} must be longer than 0", name=name, text=text))
    return seconds


def format_duration(seconds: float) -> str:
    for unit in ("y", "w", "d", "h", "m", "s"):
        size = UNIT_SECONDS[unit]
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def parse_int(text: str | int | None, name: str, *, lo: int = 0, hi: int = MAX_INT) -> int:
    """A whole number from ``lo`` to ``hi`` (by default what a 64-bit column holds)."""
    if isinstance(text, int) and not isinstance(text, bool):
        value = text
    else:
        raw = str(text if text is not None else "").strip()
        if not re.fullmatch(r"[+-]?\d{1,30}", raw):
            raise UsageError(msg("{name}: {text!r} is not a whole number", name=name, text=text))
        value = int(raw)
    if not lo <= value <= hi:
        raise UsageError(msg("{name}: {value} is outside {lo}..{hi}", name=name, value=value, lo=lo, hi=hi))
    return value
