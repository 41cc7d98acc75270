"""The [analytics] section of eduops.toml."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from eduops.config import Settings


class AnalyticsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    course_prefixes: list[str] = Field(
        default_factory=list,
        description="activity-id prefixes under which <prefix><course>/<part> is a part of <prefix><course> "
                    "(e.g. https://ou.example/modules/ makes …/AAA/2013J a part of …/AAA)")

    @field_validator("course_prefixes")
    @classmethod
    def _ends_with_a_separator(cls, prefixes: list[str]) -> list[str]:
        for prefix in prefixes:
            if not prefix.endswith(("/", ":", "#")):
                raise ValueError(f"{prefix!r} must end with '/', ':' or '#' (the separator before the course id)")
        return prefixes


def analytics_settings(settings: Settings) -> AnalyticsSettings:
    return settings.section("analytics", AnalyticsSettings)
