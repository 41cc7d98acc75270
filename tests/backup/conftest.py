"""Backup fixtures: real sshd and S3 servers, scratch PostgreSQL/MariaDB databases, configured workspaces."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from tests.backup import servers
from tests.conftest import MARIADB_URL, PG_ADMIN_URL, service_missing

from eduops.backup.settings import seal
from eduops.config import Settings

REPO_PASSWORD = "correct-horse-battery-staple-7731"
S3_KEY, S3_SECRET = "eduopsaccesskey", "eduops-s3-secret-key-90210"


@pytest.fixture(scope="session")
def sftp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.Sftp]:
    try:
        server = servers.start_sftp(tmp_path_factory.mktemp("sftp"))
    except (OSError, RuntimeError, subprocess.CalledProcessError) as exc:
        service_missing("OpenSSH sshd", exc)
    yield server
    server.proc.terminate()
    server.proc.wait(10)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.S3]:
    try:
        server = servers.start_s3(tmp_path_factory.mktemp("s3"))
    except (OSError, RuntimeError) as exc:
        service_missing("S3 server (moto_server)", exc)
    yield server
    server.proc.terminate()
    server.proc.wait(10)


def configure(settings: Settings, backup: dict[str, Any]) -> None:
    """Put a [backup] section into the workspace's settings, as eduops.toml would."""
    assert settings.__pydantic_extra__ is not None
    settings.__pydantic_extra__["backup"] = backup


def local_target(settings: Settings, name: str, path: Path, password: str = REPO_PASSWORD) -> dict[str, Any]:
    return {
        "name": name,
        "kind": "local",
        "path": str(path),
        "password": seal(settings, password, "target", name, "password"),
    }


def sftp_target(settings: Settings, name: str, server: servers.Sftp, sub: str) -> dict[str, Any]:
    return {
        "name": name,
        "kind": "sftp",
        "host": "127.0.0.1",
        "port": server.port,
        "user": server.user,
        "path": str(server.root / sub),
        "identity_file": str(server.identity_file),
        "known_hosts_file": str(server.known_hosts_file),
        "password": seal(settings, REPO_PASSWORD, "target", name, "password"),
    }


def s3_target(settings: Settings, name: str, server: servers.S3, bucket: str) -> dict[str, Any]:
    return {
        "name": name,
        "kind": "s3",
        "endpoint": server.endpoint,
        "path": f"{bucket}/restic",
        "password": seal(settings, REPO_PASSWORD, "target", name, "password"),
        "access_key_id": seal(settings, S3_KEY, "target", name, "access_key_id"),
        "secret_access_key": seal(settings, S3_SECRET, "target", name, "secret_access_key"),
    }


def _pg_admin() -> sa.engine.Engine:
    return sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)


@pytest.fixture
def pg_source() -> Iterator[str]:
    """A pgbench-initialised PostgreSQL database; yields its libpq URL."""
    name = f"eduops_bk_{uuid.uuid4().hex[:8]}"
    try:
        with _pg_admin().connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001
        service_missing("PostgreSQL at 127.0.0.1:5432", exc)
    url = PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://").rsplit("/", 1)[0] + "/" + name
    if shutil.which("pgbench"):
        subprocess.run(["pgbench", "-i", "-s", "1", "-q", "--no-vacuum", url], check=True, capture_output=True)
    else:  # the same four tables and row counts as `pgbench -i -s 1`
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE pgbench_branches (bid int primary key, bbalance int, filler char(88))")
            conn.execute("CREATE TABLE pgbench_tellers (tid int primary key, bid int, tbalance int, filler char(84))")
            conn.execute("CREATE TABLE pgbench_accounts (aid int primary key, bid int, abalance int, filler char(84))")
            conn.execute(
                "CREATE TABLE pgbench_history (tid int, bid int, aid int, delta int, mtime timestamp, filler char(22))"
            )
            conn.execute("INSERT INTO pgbench_branches SELECT 1, 0, ''")
            conn.execute("INSERT INTO pgbench_tellers SELECT g, 1, 0, '' FROM generate_series(1, 10) g")
            conn.execute("INSERT INTO pgbench_accounts SELECT g, 1, 0, '' FROM generate_series(1, 100000) g")
    yield url
    with _pg_admin().connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        leftovers = conn.execute(sa.text("SELECT datname FROM pg_database WHERE datname LIKE 'eduops_drill_%'")).all()
    assert not [r for r in leftovers if name in r[0]]


@pytest.fixture
def mariadb_source() -> Iterator[str]:
    """A MariaDB database with tables, NULLs, a trigger and a routine; yields its URL."""
    import pymysql

    name = f"eduops_bk_{uuid.uuid4().hex[:8]}"
    url = sa.engine.make_url(MARIADB_URL)
    try:
        conn = pymysql.connect(
            host=url.host,
            port=url.port or 3306,
            user=url.username,
            password=url.password or "",
            autocommit=True,
        )
    except Exception as exc:  # noqa: BLE001
        service_missing("MariaDB at 127.0.0.1:3306", exc)
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}`")
        cur.execute(f"USE `{name}`")
        cur.execute("CREATE TABLE courses (id INT PRIMARY KEY, title VARCHAR(200), price DECIMAL(8,2), note TEXT NULL)")
        cur.execute(
            "CREATE TABLE enrolments (id INT AUTO_INCREMENT PRIMARY KEY, course_id INT, learner VARCHAR(64), "
            "created_at DATETIME)"
        )
        cur.executemany(
            "INSERT INTO courses VALUES (%s, %s, %s, %s)",
            [(i, f"课程 {i}", i * 1.5, None if i % 3 else f"note {i}") for i in range(1, 201)],
        )
        cur.executemany(
            "INSERT INTO enrolments (course_id, learner, created_at) VALUES (%s, %s, NOW())",
            [(i % 200 + 1, f"learner{i}") for i in range(2000)],
        )
        cur.execute(
            "CREATE TRIGGER enrol_guard BEFORE INSERT ON enrolments FOR EACH ROW SET NEW.learner = LOWER(NEW.learner)"
        )
        cur.execute("CREATE PROCEDURE course_count() SELECT COUNT(*) FROM courses")
    yield f"mariadb://{url.username}@{url.host}:{url.port or 3306}/{name}"
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        cur.execute("SHOW DATABASES LIKE 'eduops_drill_%'")
        leftovers = cur.fetchall()
    conn.close()
    assert not leftovers


def _toml_value(value: Any) -> str:
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value))


def write_config(home: Path, backup: dict[str, Any]) -> Path:
    """An eduops.toml with a [backup] section, for driving the real `eduops` command."""
    lines = ["[backup]"]
    for key, value in backup.items():
        if key not in ("sources", "targets", "retention"):
            lines.append(f"{key} = {_toml_value(value)}")
    for table in ("sources", "targets"):
        for item in backup.get(table, []):
            lines.append(f"[[backup.{table}]]")
            lines += [f"{k} = {_toml_value(v)}" for k, v in item.items()]
    path = home / "eduops.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str


def eduops(config: Path, *args: str, check: bool = False) -> CliResult:
    """Run the real `eduops` entry point in this process (its import alone costs seconds per subprocess)."""
    import contextlib
    import io
    import os
    import sys

    from eduops.cli import main
    from eduops.core.console import reset_workspace

    saved_env = {k: v for k, v in os.environ.items() if k.startswith("EDUOPS_")}
    for key in saved_env:
        del os.environ[key]
    os.environ["EDUOPS_CONFIG"] = str(config)
    saved_argv = sys.argv
    sys.argv = ["eduops", *args]
    out, err = io.StringIO(), io.StringIO()
    code = 0
    reset_workspace()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main()
            except SystemExit as exc:
                code = int(exc.code or 0)
    finally:
        sys.argv = saved_argv
        os.environ.pop("EDUOPS_CONFIG", None)
        os.environ.update(saved_env)
        reset_workspace()
    result = CliResult(code, out.getvalue(), err.getvalue())
    assert not check or code == 0, result.stderr
    return result
