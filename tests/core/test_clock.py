"""One clock: every time a person reads is in the workspace's (or the user's) timezone, to the second, with
its zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from eduops.core.clock import chart_time, format_time, offset_label, zone_label

NOON_UTC = datetime(2026, 3, 2, 12, 0, 5, 123456, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "tz", "expected"),
    [
        (NOON_UTC, "Asia/Shanghai", "2026-03-02 20:00:05 UTC+8"),  # the evening peak shows at 20:00, not 12:00
        (NOON_UTC, "UTC", "2026-03-02 12:00:05 UTC"),
        (NOON_UTC, "Asia/Kolkata", "2026-03-02 17:30:05 UTC+5:30"),
        (NOON_UTC, "America/St_Johns", "2026-03-02 08:30:05 UTC-3:30"),
        ("2026-03-02T12:00:05.123456+00:00", "Asia/Shanghai", "2026-03-02 20:00:05 UTC+8"),  # ISO from the API
        ("2026-03-02T12:00:05Z", "Asia/Shanghai", "2026-03-02 20:00:05 UTC+8"),
        (datetime(2026, 3, 2, 12, 0, 5), "Asia/Shanghai", "2026-03-02 20:00:05 UTC+8"),  # naive = stored UTC
        (datetime(2026, 7, 1, 12, 0, tzinfo=UTC), "Europe/Berlin", "2026-07-01 14:00:00 UTC+2"),  # summer time
        (datetime(2026, 1, 1, 12, 0, tzinfo=UTC), "Europe/Berlin", "2026-01-01 13:00:00 UTC+1"),
        (None, "Asia/Shanghai", "—"),
        ("", "Asia/Shanghai", "—"),
    ],
)
def test_times_are_shown_in_the_zone_to_the_second_with_its_offset(value: object, tz: str, expected: str) -> None:
    assert format_time(value, tz) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("offset", "expected"),
    [(timedelta(0), "UTC"), (timedelta(hours=8), "UTC+8"), (timedelta(hours=-5), "UTC-5"),
     (timedelta(hours=5, minutes=45), "UTC+5:45"), (None, "UTC")],
)
def test_offset_labels(offset: timedelta | None, expected: str) -> None:
    assert offset_label(offset) == expected


@pytest.mark.parametrize(
    ("tz", "expected"),
    [("Asia/Shanghai", "Asia/Shanghai, UTC+8"), ("UTC", "UTC"), (timezone(timedelta(hours=9)), "UTC+9")],
)
def test_zone_label_names_the_zone_and_its_offset(tz: object, expected: str) -> None:
    assert zone_label(tz, NOON_UTC) == expected  # type: ignore[arg-type]


def test_a_custom_pattern_keeps_the_zone_and_charts_get_wall_clock_time() -> None:
    assert format_time(NOON_UTC, "Asia/Shanghai", pattern="%H:%M") == "20:00 UTC+8"
    assert format_time(NOON_UTC, "Asia/Shanghai", label=False) == "2026-03-02 20:00:05"
    assert chart_time(NOON_UTC, "Asia/Shanghai") == "2026-03-02 20:00:05"  # no offset: Plotly draws it as given
    assert chart_time("2026-03-02T12:00:05+00:00", "UTC") == "2026-03-02 12:00:05"
