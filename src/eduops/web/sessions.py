"""Server-side sessions: a random token in an HttpOnly cookie, its SHA-256 in ``web_sessions``.

Idle timeout 30 minutes, absolute lifetime 12 hours (OWASP ASVS 3.3); a new token at every login;
logout, disabling the user or a password reset end sessions on the server.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from eduops.core.models import User
from eduops.web.models import WebSession

IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_LIFETIME = timedelta(hours=12)
TOUCH_EVERY = timedelta(seconds=30)  # write last_seen_at at most this often


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(
    session: Session, user_id: int, now: datetime, source_ip: str = "", user_agent: str = ""
) -> tuple[str, WebSession]:
    """A new session with a fresh token and CSRF token; returns (cookie token, row)."""
    token = secrets.token_urlsafe(32)
    row = WebSession(
        token_hash=token_hash(token),
        user_id=user_id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        expires_at=now + ABSOLUTE_LIFETIME,
        source_ip=source_ip[:64],
        user_agent=user_agent[:256],
        end_reason="",
    )
    session.add(row)
    session.flush()
    return token, row


def expiry_reason(row: WebSession, now: datetime) -> str | None:
    """Why a session is no longer valid at ``now``, or None while it is (a pure rule)."""
    if row.ended_at is not None:
        return row.end_reason or "ended"
    if now >= row.expires_at:
        return "absolute timeout"
    if now - row.last_seen_at >= IDLE_TIMEOUT:
        return "idle timeout"
    return None


def lookup(session: Session, token: str, now: datetime) -> tuple[WebSession, User] | None:
    """The live session and its user for a cookie token; ends it if it just timed out."""
    row = session.scalar(sa.select(WebSession).where(WebSession.token_hash == token_hash(token)))
    if row is None:
        return None
    reason = expiry_reason(row, now)
    if reason is not None:
        if row.ended_at is None:
            row.ended_at, row.end_reason = now, reason
        return None
    user = session.get(User, row.user_id)
    if user is None or user.disabled:
        row.ended_at, row.end_reason = now, "user disabled"
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
    return row, user


def end(session: Session, row: WebSession, now: datetime, reason: str) -> None:
    if row.ended_at is None:
        row.ended_at, row.end_reason = now, reason


def end_for_user(session: Session, user_id: int, now: datetime, reason: str, keep_id: int | None = None) -> int:
    query = sa.update(WebSession).where(WebSession.user_id == user_id, WebSession.ended_at.is_(None))
    if keep_id is not None:
        query = query.where(WebSession.id != keep_id)
    result: CursorResult[Any] = session.execute(query.values(ended_at=now, end_reason=reason))  # type: ignore[assignment]
    return result.rowcount


def live_for_user(session: Session, user_id: int, now: datetime) -> list[WebSession]:
    rows = session.scalars(
        sa.select(WebSession)
        .where(WebSession.user_id == user_id, WebSession.ended_at.is_(None))
        .order_by(WebSession.last_seen_at.desc())
    ).all()
    return [r for r in rows if expiry_reason(r, now) is None]
