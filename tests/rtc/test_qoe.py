"""QoE rules reproduce hand-computed values (table-driven)."""

from __future__ import annotations

import numpy as np
import pytest

from eduops.rtc import qoe


# effective latency = RTT/2 + 2·jitter + 10; R = 93.2 − eff/40 (eff < 160) else 93.2 − (eff − 120)/10; − 2.5·loss
# MOS = 1 + 0.035 R + 7e-6 R (R − 60)(100 − R)
@pytest.mark.parametrize(
    ("rtt_ms", "jitter_ms", "loss_pct", "r", "mos"),
    [
        (0, 0, 0, 92.95, 4.4044),  # eff 10: 93.2 − 0.25; 1 + 3.25325 + 0.151144
        (200, 0, 0, 90.45, 4.3499),  # eff 110: 93.2 − 2.75; 1 + 3.16575 + 0.184118
        (400, 20, 2, 75.2, 3.8304),  # eff 250 ≥ 160: 93.2 − 13 = 80.2, − 5 for 2 % loss
        (0, 0, 5, 80.45, 4.0409),  # loss alone: 92.95 − 12.5; 1 + 2.81575 + 0.225146
        (220, 25, 0, 88.2, 4.2924),  # eff 110 + 50 + 10 = 170 ≥ 160: 93.2 − 5; 1 + 3.087 + 0.205446
        (2000, 100, 50, 0.0, 1.0),  # clamped at 0
    ],
)
def test_e_model(rtt_ms: float, jitter_ms: float, loss_pct: float, r: float, mos: float) -> None:
    assert qoe.r_factor(rtt_ms, jitter_ms, loss_pct) == pytest.approx(r, abs=1e-9)
    assert qoe.mos(rtt_ms, jitter_ms, loss_pct).value == pytest.approx(mos, abs=1e-4)


def test_issue_examples_round_to_the_stated_values() -> None:
    assert round(qoe.mos(0, 0, 0).value or 0, 2) == 4.40
    assert round(qoe.mos(200, 0, 0).value or 0, 2) == 4.35


def test_mos_carries_unit_and_threshold() -> None:
    score = qoe.mos(0, 0, 0)
    assert (score.unit, score.threshold, score.better, score.ok) == ("MOS", 3.6, "higher", True)
    assert qoe.mos(600, 60, 10).ok is False


def test_mos_array_matches_scalar() -> None:
    # the bulk formula (ingest fast path, synthetic data) on the same rows as the scalar one (report ingest, probe),
    # both sides of eff = 160 ms and the clamp included
    rows = np.array([(0, 0, 0), (200, 0, 0), (300, 0, 0), (298, 1, 0), (400, 20, 2), (220, 25, 0), (0, 0, 5),
                     (1000, 80, 30), (2000, 100, 50)], dtype=float)
    expected = [qoe.mos_from_r(qoe.r_factor(*row)) for row in rows]
    assert qoe.mos_array(rows[:, 0], rows[:, 1], rows[:, 2]) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(
    ("mos", "poor_pct", "band"),
    [(4.4, None, "good"), (4.0, 0, "good"), (3.99, 0, "fair"), (3.6, 0, "fair"), (3.59, 0, "poor"),
     (4.4, 10, "fair"), (4.4, 25, "poor"), (None, 0, "unknown")],
)
def test_quality_band(mos: float | None, poor_pct: float | None, band: str) -> None:
    assert qoe.quality_band(mos, poor_pct) == band


@pytest.mark.parametrize(
    ("freezes_ms", "media_ms", "rate_pct"),
    [
        ([0], [10_000], 0.0),
        ([500], [10_000], 5.0),
        ([700, 300], [10_000, 10_000], 5.0),  # a call: both users' freezes over both users' media time
        ([], [], None),
    ],
)
def test_freeze_rate(freezes_ms: list[float], media_ms: list[float], rate_pct: float | None) -> None:
    rate = qoe.freeze_rate(freezes_ms, media_ms)
    assert rate.value == rate_pct
    assert rate.unit == "%"


@pytest.mark.parametrize(
    ("durations", "platform_or_kind", "count", "total"),
    [
        ([150, 250, 900], "audio", 2, 1150.0),  # audio: over 200 ms
        ([550, 650], "native", 1, 650.0),  # native video: over 600 ms
        ([550, 650], "web", 2, 1200.0),  # web video: over 500 ms
        ([600], "native", 0, 0.0),  # exactly the threshold is not over it
    ],
)
def test_freeze_thresholds(durations: list[float], platform_or_kind: str, count: int, total: float) -> None:
    limit = qoe.AUDIO_FREEZE_MIN_MS if platform_or_kind == "audio" else qoe.video_freeze_min_ms(platform_or_kind)
    assert qoe.freeze_total_ms(durations, limit) == (count, total)


def test_w3c_freeze_rule() -> None:
    # 30 frames at 33 ms then a 200 ms gap: avg 33 → max(99, 183) = 183 ≤ 200: a freeze
    times = [i * 33.0 for i in range(31)] + [30 * 33.0 + 200]
    assert qoe.w3c_freezes(times) == [200.0]
    # 150 ms is under max(3·33, 33 + 150): not a freeze
    times = [i * 33.0 for i in range(31)] + [30 * 33.0 + 150]
    assert qoe.w3c_freezes(times) == []
    # slow but steady video (every 500 ms) never freezes: each gap equals the average
    assert qoe.w3c_freezes([i * 500.0 for i in range(40)]) == []


@pytest.mark.parametrize(
    ("attempts_ok", "rate_pct", "ok"),
    [([True] * 49 + [False], 98.0, True), ([True, False, None], 100 / 3, False), ([], None, None)],
)
def test_join_success_rate(attempts_ok: list[bool | None], rate_pct: float | None, ok: bool | None) -> None:
    rate = qoe.join_success_rate(attempts_ok)
    assert (rate.value, rate.ok) == (pytest.approx(rate_pct) if rate_pct else rate_pct, ok)


def test_join_within_rate() -> None:
    # fast: succeeded within 5 s (5 s itself included); a failure or a missing time is not fast
    assert qoe.join_within_rate([(True, 800), (True, 6000), (False, None), (True, 5000)]).value == 50.0
    assert qoe.join_within_rate([(True, None), (None, 100)]).value == 0.0


@pytest.mark.parametrize(
    ("values", "pct", "expected"),
    [([100, 200, 300, 400, 500], 50, 300.0), ([100, 200, 300, 400, 500], 90, 460.0), ([10, None, 30], 50, 20.0),
     ([], 50, None)],
)
def test_percentile(values: list[float | None], pct: float, expected: float | None) -> None:
    assert qoe.percentile(values, pct).value == expected


@pytest.mark.parametrize(
    ("offsets_ms", "median_ms", "ok"),
    [([-120, -100, -90], -100.0, False), ([40, -30, 10], 10.0, True), ([80, 80], 80.0, True), ([], None, None)],
)
def test_av_sync(offsets_ms: list[float], median_ms: float | None, ok: bool | None) -> None:
    sync = qoe.av_sync(offsets_ms)
    assert (sync.value, sync.ok) == (median_ms, ok)


@pytest.mark.parametrize(
    ("mos", "video_ms", "audio_ms", "interval_ms", "poor"),
    [
        (3.59, 0, 0, 10_000, True),  # MOS under the fair floor
        (3.6, 0, 0, 10_000, False),
        (4.4, 1000, 0, 10_000, True),  # video froze for 10 % of the sample
        (4.4, 999, 0, 10_000, False),
        (4.4, 0, 1000, 10_000, True),  # audio alike
        (None, 0, 0, 10_000, False),  # no MOS: judged by its freezes only
        (None, None, None, None, False),
    ],
)
def test_poor_sample(mos: float | None, video_ms: float | None, audio_ms: float | None, interval_ms: float | None,
                     poor: bool) -> None:
    assert qoe.poor_sample(mos, video_ms, audio_ms, interval_ms) is poor


def test_poor_pct_is_the_share_of_media_time_in_poor_samples() -> None:
    samples = [(4.4, 0, 0, 10_000), (3.0, 0, 0, 10_000), (4.4, 0, 0, 20_000)]  # 10 s poor of 40 s
    assert qoe.poor_pct(samples) == 25.0
    assert qoe.poor_pct([]) is None
