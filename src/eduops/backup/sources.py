"""What each kind of source streams into restic and what it records to prove a restore later.

The record is the same shape for every database: ``{"tables": {name: {"rows": n, "checksum": s}}}``,
computed at backup time and again on the restored copy during a drill. Checksums are order-independent
sums of per-row hashes, so they equal each other whenever the rows do.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from eduops.errors import ServiceUnavailable, UsageError

Record = dict[str, Any]


@dataclass
class ServerDsn:
    """A database server URL split into what the command-line clients take."""

    scheme: str
    host: str
    port: int
    user: str
    database: str
    password: str = ""

    @classmethod
    def parse(cls, dsn: str, password: str = "") -> ServerDsn:
        parts = urlsplit(dsn)
        scheme = parts.scheme.split("+", 1)[0]
        if scheme not in ("postgresql", "postgres", "mysql", "mariadb"):
            raise UsageError(f"{dsn!r}: expected postgresql://user@host:port/db or mariadb://user@host:port/db")
        if parts.password:
            raise UsageError("put database passwords in the encrypted `password` field, not in the DSN")
        pg = scheme.startswith("postgres")
        return cls(
            "postgresql" if pg else "mariadb",
            parts.hostname or "127.0.0.1",
            parts.port or (5432 if pg else 3306),
            unquote(parts.username or ("postgres" if pg else "root")),
            parts.path.lstrip("/"),
            password,
        )

    def with_database(self, database: str) -> ServerDsn:
        return ServerDsn(self.scheme, self.host, self.port, self.user, database, self.password)

    @property
    def libpq(self) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.database}"

    def tool_env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.password:
            env["PGPASSWORD" if self.scheme == "postgresql" else "MYSQL_PWD"] = self.password
        return env

    def shown(self) -> str:
        return f"{self.scheme}://{self.user}@{self.host}:{self.port}/{self.database}"


# --- PostgreSQL -------------------------------------------------------------------------------------

PG_TABLES = """SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) FROM pg_tables
               WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1"""
PG_CHECKSUM = """SELECT count(*), coalesce(sum(('x' || substr(md5(t::text), 1, 16))::bit(64)::bigint::numeric), 0)::text
                 FROM {table} AS t"""


def pg_connect(dsn: ServerDsn) -> Any:
    import psycopg

    try:
        return psycopg.connect(
            host=dsn.host,
            port=dsn.port,
            user=dsn.user,
            dbname=dsn.database,
            password=dsn.password or None,
            connect_timeout=10,
        )
    except psycopg.OperationalError as exc:
        raise ServiceUnavailable(f"cannot reach PostgreSQL {dsn.shown()}: {str(exc).strip().splitlines()[0]}") from None


def pg_record(cur: Any) -> Record:
    cur.execute(PG_TABLES)
    tables = [row[0] for row in cur.fetchall()]
    out: dict[str, dict[str, Any]] = {}
    for table in tables:
        cur.execute(PG_CHECKSUM.format(table=table))
        rows, checksum = cur.fetchone()
        out[table] = {"rows": int(rows), "checksum": str(checksum)}
    return {"tables": out}


def pg_dump_command(dsn: ServerDsn, snapshot: str | None = None) -> list[str]:
    cmd = ["pg_dump", "-Fc", "--no-password", "-d", dsn.libpq]
    return cmd + ([f"--snapshot={snapshot}"] if snapshot else [])


# --- MariaDB / MySQL --------------------------------------------------------------------------------


def mariadb_connect(dsn: ServerDsn, database: str | None = None) -> Any:
    import pymysql

    try:
        return pymysql.connect(
            host=dsn.host,
            port=dsn.port,
            user=dsn.user,
            password=dsn.password,
            database=database if database is not None else (dsn.database or None),
            connect_timeout=10,
            autocommit=True,
        )
    except pymysql.err.OperationalError as exc:
        raise ServiceUnavailable(f"cannot reach MariaDB {dsn.shown()}: {exc.args[-1]}") from None


def _q(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def mariadb_record(conn: Any, database: str) -> Record:
    out: dict[str, dict[str, Any]] = {}
    with conn.cursor() as cur:
        cur.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema=%s "
            "AND table_type='BASE TABLE' ORDER BY table_name",
            (database,),
        )
        tables = [r[0] for r in cur.fetchall()]
        for table in tables:
            cur.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema=%s AND table_name=%s "
                "ORDER BY ordinal_position",
                (database, table),
            )
            cols = ", ".join(f"IFNULL(CAST({_q(c[0])} AS CHAR), '\\\\N')" for c in cur.fetchall())
            cur.execute(
                f"SELECT COUNT(*), CAST(COALESCE(SUM(CAST(CONV(SUBSTRING(MD5(CONCAT_WS('|', {cols})), 1, 15), "
                f"16, 10) AS UNSIGNED)), 0) AS CHAR) FROM {_q(database)}.{_q(table)}"
            )
            rows, checksum = cur.fetchone()
            out[table] = {"rows": int(rows), "checksum": str(checksum)}
    return {"tables": out}


def mariadb_client(dsn: ServerDsn) -> list[str]:
    return ["-h", dsn.host, "-P", str(dsn.port), "-u", dsn.user, "--protocol=tcp"]


def mariadb_dump_command(dsn: ServerDsn) -> list[str]:
    return [
        "mariadb-dump",
        *mariadb_client(dsn),
        "--single-transaction",
        "--routines",
        "--triggers",
        "--events",
        "--hex-blob",
        dsn.database,
    ]


# --- SQLite -----------------------------------------------------------------------------------------


def _row_hash(row: Iterable[Any]) -> int:
    digest = hashlib.sha256(repr(tuple(row)).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def sqlite_record(path: Path) -> Record:
    """integrity_check plus row counts and checksums of every table of a SQLite file."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        integrity = [r[0] for r in conn.execute("PRAGMA integrity_check")]
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        tables: dict[str, dict[str, Any]] = {}
        for name in names:
            total, count = 0, 0
            for row in conn.execute(f'SELECT * FROM "{name.replace(chr(34), chr(34) * 2)}"'):
                total = (total + _row_hash(row)) % (1 << 64)
                count += 1
            tables[name] = {"rows": count, "checksum": str(total)}
    finally:
        conn.close()
    return {"integrity": "ok" if integrity == ["ok"] else "; ".join(integrity[:5]), "tables": tables}


def sqlite_snapshot(path: Path, into: Path) -> Record:
    """VACUUM INTO a consistent copy, then check and measure the copy (not the live file)."""
    if not path.exists():
        raise UsageError(f"SQLite source {path} does not exist")
    conn = sqlite3.connect(str(path), timeout=30)
    try:
        conn.execute("VACUUM INTO ?", (str(into),))
    finally:
        conn.close()
    record = sqlite_record(into)
    if record["integrity"] != "ok":
        raise UsageError(f"SQLite source {path} fails integrity_check: {record['integrity']}")
    return record


# --- file trees -------------------------------------------------------------------------------------


def select_files(paths: list[str], include: list[str], exclude: list[str]) -> tuple[list[Path], list[Path]]:
    """(chosen, left out): regular files under ``paths`` matching any include glob (all when none) and
    no exclude glob, and the other regular files there."""
    chosen: list[Path] = []
    left: list[Path] = []
    for root in paths:
        base = Path(root).expanduser().resolve()
        if not base.exists():
            raise UsageError(f"file source path {root} does not exist")
        candidates = [base] if base.is_file() else sorted(p for p in base.rglob("*") if p.is_file())
        for p in candidates:
            rel = str(p.relative_to(base)) if p != base else p.name
            if include and not any(fnmatch(rel, pat) or fnmatch(p.name, pat) for pat in include):
                left.append(p)
            elif any(fnmatch(rel, pat) or fnmatch(p.name, pat) or fnmatch(str(p), pat) for pat in exclude):
                left.append(p)
            else:
                chosen.append(p)
    return chosen, left


def restic_exclude_lines(left: list[Path]) -> list[str] | None:
    """Exact restic exclude patterns for the files left out, or None when a name cannot be written as one
    (restic trims spaces, skips ``#`` lines and expands ``$`` in exclude files)."""
    lines = []
    for p in left:
        text = str(p)
        if "$" in text or "\n" in text or text != text.strip() or text.startswith("#"):
            return None
        lines.append("".join("\\" + c if c in "\\*?[" else c for c in text))
    return lines


def walk_manifest(paths: list[str], content: bool = False) -> Record:
    """``tree_record`` of every regular file under ``paths`` (an unfiltered source), with os.walk and
    plain strings: it runs beside restic, so it must cost little CPU."""
    entries = []
    total = 0
    for root in paths:
        base = os.path.realpath(os.path.expanduser(root))
        if os.path.isfile(base):
            names = [base]
        else:
            names = [os.path.join(d, f) for d, _, fs in os.walk(base) for f in fs]
        for name in names:
            try:
                st = os.stat(name)
            except OSError:
                continue
            if not stat.S_ISREG(st.st_mode):
                continue
            entry = f"{name}\0{st.st_size}\0{st.st_mtime_ns}"
            entries.append(entry + (f"\0{file_sha256(Path(name))}" if content else ""))
            total += st.st_size
    entries.sort()
    digest = hashlib.sha256("\n".join(entries).encode()).hexdigest()
    return {"files": len(entries), "bytes": total, "digest": digest, "content_hashed": content}


def file_sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def tree_record(files: list[Path], root_prefix: Path | None = None, content: bool = False) -> Record:
    """A manifest digest of files keyed by their original absolute paths: size and mtime of each, and
    with ``content`` the SHA-256 of each too.

    Without ``content`` the bytes themselves are proven at restore time by ``restic restore --verify``,
    which checks every restored file against the SHA-256 chunk hashes restic stored at backup time;
    reading a large media tree a second time during each backup would halve its throughput.
    """
    entries = []
    total = 0
    for p in files:
        original = "/" + str(p.relative_to(root_prefix)) if root_prefix else str(p)
        st = p.stat()
        entry = f"{original}\0{st.st_size}\0{st.st_mtime_ns}"
        entries.append(entry + (f"\0{file_sha256(p)}" if content else ""))
        total += st.st_size
    entries.sort()
    digest = hashlib.sha256("\n".join(entries).encode()).hexdigest()
    return {"files": len(entries), "bytes": total, "digest": digest, "content_hashed": content}

