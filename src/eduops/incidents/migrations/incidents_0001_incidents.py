"""incidents: incidents, their signals, notes, review action items and notification outbox

Revision ID: incidents_0001
"""

import sqlalchemy as sa
from alembic import op

from eduops.db import JSONText, UTCDateTime

revision = "incidents_0001"
down_revision = None
branch_labels = ("incidents",)
depends_on = ("core_0001", "feedback_0001")


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("public_id", sa.String(32), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("title", sa.String(1000), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("dims", JSONText, nullable=False),
        sa.Column("first_signal_at", UTCDateTime),
        sa.Column("opened_at", UTCDateTime, nullable=False, index=True),
        sa.Column("acknowledged_at", UTCDateTime),
        sa.Column("resolved_at", UTCDateTime),
        sa.Column("opened_by", sa.String(300), nullable=False),
        sa.Column("notice_public", sa.Boolean, nullable=False),
        sa.Column("notice_zh", sa.Text, nullable=False),
        sa.Column("notice_en", sa.Text, nullable=False),
        sa.Column("drill_run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="SET NULL")),
        sa.Column("went_well", sa.Text, nullable=False),
        sa.Column("went_badly", sa.Text, nullable=False),
        sa.Column("review_summary", sa.Text, nullable=False),
        sa.Column("reviewed_by", sa.String(64), nullable=False),
        sa.Column("reviewed_at", UTCDateTime),
    )
    op.create_table(
        "incident_signals",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("ref", sa.String(300), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("payload", JSONText, nullable=False),
        sa.UniqueConstraint("incident_id", "ref", name="uq_incident_signal_ref"),
    )
    op.create_table(
        "incident_notes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "incident_actions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("work_item_id", sa.Integer, sa.ForeignKey("work_items.id", ondelete="SET NULL")),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "incident_notices",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(128), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("handed_at", UTCDateTime, index=True),
    )


def downgrade() -> None:
    for table in ("incident_notices", "incident_actions", "incident_notes", "incident_signals", "incidents"):
        op.drop_table(table)
