"""The [monitoring] section of eduops.toml: collectors, rule evaluation, retention, routing."""

from __future__ import annotations

from typing import Any

from croniter import croniter
from pydantic import BaseModel, ConfigDict, Field, field_validator

from eduops.config import Settings
from eduops.core.promql import parse_duration


def _duration(value: Any) -> float:
    if isinstance(value, int | float):
        return float(value)
    try:
        return parse_duration(str(value))
    except ValueError as exc:
        raise ValueError(str(exc)) from None


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Collector(_Model):
    name: str
    interval: float = Field(60.0, description="seconds between two collections (or '30s', '5m')")
    timeout: float = 10.0

    @field_validator("interval", "timeout", mode="before")
    @classmethod
    def _dur(cls, value: Any) -> float:
        return _duration(value)


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


class HostCollector(_Model):
    enabled: bool = True
    interval: float = 30.0

    @field_validator("interval", mode="before")
    @classmethod
    def _dur(cls, value: Any) -> float:
        return _duration(value)


class Route(_Model):
    receiver: str = ""
    matchers: list[str] = Field(default_factory=list, description='e.g. ["severity=\\"critical\\""]')
    group_by: list[str] | None = None
    group_wait: float | None = None
    group_interval: float | None = None
    repeat_interval: float | None = None
    continue_: bool = Field(False, alias="continue")
    routes: list[Route] = Field(default_factory=list)

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @field_validator("group_wait", "group_interval", "repeat_interval", mode="before")
    @classmethod
    def _dur(cls, value: Any) -> float | None:
        return None if value is None else _duration(value)


class Receiver(_Model):
    name: str
    channels: list[str] = Field(
        default_factory=list, description="names of channels added with `eduops alerts channel add`"
    )
    send_resolved: bool = True
    oncall: list[str] = Field(default_factory=list, description="who is paged, in order, for critical alerts")
    escalate_after: float = 900.0

    @field_validator("escalate_after", mode="before")
    @classmethod
    def _dur(cls, value: Any) -> float:
        return _duration(value)


class InhibitRule(_Model):
    source_matchers: list[str]
    target_matchers: list[str]
    equal: list[str] = Field(default_factory=list)


class MaintenanceWindow(_Model):
    name: str
    cron: str
    duration: float
    timezone: str = ""
    matchers: list[str] = Field(default_factory=list, description="empty: every alert")

    @field_validator("duration", mode="before")
    @classmethod
    def _dur(cls, value: Any) -> float:
        return _duration(value)

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        if not croniter.is_valid(value):
            raise ValueError(f"{value!r} is not a cron expression")
        return value


class MonitoringSettings(_Model):
    evaluation_interval: float = 30.0
    raw_retention_days: float = Field(7.0, gt=0)
    rollup_retention_days: float = Field(90.0, gt=0)
    rule_files: list[str] = Field(default_factory=list, description="extra rule files (globs)")
    disabled_rules: list[str] = Field(default_factory=list, description="alert or record names not to evaluate")
    host: HostCollector = Field(default_factory=HostCollector)
    http: list[HttpCollector] = Field(default_factory=list)
    tcp: list[TcpCollector] = Field(default_factory=list)
    databases: list[DatabaseCollector] = Field(default_factory=list)
    logs: list[LogCollector] = Field(default_factory=list)
    scrape: list[ScrapeCollector] = Field(default_factory=list)
    route: Route = Field(default_factory=lambda: Route(receiver="default"))
    receivers: list[Receiver] = Field(default_factory=lambda: [Receiver(name="default")])
    inhibit_rules: list[InhibitRule] = Field(
        default_factory=lambda: [
            InhibitRule(
                source_matchers=['severity="critical"'],
                target_matchers=['severity="warning"'],
                equal=["alertname", "host"],
            )
        ]
    )
    maintenance_windows: list[MaintenanceWindow] = Field(default_factory=list)
    anomaly_metrics: list[str] = Field(
        default_factory=list, description="metrics watched against their weekly baseline"
    )
    anomaly_weeks: int = Field(4, ge=1)
    anomaly_k: float = Field(3.0, gt=0)

    @field_validator("evaluation_interval", mode="before")
    @classmethod
    def _dur(cls, value: Any) -> float:
        return _duration(value)


def monitoring_settings(settings: Settings) -> MonitoringSettings:
    return settings.section("monitoring", MonitoringSettings)
