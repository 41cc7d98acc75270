"""feedback: items, replies, clusters, work items

Revision ID: feedback_0001
"""

import sqlalchemy as sa
from alembic import op

from eduops.db import JSONText, UTCDateTime

revision = "feedback_0001"
down_revision = None
branch_labels = ("feedback",)
depends_on = "core_0001"


def upgrade() -> None:
    op.create_table(
        "feedback_clusters",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("top_terms", JSONText, nullable=False),
        sa.Column("examples", JSONText, nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("first_seen_at", UTCDateTime, nullable=False),
        sa.Column("last_seen_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "feedback_items",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("external_id", sa.String(128), unique=True),
        sa.Column("user", sa.String(128), nullable=False, index=True),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("page", sa.String(500), nullable=False),
        sa.Column("app_version", sa.String(64), nullable=False),
        sa.Column("category", sa.String(32), nullable=False, index=True),
        sa.Column("complaint", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("received_at", UTCDateTime, nullable=False, index=True),
        sa.Column("first_response_due_at", UTCDateTime),
        sa.Column("first_response_at", UTCDateTime),
        sa.Column("closed_at", UTCDateTime),
        sa.Column("closed_by", sa.String(64), nullable=False),
        sa.Column("cluster_id", sa.Integer, sa.ForeignKey("feedback_clusters.id", ondelete="SET NULL"), index=True),
        sa.Column("attachments", JSONText, nullable=False),
        sa.Column("meta", JSONText, nullable=False),
    )
    op.create_table(
        "feedback_replies",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "feedback_id",
            sa.Integer,
            sa.ForeignKey("feedback_items.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "work_items",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("function", sa.String(32), nullable=False),
        sa.Column("requesters", sa.Integer, nullable=False),
        sa.Column("priority", sa.String(4), nullable=False, index=True),
        sa.Column("track", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("release_version", sa.String(64), nullable=False, index=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("source_ref", sa.String(200), nullable=False),
        sa.Column("notes", sa.Text, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    for table in ("work_items", "feedback_replies", "feedback_items", "feedback_clusters"):
        op.drop_table(table)
