"""Logging in and out: throttling, argon2id, the optional TOTP code, a fresh session, the audit trail.

The answer to a failed login is the same whether or not the account exists (and a missing account
costs the same argon2 work), so the form never tells an attacker which names are real.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from eduops.core.audit import record_audit
from eduops.core.crypto import Keyring
from eduops.core.models import User
from eduops.core.passwords import hash_password, needs_rehash, verify_password
from eduops.db import session_scope
from eduops.web import sessions, throttle, totp

_DUMMY_HASH = hash_password("eduops-no-such-user-dummy-password")


@dataclass
class LoginResult:
    ok: bool
    token: str = ""
    retry_after_s: int = 0
    user_id: int | None = None

    @property
    def throttled(self) -> bool:
        return self.retry_after_s > 0


def login(
    engine: Engine,
    ring: Keyring,
    username: str,
    password: str,
    code: str,
    *,
    now: datetime,
    source_ip: str = "",
    user_agent: str = "",
    old_token: str | None = None,
) -> LoginResult:
    """Check the credentials; on success start a new session (ending the one the browser had)."""
    username = username.strip()[:64]
    with session_scope(engine) as session:
        throttle.serialize(session, username)
        wait_until = throttle.check(session, username, source_ip, now)
        if wait_until is not None:
            throttle.log_attempt(session, username, source_ip, now, "throttled")
            retry = max(1, math.ceil((wait_until - now).total_seconds()))
            record_audit(
                session,
                actor=username or "-",
                action="login.throttled",
                target=f"user:{username}",
                after={"retry_after_s": retry},
                source_ip=source_ip,
                at=now,
            )
            return LoginResult(False, retry_after_s=retry)
        user = session.scalar(sa.select(User).where(User.username == username)) if username else None
        password_ok = verify_password(user.password_hash if user else _DUMMY_HASH, password)
        reason = ""
        if user is None:
            reason = "unknown user"
        elif not password_ok:
            reason = "wrong password"
        elif user.disabled:
            reason = "user disabled"
        elif user.totp_secret and not totp.use_code(
            session, user.id, totp.unseal(ring, user.totp_secret, user.id), code, now
        ):
            reason = "wrong or reused TOTP code"
        if reason or user is None:
            throttle.log_attempt(session, username, source_ip, now, "failed")
            record_audit(
                session,
                actor=username or "-",
                action="login.failed",
                target=f"user:{username}",
                after={"reason": reason},
                source_ip=source_ip,
                at=now,
            )
            return LoginResult(False)
        throttle.log_attempt(session, username, source_ip, now, "ok")
        throttle.purge(session, now)
        if old_token:
            found = session.scalar(
                sa.select(sessions.WebSession).where(sessions.WebSession.token_hash == sessions.token_hash(old_token))
            )
            if found is not None:
                sessions.end(session, found, now, "replaced at login")
        if needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        token, row = sessions.start(session, user.id, now, source_ip, user_agent)
        user.last_login_at = now
        record_audit(
            session,
            actor=user.username,
            action="login",
            target=f"user:{user.username}",
            after={"session": row.id, "totp": bool(user.totp_secret)},
            source_ip=source_ip,
            at=now,
        )
        return LoginResult(True, token=token, user_id=user.id)


def logout(engine: Engine, token: str, *, now: datetime, source_ip: str = "") -> bool:
    """End the session on the server; True when there was a live one."""
    with session_scope(engine) as session:
        found = sessions.lookup(session, token, now)
        if found is None:
            return False
        row, user = found
        sessions.end(session, row, now, "logout")
        record_audit(
            session,
            actor=user.username,
            action="logout",
            target=f"user:{user.username}",
            after={"session": row.id},
            source_ip=source_ip,
            at=now,
        )
        return True
