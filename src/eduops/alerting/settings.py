"""The [alerting] section of eduops.toml: rule evaluation, metric retention, routes, receivers,
inhibition, maintenance windows and anomaly baselines. Configs that still write these keys under
[monitoring] (where they lived before 0.2) keep working."""

from __future__ import annotations

from typing import Any

from croniter import croniter
from pydantic import BaseModel, ConfigDict, Field, field_validator

from eduops.alerting.promql import parse_duration
from eduops.config import Settings


def duration_seconds(value: Any) -> float:
    if isinstance(value, int | float):
        return float(value)
    try:
        return parse_duration(str(value))
    except ValueError as exc:
        raise ValueError(str(exc)) from None


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Route(StrictModel):
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
        return None if value is None else duration_seconds(value)


class Receiver(StrictModel):
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
        return duration_seconds(value)


class InhibitRule(StrictModel):
    source_matchers: list[str]
    target_matchers: list[str]
    equal: list[str] = Field(default_factory=list)


class MaintenanceWindow(StrictModel):
    name: str
    cron: str
    duration: float
    timezone: str = ""
    matchers: list[str] = Field(default_factory=list, description="empty: every alert")

    @field_validator("duration", mode="before")
    @classmethod
    def _dur(cls, value: Any) -> float:
        return duration_seconds(value)

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        if not croniter.is_valid(value):
            raise ValueError(f"{value!r} is not a cron expression")
        return value


class AlertingSettings(StrictModel):
    evaluation_interval: float = 30.0
    raw_retention_days: float = Field(7.0, gt=0)
    rollup_retention_days: float = Field(90.0, gt=0)
    rule_files: list[str] = Field(default_factory=list, description="extra rule files (globs)")
    disabled_rules: list[str] = Field(default_factory=list, description="alert or record names not to evaluate")
    disabled_groups: list[str] = Field(
        default_factory=list, description="rule group names not to evaluate (e.g. a built-in group)"
    )
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
    prometheus_url: str = Field(
        "", description="a Prometheus-compatible HTTP API that rules, queries and charts read (not the embedded store)"
    )
    alertmanager_url: str = Field(
        "", description="send fired alerts to this Alertmanager (/api/v2/alerts) instead of dispatching them"
    )
    alertmanager_resend: float = Field(60.0, gt=0, description="resend firing alerts this often (Prometheus: 1m)")
    anomaly_metrics: list[str] = Field(
        default_factory=list, description="metrics watched against their weekly baseline"
    )
    anomaly_weeks: int = Field(4, ge=1)
    anomaly_k: float = Field(3.0, gt=0)

    @field_validator("evaluation_interval", "alertmanager_resend", mode="before")
    @classmethod
    def _dur(cls, value: Any) -> float:
        return duration_seconds(value)

    @field_validator("alertmanager_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r}: write Alertmanager's base URL, e.g. http://alertmanager:9093")
        return value.rstrip("/")

    @field_validator("prometheus_url")
    @classmethod
    def _prom_url(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r}: write the base URL, e.g. http://prometheus:9090 or http://vm:8428")
        return value.rstrip("/")


def alerting_settings(settings: Settings) -> AlertingSettings:
    return settings.section("alerting", AlertingSettings, moved_from="monitoring")
