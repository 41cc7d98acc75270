"""Backup tables: each backup with what it recorded, its copies, verifications and restore drills."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from eduops.db import Base, JSONText, UTCDateTime, utcnow


class BackupRun(Base):
    """One backup of one source to the primary target (status: running ok failed interrupted)."""

    __tablename__ = "backup_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int | None] = mapped_column(default=None, index=True)  # the calendar run, if any
    source: Mapped[str] = mapped_column(sa.String(64), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    mode: Mapped[str] = mapped_column(sa.String(16), default="incremental")
    target: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[str] = mapped_column(sa.String(16), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    host: Mapped[str] = mapped_column(sa.String(128), default="")
    pid: Mapped[int] = mapped_column(default=0)
    snapshot_id: Mapped[str | None] = mapped_column(sa.String(80), default=None)
    size_bytes: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    added_bytes: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    files: Mapped[int] = mapped_column(default=0)
    duration_s: Mapped[float] = mapped_column(default=0.0)
    record: Mapped[dict[str, Any]] = mapped_column(JSONText, default=dict)  # row counts, checksums, digests
    error: Mapped[str] = mapped_column(sa.Text, default="")


class BackupCopy(Base):
    """A snapshot as it exists on one target (the primary too), status ok or failed."""

    __tablename__ = "backup_copies"
    id: Mapped[int] = mapped_column(primary_key=True)
    backup_id: Mapped[int] = mapped_column(sa.ForeignKey("backup_runs.id", ondelete="CASCADE"), index=True)
    target: Mapped[str] = mapped_column(sa.String(64), index=True)
    snapshot_id: Mapped[str | None] = mapped_column(sa.String(80), default=None)
    status: Mapped[str] = mapped_column(sa.String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    error: Mapped[str] = mapped_column(sa.Text, default="")


class Verification(Base):
    """One ``restic check`` of a target and which slice of the data it read."""

    __tablename__ = "backup_verifications"
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int | None] = mapped_column(default=None)
    target: Mapped[str] = mapped_column(sa.String(64), index=True)
    subset: Mapped[str] = mapped_column(sa.String(32), default="")  # "3/7", "full" or "" (structure only)
    status: Mapped[str] = mapped_column(sa.String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    output: Mapped[str] = mapped_column(sa.Text, default="")


class Drill(Base):
    """A restore drill of one source: what was restored, compared, how long it took, how old it was."""

    __tablename__ = "backup_drills"
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int | None] = mapped_column(default=None)
    source: Mapped[str] = mapped_column(sa.String(64), index=True)
    target: Mapped[str] = mapped_column(sa.String(64))
    snapshot_id: Mapped[str | None] = mapped_column(sa.String(80), default=None)
    backup_id: Mapped[int | None] = mapped_column(default=None)
    status: Mapped[str] = mapped_column(sa.String(16))  # ok failed
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    rto_seconds: Mapped[float | None] = mapped_column(default=None)
    rpo_seconds: Mapped[float | None] = mapped_column(default=None)
    scratch: Mapped[str] = mapped_column(sa.Text, default="")
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONText, default=dict)
    error: Mapped[str] = mapped_column(sa.Text, default="")
