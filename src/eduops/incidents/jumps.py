"""When a number has jumped against its own baseline: the rule every opening source uses.

A share (poor calls, quiz attempts never submitted) jumps when it is at least ``min_ratio`` times its
baseline AND at least ``min_points`` percentage points above it, on at least ``min_volume`` of volume.
A count (complaints of one cluster) surges when it reaches ``min_count`` and ``min_ratio`` times what the
baseline predicts for the same length of time. Thresholds come from ``[incidents]`` in eduops.toml.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field

from eduops.config import Settings


class EvidenceSettings(BaseModel):
    """The evidence keys of ``[incidents]`` (other keys of the section belong to the incidents service)."""

    model_config = ConfigDict(extra="ignore")
    jump_min_ratio: float = Field(2.0, ge=1, description="a share jumps at this many times its baseline")
    jump_min_points: float = Field(25.0, ge=0, description="... and this many percentage points above it")
    jump_min_sessions: int = Field(4, ge=1, description="call sessions a segment needs in an hour to be judged")
    jump_min_hours: int = Field(2, ge=1, le=24, description="hours a call segment's jump must last to open")
    jump_min_learners: int = Field(10, ge=1, description="learners a course step needs to be judged")
    baseline_days: float = Field(7.0, gt=0, le=90, description="how far back a segment's own baseline reaches")
    surge_min_count: int = Field(5, ge=1, description="complaints of one cluster in the window to count as a surge")
    surge_min_ratio: float = Field(3.0, ge=1, description="... and this many times the baseline rate")
    cause_window_h: float = Field(24.0, gt=0, le=24 * 14, description="how long after a change a symptom counts")


def evidence_settings(settings: Settings) -> EvidenceSettings:
    return settings.section("incidents", EvidenceSettings)


def cause_window(settings: Settings) -> timedelta:
    """How long after a change a symptom counts as timely, for ``cause.rank_causes(signals, window)``."""
    return timedelta(hours=evidence_settings(settings).cause_window_h)


def jumped(recent_pct: float | None, baseline_pct: float | None, volume: float, cfg: EvidenceSettings,
           min_volume: float | None = None) -> bool:
    """A share against its own baseline. No baseline (a new segment) counts as 0 %."""
    if recent_pct is None or volume < (cfg.jump_min_sessions if min_volume is None else min_volume):
        return False
    base = baseline_pct or 0.0
    return recent_pct >= cfg.jump_min_ratio * base and recent_pct - base >= cfg.jump_min_points


def surged(recent_count: int, baseline_count: int, recent_hours: float, baseline_hours: float,
           cfg: EvidenceSettings) -> bool:
    """A count in ``recent_hours`` against the rate of ``baseline_count`` over ``baseline_hours``."""
    if recent_count < cfg.surge_min_count or recent_hours <= 0:
        return False
    expected = baseline_count * recent_hours / baseline_hours if baseline_hours > 0 else 0.0
    return recent_count >= cfg.surge_min_ratio * expected
