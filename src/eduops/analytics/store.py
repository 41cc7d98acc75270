"""The event store: xAPI statements with their analytics columns, in DuckDB (default) or ClickHouse.

``<home>/events.duckdb`` by default. A write is one transaction, committed before the caller
answers, so an acknowledged statement survives a crash. DuckDB lets one process open a file for
writing; a second process gets ``ServiceUnavailable`` naming the holder instead of a traceback.
One ``EventStore`` per file per process (``open_store``), shared by the API threads.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, Protocol

import duckdb
from pydantic import BaseModel, ConfigDict, Field

from eduops.analytics import sql
from eduops.analytics.extract import ROW_FIELDS
from eduops.config import Settings
from eduops.errors import ServiceUnavailable, UsageError

DUCK_TYPES = {name: duck for name, duck, _ch in sql.COLUMNS}


class EventsSettings(BaseModel):
    """The [events] section of eduops.toml."""

    model_config = ConfigDict(extra="forbid")
    backend: Literal["duckdb", "clickhouse"] = "duckdb"
    path: str = Field("", description="DuckDB file; empty means events.duckdb in the workspace")
    clickhouse_url: str = Field("http://127.0.0.1:8123", description="ClickHouse HTTP interface")
    clickhouse_database: str = "eduops"
    clickhouse_user: str = "default"
    clickhouse_password: str = ""
    max_batch: int = Field(10_000, ge=1, description="most statements accepted in one request")


class Store(Protocol):
    """What the LRS and the metrics need from a backend."""

    dialect: sql.Dialect
    location: str

    def query(self, text: str) -> list[tuple[Any, ...]]: ...

    def insert(self, rows: Sequence[dict[str, Any]], voidings: Sequence[tuple[str, str]]) -> None: ...

    def mark_voided(self, ids: Sequence[str]) -> None: ...

    @contextmanager
    def writing(self) -> Iterator[None]: ...

    def close(self) -> None: ...


_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (.+?) \(PID (\d+)\)")


def lock_message(path: Path, exc: Exception) -> str:
    """Say who holds the DuckDB file and what to do, instead of DuckDB's IO error."""
    match = _LOCK_HOLDER.search(str(exc))
    holder = f"process {match.group(2)} ({match.group(1)})" if match else "another process"
    return (f"the event store {path} is open in {holder}, probably `eduops serve`; DuckDB allows one process "
            "at a time. Stop that process, or ask the running server (GET /api/v1/analytics/... or /xapi).")


class DuckDBStore:
    """Statements in one DuckDB file; reads use cursors, writes are serialised by a lock."""

    dialect = sql.DUCKDB

    def __init__(self, path: Path, read_only: bool = False) -> None:
        self.path = path
        self.location = str(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._con = duckdb.connect(str(path), read_only=read_only and path.exists())
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise ServiceUnavailable(lock_message(path, exc)) from None
            raise ServiceUnavailable(f"cannot open the event store {path}: {exc}") from None
        except duckdb.Error as exc:
            raise ServiceUnavailable(f"{path} is not a usable DuckDB event store: {exc}") from None
        self._write_lock = threading.RLock()
        self._queue_lock = threading.Lock()
        self._queue: list[_Ticket] = []
        self._voidings_seen = False
        if not read_only:
            for statement in sql.ddl(sql.DUCKDB):
                self._con.execute(statement)

    def query(self, text: str) -> list[tuple[Any, ...]]:
        cursor = self._con.cursor()
        try:
            return cursor.execute(text).fetchall()
        finally:
            cursor.close()

    def query_dicts(self, text: str) -> list[dict[str, Any]]:
        cursor = self._con.cursor()
        try:
            cursor.execute(text)
            names = [c[0] for c in cursor.description or []]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        finally:
            cursor.close()

    def query_with(self, text: str, tables: dict[str, Any]) -> list[tuple[Any, ...]]:
        """Run a query that also reads in-memory tables (Arrow) under the given names."""
        cursor = self._con.cursor()
        try:
            for name, table in tables.items():
                cursor.register(name, table)
            return cursor.execute(text).fetchall()
        finally:
            cursor.close()

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the writer lock: no other thread of this process writes meanwhile."""
        with self._write_lock:
            yield

    def insert(self, rows: Sequence[dict[str, Any]], voidings: Sequence[tuple[str, str]]) -> None:
        """Insert statements and voidings in one transaction; raises DuplicateIds if any id exists.

        Group commit: batches of statements that arrive while another commit is running wait for
        the lock together, and the first of them commits them all in one transaction (one WAL
        sync). If that fails, each batch is retried alone so each caller gets its own answer.
        """
        if voidings:
            self._commit(rows, voidings)
            return
        ticket = _Ticket(rows)
        with self._queue_lock:
            self._queue.append(ticket)
        with self._write_lock:
            if not ticket.done:
                with self._queue_lock:
                    group, self._queue = self._queue, []
                try:
                    self._commit([r for t in group for r in t.rows], [])
                except Exception:
                    for t in group:
                        try:
                            self._commit(t.rows, [])
                        except Exception as exc:  # noqa: BLE001 - handed to its own caller
                            t.error = exc
                for t in group:
                    t.done = True
        if ticket.error is not None:
            raise ticket.error

    def _commit(self, rows: Sequence[dict[str, Any]], voidings: Sequence[tuple[str, str]]) -> None:
        with self._write_lock:
            self._con.execute("BEGIN TRANSACTION")
            try:
                if rows:
                    # a statement arriving after the statement that voids it is voided on arrival
                    pending = {t for (t,) in self._con.execute(
                        "SELECT CAST(target_id AS VARCHAR) FROM voidings WHERE target_id IN (SELECT unnest(?::UUID[]))",
                        [[r["id"] for r in rows]]).fetchall()} if self._has_voidings() else set()
                    self._insert_rows([{**r, "voided": True} if r["id"] in pending else r for r in rows])
                if voidings:
                    self._voidings_seen = True
                    targets = [t for t, _v in voidings]
                    self._con.execute(
                        "INSERT INTO voidings SELECT unnest(?::UUID[]), unnest(?::UUID[]) ON CONFLICT DO NOTHING",
                        [targets, [v for _t, v in voidings]])
                    self._con.execute("UPDATE statements SET voided = true WHERE id IN (SELECT unnest(?::UUID[]))",
                                      [targets])
                self._con.execute("COMMIT")
            except duckdb.ConstraintException as exc:
                self._con.execute("ROLLBACK")
                raise DuplicateIds(str(exc)) from None
            except BaseException:
                self._con.execute("ROLLBACK")
                raise

    def _has_voidings(self) -> bool:
        """Voidings are rare: skip looking them up until the first one is stored."""
        if not self._voidings_seen:
            self._voidings_seen = bool(self._con.execute("SELECT count(*) FROM voidings").fetchone()[0])  # type: ignore[index]
        return self._voidings_seen

    def _insert_rows(self, rows: Sequence[dict[str, Any]]) -> None:
        names = ", ".join(f'"{n}"' for n in ROW_FIELDS)
        columns = ", ".join(f"unnest(?::{DUCK_TYPES[n]}[])" for n in ROW_FIELDS)
        values = [[row[n] for row in rows] for n in ROW_FIELDS]
        self._con.execute(f"INSERT INTO statements ({names}) SELECT {columns}", values)

    def mark_voided(self, ids: Sequence[str]) -> None:
        with self._write_lock:
            self._con.execute("UPDATE statements SET voided = true WHERE id IN (SELECT unnest(?::UUID[]))",
                              [list(ids)])

    def bulk_load(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert many statements at once (imports, demo); same atomicity as ``insert``."""
        self.insert(rows, [])

    def execute(self, text: str, params: list[Any] | None = None) -> None:
        """Run a statement that changes the store (bench and demo data generation)."""
        with self._write_lock:
            self._con.execute(text, params or [])

    def close(self) -> None:
        try:
            self._con.close()
        except duckdb.Error:
            pass


class _Ticket:
    """One caller's batch waiting for a group commit."""

    def __init__(self, rows: Sequence[dict[str, Any]]) -> None:
        self.rows = rows
        self.done = False
        self.error: BaseException | None = None


class DuplicateIds(Exception):
    """Some statement ids of a batch are stored already (the LRS decides: same → fine, else 409)."""


_stores: dict[str, Store] = {}
_stores_lock = threading.Lock()


def events_settings(settings: Settings) -> EventsSettings:
    return settings.section("events", EventsSettings)


def store_path(settings: Settings) -> Path:
    configured = events_settings(settings).path
    if not configured:
        return settings.home / "events.duckdb"
    path = Path(configured).expanduser()
    return path if path.is_absolute() else settings.home / path


def open_store(settings: Settings) -> Store:
    """The event store of this workspace, opened once per process."""
    cfg = events_settings(settings)
    key = f"clickhouse:{cfg.clickhouse_url}/{cfg.clickhouse_database}" if cfg.backend == "clickhouse" \
        else str(store_path(settings))
    with _stores_lock:
        if key not in _stores:
            if cfg.backend == "clickhouse":
                from eduops.analytics.clickhouse import ClickHouseStore

                _stores[key] = ClickHouseStore.connect(cfg)
            else:
                _stores[key] = DuckDBStore(store_path(settings))
        return _stores[key]


def close_stores() -> None:
    with _stores_lock:
        for store in _stores.values():
            store.close()
        _stores.clear()


def close_store(settings: Settings) -> None:
    with _stores_lock:
        for key in [k for k in _stores if k == str(store_path(settings))]:
            _stores.pop(key).close()


def require_duckdb(store: Store) -> DuckDBStore:
    if not isinstance(store, DuckDBStore):
        raise UsageError("this needs the DuckDB event store (events.backend = \"duckdb\")")
    return store
