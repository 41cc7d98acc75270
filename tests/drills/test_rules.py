"""Pure drill rules: tolerances, sizes, and when an alert should have fired."""

from __future__ import annotations

import pytest

from eduops.drills.faults import parse_size
from eduops.drills.probes import ProbeResult, within
from eduops.drills.timing import expected_ttd, ttd_consistent


@pytest.mark.parametrize(
    ("result", "tolerance", "ok"),
    [
        (ProbeResult(True, 5), True, True), (ProbeResult(False, 5), True, False),
        (ProbeResult(False, 5), False, True), (ProbeResult(True, 5), 5, True), (ProbeResult(True, 5), 6, False),
        (ProbeResult(True, 5), [0, 10], True), (ProbeResult(True, 15), [0, 10], False),
        (ProbeResult(False, 5), [0, 10], False), (ProbeResult(True, 400), {"max": 500}, True),
        (ProbeResult(True, 600), {"max": 500}, False), (ProbeResult(True, 3), {"min": 14}, False),
    ],
)
def test_tolerances(result: ProbeResult, tolerance: object, ok: bool) -> None:
    assert within(result, tolerance) is ok


@pytest.mark.parametrize(
    ("hold", "interval", "probe", "window"),
    [
        (60, 15, 0, (60, 75)),  # DatabaseDown: for 1m, evaluated every 15 s
        (300, 15, 0.5, (300, 315.5)),
        (3, 1, 0, (3, 4)),
        (10, 4, 0, (10, 16)),  # for is not a multiple: fires at the 3rd evaluation after pending
        (0, 5, 0, (0, 5)),
    ],
)
def test_expected_time_to_detect(hold: float, interval: float, probe: float, window: tuple) -> None:
    assert expected_ttd(hold, interval, probe) == window


@pytest.mark.parametrize(
    ("ttd", "window", "consistent"),
    [(61, (60, 75), True), (75.3, (60, 75), True), (80, (60, 75), False), (30, (60, 75), False),
     (None, (60, 75), None), (5, None, None)],
)
def test_ttd_consistency(ttd, window, consistent) -> None:
    assert ttd_consistent(ttd, window) is consistent


@pytest.mark.parametrize(("text", "size"), [("500MB", 500 << 20), ("2G", 2 << 30), ("1.5GiB", 3 << 29),
                                            (1024, 1024), ("10k", 10240), ("7", 7)])
def test_sizes(text, size: int) -> None:
    assert parse_size(text) == size


def test_bad_size() -> None:
    with pytest.raises(ValueError, match="not a size"):
        parse_size("lots")
