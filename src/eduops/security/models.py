"""Security tables: one row per scan with its score per area and its findings (never secrets)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from eduops.db import Base, JSONText, UTCDateTime, utcnow


class SecurityScan(Base):
    __tablename__ = "security_scans"
    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    run_id: Mapped[int | None] = mapped_column(sa.Integer, default=None)  # the calendar run, when there is one
    trigger: Mapped[str] = mapped_column(sa.String(16), default="manual")
    status: Mapped[str] = mapped_column(sa.String(16), default="ok")
    score: Mapped[float] = mapped_column(sa.Float, default=100.0)
    area_scores: Mapped[dict[str, float]] = mapped_column(JSONText, default=dict)
    counts: Mapped[dict[str, int]] = mapped_column(JSONText, default=dict)  # findings per severity
    findings: Mapped[list[dict[str, Any]]] = mapped_column(JSONText, default=list)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONText, default=dict)
