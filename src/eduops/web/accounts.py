"""Console users: create, list, change role, disable, reset password; every change audited.

Disabling a user or resetting their password ends their sessions on the server.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from eduops.core.audit import record_audit
from eduops.core.i18n import msg
from eduops.core.models import User
from eduops.core.passwords import check_policy, generate_password, hash_password, verify_password
from eduops.core.workspace import ROLES, create_user
from eduops.db import session_scope, utcnow
from eduops.errors import Conflict, NotFound, UsageError
from eduops.web import sessions


def user_to_dict(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "disabled": user.disabled,
        "totp": bool(user.totp_secret),
        "language": user.language,
        "timezone": user.timezone,
        "created_at": user.created_at.isoformat(),
        "last_login_at": user.last_login_at.isoformat() if user.last_login_at else None,
    }


def _get(session: Session, username: str) -> User:
    user = session.scalar(sa.select(User).where(User.username == username))
    if user is None:
        raise NotFound(msg("no user {username!r}; list users with `eduops users list`", username=username))
    return user


def _keep_an_admin(session: Session, user: User) -> None:
    """Refuse a change that would leave the console without an active admin."""
    others = session.scalar(
        sa.select(sa.func.count())
        .select_from(User)
        .where(User.role == "admin", User.disabled.is_(False), User.id != user.id)
    )
    if user.role == "admin" and not user.disabled and not others:
        raise Conflict(f"{user.username} is the last active admin; make another admin first")


def add_user(
    engine: Engine, username: str, role: str, *, actor: str, password: str | None = None, source_ip: str = ""
) -> tuple[dict[str, Any], str]:
    """Create a user; returns it and the password (generated when not given; shown once)."""
    user, password = create_user(engine, username, role, password)
    with session_scope(engine) as session:
        record_audit(
            session,
            actor=actor,
            action="user.create",
            target=f"user:{username}",
            after={"role": role, "disabled": False},
            source_ip=source_ip,
        )
        info = user_to_dict(_get(session, username))
    return info, password


def list_users(engine: Engine) -> list[dict[str, Any]]:
    with session_scope(engine) as session:
        return [user_to_dict(u) for u in session.scalars(sa.select(User).order_by(User.username))]


def set_role(engine: Engine, username: str, role: str, *, actor: str, source_ip: str = "") -> dict[str, Any]:
    if role not in ROLES:
        raise UsageError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    with session_scope(engine) as session:
        user = _get(session, username)
        if user.role != role:
            _keep_an_admin(session, user)
            record_audit(
                session,
                actor=actor,
                action="user.set_role",
                target=f"user:{username}",
                before={"role": user.role},
                after={"role": role},
                source_ip=source_ip,
            )
            user.role = role
        return user_to_dict(user)


def set_disabled(engine: Engine, username: str, disabled: bool, *, actor: str, source_ip: str = "") -> dict[str, Any]:
    """Disable (ending every session of the user) or enable a user."""
    now = utcnow()
    with session_scope(engine) as session:
        user = _get(session, username)
        if disabled and not user.disabled:
            _keep_an_admin(session, user)
        if user.disabled != disabled:
            record_audit(
                session,
                actor=actor,
                action="user.disable" if disabled else "user.enable",
                target=f"user:{username}",
                before={"disabled": user.disabled},
                after={"disabled": disabled},
                source_ip=source_ip,
            )
            user.disabled = disabled
        if disabled:
            sessions.end_for_user(session, user.id, now, "user disabled")
        return user_to_dict(user)


def reset_password(
    engine: Engine, username: str, *, actor: str, password: str | None = None, source_ip: str = ""
) -> str:
    """Set a new password (generated unless given), end the user's sessions; returns the password."""
    password = password or generate_password()
    check_policy(password, username)
    with session_scope(engine) as session:
        user = _get(session, username)
        user.password_hash = hash_password(password)
        ended = sessions.end_for_user(session, user.id, utcnow(), "password reset")
        record_audit(
            session,
            actor=actor,
            action="user.reset_password",
            target=f"user:{username}",
            after={"password": "changed", "sessions_ended": ended},
            source_ip=source_ip,
        )
    return password


def set_preferences(engine: Engine, user_id: int, *, language: str | None = None, timezone: str | None = None) -> None:
    with session_scope(engine) as session:
        user = session.get(User, user_id)
        if user is None:
            return
        if language is not None:
            user.language = language
        if timezone is not None:
            user.timezone = timezone


def change_own_password(
    engine: Engine, user_id: int, current: str, new: str, *, keep_session_id: int | None, source_ip: str = ""
) -> None:
    """A user changes their password (the current one is required); their other sessions end."""
    with session_scope(engine) as session:
        user = session.get(User, user_id)
        if user is None or not verify_password(user.password_hash, current):
            raise UsageError("the current password is not right")
        check_policy(new, user.username)
        user.password_hash = hash_password(new)
        ended = sessions.end_for_user(session, user.id, utcnow(), "password changed", keep_id=keep_session_id)
        record_audit(
            session,
            actor=user.username,
            action="user.change_password",
            target=f"user:{user.username}",
            after={"password": "changed", "sessions_ended": ended},
            source_ip=source_ip,
        )
