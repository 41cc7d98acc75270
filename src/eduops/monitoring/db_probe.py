"""Database response time: connect time and a query's latency for PostgreSQL, MySQL/MariaDB, Redis, SQLite."""

from __future__ import annotations

import sqlite3
import time
from typing import Any
from urllib.parse import unquote, urlsplit

from eduops.core.checks import Measurement

Timer = time.perf_counter


def kind_of(url: str) -> str:
    scheme = urlsplit(url).scheme.split("+")[0].lower()
    kinds = {
        "postgresql": "postgresql",
        "postgres": "postgresql",
        "mysql": "mysql",
        "mariadb": "mysql",
        "redis": "redis",
        "rediss": "redis",
        "sqlite": "sqlite",
    }
    if scheme not in kinds:
        raise ValueError(
            f"{url.split('://')[0]}:// is not a database eduops probes (postgresql, mysql, mariadb, redis, sqlite)"
        )
    return kinds[scheme]


def probe(url: str, query: str = "", timeout: float = 10.0) -> tuple[float, float]:
    """(connect ms, query ms); raises on any failure."""
    kind = kind_of(url)
    parts = urlsplit(url)
    t0 = Timer()
    if kind == "postgresql":
        import psycopg

        conninfo = url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(conninfo, connect_timeout=max(int(timeout), 1)) as conn:
            t1 = Timer()
            conn.execute(query or "SELECT 1").fetchall()
            t2 = Timer()
    elif kind == "mysql":
        import pymysql

        conn = pymysql.connect(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 3306,
            user=unquote(parts.username or "root"),
            password=unquote(parts.password or ""),
            database=parts.path.lstrip("/") or None,
            connect_timeout=timeout,
            read_timeout=timeout,
        )
        try:
            t1 = Timer()
            with conn.cursor() as cur:
                cur.execute(query or "SELECT 1")
                cur.fetchall()
            t2 = Timer()
        finally:
            conn.close()
    elif kind == "redis":
        import redis

        client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        try:
            client.connection_pool.get_connection("PING").connect()
            t1 = Timer()
            if query:
                client.execute_command(*query.split())
            else:
                client.ping()
            t2 = Timer()
        finally:
            client.close()
    else:
        path = url.split("///", 1)[-1]
        conn_s = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=timeout)
        try:
            t1 = Timer()
            conn_s.execute(query or "SELECT 1").fetchall()
            t2 = Timer()
        finally:
            conn_s.close()
    return (t1 - t0) * 1000, (t2 - t1) * 1000


def collect_database(c: Any) -> tuple[list[Measurement], str]:
    kind = kind_of(c.url)
    labels = {"db": c.name, "kind": kind}
    try:
        connect_ms, query_ms = probe(c.url, c.query, c.timeout)
    except Exception as exc:  # every driver has its own error types; all mean "down"
        return [Measurement("db_up", 0.0, "", labels)], f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    return [
        Measurement("db_up", 1.0, "", labels),
        Measurement("db_connect_ms", round(connect_ms, 3), "ms", dict(labels)),
        Measurement("db_query_ms", round(query_ms, 3), "ms", dict(labels)),
    ], ""
