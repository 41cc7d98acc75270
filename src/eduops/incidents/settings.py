"""The [incidents] section of eduops.toml: how signals join, how often openers are polled, who is told."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from eduops.alerting.settings import duration_seconds
from eduops.config import Settings


class IncidentSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    join_window: float = Field(
        default=21600.0, description="a signal joins an open incident when it starts this close to its signals"
    )
    poll_interval: float = Field(default=60.0, description="how often the loop asks the sources for openers")
    lookback: float = Field(default=21600.0, description="how far back each poll looks for signals")
    default_owner: str = Field(default="", description="who owns an incident nobody took yet")
    channels: dict[str, str] = Field(
        default_factory=dict,
        description="owner → channel (`eduops alerts channel add`); an owner named like a channel needs no entry",
    )
    fallback_receiver: str = Field(
        default="default", description="whose channels hear of an incident that has no owner's channel"
    )

    acknowledge_within: float = Field(
        default=1800.0, description="an open incident nobody acknowledged for this long is a critical finding"
    )
    review_within: float = Field(
        default=259200.0, description="a resolved incident without its review (复盘) after this long is a finding"
    )

    @field_validator("join_window", "poll_interval", "lookback", "acknowledge_within", "review_within", mode="before")
    @classmethod
    def _dur(cls, value: Any) -> float:
        seconds = duration_seconds(value)
        if seconds <= 0:
            raise ValueError("must be a positive duration such as 2h or 90s")
        return seconds


def incident_settings(settings: Settings) -> IncidentSettings:
    """The service's keys of [incidents]; the evidence rules' keys (jumps.EvidenceSettings) are theirs."""
    from eduops.incidents.jumps import EvidenceSettings

    return settings.section("incidents", IncidentSettings, ignore=tuple(EvidenceSettings.model_fields))
