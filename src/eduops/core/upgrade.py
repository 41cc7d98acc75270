"""Upgrading a workspace in place: the state database to this release's schema, a backup taken first, and
a clear refusal when the workspace was already upgraded by a newer release (a downgrade).

Every command opens the workspace through ``open_workspace``, which calls ``migrate``: when the state
database lacks migrations of this release, a copy of it is taken first (``<home>/upgrade-backups/<UTC
time>/``: SQLite through its online backup API, PostgreSQL with ``pg_dump --format=custom``), then Alembic
upgrades it. ``eduops upgrade`` does the same on purpose, with the server stopped, and also copies the
DuckDB stores, eduops.toml and secret.key (the stores add what they lack when they next open).
``<home>/eduops.version`` records the release that last opened the workspace.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

from eduops import __version__
from eduops.config import Settings
from eduops.db import alembic_config, current_heads, upgrade
from eduops.errors import ServiceUnavailable, UsageError

VERSION_FILE = "eduops.version"
BACKUP_DIR = "upgrade-backups"


@dataclass
class Migration:
    version_before: str
    version_after: str
    revisions_before: list[str]
    revisions_after: list[str]
    backup: str = ""
    copied: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.revisions_before != self.revisions_after

    def to_dict(self) -> dict[str, Any]:
        return {"version_before": self.version_before, "version_after": self.version_after,
                "revisions_before": self.revisions_before, "revisions_after": self.revisions_after,
                "schema_changed": self.changed, "backup": self.backup, "copied": self.copied}


def recorded_version(home: Path) -> str:
    """The release that last opened this workspace ("" when none recorded it: 0.1.0 did not)."""
    try:
        return str(json.loads((home / VERSION_FILE).read_text())["version"])
    except (OSError, ValueError, KeyError, TypeError):
        return ""


def _record_version(home: Path) -> None:
    try:
        (home / VERSION_FILE).write_text(json.dumps({"version": __version__}) + "\n")
    except OSError:
        pass  # a read-only workspace (a user without write access running a report) records nothing


def _newer(recorded: str) -> bool:
    try:
        return bool(recorded) and Version(recorded) > Version(__version__)
    except InvalidVersion:
        return False


def downgrade_message(home: Path, what: str) -> str:
    backups = sorted((home / BACKUP_DIR).glob("*")) if (home / BACKUP_DIR).is_dir() else []
    restore = f" or restore the newest copy taken before an upgrade ({backups[-1]})" if backups else ""
    return (f"{what}: this workspace was upgraded by a newer eduops than this one ({__version__}); going back is "
            f"not supported. Install that release again{restore}.")


def check_not_downgrade(settings: Settings) -> None:
    """Refuse (exit 2) to open a workspace a newer release has upgraded."""
    recorded = recorded_version(settings.home)
    if _newer(recorded):
        raise UsageError(downgrade_message(settings.home, f"{settings.home / VERSION_FILE} says {recorded}"))
    from alembic.script import ScriptDirectory

    url = settings.state_url
    current = current_heads(url)
    script = ScriptDirectory.from_config(alembic_config(url))
    known = {r.revision for r in script.walk_revisions()}
    unknown = sorted(current - known)
    if unknown:
        raise UsageError(downgrade_message(settings.home, f"the state database is at revision(s) "
                                                          f"{', '.join(unknown)}, unknown to this release"))


def pending(settings: Settings) -> bool:
    """Whether the state database lacks a migration of this release (an empty one counts as not pending)."""
    from alembic.script import ScriptDirectory

    url = settings.state_url
    current = current_heads(url)
    if not current:
        return False
    script = ScriptDirectory.from_config(alembic_config(url))
    applied = {r.revision for r in script.iterate_revisions(tuple(current), "base")}
    return not set(script.get_heads()) <= applied


def backup_state(settings: Settings, with_files: bool = False) -> tuple[Path, list[str]]:
    """Copy the state database (and, with_files, the DuckDB stores, eduops.toml, secret.key) aside."""
    (settings.home / BACKUP_DIR).mkdir(mode=0o700, exist_ok=True)
    folder = settings.home / BACKUP_DIR / datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    folder.mkdir(mode=0o700)
    copied: list[str] = []
    url = settings.state_url
    if url.startswith("sqlite"):
        source = Path(url.split("///", 1)[-1])
        if source.exists():
            src, dst = sqlite3.connect(source), sqlite3.connect(folder / source.name)
            try:
                src.backup(dst)  # consistent even while other processes write (WAL)
            finally:
                src.close()
                dst.close()
            copied.append(source.name)
    else:
        copied.append(_pg_dump(url, folder / "state.pgdump"))
    if with_files:
        patterns = ("*.duckdb", "*.duckdb.wal", "*.duckdb.journal", "eduops.toml", "secret.key")
        for path in sorted({p for pattern in patterns for p in settings.home.glob(pattern)}):
            target = folder / path.name
            shutil.copytree(path, target) if path.is_dir() else shutil.copy2(path, target)
            copied.append(path.name)
    for path in folder.iterdir():
        path.chmod(0o600) if path.is_file() else None
    return folder, copied


def _pg_dump(url: str, target: Path) -> str:
    from sqlalchemy.engine import make_url

    libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        done = subprocess.run(["pg_dump", "--format=custom", "--file", str(target), "--dbname", libpq],
                              capture_output=True, text=True, timeout=3600)
    except FileNotFoundError:
        raise ServiceUnavailable("pg_dump is not installed (Debian: postgresql-client); it takes the copy of the "
                                 "state database before an upgrade") from None
    if done.returncode != 0:
        raise ServiceUnavailable(f"pg_dump could not copy the state database before the upgrade, so nothing was "
                                 f"changed: {done.stderr.strip()[-500:]}")
    return target.name


def migrate(settings: Settings, full_backup: bool = False) -> Migration:
    """Bring the state database to this release's schema; a backup first when anything changes."""
    import sqlalchemy as sa

    try:
        return _migrate(settings, full_backup)
    except sa.exc.OperationalError as exc:
        raise ServiceUnavailable(f"cannot reach the state database: {exc.orig}") from None


def _migrate(settings: Settings, full_backup: bool) -> Migration:
    check_not_downgrade(settings)
    url = settings.state_url
    before = sorted(current_heads(url))
    result = Migration(recorded_version(settings.home), __version__, before, before)
    if full_backup or pending(settings):
        folder, copied = backup_state(settings, with_files=full_backup)
        result.backup, result.copied = str(folder), copied
    upgrade(url)
    result.revisions_after = sorted(current_heads(url))
    if result.version_before != __version__:
        _record_version(settings.home)
    return result
