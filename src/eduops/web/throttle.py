"""Login throttling per account and per source IP, with growing delays (OWASP ASVS 2.2.1).

Every attempt is stored; only failed ones count. A few failures are free, then each further
attempt must wait twice as long as the one before (capped), and at most ``HOURLY_LIMIT`` failures
per account per hour are ever checked. A throttled attempt is refused without looking at the
password, so even the right password waits until the window passes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from eduops.web.models import LoginAttempt


@dataclass(frozen=True)
class Policy:
    free_failures: int
    window: timedelta
    max_delay: timedelta
    hourly_limit: int


ACCOUNT_POLICY = Policy(
    free_failures=5, window=timedelta(minutes=15), max_delay=timedelta(minutes=15), hourly_limit=100
)
IP_POLICY = Policy(free_failures=20, window=timedelta(minutes=15), max_delay=timedelta(minutes=15), hourly_limit=1000)


def blocked_until(failures: list[datetime], now: datetime, policy: Policy) -> datetime | None:
    """When the next attempt may be checked, or None when it may be checked now (a pure rule)."""
    last_hour = sorted(t for t in failures if t > now - timedelta(hours=1))
    if len(last_hour) >= policy.hourly_limit:
        return last_hour[len(last_hour) - policy.hourly_limit] + timedelta(hours=1)
    recent = [t for t in last_hour if t > now - policy.window]
    extra = len(recent) - policy.free_failures
    if extra < 0:
        return None
    delay = min(timedelta(seconds=2**extra), policy.max_delay)
    until = recent[-1] + delay
    return until if until > now else None


def _failures(session: Session, column: Any, value: str, now: datetime) -> list[datetime]:
    return list(
        session.scalars(
            sa.select(LoginAttempt.at).where(
                column == value,
                LoginAttempt.outcome == "failed",
                LoginAttempt.at > now - timedelta(hours=1),
                LoginAttempt.at <= now,
            )
        )
    )


def serialize(session: Session, username: str) -> None:
    """Hold the account's lock until the attempt is logged, so parallel guesses are all counted.

    PostgreSQL: a transaction advisory lock per user name. SQLite: a write takes the database's one
    write lock (logins are rare, so holding it through the password check is cheap).
    """
    if session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(f"login:{username.lower()}".encode()).digest()[:8], "big", signed=True)
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
    else:
        session.execute(sa.update(LoginAttempt).where(sa.false()).values(outcome="failed"))


def check(session: Session, username: str, source_ip: str, now: datetime) -> datetime | None:
    """When the attempt may go ahead, if it must wait; considers the account and the source IP."""
    waits = [blocked_until(_failures(session, LoginAttempt.username, username.lower(), now), now, ACCOUNT_POLICY)]
    if source_ip:
        waits.append(blocked_until(_failures(session, LoginAttempt.source_ip, source_ip, now), now, IP_POLICY))
    found = [w for w in waits if w is not None]
    return max(found) if found else None


def log_attempt(session: Session, username: str, source_ip: str, now: datetime, outcome: str) -> None:
    session.add(LoginAttempt(username=username.lower()[:64], source_ip=source_ip[:64], at=now, outcome=outcome))


def purge(session: Session, now: datetime, keep: timedelta = timedelta(days=30)) -> int:
    result: CursorResult[Any] = session.execute(sa.delete(LoginAttempt).where(LoginAttempt.at < now - keep))  # type: ignore[assignment]
    return result.rowcount
