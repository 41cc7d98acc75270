"""A workspace: its configuration, state database and secret key. `eduops init` makes one."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from eduops.config import CONFIG_NAME, Settings, load_settings
from eduops.core.calendar import sync_tasks
from eduops.core.crypto import Keyring, load_keyring, write_keyring
from eduops.core.i18n import msg
from eduops.core.models import User
from eduops.core.passwords import check_policy, generate_password, hash_password
from eduops.db import make_engine, session_scope
from eduops.errors import Conflict, UsageError

ROLES = ("admin", "ops", "content", "support", "viewer")

STARTER_CONFIG = '''# eduops configuration. Every key can be overridden by an EDUOPS_* environment variable:
# EDUOPS_DATABASE_URL, EDUOPS_HOME, and EDUOPS_SECTION__KEY for keys inside a [section].

# State database. Empty: SQLite (WAL) in this folder. At scale: PostgreSQL, e.g.
# database_url = "postgresql+psycopg://eduops@db.internal/eduops"
database_url = ""

# Timezone for the calendar (IANA name) and the console's default language (zh-CN or en).
timezone = "{timezone}"
language = "zh-CN"

# Where the console is reachable; used for links in alerts and reports.
base_url = "http://127.0.0.1:8080"

[scheduler]
# How often due tasks are looked for, and the default time limit of one run.
tick_seconds = 5
run_timeout_seconds = 3600

[inspection]
# Processes that must be running (names as `ps` shows them).
processes = []
# Log files (globs) scanned for these patterns since the previous inspection.
log_files = []
log_patterns = ["ERROR", "CRITICAL", "Traceback"]
# HTTPS endpoints whose certificates are watched.
endpoints = []
cert_warn_days = 30
cert_crit_days = 7
disk_warn_pct = 85
disk_crit_pct = 95

# Each area has its own section; docs/<area>.md lists every key with an example:
#   [monitoring]  collectors (hosts, endpoints, databases, logs, exporters)
#   [alerting]    rule files, evaluation, retention, routes, receivers, inhibition, maintenance windows
#   [rtc]         call-quality store and thresholds        [events]    learner event store (duckdb/clickhouse)
#   [backup]      sources, targets, retention, drills      [security]  hosts, URLs, allowed ports, OSV data
#   [loadtest]    platform URLs, scenarios, SLOs           [drills]    experiments and state
#   [content]     audit thresholds                         [feedback]  SLA, clustering
#   [release]     journeys (URLs and selectors) for release checks

# Change a task of the default plan: cadence, owner, time limit, or turn it off.
# [tasks.daily-inspection]
# cron = "0 8 * * *"
# owner = "ops-oncall"
# timeout_seconds = 900
# [tasks.load-test]
# enabled = false
'''


@dataclass
class Workspace:
    settings: Settings
    engine: Engine


def open_workspace(settings: Settings | None = None, migrate: bool = True) -> Workspace:
    """Load settings, connect to the state database and bring its schema up to date."""
    settings = settings or load_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    if migrate:  # to this release's schema, a copy of the state database taken first when that changes it
        from eduops.core.upgrade import migrate as migrate_state

        migrate_state(settings)
    return Workspace(settings, make_engine(settings.state_url))


def keyring(settings: Settings) -> Keyring:
    return load_keyring(settings.key_file, create=True)


def create_user(engine: Engine, username: str, role: str, password: str | None = None,
                display_name: str = "") -> tuple[User, str]:
    """Create a console user; returns the user and the password (generated when not given)."""
    if role not in ROLES:
        raise UsageError(msg("unknown role {role!r}; one of {roles}", role=role, roles=", ".join(ROLES)))
    if not username or len(username) > 64 or not username.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise UsageError(msg("user name {username!r} must be 1–64 letters, digits, '.', '-' or '_'", username=username))
    password = password or generate_password()
    check_policy(password, username)
    with session_scope(engine) as session:
        if session.scalar(sa.select(User).where(User.username == username)):
            raise Conflict(msg("user {username!r} exists already", username=username))
        user = User(username=username, role=role, password_hash=hash_password(password),
                    display_name=display_name or username)
        session.add(user)
    return user, password


def init_workspace(directory: Path, *, timezone: str = "Asia/Shanghai", admin: str = "admin",
                   force: bool = False, admin_password: str | None = None) -> tuple[Workspace, str]:
    """Write a starter eduops.toml, a secret key (0600), the state database and the first admin."""
    directory = directory.expanduser().resolve()
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / CONFIG_NAME
    if config.exists() and not force:
        raise Conflict(f"{config} exists already; pass --force to overwrite the configuration")
    config.write_text(STARTER_CONFIG.format(timezone=timezone))
    config.chmod(0o600)  # it may hold (encrypted) secrets and the database URL
    settings = load_settings(config)
    if not settings.key_file.exists():
        write_keyring(settings.key_file, Keyring.new())
    ws = open_workspace(settings)
    sync_tasks(ws.engine, settings)
    with session_scope(ws.engine) as session:
        has_admin = session.scalar(sa.select(sa.func.count()).select_from(User).where(User.role == "admin"))
    if has_admin:
        return ws, ""
    _, password = create_user(ws.engine, admin, "admin", admin_password)
    return ws, password
