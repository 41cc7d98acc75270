"""security: scan history with scores per area

Revision ID: security_0001
"""

import sqlalchemy as sa
from alembic import op

from eduops.db import JSONText, UTCDateTime

revision = "security_0001"
down_revision = None
branch_labels = ("security",)
depends_on = "core_0001"


def upgrade() -> None:
    op.create_table(
        "security_scans",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("started_at", UTCDateTime, nullable=False, index=True),
        sa.Column("finished_at", UTCDateTime),
        sa.Column("run_id", sa.Integer),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("area_scores", JSONText, nullable=False),
        sa.Column("counts", JSONText, nullable=False),
        sa.Column("findings", JSONText, nullable=False),
        sa.Column("evidence", JSONText, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("security_scans")
