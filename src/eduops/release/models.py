"""Release records: what was shipped when, and the regression runs before and after the deploy."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from eduops.db import Base, JSONText, UTCDateTime, utcnow


class Release(Base):
    __tablename__ = "releases"
    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(sa.String(64), unique=True)
    deployed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None, index=True)
    changes: Mapped[list[str]] = mapped_column(JSONText, default=list)
    status: Mapped[str] = mapped_column(sa.String(16), default="planned")  # planned deployed rolled_back
    base_url: Mapped[str] = mapped_column(sa.String(500), default="")
    pre_run_id: Mapped[int | None] = mapped_column(sa.ForeignKey("runs.id", ondelete="SET NULL"), default=None)
    post_run_id: Mapped[int | None] = mapped_column(sa.ForeignKey("runs.id", ondelete="SET NULL"), default=None)
    created_by: Mapped[str] = mapped_column(sa.String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
