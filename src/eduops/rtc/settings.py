"""The [rtc] section of eduops.toml."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from eduops.config import Settings
from eduops.rtc.qoe import CODECS, Codec, EModel


class CodecSetting(BaseModel):
    """``[rtc.codecs.<name>]``: a codec's G.113 equipment impairment and packet-loss robustness."""

    model_config = ConfigDict(extra="forbid")
    ie: float = Field(ge=0, le=95, description="equipment impairment factor Ie")
    bpl: float = Field(gt=0, le=100, description="packet-loss robustness factor Bpl")


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
    codec: str = Field("opus", description="the codec MOS assumes: opus, g711 or one of [rtc.codecs]")
    codecs: dict[str, CodecSetting] = Field(default_factory=dict, description="Ie/Bpl per codec (adds or overrides)")
    burst_r: float = Field(1.0, ge=1, le=10, description="G.107 BurstR: 1 = random loss, above 1 = bursty")

    @model_validator(mode="after")
    def _known_codec(self) -> RtcSettings:
        known = {**CODECS, **self.codecs}
        if self.codec not in known:
            raise ValueError(f"codec {self.codec!r} is not one of {', '.join(sorted(known))}; "
                             "add its Ie and Bpl under [rtc.codecs." + self.codec + "]")
        return self

    def e_model(self) -> EModel:
        """The codec's Ie/Bpl (configured, else the defaults of eduops.rtc.qoe.CODECS) and BurstR."""
        known = {**CODECS, **{name: Codec(c.ie, c.bpl) for name, c in self.codecs.items()}}
        return EModel(known[self.codec], self.burst_r, tuple(sorted(known.items())))


def rtc_settings(settings: Settings) -> RtcSettings:
    return settings.section("rtc", RtcSettings)
