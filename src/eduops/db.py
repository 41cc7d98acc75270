"""The state database: SQLAlchemy engine and sessions, Alembic migrations from every domain.

SQLite (WAL) in the workspace by default, PostgreSQL by URL. Each domain keeps its Alembic revisions
in ``eduops/<domain>/migrations`` as its own branch (``branch_labels=("<domain>",)``,
``depends_on="core_0001"`` when it refers to core tables); ``upgrade`` applies every head.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from eduops.errors import ServiceUnavailable

PACKAGE_DIR = Path(__file__).parent


class Base(DeclarativeBase):
    pass


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """``value`` as an aware UTC time; a naive one is taken to be UTC already. Bind times this way against a
    TIMESTAMPTZ column: DuckDB reads a naive bound in the connection's time zone (the call-quality store's is the
    workspace's), which moves the window by that zone's UTC offset."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite forgets the zone otherwise)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class JSONText(TypeDecorator[Any]):
    """JSON stored as text, identical on SQLite and PostgreSQL, non-ASCII kept readable."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else json.dumps(value, ensure_ascii=False, default=str)

    def process_result_value(self, value: str | None, dialect: Any) -> Any:
        return None if value is None else json.loads(value)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


_engines: dict[str, Engine] = {}


def make_engine(url: str) -> Engine:
    """One engine per URL per process; SQLite files get WAL and a busy timeout."""
    if url in _engines:
        return _engines[url]
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        if url.startswith("postgresql://"):
            url_to_use = "postgresql+psycopg://" + url[len("postgresql://"):]
        else:
            url_to_use = url
        engine = sa.create_engine(url_to_use, pool_pre_ping=True, pool_size=10, max_overflow=20)
    _engines[url] = engine
    return engine


class SqliteWriter:
    """One writer at a time on a SQLite file, among this process's threads and every process on the file.

    SQLite lets one connection write; another that finds the file locked is put to sleep by its busy handler
    for 1, 2, 5, 10 … 100 ms before it looks again, so busy writers (xAPI State saves from several threads
    and serving workers) waited tens of milliseconds while the lock was free again within one. Taken here, a
    waiting writer blocks on a lock the kernel hands over at once: a thread lock in the process, then an
    ``flock`` on ``<database>.writer`` (opened again after a fork: a lock is shared with the parent's copy).
    """

    def __init__(self, path: str) -> None:
        self.path = path + ".writer"
        self.pid = 0
        self.lock = threading.Lock()
        self.fd = -1

    def _own(self) -> None:
        if self.pid != os.getpid():  # first use, or a forked child: its own thread lock and file description
            with _writers_guard:
                if self.pid != os.getpid():
                    self.lock = threading.Lock()
                    self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
                    self.pid = os.getpid()

    def __enter__(self) -> None:
        self._own()
        self.lock.acquire()
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        except BaseException:
            self.lock.release()
            raise

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        self.lock.release()


_writers: dict[str, SqliteWriter] = {}
_writers_guard = threading.Lock()


def writing(engine: Engine) -> AbstractContextManager[None]:
    """Hold around a short write transaction on a hot path: on a SQLite file, writers take turns
    (``SqliteWriter``); a database server queues them itself."""
    if engine.dialect.name != "sqlite" or not engine.url.database or engine.url.database == ":memory:":
        return nullcontext()
    with _writers_guard:
        if engine.url.database not in _writers:
            _writers[engine.url.database] = SqliteWriter(engine.url.database)
        return _writers[engine.url.database]


def drop_connections(close: bool) -> None:
    """Empty every engine's pool (each opens new connections when asked): ``close`` them, or (in a forked
    process, whose parent owns them: two processes must never share one) only forget them."""
    for engine in _engines.values():
        engine.dispose(close=close)


def dispose_engines() -> None:
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    session = Session(bind=engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()


def migration_locations() -> list[str]:
    """Alembic version folders: the core one and each domain's ``migrations`` folder."""
    locations = [str(PACKAGE_DIR / "migrations" / "versions")]
    for child in sorted(PACKAGE_DIR.iterdir()):
        candidate = child / "migrations"
        if child.is_dir() and candidate.is_dir() and child.name != "migrations":
            locations.append(str(candidate))
    return locations


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(PACKAGE_DIR / "migrations"))
    cfg.set_main_option("version_locations", " ".join(migration_locations()))
    cfg.set_main_option("path_separator", "space")
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "heads") -> None:
    """Bring the state database to the newest schema of every domain."""
    from alembic import command

    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            cfg = alembic_config(url)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    except sa.exc.OperationalError as exc:
        raise ServiceUnavailable(f"cannot reach the state database {engine.url!r}: {exc.orig}") from None


def current_heads(url: str) -> set[str]:
    from alembic.runtime.migration import MigrationContext

    with make_engine(url).connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())
