"""Every call-quality figure the console shows has a definition (its column tooltip) in both languages."""

from __future__ import annotations

import pytest

from eduops.core.i18n import render_text
from eduops.rtc import qoe
from eduops.rtc.breakdowns import HEATMAP_METRICS, TREND_METRICS
from eduops.rtc.definitions import METRIC_HELP


@pytest.mark.parametrize("metric", sorted({*TREND_METRICS, *HEATMAP_METRICS, "rtt_p90_ms", "lift", "sessions"}))
def test_each_figure_has_a_definition_in_english_and_chinese(metric: str) -> None:
    english, chinese = render_text(METRIC_HELP[metric], "en"), render_text(METRIC_HELP[metric], "zh-CN")
    assert english and chinese != english and "{" not in chinese


def test_a_definition_names_the_threshold_the_figure_is_judged_by() -> None:
    assert f"{qoe.MOS_FAIR}" in render_text(METRIC_HELP["poor_pct"], "zh-CN")
    assert f"{qoe.JOIN_SUCCESS_MIN_PCT:.0f}%" in render_text(METRIC_HELP["join_success_pct"], "zh-CN")
    assert f"{qoe.VIDEO_FREEZE_MIN_MS['web']:.0f} 毫秒" in render_text(METRIC_HELP["video_freeze_rate_pct"], "zh-CN")
