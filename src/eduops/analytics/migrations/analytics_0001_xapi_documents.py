"""analytics: xAPI documents (state, activity and agent profiles) and merged activity definitions

Revision ID: analytics_0001
"""

import sqlalchemy as sa
from alembic import op

from eduops.db import JSONText, UTCDateTime

revision = "analytics_0001"
down_revision = None
branch_labels = ("analytics",)
depends_on = "core_0001"


def upgrade() -> None:
    op.create_table(
        "xapi_documents",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("scope", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("activity_id", sa.Text, nullable=False),
        sa.Column("agent", sa.Text, nullable=False),
        sa.Column("registration", sa.String(36), nullable=False),
        sa.Column("doc_id", sa.Text, nullable=False),
        sa.Column("content_type", sa.String(255), nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.Column("etag", sa.String(40), nullable=False),
        sa.Column("updated", UTCDateTime, nullable=False),
    )
    op.create_index("ix_xapi_documents_scope", "xapi_documents", ["scope"])
    op.create_table(
        "xapi_activities",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("activity_id", sa.Text, nullable=False),
        sa.Column("definition", JSONText, nullable=False),
        sa.Column("updated", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("xapi_activities")
    op.drop_index("ix_xapi_documents_scope", table_name="xapi_documents")
    op.drop_table("xapi_documents")
