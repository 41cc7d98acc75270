"""monitoring: the notification log (what each alert group last told each receiver)

Revision ID: monitoring_0002
"""

import sqlalchemy as sa
from alembic import op

from eduops.db import JSONText, UTCDateTime

revision = "monitoring_0002"
down_revision = "monitoring_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notify_log",
        sa.Column("group_key", sa.String(512), primary_key=True),
        sa.Column("receiver", sa.String(64), primary_key=True),
        sa.Column("firing", JSONText, nullable=False),
        sa.Column("resolved", JSONText, nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("notify_log")
