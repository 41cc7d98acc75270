"""backup: backup runs, copies per target, verifications, restore drills

Revision ID: backup_0001
"""

import sqlalchemy as sa
from alembic import op

from eduops.db import JSONText, UTCDateTime

revision = "backup_0001"
down_revision = None
branch_labels = ("backup",)
depends_on = "core_0001"


def upgrade() -> None:
    op.create_table(
        "backup_runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("run_id", sa.Integer, index=True),
        sa.Column("source", sa.String(64), nullable=False, index=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("target", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("started_at", UTCDateTime, nullable=False, index=True),
        sa.Column("finished_at", UTCDateTime),
        sa.Column("host", sa.String(128), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("snapshot_id", sa.String(80)),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("added_bytes", sa.BigInteger, nullable=False),
        sa.Column("files", sa.Integer, nullable=False),
        sa.Column("duration_s", sa.Float, nullable=False),
        sa.Column("record", JSONText, nullable=False),
        sa.Column("error", sa.Text, nullable=False),
    )
    op.create_table(
        "backup_copies",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "backup_id",
            sa.Integer,
            sa.ForeignKey("backup_runs.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("target", sa.String(64), nullable=False, index=True),
        sa.Column("snapshot_id", sa.String(80)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.Column("finished_at", UTCDateTime),
        sa.Column("error", sa.Text, nullable=False),
    )
    op.create_table(
        "backup_verifications",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("run_id", sa.Integer),
        sa.Column("target", sa.String(64), nullable=False, index=True),
        sa.Column("subset", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=False, index=True),
        sa.Column("finished_at", UTCDateTime),
        sa.Column("output", sa.Text, nullable=False),
    )
    op.create_table(
        "backup_drills",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("run_id", sa.Integer),
        sa.Column("source", sa.String(64), nullable=False, index=True),
        sa.Column("target", sa.String(64), nullable=False),
        sa.Column("snapshot_id", sa.String(80)),
        sa.Column("backup_id", sa.Integer),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=False, index=True),
        sa.Column("finished_at", UTCDateTime),
        sa.Column("rto_seconds", sa.Float),
        sa.Column("rpo_seconds", sa.Float),
        sa.Column("scratch", sa.Text, nullable=False),
        sa.Column("evidence", JSONText, nullable=False),
        sa.Column("error", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for name in ("backup_drills", "backup_verifications", "backup_copies", "backup_runs"):
        op.drop_table(name)
