"""The first-response clock for complaints, as pure functions."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

SlaState = Literal["met", "breached", "pending", "at_risk", "none"]


def first_response_due(received_at: datetime, complaint: bool, sla_minutes: float) -> datetime | None:
    """When the first answer is due; praise and feature requests have no clock."""
    return received_at + timedelta(minutes=sla_minutes) if complaint else None


def sla_state(
    due_at: datetime | None, first_response_at: datetime | None, now: datetime, at_risk_minutes: float = 30
) -> SlaState:
    """met/breached once answered; pending, at risk (due within ``at_risk_minutes``) or breached while open."""
    if due_at is None:
        return "none"
    if first_response_at is not None:
        return "met" if first_response_at <= due_at else "breached"
    if now > due_at:
        return "breached"
    return "at_risk" if due_at - now <= timedelta(minutes=at_risk_minutes) else "pending"


def minutes_left(due_at: datetime | None, now: datetime) -> float | None:
    """Minutes until the answer is due (negative when overdue)."""
    return None if due_at is None else round((due_at - now).total_seconds() / 60, 1)
