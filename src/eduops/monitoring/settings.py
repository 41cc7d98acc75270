"""The [monitoring] section of eduops.toml: what the collectors watch and how often."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

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


class RelabelConfig(StrictModel):
    """One step of Prometheus's relabel_configs / metric_relabel_configs."""

    source_labels: list[str] = Field(default_factory=list)
    separator: str = ";"
    regex: str = "(.*)"
    target_label: str = ""
    replacement: str = "$1"
    action: Literal["replace", "keep", "drop", "labelmap", "labeldrop", "labelkeep"] = "replace"

    @field_validator("regex")
    @classmethod
    def _regex(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"regex {value!r}: {exc}") from None
        return value

    @model_validator(mode="after")
    def _target(self) -> RelabelConfig:
        if self.action == "replace" and not self.target_label:
            raise ValueError("a replace step needs target_label")
        return self


class ScrapeCollector(Collector):
    """A scrape job like Prometheus's: ``name`` is the ``job`` label; targets from ``url`` (one
    exporter), ``targets`` (host:port) and ``file_sd`` files (re-read when they change)."""

    url: str = Field("", description="one exporter's /metrics, e.g. http://host:9100/metrics")
    targets: list[str] = Field(default_factory=list, description="host:port of exporters, scraped at metrics_path")
    file_sd: list[str] = Field(
        default_factory=list, description="globs of Prometheus file_sd files (JSON or YAML), relative to the home"
    )
    scheme: Literal["http", "https"] = "http"
    metrics_path: str = "/metrics"
    labels: dict[str, str] = Field(default_factory=dict, description="labels every target of this job gets")
    honor_labels: bool = False
    relabel_configs: list[RelabelConfig] = Field(default_factory=list)
    metric_relabel_configs: list[RelabelConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _some_target(self) -> ScrapeCollector:
        if not (self.url or self.targets or self.file_sd):
            raise ValueError(f"scrape job {self.name!r}: give url, targets or file_sd")
        if self.url and not self.url.startswith(("http://", "https://")):
            raise ValueError(f"scrape job {self.name!r}: url {self.url!r} is not http(s)://host:port/path")
        return self


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
