"""Incidents, the signals joined to them, their notes, their review and its action items.

A drill's review is an incident of kind ``drill`` whose ``drill_run_id`` points at the quarterly-drill
run: rehearsals and real incidents share one table, one review page and one set of durations.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from eduops.db import Base, JSONText, UTCDateTime, utcnow


class Incident(Base):
    __tablename__ = "incidents"
    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(sa.String(32), unique=True)  # the status page's unguessable name
    kind: Mapped[str] = mapped_column(sa.String(16), default="incident")  # incident | drill
    title: Mapped[str] = mapped_column(sa.String(1000))  # core.i18n.encode: a Msg when eduops worded it
    status: Mapped[str] = mapped_column(sa.String(16), index=True)  # investigating identified monitoring resolved
    severity: Mapped[str] = mapped_column(sa.String(16), default="warning")  # info warning critical
    owner: Mapped[str] = mapped_column(sa.String(64), default="")
    dims: Mapped[dict[str, str]] = mapped_column(JSONText, default=dict)
    first_signal_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    opened_by: Mapped[str] = mapped_column(sa.String(300))  # "signal:<ref>" or "user:<name>"
    notice_public: Mapped[bool] = mapped_column(default=False)
    notice_zh: Mapped[str] = mapped_column(sa.Text, default="")
    notice_en: Mapped[str] = mapped_column(sa.Text, default="")
    drill_run_id: Mapped[int | None] = mapped_column(sa.ForeignKey("runs.id", ondelete="SET NULL"), default=None)
    # the review (复盘): filled after resolve
    went_well: Mapped[str] = mapped_column(sa.Text, default="")
    went_badly: Mapped[str] = mapped_column(sa.Text, default="")
    review_summary: Mapped[str] = mapped_column(sa.Text, default="")
    reviewed_by: Mapped[str] = mapped_column(sa.String(64), default="")
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class IncidentSignal(Base):
    __tablename__ = "incident_signals"
    __table_args__ = (sa.UniqueConstraint("incident_id", "ref", name="uq_incident_signal_ref"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    ref: Mapped[str] = mapped_column(sa.String(300))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONText, default=dict)  # Signal.to_dict()


class IncidentNote(Base):
    __tablename__ = "incident_notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(sa.String(64))
    text: Mapped[str] = mapped_column(sa.Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IncidentAction(Base):
    """An action item of a review; it becomes a feedback work item (``work_item_id``)."""

    __tablename__ = "incident_actions"
    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(sa.String(300))
    owner: Mapped[str] = mapped_column(sa.String(64))
    work_item_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("work_items.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IncidentNotice(Base):
    """A notification waiting for the incidents loop to hand it to alerting's delivery (the outbox)."""

    __tablename__ = "incident_notices"
    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(sa.String(16))  # opened escalated resolved
    channel: Mapped[str] = mapped_column(sa.String(128))
    title: Mapped[str] = mapped_column(sa.String(300))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    handed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None, index=True)
