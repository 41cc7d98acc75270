"""Call-quality (QoE) rules as pure functions: MOS, freeze rates, join success, percentiles.

Every function returns a ``QoE``: the value, its unit and the threshold it is judged against,
so a number never travels without what it means. Nothing here touches a database.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

Better = Literal["higher", "lower", "within"]  # within: |value| <= threshold

# Thresholds (documented in docs/rtc.md); the store's SQL uses the same numbers.
AUDIO_FREEZE_MIN_MS = 200.0  # an audio gap counts as a freeze above this
VIDEO_FREEZE_MIN_MS = {"native": 600.0, "web": 500.0}  # a video stall counts as a freeze above this
MOS_GOOD = 4.0  # MOS >= 4.0: good
MOS_FAIR = 3.6  # 3.6 <= MOS < 4.0: fair; below: poor
POOR_SHARE_FAIR_PCT = 10.0  # share of media time in poor samples that makes a session or call fair...
POOR_SHARE_POOR_PCT = 25.0  # ...or poor
JOIN_FAST_MS = 5000.0
W3C_FREEZE_WINDOW = 30  # frames averaged by the W3C freeze rule


@dataclass(frozen=True)
class QoE:
    """A quality figure with its unit and the threshold it is judged against."""

    value: float | None
    unit: str
    threshold: float | None = None
    better: Better = "lower"

    @property
    def ok(self) -> bool | None:
        if self.value is None or self.threshold is None:
            return None
        if self.better == "within":
            return abs(self.value) <= self.threshold
        return self.value >= self.threshold if self.better == "higher" else self.value <= self.threshold

    def to_dict(self) -> dict[str, object]:
        return {
            "value": self.value,
            "unit": self.unit,
            "threshold": self.threshold,
            "better": self.better,
            "ok": self.ok,
        }


def r_factor(rtt_ms: float, jitter_ms: float, loss_pct: float) -> float:
    """Simplified E-model R: effective latency = RTT/2 + 2·jitter + 10 ms;
    R = 93.2 − eff/40 below 160 ms, else 93.2 − (eff − 120)/10; minus 2.5 per loss percent; clamped 0..100."""
    effective_ms = rtt_ms / 2 + 2 * jitter_ms + 10
    r = 93.2 - effective_ms / 40 if effective_ms < 160 else 93.2 - (effective_ms - 120) / 10
    r -= 2.5 * loss_pct
    return min(max(r, 0.0), 100.0)


def mos_from_r(r: float) -> float:
    """MOS = 1 + 0.035 R + 7·10⁻⁶ R (R − 60)(100 − R)."""
    return 1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r)


def mos(rtt_ms: float, jitter_ms: float, loss_pct: float) -> QoE:
    """Mean opinion score (1–5) from network figures; judged against the 'fair' floor."""
    return QoE(round(mos_from_r(r_factor(rtt_ms, jitter_ms, loss_pct)), 4), "MOS", MOS_FAIR, "higher")


def mos_array(rtt_ms: np.ndarray, jitter_ms: np.ndarray, loss_pct: np.ndarray) -> np.ndarray:
    """``mos`` over arrays (the same formula, for bulk generation and benchmarks)."""
    effective_ms = rtt_ms / 2 + 2 * jitter_ms + 10
    r = np.where(effective_ms < 160, 93.2 - effective_ms / 40, 93.2 - (effective_ms - 120) / 10) - 2.5 * loss_pct
    r = np.clip(r, 0.0, 100.0)
    return 1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r)


def quality_band(mos_value: float | None, poor_pct: float | None = None) -> str:
    """good, fair or poor for a session or call: by MOS (good ≥ 4.0, fair ≥ 3.6) and, when given, by the
    share of its media time in poor samples (fair from 10 %, poor from 25 %); unknown without a MOS."""
    if mos_value is None:
        return "unknown"
    share = poor_pct or 0.0
    if mos_value < MOS_FAIR or share >= POOR_SHARE_POOR_PCT:
        return "poor"
    if mos_value < MOS_GOOD or share >= POOR_SHARE_FAIR_PCT:
        return "fair"
    return "good"


def band_sql(mos: str, poor_pct: str) -> str:
    """``quality_band`` as a SQL expression over two column expressions."""
    return (
        f"CASE WHEN {mos} IS NULL THEN 'unknown' "
        f"WHEN {mos} < {MOS_FAIR} OR coalesce({poor_pct}, 0) >= {POOR_SHARE_POOR_PCT} THEN 'poor' "
        f"WHEN {mos} < {MOS_GOOD} OR coalesce({poor_pct}, 0) >= {POOR_SHARE_FAIR_PCT} THEN 'fair' ELSE 'good' END"
    )


def freeze_total_ms(freeze_durations_ms: Iterable[float], min_ms: float) -> tuple[int, float]:
    """(count, total ms) of the stalls that are freezes: longer than ``min_ms``."""
    kept = [d for d in freeze_durations_ms if d > min_ms]
    return len(kept), float(sum(kept))


def freeze_rate(freeze_ms: Iterable[float], media_ms: Iterable[float], threshold_pct: float = 5.0) -> QoE:
    """Total freeze time / total media time, in percent. For a call pass every user's figures:
    the denominator is the sum over its users."""
    total_media = float(sum(media_ms))
    if total_media <= 0:
        return QoE(None, "%", threshold_pct)
    return QoE(100.0 * float(sum(freeze_ms)) / total_media, "%", threshold_pct)


def video_freeze_min_ms(platform: str) -> float:
    return VIDEO_FREEZE_MIN_MS.get(platform, VIDEO_FREEZE_MIN_MS["native"])


def w3c_freezes(frame_times_ms: Sequence[float], window: int = W3C_FREEZE_WINDOW) -> list[float]:
    """Freeze durations by the W3C webrtc-stats rule: an inter-frame duration ≥ max(3·avg, avg + 150 ms),
    avg over the previous ``window`` rendered frames' durations. ``frame_times_ms`` are render times."""
    durations = np.diff(np.asarray(frame_times_ms, dtype=float))
    freezes: list[float] = []
    for i, duration in enumerate(durations):
        if i == 0:
            continue
        avg = float(durations[max(0, i - window) : i].mean())
        if duration >= max(3 * avg, avg + 150):
            freezes.append(float(duration))
    return freezes


def percentile(values: Iterable[float], pct: float, unit: str = "ms", threshold: float | None = None) -> QoE:
    """Linear-interpolated percentile (numpy's default, DuckDB's quantile_cont)."""
    arr = np.asarray([v for v in values if v is not None], dtype=float)
    if arr.size == 0:
        return QoE(None, unit, threshold)
    return QoE(float(np.percentile(arr, pct)), unit, threshold)


def percentiles(values: Iterable[float], unit: str = "ms", pcts: Sequence[float] = (50, 90, 99)) -> dict[str, QoE]:
    data = [v for v in values if v is not None]
    return {f"p{int(p)}": percentile(data, p, unit) for p in pcts}


def join_success_rate(attempts_ok: Iterable[bool], threshold_pct: float = 98.0) -> QoE:
    """Share of join attempts that succeeded, in percent."""
    flags = list(attempts_ok)
    if not flags:
        return QoE(None, "%", threshold_pct, "higher")
    return QoE(100.0 * sum(1 for f in flags if f) / len(flags), "%", threshold_pct, "higher")


def join_within_rate(
    attempts: Iterable[tuple[bool, float | None]],
    within_ms: float = JOIN_FAST_MS,
    threshold_pct: float = 95.0,
) -> QoE:
    """Share of attempts that succeeded within ``within_ms`` (5 s by default), in percent."""
    items = list(attempts)
    if not items:
        return QoE(None, "%", threshold_pct, "higher")
    fast = sum(1 for ok, ms in items if ok and ms is not None and ms <= within_ms)
    return QoE(100.0 * fast / len(items), "%", threshold_pct, "higher")


def av_sync(offsets_ms: Iterable[float], threshold_ms: float = 80.0) -> QoE:
    """Median A/V sync offset (audio ahead positive), judged by its size against ±80 ms."""
    arr = np.asarray(list(offsets_ms), dtype=float)
    if arr.size == 0:
        return QoE(None, "ms", threshold_ms, "within")
    return QoE(float(np.median(arr)), "ms", threshold_ms, "within")
