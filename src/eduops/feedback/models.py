"""Feedback tables: items with their first-response clock, replies, clusters and work items."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from eduops.db import Base, JSONText, UTCDateTime, utcnow


class FeedbackCluster(Base):
    """A group of similar feedback; kept across re-clustering while its top terms stay alike."""

    __tablename__ = "feedback_clusters"
    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(sa.String(200))
    category: Mapped[str] = mapped_column(sa.String(32))
    top_terms: Mapped[list[str]] = mapped_column(JSONText, default=list)
    examples: Mapped[list[str]] = mapped_column(JSONText, default=list)
    size: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FeedbackItem(Base):
    __tablename__ = "feedback_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str | None] = mapped_column(sa.String(128), unique=True, default=None)
    user: Mapped[str] = mapped_column(sa.String(128), default="", index=True)
    channel: Mapped[str] = mapped_column(sa.String(32), default="api")
    text: Mapped[str] = mapped_column(sa.Text)
    page: Mapped[str] = mapped_column(sa.String(500), default="")
    app_version: Mapped[str] = mapped_column(sa.String(64), default="")
    category: Mapped[str] = mapped_column(sa.String(32), index=True)
    complaint: Mapped[bool] = mapped_column(default=True)
    status: Mapped[str] = mapped_column(sa.String(16), default="open", index=True)  # open answered closed
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    first_response_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    closed_by: Mapped[str] = mapped_column(sa.String(64), default="")
    cluster_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("feedback_clusters.id", ondelete="SET NULL"), default=None, index=True
    )
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSONText, default=list)
    meta: Mapped[dict[str, Any]] = mapped_column(JSONText, default=dict)


class FeedbackReply(Base):
    __tablename__ = "feedback_replies"
    id: Mapped[int] = mapped_column(primary_key=True)
    feedback_id: Mapped[int] = mapped_column(sa.ForeignKey("feedback_items.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(sa.String(64))
    text: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WorkItem(Base):
    """A bug or feature to act on, from a feedback cluster, an alert or a person; priority from the policy."""

    __tablename__ = "work_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(300))
    kind: Mapped[str] = mapped_column(sa.String(16))  # bug feature nice-to-have
    function: Mapped[str] = mapped_column(sa.String(32), default="other")
    requesters: Mapped[int] = mapped_column(default=0)
    priority: Mapped[str] = mapped_column(sa.String(4), index=True)
    track: Mapped[str] = mapped_column(sa.String(32))
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[str] = mapped_column(sa.String(16), default="open", index=True)
    release_version: Mapped[str] = mapped_column(sa.String(64), default="", index=True)
    source: Mapped[str] = mapped_column(sa.String(16), default="manual")  # cluster alert manual
    source_ref: Mapped[str] = mapped_column(sa.String(200), default="")
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    created_by: Mapped[str] = mapped_column(sa.String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
