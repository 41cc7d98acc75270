"""content: syllabi, courses, lessons, assets with licences

Revision ID: content_0001
"""

import sqlalchemy as sa
from alembic import op

from eduops.db import JSONText, UTCDateTime

revision = "content_0001"
down_revision = None
branch_labels = ("content",)
depends_on = "core_0001"


def upgrade() -> None:
    op.create_table(
        "content_syllabi",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(64), nullable=False, index=True),
        sa.Column("version", sa.String(32), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("points", JSONText, nullable=False),
        sa.Column("current", sa.Boolean, nullable=False),
        sa.Column("published_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("code", "version", name="uq_content_syllabi_code_version"),
    )
    op.create_table(
        "content_courses",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(64), nullable=False, unique=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("syllabus_code", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "content_lessons",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "course_id",
            sa.Integer,
            sa.ForeignKey("content_courses.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.UniqueConstraint("course_id", "title", name="uq_content_lessons_course_title"),
    )
    op.create_table(
        "content_assets",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(64), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False, index=True),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("course_id", sa.Integer, sa.ForeignKey("content_courses.id", ondelete="SET NULL"), index=True),
        sa.Column("lesson_id", sa.Integer, sa.ForeignKey("content_lessons.id", ondelete="SET NULL")),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("syllabus_code", sa.String(64), nullable=False, index=True),
        sa.Column("syllabus_version", sa.String(32), nullable=False),
        sa.Column("syllabus_point", sa.String(64), nullable=False),
        sa.Column("last_reviewed_at", sa.Date),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("review_status", sa.String(16), nullable=False, index=True),
        sa.Column("review_assignee", sa.String(64), nullable=False),
        sa.Column("review_reason", sa.Text, nullable=False),
        sa.Column("licence_holder", sa.String(200), nullable=False),
        sa.Column("licence_type", sa.String(64), nullable=False),
        sa.Column("licence_scope", JSONText, nullable=False),
        sa.Column("licence_start", sa.Date),
        sa.Column("licence_expiry", sa.Date),
        sa.Column("licence_proof", sa.String(500), nullable=False),
        sa.Column("used_in", JSONText, nullable=False),
        sa.Column("times_used", sa.Integer, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("correct_rate", sa.Float),
        sa.Column("extra", JSONText, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    for table in ("content_assets", "content_lessons", "content_courses", "content_syllabi"):
        op.drop_table(table)
