"""Weak configuration: databases open without a password to non-local clients, default console
credentials, debug pages, world-readable secret files. Each judge is pure; probes gather facts."""

from __future__ import annotations

import ipaddress
import stat
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from eduops.core.checks import Finding
from eduops.core.i18n import msg
from eduops.core.models import User
from eduops.core.passwords import verify_password
from eduops.db import session_scope

DEFAULT_PASSWORDS = ("admin", "password", "eduops", "123456", "12345678", "changeme", "admin123", "secret",
                     "P@ssw0rd", "root")
DEBUG_SIGNATURES = {
    "You're seeing this error because you have <code>DEBUG = True</code>": "Django DEBUG = True",
    "Werkzeug Debugger": "Werkzeug/Flask debugger",
    "Traceback (most recent call last)": "a Python traceback",
    "Whoops! There was an error": "Laravel debug page",
    "<title>Action Controller: Exception caught</title>": "Rails development errors",
    "phpinfo()": "phpinfo() output",
}
LOCAL = ("127.0.0.1/32", "::1/128", "localhost")


# --- databases -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class HbaRule:
    """One pg_hba.conf rule (from pg_hba_file_rules) or one MySQL account (user@host)."""

    kind: str  # host | hostssl | local | mysql
    address: str  # CIDR/host pattern, '' for local sockets
    user: str
    method: str  # trust | md5 | scram-sha-256 | empty-password | password


def _is_local(address: str) -> bool:
    if address in ("", "localhost", "samehost"):
        return True
    try:
        net = ipaddress.ip_network(address.replace("%", "0.0.0.0/0") if address == "%" else address, strict=False)
    except ValueError:
        return False
    if isinstance(net, ipaddress.IPv4Network):
        return net.subnet_of(ipaddress.IPv4Network("127.0.0.0/8"))
    return net == ipaddress.ip_network("::1/128")


def judge_database(where: str, rules: list[HbaRule]) -> list[Finding]:
    found = []
    for r in rules:
        if r.kind == "local" or _is_local(r.address):
            continue
        if r.method in ("trust", "empty-password"):
            what = msg("without a password") if r.method == "trust" else msg("with an empty password")
            found.append(Finding("crit", msg(
                    "{where} accepts {user} from {value} {what}",
                    where=where, user=r.user, value=r.address or msg('any host'), what=what,
                ),
                                 msg(
                                     "{kind} rule: {user}@{address} uses {method}",
                                     kind=r.kind, user=r.user, address=r.address, method=r.method,
                                 ),
                                 "use scram-sha-256 in pg_hba.conf (or set a password for the MySQL account) "
                                 "and allow only the application hosts"))
    return found


def database_rules(url: str) -> list[HbaRule]:
    """Authentication rules a database reveals about itself (needs an administrative login)."""
    engine = sa.create_engine(url if not url.startswith("postgresql://") else "postgresql+psycopg://" + url[13:],
                              poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                rows = conn.execute(sa.text(
                    "SELECT type, coalesce(address, ''), coalesce(netmask, ''), array_to_string(user_name, ','),"
                    " auth_method FROM pg_hba_file_rules WHERE error IS NULL")).all()
                rules = []
                for kind, address, netmask, user, method in rows:
                    if address and netmask and "/" not in address:
                        address = str(ipaddress.ip_network(f"{address}/{netmask}", strict=False))
                    elif address == "all":
                        address = "0.0.0.0/0"
                    rules.append(HbaRule(kind, address, user, method))
                return rules
            if engine.dialect.name in ("mysql", "mariadb"):
                rows = conn.execute(sa.text(
                    "SELECT user, host, authentication_string, plugin FROM mysql.user")).all()
                empty = ("mysql_native_password", "")
                return [HbaRule("mysql", "0.0.0.0/0" if host == "%" else host, user,
                                "empty-password" if not auth and plugin in empty else "password")
                        for user, host, auth, plugin in rows]
    finally:
        engine.dispose()
    return []


def safe_url(url: str) -> str:
    """A database URL as reports may show it: the password is never included."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a malformed URL still must not leak
        return "<database>"


# --- console credentials -------------------------------------------------------------------------


def default_credentials(engine: Engine, candidates: tuple[str, ...] = DEFAULT_PASSWORDS) -> list[Finding]:
    """Users whose password is a well-known default or their own name (argon2 verification)."""
    found = []
    with session_scope(engine) as session:
        users = session.execute(sa.select(User.username, User.password_hash, User.role)
                                .where(User.disabled.is_(False))).all()
    for username, password_hash, role in users:
        for guess in (*candidates, username):
            if verify_password(password_hash, guess):
                found.append(Finding("crit", msg(
                        "console user {username} ({role}) uses a default password",
                        username=username, role=role,
                    ),
                                     "the password is on the list of defaults attackers try first",
                                     msg("eduops users reset-password {username} and enable TOTP", username=username)))
                break
    return found


# --- debug pages and secret files ----------------------------------------------------------------


def detect_debug_page(body: str) -> str | None:
    for marker, meaning in DEBUG_SIGNATURES.items():
        if marker in body:
            return meaning
    return None


def judge_debug(url: str, body: str) -> list[Finding]:
    meaning = detect_debug_page(body)
    if not meaning:
        return []
    return [Finding("crit", msg(
            "{url} shows {meaning}",
            url=url, meaning=meaning,
        ), "error pages reveal code, settings and sometimes secrets",
                    "turn debug mode off in production (DEBUG = False, FLASK_DEBUG=0) and serve generic errors")]


def judge_secret_file(path: Path, mode: int, holds_keys: bool = True) -> list[Finding]:
    """Key files must be private (crit/warn); a config file that may hold a database URL should be (warn)."""
    if mode & (stat.S_IROTH | stat.S_IWOTH):
        return [Finding("crit" if holds_keys else "warn", msg(
                "{path} is world-readable",
                path=path,
            ), msg(
                "mode {filemode}",
                filemode=stat.filemode(mode),
            ),
                        msg("chmod 600 {path}", path=path))]
    if mode & stat.S_IRGRP and holds_keys:
        return [Finding("warn", msg(
                "{path} is group-readable",
                path=path,
            ), msg(
                "mode {filemode}",
                filemode=stat.filemode(mode),
            ), msg(
                "chmod 600 {path}",
                path=path,
            ))]
    return []


def check_secret_files(paths: list[Path], config_files: tuple[Path, ...] = ()) -> list[Finding]:
    found = []
    for path in [*paths, *config_files]:
        try:
            found += judge_secret_file(path, path.stat().st_mode, holds_keys=path not in config_files)
        except FileNotFoundError:
            continue
    return found
