"""Call-quality (QoE) rules as pure functions: MOS, freeze rates, poor share, join success, percentiles.

A figure comes as a ``QoE``: the value, its unit and the threshold it is judged against, so a number
never travels without what it means. Nothing here touches a database: the store's SQL aggregates
millions of samples, so a rule it needs has a ``*_sql`` renderer beside its function, built from
the same constants, and tests/rtc/test_qoe_sql.py runs both on the same rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

Better = Literal["higher", "lower", "within"]  # within: |value| <= threshold

# Thresholds (documented in docs/rtc.md); the *_sql renderers below put the same numbers in the store's SQL.
AUDIO_FREEZE_MIN_MS = 200.0  # an audio gap counts as a freeze above this
VIDEO_FREEZE_MIN_MS = {"native": 600.0, "web": 500.0}  # a video stall counts as a freeze above this
MOS_GOOD = 4.0  # MOS >= 4.0: good
MOS_FAIR = 3.6  # 3.6 <= MOS < 4.0: fair; below: poor
POOR_SAMPLE_FREEZE_SHARE = 0.1  # a sample whose video or audio froze for this share of it is poor
POOR_SHARE_FAIR_PCT = 10.0  # share of media time in poor samples that makes a session or call fair...
POOR_SHARE_POOR_PCT = 25.0  # ...or poor
FREEZE_RATE_MAX_PCT = 5.0
JOIN_SUCCESS_MIN_PCT = 98.0
JOIN_FAST_MS = 5000.0  # a join is fast when it succeeded within this...
JOIN_FAST_MIN_PCT = 95.0  # ...and this share of attempts should be fast
AV_SYNC_MAX_MS = 80.0  # |median A/V offset| within this
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


# ITU-T G.107 E-model (docs/rtc.md). R = R0 − Id − Ie,eff (+ A, 0 by default), where R0 = 93.2 is
# Ro − Is − Id(T = 0) with every G.107 default (Ro 94.77, Is 1.41, Idle 0.15, Idte 0).
R0 = 93.2
FIXED_DELAY_MS = 10.0  # codec and packetisation, added to the network's one-way delay
JITTER_BUFFER_FACTOR = 2.0  # a jitter buffer holds about twice the measured jitter
ID_SLOPE = 0.024  # Id per ms of one-way delay...
ID_KNEE_MS = 177.3  # ...and 0.11 more per ms above the knee (Cole & Rosenbluth's fit of G.107's Id)
ID_KNEE_SLOPE = 0.11


@dataclass(frozen=True)
class Codec:
    """A codec's equipment impairment Ie and packet-loss robustness Bpl (ITU-T G.113 Appendix I)."""

    ie: float
    bpl: float


# G.711 with packet-loss concealment: Ie 0, Bpl 25.1 (G.113 App. I; 4.3 without PLC). G.113 lists no
# Opus values: the default treats Opus (PLC built in) like G.711 with PLC; configure [rtc.codecs.opus].
CODECS = {"opus": Codec(ie=0.0, bpl=25.1), "g711": Codec(ie=0.0, bpl=25.1)}
DEFAULT_CODEC = CODECS["opus"]


@dataclass(frozen=True)
class EModel:
    """What the MOS of a workspace's calls assumes: the codec of a session that names none, the loss
    burstiness, and every known codec by name (``[rtc] codec``, ``burst_r``, ``codecs``)."""

    codec: Codec = DEFAULT_CODEC
    burst_r: float = 1.0
    codecs: tuple[tuple[str, Codec], ...] = tuple(CODECS.items())

    def names(self) -> list[str]:
        return [name for name, _ in self.codecs]

    def for_codec(self, name: str | None) -> EModel:
        """The model for a session that reported ``name`` as its codec; None, or a codec no longer
        configured (a report naming an unknown one is rejected), is the workspace's default."""
        found = dict(self.codecs).get(name) if name else None
        return self if found is None else EModel(found, self.burst_r, self.codecs)


DEFAULT_MODEL = EModel()


def one_way_delay_ms(rtt_ms: float, jitter_ms: float) -> float:
    """Ta, the one-way absolute delay: half the round trip, the jitter buffer (2 × jitter) and 10 ms."""
    return rtt_ms / 2 + JITTER_BUFFER_FACTOR * jitter_ms + FIXED_DELAY_MS


def delay_impairment(ta_ms: float) -> float:
    """Id = 0.024·Ta + 0.11·(Ta − 177.3)·H(Ta − 177.3): G.107's Idte + Idle + Idd at default echo and
    loudness (TELR 65 dB, WEPL 110 dB), as fitted by Cole & Rosenbluth (2001)."""
    return ID_SLOPE * ta_ms + (ID_KNEE_SLOPE * (ta_ms - ID_KNEE_MS) if ta_ms > ID_KNEE_MS else 0.0)


def loss_impairment(loss_pct: float, codec: Codec = DEFAULT_CODEC, burst_r: float = 1.0) -> float:
    """Ie,eff = Ie + (95 − Ie)·Ppl / (Ppl/BurstR + Bpl) (G.107 §7.3); BurstR 1 = random loss."""
    ppl = min(max(loss_pct, 0.0), 100.0)
    return codec.ie + (95 - codec.ie) * ppl / (ppl / burst_r + codec.bpl)


def r_factor(rtt_ms: float, jitter_ms: float, loss_pct: float, codec: Codec = DEFAULT_CODEC,
             burst_r: float = 1.0) -> float:
    """R = 93.2 − Id(Ta) − Ie,eff(loss); Ta from ``one_way_delay_ms``; clamped 0..100."""
    r = R0 - delay_impairment(one_way_delay_ms(rtt_ms, jitter_ms)) - loss_impairment(loss_pct, codec, burst_r)
    return min(max(r, 0.0), 100.0)


def mos_from_r(r: float) -> float:
    """G.107 Annex B: MOS = 1 for R < 0, 4.5 for R > 100, else 1 + 0.035 R + 7·10⁻⁶ R (R − 60)(100 − R),
    never below 1 (the polynomial dips under 1 for R below about 6.5)."""
    if r <= 0:
        return 1.0
    if r >= 100:
        return 4.5
    return max(1.0, 1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r))


def mos(rtt_ms: float, jitter_ms: float, loss_pct: float, codec: Codec = DEFAULT_CODEC,
        burst_r: float = 1.0) -> QoE:
    """Mean opinion score (1–4.5) from network figures; judged against the 'fair' floor."""
    return QoE(round(mos_from_r(r_factor(rtt_ms, jitter_ms, loss_pct, codec, burst_r)), 4), "MOS", MOS_FAIR,
               "higher")


def mos_array(rtt_ms: np.ndarray, jitter_ms: np.ndarray, loss_pct: np.ndarray, codec: Codec = DEFAULT_CODEC,
              burst_r: float = 1.0) -> np.ndarray:
    """``mos`` over arrays (the same formulas, for bulk ingest and synthetic data)."""
    ta = rtt_ms / 2 + JITTER_BUFFER_FACTOR * jitter_ms + FIXED_DELAY_MS
    ident = ID_SLOPE * ta + np.where(ta > ID_KNEE_MS, ID_KNEE_SLOPE * (ta - ID_KNEE_MS), 0.0)
    ppl = np.clip(loss_pct, 0.0, 100.0)
    ie_eff = codec.ie + (95 - codec.ie) * ppl / (ppl / burst_r + codec.bpl)
    r = np.clip(R0 - ident - ie_eff, 0.0, 100.0)
    m = np.maximum(1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r), 1.0)
    return np.where(r <= 0, 1.0, np.where(r >= 100, 4.5, m))


def mos_sql(x: str, model: EModel = DEFAULT_MODEL) -> str:
    """``mos`` as a SQL expression over the sample table aliased ``x`` (NULL without an RTT); the same
    constants as ``r_factor`` and ``mos_from_r``."""
    c = model.codec
    ta = f"({x}.rtt_ms / 2 + {JITTER_BUFFER_FACTOR} * coalesce({x}.jitter_ms, 0) + {FIXED_DELAY_MS})"
    ident = f"({ID_SLOPE} * {ta} + greatest({ta} - {ID_KNEE_MS}, 0) * {ID_KNEE_SLOPE})"
    ppl = f"least(greatest(coalesce({sample_loss_sql(x)}, 0), 0), 100)"
    ie_eff = f"({c.ie} + {95 - c.ie} * {ppl} / ({ppl} / {model.burst_r} + {c.bpl}))"
    r = f"least(greatest({R0} - {ident} - {ie_eff}, 0), 100)"
    poly = f"greatest(1 + 0.035 * {r} + 7e-6 * {r} * ({r} - 60) * (100 - {r}), 1)"
    return (f"CASE WHEN {x}.rtt_ms IS NULL THEN NULL WHEN {r} <= 0 THEN 1.0 WHEN {r} >= 100 THEN 4.5 "
            f"ELSE {poly} END")


def weighted_mos(samples: Iterable[tuple[float | None, float | None]]) -> float | None:
    """The MOS of a session, call or segment: each sample's MOS weighted by its media time,
    Σ mos·interval / Σ interval over ``(mos, interval_ms)`` rows with a MOS; None without one."""
    rows = [(m, i) for m, i in samples if m is not None and i is not None]
    total = sum(i for _, i in rows)
    return sum(m * i for m, i in rows) / total if total > 0 else None


def mos_weighted_sql(x: str) -> str:
    """``weighted_mos`` as a SQL aggregate over the sample table aliased ``x``."""
    return (f"sum({x}.mos * {x}.interval_ms) / "
            f"nullif(sum(CASE WHEN {x}.mos IS NOT NULL THEN {x}.interval_ms END), 0)")


def sample_loss_pct(loss_down_pct: float | None, loss_up_pct: float | None) -> float | None:
    """The loss a sample's MOS uses and every loss figure shows: downlink (what this participant
    receives) when reported, else uplink."""
    return loss_down_pct if loss_down_pct is not None else loss_up_pct


def sample_loss_sql(x: str) -> str:
    """``sample_loss_pct`` over the sample table aliased ``x``."""
    return f"coalesce({x}.loss_down_pct, {x}.loss_up_pct)"


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


def poor_sample(
    mos: float | None, video_freeze_ms: float | None, audio_freeze_ms: float | None, interval_ms: float | None
) -> bool:
    """A sample is poor when its MOS is below the fair floor or its video or audio froze for 10 % or more
    of its interval; a figure the sample lacks makes it neither poor nor good."""
    if mos is not None and mos < MOS_FAIR:
        return True
    if interval_ms is None:
        return False
    limit = POOR_SAMPLE_FREEZE_SHARE * interval_ms
    return any(ms is not None and ms >= limit for ms in (video_freeze_ms, audio_freeze_ms))


def poor_sample_sql(x: str) -> str:
    """``poor_sample`` as a SQL condition over the sample table aliased ``x`` (NULL when it is not poor)."""
    return (
        f"({x}.mos < {MOS_FAIR} OR {x}.video_freeze_ms >= {POOR_SAMPLE_FREEZE_SHARE} * {x}.interval_ms "
        f"OR {x}.audio_freeze_ms >= {POOR_SAMPLE_FREEZE_SHARE} * {x}.interval_ms)"
    )


def poor_ms_sql(x: str) -> str:
    """A sample's media time when it is poor, else 0: summed into ``poor_pct``."""
    return f"CASE WHEN {poor_sample_sql(x)} THEN {x}.interval_ms ELSE 0 END"


def media_share_pct(part_ms: Iterable[float | None], media_ms: Iterable[float | None]) -> float | None:
    """100 · Σ part / Σ media time, the form of every freeze rate and poor share: over a session's samples,
    or over a call's users (the denominator is the sum over them). None without media time; a missing
    figure is left out of its sum, as SQL's ``sum`` does."""
    total_media = float(sum(m for m in media_ms if m is not None))
    if total_media <= 0:
        return None
    return 100 * float(sum(p for p in part_ms if p is not None)) / total_media


def media_share_sql(part_ms: str, media_ms: str) -> str:
    """``media_share_pct`` as a SQL aggregate over two column expressions."""
    return f"CASE WHEN sum({media_ms}) > 0 THEN 100 * coalesce(sum({part_ms}), 0) / sum({media_ms}) END"


def poor_pct(samples: Iterable[tuple[float | None, float | None, float | None, float | None]]) -> float | None:
    """Share of media time in poor samples, in percent, over ``(mos, video_freeze_ms, audio_freeze_ms,
    interval_ms)`` rows."""
    rows = list(samples)
    poor = [(row[3] or 0.0) if poor_sample(*row) else 0.0 for row in rows]
    return media_share_pct(poor, [row[3] for row in rows])


def poor_pct_sql(x: str) -> str:
    """``poor_pct`` as a SQL aggregate over the sample table aliased ``x``."""
    return media_share_sql(poor_ms_sql(x), f"{x}.interval_ms")


def freeze_total_ms(freeze_durations_ms: Iterable[float], min_ms: float) -> tuple[int, float]:
    """(count, total ms) of the stalls that are freezes: longer than ``min_ms``."""
    kept = [d for d in freeze_durations_ms if d > min_ms]
    return len(kept), float(sum(kept))


def freeze_rate(
    freeze_ms: Iterable[float | None], media_ms: Iterable[float | None], threshold_pct: float = FREEZE_RATE_MAX_PCT
) -> QoE:
    """Total freeze time / total media time, in percent. For a call pass every user's figures:
    the denominator is the sum over its users."""
    return QoE(media_share_pct(freeze_ms, media_ms), "%", threshold_pct)


def freeze_rate_sql(freeze_ms: str, media_ms: str) -> str:
    """``freeze_rate`` as a SQL aggregate over two column expressions."""
    return media_share_sql(freeze_ms, media_ms)


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


def percentile(values: Iterable[float | None], pct: float, unit: str = "ms", threshold: float | None = None) -> QoE:
    """Linear-interpolated percentile (numpy's default, DuckDB's quantile_cont); missing values left out."""
    arr = np.asarray([v for v in values if v is not None], dtype=float)
    if arr.size == 0:
        return QoE(None, unit, threshold)
    return QoE(float(np.percentile(arr, pct)), unit, threshold)


def percentile_sql(column: str, pct: float) -> str:
    """``percentile`` as a SQL aggregate over a column expression."""
    return f"quantile_cont({column}, {pct / 100})"


def join_success_rate(attempts_ok: Iterable[bool | None], threshold_pct: float = JOIN_SUCCESS_MIN_PCT) -> QoE:
    """Share of join attempts that succeeded, in percent; an attempt without an outcome did not succeed."""
    flags = list(attempts_ok)
    if not flags:
        return QoE(None, "%", threshold_pct, "higher")
    return QoE(100 * (sum(1 for f in flags if f) / len(flags)), "%", threshold_pct, "higher")


def join_success_sql(join_ok: str) -> str:
    """``join_success_rate`` as a SQL aggregate over the sessions' ``join_ok`` expression."""
    return f"100 * avg(CASE WHEN {join_ok} THEN 1 ELSE 0 END)"


def join_within_rate(
    attempts: Iterable[tuple[bool | None, float | None]],
    within_ms: float = JOIN_FAST_MS,
    threshold_pct: float = JOIN_FAST_MIN_PCT,
) -> QoE:
    """Share of attempts that succeeded within ``within_ms`` (5 s by default), in percent."""
    items = list(attempts)
    if not items:
        return QoE(None, "%", threshold_pct, "higher")
    fast = sum(1 for ok, ms in items if ok and ms is not None and ms <= within_ms)
    return QoE(100 * (fast / len(items)), "%", threshold_pct, "higher")


def join_within_sql(join_ok: str, join_ms: str, within_ms: float = JOIN_FAST_MS) -> str:
    """``join_within_rate`` as a SQL aggregate over the sessions' ``join_ok`` and ``join_ms`` expressions."""
    return f"100 * avg(CASE WHEN {join_ok} AND {join_ms} <= {within_ms} THEN 1 ELSE 0 END)"


def av_sync(offsets_ms: Iterable[float | None], threshold_ms: float = AV_SYNC_MAX_MS) -> QoE:
    """Median A/V sync offset (audio ahead positive), judged by its size against ±80 ms."""
    median = percentile(offsets_ms, 50).value
    return QoE(median, "ms", threshold_ms, "within")


def av_sync_sql(offset_ms: str) -> str:
    """``av_sync``'s median as a SQL aggregate over the samples' offset expression."""
    return percentile_sql(offset_ms, 50)
