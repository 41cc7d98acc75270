"""The [rtc] section of eduops.toml."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from eduops.config import Settings


class RtcSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    store_lock_timeout_s: float = Field(10.0, ge=0, le=600, description="how long to wait for a busy rtc.duckdb")
    probe_duration_s: float = Field(5.0, ge=0.5, le=600, description="how long the synthetic probe call lasts")
    probe_connect_ms: float = Field(600.0, gt=0, description="the probe must connect faster than this")
    probe_min_mos: float = Field(4.0, ge=1, le=5, description="the probe's MOS must reach this")
    classroom_url: str = Field("", description="the classroom endpoint the rehearsal opens (http/https)")
    rehearsal_resources: list[str] = Field(default_factory=list, description="courseware URLs the class needs")
    tutor_url: str = Field("", description="OpenAI-compatible chat-completions URL the tutor check probes")
    tutor_model: str = "gpt-4o-mini"
    tutor_api_key_env: str = Field("", description="environment variable holding the tutor endpoint's API key")
    tutor_p90_ms: float = Field(2500.0, gt=0, description="voice-to-voice p90 a tutor must stay under")
    trend_poor_points: float = Field(2.0, gt=0, description="a rise in poor share (points) worth a warning")
    worst_min_sessions: int = Field(20, ge=1, description="volume a segment needs to be ranked")


def rtc_settings(settings: Settings) -> RtcSettings:
    return settings.section("rtc", RtcSettings)
