"""Alerting tables: metric series and samples (created by core_0001), roll-ups, alert state and history,
silences, channels, deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from eduops.db import Base, JSONText, UTCDateTime, utcnow


class MetricSeries(Base):
    __tablename__ = "metric_series"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), index=True)
    labels: Mapped[dict[str, str]] = mapped_column(JSONText, default=dict)
    key: Mapped[str] = mapped_column(sa.Text, unique=True)  # name{k="v",...} with sorted labels
    unit: Mapped[str] = mapped_column(sa.String(32), default="")


class MetricSample(Base):
    __tablename__ = "metric_samples"
    __table_args__ = (sa.Index("ix_metric_samples_series_ts", "series_id", "ts"),)
    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    series_id: Mapped[int] = mapped_column(sa.ForeignKey("metric_series.id", ondelete="CASCADE"))
    ts: Mapped[datetime] = mapped_column(UTCDateTime)
    value: Mapped[float] = mapped_column(sa.Float)


class MetricRollup(Base):
    """Five-minute min/avg/max/count of a series, kept longer than raw samples."""

    __tablename__ = "metric_rollups"
    __table_args__ = (sa.UniqueConstraint("series_id", "ts", name="uq_metric_rollups_series_ts"),)
    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    series_id: Mapped[int] = mapped_column(sa.ForeignKey("metric_series.id", ondelete="CASCADE"))
    ts: Mapped[datetime] = mapped_column(UTCDateTime)  # bucket start
    min_value: Mapped[float] = mapped_column(sa.Float)
    max_value: Mapped[float] = mapped_column(sa.Float)
    sum_value: Mapped[float] = mapped_column(sa.Float)
    count: Mapped[int] = mapped_column(sa.Integer)


class AlertState(Base):
    """The live state of one alert (pending, firing, or resolved and kept for its notification)."""

    __tablename__ = "alert_states"
    fingerprint: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    rule: Mapped[str] = mapped_column(sa.String(300), index=True)  # group/alertname
    alertname: Mapped[str] = mapped_column(sa.String(200))
    labels: Mapped[dict[str, str]] = mapped_column(JSONText, default=dict)
    annotations: Mapped[dict[str, str]] = mapped_column(JSONText, default=dict)
    state: Mapped[str] = mapped_column(sa.String(16))
    value: Mapped[float] = mapped_column(sa.Float, default=0.0)
    active_at: Mapped[datetime] = mapped_column(UTCDateTime)
    fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    acked_by: Mapped[str | None] = mapped_column(sa.String(64), default=None)
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    escalation_level: Mapped[int] = mapped_column(default=0)


class AlertEvent(Base):
    """Alert history: every transition (pending, firing, resolved, acknowledged, escalated)."""

    __tablename__ = "alert_events"
    __table_args__ = (sa.Index("ix_alert_events_name_at", "alertname", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    fingerprint: Mapped[str] = mapped_column(sa.String(64), index=True)
    alertname: Mapped[str] = mapped_column(sa.String(200))
    event: Mapped[str] = mapped_column(sa.String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    labels: Mapped[dict[str, str]] = mapped_column(JSONText, default=dict)
    annotations: Mapped[dict[str, str]] = mapped_column(JSONText, default=dict)
    value: Mapped[float] = mapped_column(sa.Float, default=0.0)
    detail: Mapped[str] = mapped_column(sa.Text, default="")


class Silence(Base):
    __tablename__ = "silences"
    id: Mapped[int] = mapped_column(primary_key=True)
    matchers: Mapped[list[str]] = mapped_column(JSONText, default=list)  # e.g. ['alertname="DiskFull"']
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(sa.String(64))
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ExpectedSurge(Base):
    """A known busy window (start of term, a large class) in which anomaly flags are suppressed."""

    __tablename__ = "expected_surges"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    metric: Mapped[str] = mapped_column(sa.String(200), default="")  # empty: every metric
    created_by: Mapped[str] = mapped_column(sa.String(64), default="")


class Channel(Base):
    """A notification channel: an Apprise URL, stored encrypted."""

    __tablename__ = "notify_channels"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    url_encrypted: Mapped[str] = mapped_column(sa.Text)
    scheme: Mapped[str] = mapped_column(sa.String(32))
    rate_per_minute: Mapped[int] = mapped_column(default=0)  # 0: the scheme's default
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Delivery(Base):
    """The delivery log: one row per message per channel, with its attempts and outcome."""

    __tablename__ = "notify_deliveries"
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(sa.String(64), index=True)
    receiver: Mapped[str] = mapped_column(sa.String(64), default="")
    group_key: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[str] = mapped_column(sa.String(16))  # sent failed
    attempts: Mapped[int] = mapped_column(default=1)
    alerts: Mapped[int] = mapped_column(default=0)
    batched: Mapped[int] = mapped_column(default=1)
    title: Mapped[str] = mapped_column(sa.Text, default="")
    body: Mapped[str] = mapped_column(sa.Text, default="")
    error: Mapped[str] = mapped_column(sa.Text, default="")
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None, index=True)
    extra: Mapped[dict[str, Any]] = mapped_column(JSONText, default=dict)


class NotifyLogEntry(Base):
    """Alertmanager's notification log: what each group last told each receiver, so a restart does
    not repeat notifications before their repeat_interval."""

    __tablename__ = "notify_log"
    group_key: Mapped[str] = mapped_column(sa.String(512), primary_key=True)
    receiver: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    firing: Mapped[list[str]] = mapped_column(JSONText, default=list)
    resolved: Mapped[list[str]] = mapped_column(JSONText, default=list)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
