"""Core tables: users, calendar tasks, runs with their check results, findings and artifacts, the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eduops.db import Base, JSONText, UTCDateTime, utcnow


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(128), default="")
    email: Mapped[str] = mapped_column(sa.String(256), default="")
    role: Mapped[str] = mapped_column(sa.String(16))
    password_hash: Mapped[str] = mapped_column(sa.String(256))
    disabled: Mapped[bool] = mapped_column(default=False)
    totp_secret: Mapped[str | None] = mapped_column(sa.String(256), default=None)
    language: Mapped[str | None] = mapped_column(sa.String(8), default=None)
    timezone: Mapped[str | None] = mapped_column(sa.String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class Task(Base):
    """A calendar task's stored state: overrides from config are applied on sync."""

    __tablename__ = "tasks"
    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    cron: Mapped[str] = mapped_column(sa.String(100))
    timezone: Mapped[str] = mapped_column(sa.String(64))
    owner: Mapped[str] = mapped_column(sa.String(64))
    enabled: Mapped[bool] = mapped_column(default=True)
    last_slot: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    lock_run_id: Mapped[int | None] = mapped_column(default=None)
    lock_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Run(Base):
    __tablename__ = "runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    task_key: Mapped[str] = mapped_column(sa.String(64), index=True)
    trigger: Mapped[str] = mapped_column(sa.String(16))  # scheduled | manual | catch-up
    triggered_by: Mapped[str] = mapped_column(sa.String(64), default="scheduler")
    status: Mapped[str] = mapped_column(sa.String(16), index=True)  # running ok warn crit error skipped interrupted
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    slot: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    host: Mapped[str] = mapped_column(sa.String(128), default="")
    pid: Mapped[int] = mapped_column(default=0)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONText, default=dict)
    signed_off_by: Mapped[str | None] = mapped_column(sa.String(64), default=None)
    signed_off_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    sign_off_comment: Mapped[str] = mapped_column(sa.Text, default="")

    checks: Mapped[list[CheckRun]] = relationship(
        back_populates="run", order_by="CheckRun.id", cascade="all, delete-orphan"
    )
    findings: Mapped[list[FindingRow]] = relationship(
        back_populates="run", order_by="FindingRow.id", cascade="all, delete-orphan"
    )
    artifacts: Mapped[list[Artifact]] = relationship(
        back_populates="run", order_by="Artifact.id", cascade="all, delete-orphan"
    )


class CheckRun(Base):
    __tablename__ = "check_results"
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(sa.ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    area: Mapped[str] = mapped_column(sa.String(32), default="")
    status: Mapped[str] = mapped_column(sa.String(16))
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    measurements: Mapped[list[dict[str, Any]]] = mapped_column(JSONText, default=list)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONText, default=dict)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    duration_ms: Mapped[float] = mapped_column(default=0.0)
    run: Mapped[Run] = relationship(back_populates="checks")


class FindingRow(Base):
    __tablename__ = "findings"
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(sa.ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    check_name: Mapped[str] = mapped_column(sa.String(100))
    area: Mapped[str] = mapped_column(sa.String(32), default="")
    severity: Mapped[str] = mapped_column(sa.String(8))
    title: Mapped[str] = mapped_column(sa.Text)
    detail: Mapped[str] = mapped_column(sa.Text, default="")
    remedy: Mapped[str] = mapped_column(sa.Text, default="")
    run: Mapped[Run] = relationship(back_populates="findings")


class Artifact(Base):
    __tablename__ = "artifacts"
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(sa.ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    path: Mapped[str] = mapped_column(sa.Text)
    media_type: Mapped[str] = mapped_column(sa.String(100), default="application/octet-stream")
    size_bytes: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    run: Mapped[Run] = relationship(back_populates="artifacts")


class AuditEntry(Base):
    """One audited action. ``entry_hash`` covers the row and the previous row's hash."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(sa.String(128))
    action: Mapped[str] = mapped_column(sa.String(64), index=True)
    target: Mapped[str] = mapped_column(sa.String(256), default="")
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONText, default=None)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONText, default=None)
    source_ip: Mapped[str] = mapped_column(sa.String(64), default="")
    prev_hash: Mapped[str] = mapped_column(sa.String(64), default="")
    entry_hash: Mapped[str] = mapped_column(sa.String(64), default="")
