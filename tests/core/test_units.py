"""Values as people read them: no exponents, binary byte units, durations in words, units kept."""

from __future__ import annotations

import pytest

from eduops.core.units import humanize, unit_of


@pytest.mark.parametrize(
    ("value", "unit", "shown"),
    [
        (-877102557.55, "bytes", "-836 MiB"),
        (2.323e10, "bytes", "21.6 GiB"),
        (512, "bytes", "512 B"),
        (1536, "bytes", "1.5 KiB"),
        (3.2e6, "bytes/s", "3.05 MiB/s"),
        (85.027, "%", "85 %"),
        (99.17, "%", "99.2 %"),
        (0.12, "s", "120 ms"),
        (42, "s", "42 s"),
        (200, "s", "3 min 20 s"),
        (7500, "s", "2 h 5 min"),
        (3 * 86400 + 4 * 3600, "s", "3 d 4 h"),
        (560, "ms", "560 ms"),
        (-3, "d", "-3 d"),
        (1.0, "", "1"),
        (1234567, "", "1,234,567"),
        (0.000123, "", "0.000123"),
        (4.349, "MOS", "4.35 MOS"),
        (None, "bytes", "—"),
        (float("nan"), "", "—"),
    ],
)
def test_humanize(value: float | None, unit: str, shown: str) -> None:
    assert humanize(value, unit) == shown
    assert "e+" not in shown and "e-" not in shown


@pytest.mark.parametrize(
    ("name", "stored", "unit"),
    [
        ("disk_free_bytes", "", "bytes"),
        ("disk_free_bytes", "B", "B"),
        ("http_request_duration_seconds", "", "s"),
        ("db_query_ms", "", "ms"),
        ("cert_days_left", "", "d"),
        ("cpu_used_pct", "", "%"),
        ("endpoint_up", "", ""),
    ],
)
def test_unit_of(name: str, stored: str, unit: str) -> None:
    assert unit_of(name, stored) == unit
