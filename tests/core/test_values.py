"""The one parser for dates, times, durations and integers: its supported range, table by table."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from eduops.core.values import MAX_INT, day_start, parse_day, parse_duration, parse_int, parse_time
from eduops.errors import UsageError

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(("text", "expected"), [
    (None, None), ("", None), ("  ", None),
    ("2026-03-01", date(2026, 3, 1)), ("1970-01-01", date(1970, 1, 1)), ("2199-12-31", date(2199, 12, 31)),
])
def test_days(text: str | None, expected: date | None) -> None:
    assert parse_day(text, "since") == expected


@pytest.mark.parametrize(("text", "words"), [
    ("0001-01-01", "since: 0001-01-01 is outside the supported range 1970-01-01 to 2199-12-31"),
    ("9999-12-31", "since: 9999-12-31 is outside"), ("1969-12-31", "outside"), ("2200-01-01", "outside"),
    ("2026-02-30", "since: '2026-02-30' is not a date"), ("yesterday", "not a date"),
])
def test_bad_days_name_the_parameter(text: str, words: str) -> None:
    with pytest.raises(UsageError, match=words):
        parse_day(text, "since")


@pytest.mark.parametrize(("text", "tz", "expected"), [
    ("2026-03-01T08:00:00Z", None, datetime(2026, 3, 1, 8, tzinfo=UTC)),
    ("2026-03-01T08:00:00+08:00", None, datetime(2026, 3, 1, tzinfo=UTC)),
    ("2026-03-01T08:00", SHANGHAI, datetime(2026, 3, 1, 8, tzinfo=SHANGHAI)),
    ("1970-01-01T00:00:00Z", None, datetime(1970, 1, 1, tzinfo=UTC)),
])
def test_times(text: str, tz: ZoneInfo | None, expected: datetime) -> None:
    assert parse_time(text, "start", tz) == expected


@pytest.mark.parametrize(("text", "tz", "words"), [
    ("2026-03-01T08:00", None, "start: '2026-03-01T08:00' has no timezone"),
    ("0001-01-01T00:00:00Z", None, "start: .* is outside the supported range"),
    ("9999-12-31T23:59:59Z", None, "outside"),
    ("9999-12-31T23:59", SHANGHAI, "outside"),
    ("0001-01-01T00:00", SHANGHAI, "outside"),
    ("0001-01-01T00:00:00+01:00", None, "outside"),
    ("1969-12-31T23:59:59Z", None, "outside"),
    ("2026-03-01T25:00:00Z", None, "not an ISO 8601 time"),
    ("now", None, "not an ISO 8601 time"),
])
def test_bad_times_name_the_parameter(text: str, tz: ZoneInfo | None, words: str) -> None:
    with pytest.raises(UsageError, match=words):
        parse_time(text, "start", tz)


def test_day_start_is_midnight_on_the_workspace_clock() -> None:
    assert day_start(date(2026, 3, 1), SHANGHAI, 1) == datetime(2026, 3, 2, tzinfo=SHANGHAI)
    assert day_start(date(2026, 3, 1), timezone(timedelta(hours=8))).utcoffset() == timedelta(hours=8)


@pytest.mark.parametrize(("text", "seconds"), [
    ("30s", 30), ("5m", 300), ("1h30m", 5400), ("7d", 604800), ("2w", 1209600), ("1y", 31536000),
    ("500ms", 0.5), ("3660d", 3660 * 86400),
])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text, "step") == seconds


@pytest.mark.parametrize(("text", "words"), [
    ("1000000d", "step: '1000000d' is longer than the longest supported, 3660d"),
    ("11y", "longer than"), ("0s", "must be longer than 0"), ("", "not a duration"), ("5", "not a duration"),
    ("1.5h", "not a duration"), ("-5m", "not a duration"), ("9" * 40 + "s", "not a duration"),
])
def test_bad_durations_name_the_parameter(text: str, words: str) -> None:
    with pytest.raises(UsageError, match=words):
        parse_duration(text, "step")


@pytest.mark.parametrize(("text", "lo", "hi", "expected"), [
    ("0", 0, MAX_INT, 0), (str(MAX_INT), 0, MAX_INT, MAX_INT), (" 12 ", 0, 100, 12), (7, 0, 10, 7),
])
def test_integers(text: str | int, lo: int, hi: int, expected: int) -> None:
    assert parse_int(text, "offset", lo=lo, hi=hi) == expected


@pytest.mark.parametrize(("text", "words"), [
    (str(2**63), "offset: 9223372036854775808 is outside 0..9223372036854775807"),
    ("-1", "outside"), ("1e3", "not a whole number"), ("", "not a whole number"), ("9" * 31, "not a whole number"),
    (True, "not a whole number"),
])
def test_bad_integers_name_the_parameter(text: str, words: str) -> None:
    with pytest.raises(UsageError, match=words):
        parse_int(text, "offset")


@pytest.mark.parametrize("stored", [datetime(9999, 12, 31, 23, 59, tzinfo=UTC), datetime(1, 1, 1, tzinfo=UTC),
                                    "9999-12-31T23:59:59+00:00"])
def test_a_stored_extreme_time_still_renders(stored: datetime | str) -> None:
    """Rows written before the range existed must not break a page: shown in UTC when the zone cannot hold it."""
    from eduops.core.clock import format_time

    shown = format_time(stored, "Asia/Shanghai")
    assert shown.startswith(("9999-12-31", "1-01-01", "0001-01-01"))
