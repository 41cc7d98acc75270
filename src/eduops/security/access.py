"""Access review: console users by role, admins, inactive accounts, accounts without a second
factor, API keys unused or too old, open sessions. Reads the console's tables when they exist."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from eduops.core.checks import Finding
from eduops.core.i18n import msg


@dataclass
class Account:
    username: str
    role: str
    disabled: bool
    has_totp: bool
    created_at: datetime
    last_login_at: datetime | None


@dataclass
class Key:
    name: str
    key_id: str
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None


@dataclass
class AccessFacts:
    accounts: list[Account] = field(default_factory=list)
    keys: list[Key] = field(default_factory=list)
    open_sessions: dict[str, int] = field(default_factory=dict)
    console_tables: bool = False


def _aware(value: Any) -> datetime | None:
    from datetime import UTC

    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def gather(engine: Engine, now: datetime) -> AccessFacts:
    """Read users, and the console's api_keys and web_sessions when those tables exist."""
    tables = set(sa.inspect(engine).get_table_names())
    facts = AccessFacts(console_tables="api_keys" in tables)
    with engine.connect() as conn:
        for row in conn.execute(sa.text("SELECT username, role, disabled, totp_secret, created_at, last_login_at "
                                        "FROM users")):
            facts.accounts.append(Account(row[0], row[1], bool(row[2]), bool(row[3]), _aware(row[4]) or now,
                                          _aware(row[5])))
        if "api_keys" in tables:
            import json

            for row in conn.execute(sa.text("SELECT name, key_id, scopes, created_at, last_used_at FROM api_keys "
                                            "WHERE revoked_at IS NULL")):
                scopes = json.loads(row[2]) if isinstance(row[2], str) else list(row[2] or [])
                facts.keys.append(Key(row[0], row[1], scopes, _aware(row[3]) or now, _aware(row[4])))
        if "web_sessions" in tables:
            for username, count in conn.execute(sa.text(
                    "SELECT u.username, count(*) FROM web_sessions s JOIN users u ON u.id = s.user_id "
                    "WHERE s.ended_at IS NULL AND s.expires_at > :now GROUP BY u.username"), {"now": now}):
                facts.open_sessions[username] = int(count)
    return facts


def review(facts: AccessFacts, now: datetime, inactive_days: int = 90, key_max_age_days: int = 365,
           key_unused_days: int = 90, second_factor_roles: tuple[str, ...] = ("admin", "ops")) -> list[Finding]:
    found: list[Finding] = []
    active = [a for a in facts.accounts if not a.disabled]
    admins = [a.username for a in active if a.role == "admin"]
    if len(admins) > 3:
        found.append(Finding("warn", msg("{count} accounts hold the admin role", count=len(admins)), ", ".join(admins),
                             "keep two or three admins; give others ops or viewer"))
    for a in active:
        last = a.last_login_at or a.created_at
        idle = (now - last).days
        if idle >= inactive_days:
            never = " (never logged in)" if a.last_login_at is None else ""
            found.append(Finding("warn", msg(
                    "account {username} ({role}) inactive for {idle} days{never}",
                    username=a.username, role=a.role, idle=idle, never=never,
                ),
                                 msg(
                                     "last activity {last}",
                                     last=f'{last:%Y-%m-%d}',
                                 ), msg(
                                         "disable it: eduops users disable {username}",
                                         username=a.username,
                                     )))
        if not a.has_totp and a.role in second_factor_roles:
            found.append(Finding("crit" if a.role == "admin" else "warn",
                                 msg(
                                     "account {username} ({role}) has no second factor",
                                     username=a.username, role=a.role,
                                 ), "",
                                 "enrol TOTP under Profile → Two-factor authentication"))
    for k in facts.keys:
        age = (now - k.created_at).days
        if age >= key_max_age_days:
            found.append(Finding("warn", msg(
                    "API key {name} ({key_id}) is {age} days old",
                    name=k.name, key_id=k.key_id, age=age,
                ),
                                 msg(
                                     "scopes {join}",
                                     join=', '.join(k.scopes),
                                 ), "create a replacement, switch clients, revoke it"))
        used = k.last_used_at
        if (used is None and age >= key_unused_days) or (used is not None and (now - used).days >= key_unused_days):
            when = "never used" if used is None else f"unused since {used:%Y-%m-%d}"
            found.append(Finding("warn", msg(
                    "API key {name} ({key_id}) {when}",
                    name=k.name, key_id=k.key_id, when=when,
                ), msg(
                    "scopes {join}",
                    join=', '.join(k.scopes),
                ),
                                 msg("revoke it: eduops keys revoke {key_id}", key_id=k.key_id)))
    return found


def summary(facts: AccessFacts, now: datetime, inactive_days: int = 90) -> dict[str, Any]:
    active = [a for a in facts.accounts if not a.disabled]
    cutoff = now - timedelta(days=inactive_days)
    return {
        "by_role": dict(Counter(a.role for a in active)),
        "admins": sorted(a.username for a in active if a.role == "admin"),
        "inactive": sorted(a.username for a in active if (a.last_login_at or a.created_at) < cutoff),
        "without_second_factor": sorted(a.username for a in active if not a.has_totp),
        "api_keys": len(facts.keys),
        "open_sessions": facts.open_sessions,
        "console_tables": facts.console_tables,
    }
