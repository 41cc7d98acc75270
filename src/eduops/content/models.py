"""Content tables: syllabi, courses, lessons and assets (each asset carries its licence)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from eduops.db import Base, JSONText, UTCDateTime, utcnow


class Syllabus(Base):
    """One version of an exam syllabus or standard; exactly one version of a code is current."""

    __tablename__ = "content_syllabi"
    __table_args__ = (sa.UniqueConstraint("code", "version", name="uq_content_syllabi_code_version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(64), index=True)
    version: Mapped[str] = mapped_column(sa.String(32))
    title: Mapped[str] = mapped_column(sa.String(200), default="")
    points: Mapped[list[str]] = mapped_column(JSONText, default=list)
    current: Mapped[bool] = mapped_column(default=False)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Course(Base):
    __tablename__ = "content_courses"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(64), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    subject: Mapped[str] = mapped_column(sa.String(64), default="")
    owner: Mapped[str] = mapped_column(sa.String(64), default="")
    syllabus_code: Mapped[str] = mapped_column(sa.String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Lesson(Base):
    __tablename__ = "content_lessons"
    __table_args__ = (sa.UniqueConstraint("course_id", "title", name="uq_content_lessons_course_title"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(sa.ForeignKey("content_courses.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    position: Mapped[int] = mapped_column(default=0)


class Asset(Base):
    """A video, slide deck, handout or question-bank item, with who owns it and on what terms it is used."""

    __tablename__ = "content_assets"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(64), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(16), index=True)  # video slides handout question
    title: Mapped[str] = mapped_column(sa.String(300))
    course_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("content_courses.id", ondelete="SET NULL"), default=None, index=True
    )
    lesson_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("content_lessons.id", ondelete="SET NULL"), default=None
    )
    owner: Mapped[str] = mapped_column(sa.String(64), default="")
    syllabus_code: Mapped[str] = mapped_column(sa.String(64), default="", index=True)
    syllabus_version: Mapped[str] = mapped_column(sa.String(32), default="")
    syllabus_point: Mapped[str] = mapped_column(sa.String(64), default="")
    last_reviewed_at: Mapped[date | None] = mapped_column(sa.Date, default=None)
    source: Mapped[str] = mapped_column(sa.String(200), default="")
    review_status: Mapped[str] = mapped_column(sa.String(16), default="ok", index=True)  # ok | needs_review
    review_assignee: Mapped[str] = mapped_column(sa.String(64), default="")
    review_reason: Mapped[str] = mapped_column(sa.Text, default="")
    licence_holder: Mapped[str] = mapped_column(sa.String(200), default="")
    licence_type: Mapped[str] = mapped_column(sa.String(64), default="")
    licence_scope: Mapped[list[str]] = mapped_column(JSONText, default=list)
    licence_start: Mapped[date | None] = mapped_column(sa.Date, default=None)
    licence_expiry: Mapped[date | None] = mapped_column(sa.Date, default=None)
    licence_proof: Mapped[str] = mapped_column(sa.String(500), default="")
    used_in: Mapped[list[str]] = mapped_column(JSONText, default=list)
    times_used: Mapped[int] = mapped_column(default=0)
    attempts: Mapped[int] = mapped_column(default=0)
    correct_rate: Mapped[float | None] = mapped_column(sa.Float, default=None)
    extra: Mapped[dict[str, Any]] = mapped_column(JSONText, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
