"""Time to detect, judged: an alert with ``for: F`` evaluated every ``I`` seconds fires between F and F + I
after the condition starts (plus how long the probe took to notice)."""

from __future__ import annotations

import math


def expected_ttd(hold_s: float, interval_s: float, probe_s: float = 0.0) -> tuple[float, float]:
    """The window the time to detect should fall in.

    The alert turns pending at the first evaluation after the fault (within one interval) and fires at the
    first evaluation at least ``for`` later, i.e. ``ceil(for / interval)`` evaluations on: so between
    ``for`` and ``ceil(for / interval) × interval + interval``, plus the probe's own time.
    """
    evaluations = math.ceil(hold_s / interval_s - 1e-9) if hold_s > 0 else 0
    return hold_s, evaluations * interval_s + interval_s + probe_s


def ttd_consistent(ttd_s: float | None, window: tuple[float, float] | None, slack_s: float = 0.5) -> bool | None:
    """Whether a measured time to detect fits the window (None when there is nothing to judge)."""
    if ttd_s is None or window is None:
        return None
    return window[0] - 0.05 <= ttd_s <= window[1] + slack_s
