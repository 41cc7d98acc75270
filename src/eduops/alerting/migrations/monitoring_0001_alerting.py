"""monitoring: metric roll-ups, alert states and events, silences, surges, channels, deliveries

Revision ID: monitoring_0001
"""

import sqlalchemy as sa
from alembic import op

from eduops.db import JSONText, UTCDateTime

revision = "monitoring_0001"
down_revision = None
branch_labels = ("monitoring",)
depends_on = "core_0001"

BIGINT = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "metric_rollups",
        sa.Column("id", BIGINT, primary_key=True),
        sa.Column("series_id", sa.Integer, sa.ForeignKey("metric_series.id", ondelete="CASCADE"), nullable=False),
        sa.Column("ts", UTCDateTime, nullable=False),
        sa.Column("min_value", sa.Float, nullable=False),
        sa.Column("max_value", sa.Float, nullable=False),
        sa.Column("sum_value", sa.Float, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.UniqueConstraint("series_id", "ts", name="uq_metric_rollups_series_ts"),
    )
    op.create_index("ix_metric_samples_ts", "metric_samples", ["ts"])
    op.create_table(
        "alert_states",
        sa.Column("fingerprint", sa.String(64), primary_key=True),
        sa.Column("rule", sa.String(300), nullable=False, index=True),
        sa.Column("alertname", sa.String(200), nullable=False),
        sa.Column("labels", JSONText, nullable=False),
        sa.Column("annotations", JSONText, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("active_at", UTCDateTime, nullable=False),
        sa.Column("fired_at", UTCDateTime),
        sa.Column("resolved_at", UTCDateTime),
        sa.Column("acked_by", sa.String(64)),
        sa.Column("acked_at", UTCDateTime),
        sa.Column("escalation_level", sa.Integer, nullable=False),
    )
    op.create_table(
        "alert_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False, index=True),
        sa.Column("alertname", sa.String(200), nullable=False),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False, index=True),
        sa.Column("labels", JSONText, nullable=False),
        sa.Column("annotations", JSONText, nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
    )
    op.create_index("ix_alert_events_name_at", "alert_events", ["alertname", "at"])
    op.create_table(
        "silences",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("matchers", JSONText, nullable=False),
        sa.Column("starts_at", UTCDateTime, nullable=False),
        sa.Column("ends_at", UTCDateTime, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "expected_surges",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("starts_at", UTCDateTime, nullable=False),
        sa.Column("ends_at", UTCDateTime, nullable=False),
        sa.Column("metric", sa.String(200), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
    )
    op.create_table(
        "notify_channels",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("url_encrypted", sa.Text, nullable=False),
        sa.Column("scheme", sa.String(32), nullable=False),
        sa.Column("rate_per_minute", sa.Integer, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "notify_deliveries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("channel", sa.String(64), nullable=False, index=True),
        sa.Column("receiver", sa.String(64), nullable=False),
        sa.Column("group_key", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("alerts", sa.Integer, nullable=False),
        sa.Column("batched", sa.Integer, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("queued_at", UTCDateTime, nullable=False),
        sa.Column("sent_at", UTCDateTime, index=True),
        sa.Column("extra", JSONText, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "notify_deliveries",
        "notify_channels",
        "expected_surges",
        "silences",
        "alert_events",
        "alert_states",
        "metric_rollups",
    ):
        op.drop_table(table)
    op.drop_index("ix_metric_samples_ts", "metric_samples")
