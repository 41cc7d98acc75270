"""The [monitoring] section of eduops.toml: what the collectors watch and how often."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from eduops.alerting.settings import AlertingSettings, StrictModel, duration_seconds
from eduops.config import Settings


class Collector(StrictModel):
    name: str
    interval: float = Field(60.0, description="seconds between two collections (or '30s', '5m')")
    timeout: float = 10.0

    @field_validator("interval", "timeout", mode="before")
    @classmethod
    def _dur(cls, value: Any) -> float:
        return duration_seconds(value)


class HttpCollector(Collector):
    url: str
    method: str = "GET"
    expect_status: list[int] = Field(default_factory=lambda: [200])
    expect_keyword: str = ""
    expect_json: dict[str, Any] = Field(default_factory=dict, description="dotted path → expected value")
    ca_file: str | None = None


class TcpCollector(Collector):
    host: str
    port: int = Field(ge=1, le=65535)


class DatabaseCollector(Collector):
    url: str = Field(description="postgresql://, mysql://, redis:// or sqlite:///path")
    query: str = ""


class LogCollector(Collector):
    path: str
    patterns: list[str] = Field(default_factory=lambda: ["ERROR", "CRITICAL", "Traceback"])


class ScrapeCollector(Collector):
    url: str = Field(description="a Prometheus exporter's /metrics, e.g. http://host:9100/metrics")


class HostCollector(StrictModel):
    enabled: bool = True
    interval: float = 30.0

    @field_validator("interval", mode="before")
    @classmethod
    def _dur(cls, value: Any) -> float:
        return duration_seconds(value)


class MonitoringSettings(StrictModel):
    host: HostCollector = Field(default_factory=HostCollector)
    http: list[HttpCollector] = Field(default_factory=list)
    tcp: list[TcpCollector] = Field(default_factory=list)
    databases: list[DatabaseCollector] = Field(default_factory=list)
    logs: list[LogCollector] = Field(default_factory=list)
    scrape: list[ScrapeCollector] = Field(default_factory=list)


def monitoring_settings(settings: Settings) -> MonitoringSettings:
    """[monitoring]: the collectors. Alerting keys written here by older configs belong to [alerting]."""
    return settings.section("monitoring", MonitoringSettings, ignore=AlertingSettings.model_fields)
